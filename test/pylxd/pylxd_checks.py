#!/usr/bin/python3
"""Drives a daemon with pylxd (python3-pylxd, whose websockets are ws4py's) and checks what it gets back.

Usage (LXD_DIR names the daemon for the unix socket):
  pylxd_checks.py images DIR FP_UNIFIED FP_SPLIT   upload the images busybox.py built, unified and split
  pylxd_checks.py instance FP                      instance create/start/exec/files/snapshots/publish/operations
  pylxd_checks.py events NAME                      the events websocket through ws4py (NAME: a running instance)
  pylxd_checks.py https URL CERT KEY PASSWORD SERVER_CERT   trust by password over HTTPS, then exec over wss
Each check failing exits non-zero with a message. Timings are printed as "timing: ...".
"""

import json
import os
import sys
import threading
import time
import warnings

import pylxd
from pylxd import exceptions
from pylxd.client import EventType
from ws4py.client import WebSocketBaseClient

# pylxd 2.2 warns about every operation field it does not know (location, ...), as it does against LXD.
os.environ.setdefault("PYLXD_WARNINGS", "none")
warnings.simplefilter("ignore")

# EXEC_BOUND is the longest a short non-interactive execute() may take: about half a second against LXD (pylxd
# polls the operation every 0.5 s), 35 s when the daemon waits for a control websocket pylxd never opens.
EXEC_BOUND = 5.0


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def expect_eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def timed_execute(ct, cmd, **kwargs):
    t0 = time.monotonic()
    res = ct.execute(cmd, **kwargs)
    elapsed = time.monotonic() - t0
    print("timing: pylxd execute %s: %.3fs" % (cmd[0], elapsed))
    check(elapsed < EXEC_BOUND, "execute %r took %.1fs" % (cmd, elapsed))
    return res


def images(image_dir, fp_unified, fp_split):
    client = pylxd.Client()
    check(client.trusted, "the unix socket is not trusted")

    def read(name):
        with open(os.path.join(image_dir, name), "rb") as f:
            return f.read()

    unified = client.images.create(read("unified.tar.xz"), public=True, wait=True)
    expect_eq(unified.fingerprint, fp_unified, "fingerprint of the unified upload")
    split = client.images.create(read("rootfs.tar.xz"), metadata=read("meta.tar.xz"), public=True, wait=True)
    expect_eq(split.fingerprint, fp_split, "fingerprint of the split upload")
    for img in (unified, split):
        img = client.images.get(img.fingerprint)
        expect_eq(img.public, True, "public flag of %s" % img.fingerprint)
        expect_eq(img.properties.get("os"), "Busybox", "os property of %s" % img.fingerprint)
        expect_eq(img.architecture, os.uname().machine, "architecture of %s" % img.fingerprint)

    # The size of a split image is the size of both parts, its file name the rootfs part's.
    expect_eq(split.size, len(read("meta.tar.xz")) + len(read("rootfs.tar.xz")), "size of the split image")
    expect_eq(split.filename, "rootfs", "file name of the split image")

    # The same image again: the operation fails and pylxd raises.
    try:
        client.images.create(read("unified.tar.xz"), public=True, wait=True)
        check(False, "a second upload of the same image succeeded")
    except exceptions.LXDAPIException as e:
        check("already exists" in str(e), "duplicate upload error: %s" % e)

    fps = sorted(i.fingerprint for i in client.images.all())
    expect_eq(fps, sorted([fp_unified, fp_split]), "images listed")
    unified.add_alias("bb", "")
    expect_eq(client.images.get_by_alias("bb").fingerprint, fp_unified, "image found by its alias")


def exec_checks(ct):
    res = timed_execute(ct, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    expect_eq((res.exit_code, res.stdout, res.stderr), (3, "out\n", "err\n"), "execute result")
    res = timed_execute(ct, ["cat"], stdin_payload="hello from stdin\n")
    expect_eq((res.exit_code, res.stdout), (0, "hello from stdin\n"), "execute with stdin")

    # Output larger than one message arrives whole and in order before the stream ends.
    res = timed_execute(ct, ["seq", "1", "30000"])
    expect_eq(res.stdout, "".join("%d\n" % i for i in range(1, 30001)), "large output")

    chunks = []
    res = timed_execute(ct, ["sh", "-c", "echo a; echo b"], stdout_handler=chunks.append)
    expect_eq("".join(chunks), "a\nb\n", "output seen by the stdout handler")


def operation_checks(client, ct):
    # A command run without websockets: the operation stays readable once it is over, and /wait answers it.
    resp = ct.api["exec"].post(json={"command": ["sh", "-c", "exit 5"], "wait-for-websocket": False,
                                     "interactive": False, "environment": {}})
    op_url = resp.json()["operation"]
    op = client.operations.wait_for_operation(op_url)
    expect_eq(op.status, "Success", "status of a finished exec operation")
    expect_eq(op.metadata.get("return"), 5, "exit status in the operation")
    again = client.operations.get(op.id)
    expect_eq(again.status, "Success", "finished operation read again")
    waited = client.api.operations[op.id].wait.get().json()["metadata"]
    expect_eq(waited["status"], "Success", "/wait of a finished operation")

    try:
        client.operations.get("00000000-0000-4000-8000-000000000000")
        check(False, "an unknown operation was found")
    except exceptions.NotFound:
        pass


def file_checks(ct):
    ct.files.put("/root/pylxd.txt", b"written by pylxd\n")
    expect_eq(ct.files.get("/root/pylxd.txt"), b"written by pylxd\n", "file read back")
    res = ct.execute(["cat", "/root/pylxd.txt"])
    expect_eq(res.stdout, "written by pylxd\n", "file seen in the instance")
    check(ct.files.delete_available(), "file_delete is not advertised")
    ct.files.delete("/root/pylxd.txt")
    try:
        ct.files.get("/root/pylxd.txt")
        check(False, "a deleted file was read")
    except exceptions.NotFound:
        pass


def snapshot_checks(ct):
    snap = ct.snapshots.create("snap0", wait=True)
    expect_eq(snap.name, "snap0", "snapshot name")
    expect_eq(sorted(s.name for s in ct.snapshots.all()), ["snap0"], "snapshots listed")
    expect_eq(ct.snapshots.get("snap0").name, "snap0", "snapshot read")
    ct.snapshots.create("snap1", wait=True)
    ct.snapshots.get("snap1").delete(wait=True)
    expect_eq(sorted(s.name for s in ct.snapshots.all()), ["snap0"], "snapshots after a delete")


def instance(fingerprint):
    client = pylxd.Client()
    name = "pylxd1"
    ct = client.containers.create({"name": name, "source": {"type": "image", "fingerprint": fingerprint}},
                                  wait=True)
    ct.start(wait=True)
    ct.sync()
    expect_eq(ct.status, "Running", "status after start")
    check(name in [c.name for c in client.containers.all()], "the instance is not listed")
    res = ct.execute(["cat", "/etc/inittab"])
    expect_eq((res.exit_code, res.stdout), (0, "\n"), "/etc/inittab stored under an absolute name")

    exec_checks(ct)
    operation_checks(client, ct)
    file_checks(ct)
    snapshot_checks(ct)

    ct.stop(wait=True)
    img = ct.publish(public=False, wait=True)
    check(img.fingerprint in [i.fingerprint for i in client.images.all()], "the published image is not listed")
    expect_eq(img.public, False, "public flag of the published image")
    img.delete(wait=True)
    ct.delete(wait=True)
    check(name not in [c.name for c in client.containers.all()], "the deleted instance is still listed")


class EventCollector(WebSocketBaseClient):
    """Collects the events of the websocket; seen is set when one matches the wanted predicate."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()
        self.events = []
        self.wanted = None
        self.seen = threading.Event()
        self.ended = threading.Event()

    def handshake_ok(self):
        pass

    def received_message(self, message):
        event = json.loads(message.data.decode("utf-8"))
        with self.lock:
            self.events.append(event)
            if self.wanted is not None and self.wanted(event):
                self.seen.set()

    def closed(self, code, reason=None):
        self.ended.set()

    def expect(self, wanted, action, what):
        with self.lock:
            self.wanted = wanted
            self.seen.clear()

        action()
        check(self.seen.wait(10), "no %s event came" % what)


def events(name):
    client = pylxd.Client()
    ev = client.events(websocket_client=EventCollector,
                       event_types={EventType.Lifecycle, EventType.Operation})
    ev.connect()
    reader = threading.Thread(target=ev.run, daemon=True)
    reader.start()

    profile = "pylxd-events"

    def lifecycle(action):
        return lambda e: e.get("type") == "lifecycle" and e["metadata"].get("action") == action

    ev.expect(lifecycle("profile-created"), lambda: client.profiles.create(profile, config={}),
              "profile-created")
    ev.expect(lifecycle("profile-deleted"), lambda: client.profiles.get(profile).delete(), "profile-deleted")

    def finished_op(e):
        return e.get("type") == "operation" and e["metadata"].get("status") == "Success"

    ct = client.containers.get(name)
    ev.expect(finished_op, lambda: ct.api["exec"].post(json={"command": ["true"], "wait-for-websocket": False,
                                                           "interactive": False, "environment": {}}),
              "operation")

    types = sorted({e.get("type") for e in ev.events})
    check(set(types) <= {"lifecycle", "operation"}, "event types beyond the filter: %r" % types)
    ev.close()
    check(ev.ended.wait(10), "the events websocket did not end after the close")


def https(url, cert, key, password, server_cert):
    # The server's certificate is checked against the one the daemon wrote (its names include 127.0.0.1). requests
    # lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE override a session's own verify setting: drop them.
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(var, None)

    def connect():
        return pylxd.Client(endpoint=url, cert=(cert, key), verify=server_cert)

    client = connect()
    check(not client.trusted, "an unknown certificate is trusted")
    try:
        client.authenticate("wrong-" + password)
        check(False, "a wrong password was accepted")
    except exceptions.LXDAPIException:
        pass

    client = connect()
    check(not client.trusted, "the wrong password trusted the certificate")
    client.authenticate(password)
    check(client.trusted, "the right password did not trust the certificate")
    client = connect()
    check(client.trusted, "a new connection with the trusted certificate is not trusted")
    running = [c for c in client.containers.all() if c.status == "Running"]
    check(running, "no running instance over HTTPS")
    res = timed_execute(running[0], ["sh", "-c", "echo over-wss; exit 4"])
    expect_eq((res.exit_code, res.stdout), (4, "over-wss\n"), "execute over HTTPS")


def volumes():
    """Custom storage volumes of the default pool: create, list, read, change, rename, delete."""
    client = pylxd.Client()
    pool = client.storage_pools.get("default")
    pool.volumes.create({"name": "pv1", "type": "custom", "config": {"user.k": "v"}})
    check("pv1" in [v.name for v in pool.volumes.all()], "a created volume is not listed")
    vol = pool.volumes.get("custom", "pv1")
    expect_eq(vol.config.get("user.k"), "v", "configuration of a created volume")
    vol.config["user.k"] = "w"
    vol.save(wait=True)
    expect_eq(pool.volumes.get("custom", "pv1").config.get("user.k"), "w", "configuration after a change")
    vol.rename({"name": "pv2", "pool": "default"})
    names = [v.name for v in pool.volumes.all()]
    check("pv2" in names and "pv1" not in names, "volumes after a rename: %s" % names)
    pool.volumes.get("custom", "pv2").delete()
    check("pv2" not in [v.name for v in pool.volumes.all()], "a deleted volume is still listed")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"images": images, "instance": instance, "events": events, "https": https, "volumes": volumes}[cmd](*args)
    print("ok: " + cmd)


if __name__ == "__main__":
    main()
