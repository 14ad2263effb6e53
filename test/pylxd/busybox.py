#!/usr/bin/python3
"""Builds a busybox image the way pylxd's own integration helpers do, quirks included.

Usage: busybox.py DIR writes DIR/unified.tar.xz (one tarball, the root file system under rootfs/) and
DIR/meta.tar.xz + DIR/rootfs.tar.xz (split). As pylxd's helper does, the metadata is JSON (which is YAML), the
members are written by Python's tarfile (PAX format, mode 0644 directories, no parent directory entries, mtime 0),
and the empty /etc/inittab is stored under an absolute name (/rootfs/etc/inittab), in the metadata tarball even
for the split image. It prints the two fingerprints LXD gives these images: the sha256 of the unified tarball, and
of the metadata tarball followed by the rootfs tarball.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile


def member(tar, name, kind=tarfile.REGTYPE, data=None, link="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = link
    if data is None:
        tar.addfile(info)
        return

    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def build(out_dir):
    arch = os.uname().machine
    metadata = {
        "architecture": arch,
        "creation_date": int(os.stat("/bin/busybox").st_ctime),
        "properties": {"os": "Busybox", "architecture": arch, "description": "Busybox " + arch,
                       "name": "busybox-" + arch},
    }
    metadata_yaml = json.dumps(metadata, sort_keys=True, indent=4).encode() + b"\n"
    with open("/bin/busybox", "rb") as f:
        busybox = f.read()

    applets = subprocess.run(["/bin/busybox", "--list-full"], capture_output=True, text=True, check=True)
    paths = [p.strip() for p in applets.stdout.split("\n") if p.strip() and p.strip() != "bin/busybox"]

    def rootfs_members(tar, prefix):
        member(tar, prefix + "bin/busybox", data=busybox, mode=0o755)
        for p in paths:
            member(tar, prefix + p, kind=tarfile.SYMTYPE, link="/bin/busybox")

        for d in ("dev", "mnt", "proc", "root", "sys", "tmp"):
            member(tar, prefix + d, kind=tarfile.DIRTYPE)

    def metadata_members(tar):
        member(tar, "metadata.yaml", data=metadata_yaml)
        member(tar, "/rootfs/etc/inittab", data=b"\n")

    files = {}
    for name in ("unified", "meta", "rootfs"):
        files[name] = os.path.join(out_dir, name + ".tar.xz")

    with tarfile.open(files["unified"], "w:xz") as tar:
        rootfs_members(tar, "rootfs/")
        metadata_members(tar)

    with tarfile.open(files["meta"], "w:xz") as tar:
        metadata_members(tar)

    with tarfile.open(files["rootfs"], "w:xz") as tar:
        rootfs_members(tar, "")

    def sha(*names):
        h = hashlib.sha256()
        for n in names:
            with open(files[n], "rb") as f:
                h.update(f.read())

        return h.hexdigest()

    print(sha("unified"), sha("meta", "rootfs"))


if __name__ == "__main__":
    build(sys.argv[1])
