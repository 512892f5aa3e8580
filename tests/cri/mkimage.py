#!/usr/bin/env python3
"""Write the CRI tests' images as one docker-archive tarball, for `ctr images import`.

No registry is reachable from the test machine, so the sandbox image and the workload image
are made here from two static binaries: the pause program (tests/cri/pause.c) and
busybox-static. Both images share one layer:

    /pause          the sandbox process          localhost/weft-test/pause:1
    /bin/busybox    nc, httpd, sh, ip, sleep     localhost/weft-test/busybox:1

usage: mkimage.py PAUSE BUSYBOX OUT.tar
"""
import hashlib
import io
import json
import sys
import tarfile

PAUSE_REF = "localhost/weft-test/pause:1"
BUSYBOX_REF = "localhost/weft-test/busybox:1"


def add_dir(tar, name):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tar.addfile(info)


def add_file(tar, name, path, mode=0o755):
    with open(path, "rb") as f:
        data = f.read()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def layer(pause, busybox):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in ("bin", "dev", "etc", "proc", "sys", "tmp", "var", "var/www"):
            add_dir(tar, d)
        add_file(tar, "pause", pause)
        add_file(tar, "bin/busybox", busybox)
        link = tarfile.TarInfo("bin/sh")
        link.type = tarfile.SYMTYPE
        link.linkname = "busybox"
        tar.addfile(link)
        index = b"weft\n"
        info = tarfile.TarInfo("var/www/index.html")
        info.size = len(index)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(index))
    return buf.getvalue()


def config(diff_id, entrypoint):
    return json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": entrypoint, "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }, sort_keys=True).encode()


def member(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    blob = layer(argv[1], argv[2])
    digest = hashlib.sha256(blob).hexdigest()
    manifest = []
    with tarfile.open(argv[3], "w") as out:
        member(out, digest + "/layer.tar", blob)
        for ref, entry in ((PAUSE_REF, ["/pause"]), (BUSYBOX_REF, ["/bin/busybox"])):
            cfg = config("sha256:" + digest, entry)
            name = hashlib.sha256(cfg).hexdigest() + ".json"
            member(out, name, cfg)
            manifest.append({"Config": name, "RepoTags": [ref], "Layers": [digest + "/layer.tar"]})
        member(out, "manifest.json", json.dumps(manifest).encode())


if __name__ == "__main__":
    main(sys.argv)
