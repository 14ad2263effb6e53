#!/usr/bin/env python3
"""Writes an OCI image layout (oci-layout, index.json, blobs/sha256/) for the OCI tests, offline.

Usage:
  oci-layout.py OUT TAG ARCH CONFIG_JSON LAYERDIR...       one image: each LAYERDIR becomes a gzip layer, in order
  oci-layout.py OUT TAG --list ARCH=LAYERDIR...            an image index of one-layer images, one per architecture

CONFIG_JSON is the "config" object of the image configuration (Entrypoint, Cmd, Env, WorkingDir, User, StopSignal).
Whiteouts are files named .wh.NAME (or .wh..wh..opq) in a layer directory. Files are owned by root in the layers.
"""

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def put_blob(out, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(out, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def layer_tar(layer_dir):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(layer_dir):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                full = os.path.join(root, name)
                rel = os.path.relpath(full, layer_dir)
                info = tar.gettarinfo(full, arcname=rel)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                if info.isfile():
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def image(out, arch, config, layer_dirs):
    layers, diff_ids = [], []
    for d in layer_dirs:
        raw = layer_tar(d)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        digest, size = put_blob(out, gzip.compress(raw, mtime=0))
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})

    cfg = {
        "created": "2024-01-02T03:04:05Z",
        "architecture": arch,
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    cdigest, csize = put_blob(out, json.dumps(cfg).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize},
        "layers": layers,
    }
    mdigest, msize = put_blob(out, json.dumps(manifest).encode())
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": msize}


def main():
    out, tag = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    if sys.argv[3] == "--list":
        manifests = []
        for spec in sys.argv[4:]:
            arch, layer_dir = spec.split("=", 1)
            desc = image(out, arch, {"Cmd": ["/bin/sh"]}, [layer_dir])
            desc["platform"] = {"architecture": arch, "os": "linux"}
            manifests.append(desc)
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
        digest, size = put_blob(out, json.dumps(index).encode())
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": size}
    else:
        top = image(out, sys.argv[3], json.loads(sys.argv[4]), sys.argv[5:])

    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)


main()
