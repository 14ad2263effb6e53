#!/bin/sh
# Builds the OCI image of the oci benchmark, offline, and prints the directory holding it. The result is cached
# under /var/tmp keyed by this script, test/deps/oci-layout.py and the busybox fixture, so it is built once per
# machine.
#
# The image has two gzip layers:
#   1. the busybox fixture's root filesystem (test/deps/busybox-image.sh);
#   2. /data: 24 files of 1 MiB of pseudo-random bytes (incompressible) and 2,600 text files of 10 KiB in 26
#      directories (compressible about 5:1), about 50 MB in all.
# The directory holds layout/ (an OCI image layout, tag "1") and size-mb and blobs-mb: the layers' size
# uncompressed and as downloaded, in MB.
set -eu

deps=$(cd "$(dirname "$0")" && pwd)
busybox=$("${deps}/busybox-image.sh")

# shellcheck source=test/deps/fixture.sh
. "${deps}/fixture.sh"
fixture_begin oci-bench "$(cat "$0" "${deps}/oci-layout.py" | sha256sum) ${busybox}"

mkdir -p "${tmp}/data/data"
python3 - "${tmp}/data/data" <<'PY'
import os
import random
import sys

out = sys.argv[1]
rng = random.Random(50)
os.makedirs(os.path.join(out, "blobs"))
for i in range(24):
    with open(os.path.join(out, "blobs", "blob%02d.bin" % i), "wb") as f:
        f.write(rng.randbytes(1 << 20))

words = ["container", "image", "layer", "registry", "manifest", "digest", "tarball", "rootfs", "overlay", "daemon",
         "profile", "storage", "network", "snapshot", "volume", "project", "cluster", "config", "device", "instance"]
for d in range(26):
    sub = os.path.join(out, "text", "d%02d" % d)
    os.makedirs(sub)
    for i in range(100):
        lines = []
        size = 0
        while size < 10240:
            line = " ".join(rng.choice(words) for _ in range(8)) + " %d\n" % rng.randrange(1 << 30)
            lines.append(line)
            size += len(line)
        with open(os.path.join(sub, "f%03d.txt" % i), "w") as f:
            f.write("".join(lines)[:10240])
PY

python3 "${deps}/oci-layout.py" "${tmp}/layout" 1 "$(dpkg --print-architecture)" \
	'{"Cmd":["/bin/sleep","1000000"],"Env":["PATH=/bin:/usr/bin:/sbin:/usr/sbin"]}' "${busybox}/rootfs" "${tmp}/data"
du -s --apparent-size -B 1000000 "${busybox}/rootfs" "${tmp}/data" | awk '{n += $1} END {print n}' >"${tmp}/size-mb"
manifest=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "${tmp}/layout/index.json")
python3 -c 'import json, sys; print(round(sum(l["size"] for l in json.load(open(sys.argv[1]))["layers"]) / 1e6))' \
	"${tmp}/layout/blobs/sha256/${manifest}" >"${tmp}/blobs-mb"
rm -rf "${tmp}/data"

fixture_done
