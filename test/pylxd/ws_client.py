#!/usr/bin/python3
"""Exec and events through websocket-client (python3-websocket) on the daemon's unix socket ($LXD_DIR).

Usage:
  ws_client.py exec NAME          a non-interactive exec, no control websocket, frames checked one by one
  ws_client.py interactive NAME   an interactive exec on a terminal, with the control websocket
  ws_client.py events NAME        the events websocket: an operation event for an exec on NAME
  ws_client.py console NAME       the console (a shell runs on it) with no control websocket: closing the data
                                  websocket detaches
Each check failing exits non-zero with a message.
"""

import http.client
import json
import os
import socket
import sys
import threading
import time

import websocket
from websocket import ABNF

SOCKET = os.path.join(os.environ["LXD_DIR"], "unix.socket")


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def expect_eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


class UnixHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(SOCKET)


def query(method, path, body=None):
    conn = UnixHTTPConnection("lxd", timeout=30)
    conn.request(method, path, body=None if body is None else json.dumps(body),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


def connect(path):
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(SOCKET)
    conn = websocket.create_connection("ws://lxd" + path, socket=sock)
    # A socket handed in keeps its own timeout: set it, so that nothing waits forever.
    conn.sock.settimeout(30)
    return conn


def read_stream(conn):
    """Reads one output stream: the data messages, the end-of-stream message, then the server's close frame, which
    is answered. Returns the data and the close code."""
    data = b""
    while True:
        frame = conn.recv_frame()
        if frame.opcode == ABNF.OPCODE_BINARY:
            data += frame.data
            continue

        if frame.opcode == ABNF.OPCODE_TEXT:
            expect_eq(frame.data, b"", "text message on an output stream")
            break

        check(frame.opcode in (ABNF.OPCODE_PING, ABNF.OPCODE_PONG), "unexpected frame %d" % frame.opcode)

    while True:
        frame = conn.recv_frame()
        if frame.opcode == ABNF.OPCODE_CLOSE:
            code = int.from_bytes(frame.data[:2], "big")
            conn.send_close()
            return data, code

        check(frame.opcode in (ABNF.OPCODE_PING, ABNF.OPCODE_PONG), "frame %d after the end" % frame.opcode)


def exec_op(name, command, interactive):
    status, resp = query("POST", "/1.0/instances/%s/exec" % name,
                         {"command": command, "wait-for-websocket": True, "interactive": interactive,
                          "environment": {}, "width": 80, "height": 24})
    expect_eq(status, 202, "status of the exec request")
    return resp["operation"], resp["metadata"]["metadata"]["fds"]


def wait_op(op):
    status, resp = query("GET", op + "/wait?timeout=10")
    expect_eq(status, 200, "status of /wait")
    return resp["metadata"]


def run_exec(name):
    t0 = time.monotonic()
    op, fds = exec_op(name, ["sh", "-c", "cat; echo err >&2; exit 6"], False)
    expect_eq(sorted(fds), ["0", "1", "2", "control"], "websockets of a non-interactive exec")
    conns = {fd: connect("%s/websocket?secret=%s" % (op, fds[fd])) for fd in ("0", "1", "2")}
    conns["0"].send_binary(b"through stdin\n")
    conns["0"].send("")
    results = {}

    def reader(fd):
        results[fd] = read_stream(conns[fd])

    threads = [threading.Thread(target=reader, args=(fd,)) for fd in ("1", "2")]
    for t in threads:
        t.start()

    for t in threads:
        t.join(30)

    expect_eq(results.get("1"), (b"through stdin\n", 1000), "stdout and its close code")
    expect_eq(results.get("2"), (b"err\n", 1000), "stderr and its close code")

    # stdin gets a close frame too once the command is over.
    frame = conns["0"].recv_frame()
    expect_eq(frame.opcode, ABNF.OPCODE_CLOSE, "last frame on stdin")
    conns["0"].send_close()
    md = wait_op(op)
    elapsed = time.monotonic() - t0
    print("timing: websocket-client exec: %.3fs" % elapsed)
    expect_eq((md["status"], md["metadata"].get("return")), ("Success", 6), "exec operation")

    # The operation stays readable once it is over.
    status, resp = query("GET", op)
    expect_eq((status, resp["metadata"]["status"]), (200, "Success"), "finished operation read again")
    for conn in conns.values():
        conn.close()


def run_interactive(name):
    op, fds = exec_op(name, ["sh", "-c", "read line; echo got-$line; exit 7"], True)
    expect_eq(sorted(fds), ["0", "control"], "websockets of an interactive exec")
    data = connect("%s/websocket?secret=%s" % (op, fds["0"]))
    control = connect("%s/websocket?secret=%s" % (op, fds["control"]))
    control.send(json.dumps({"command": "window-resize", "args": {"width": "100", "height": "30"}}))
    data.send_binary(b"hello\r")
    out, code = read_stream(data)
    check(b"got-hello" in out, "terminal output: %r" % out)
    expect_eq(code, 1000, "close code of the terminal websocket")
    frame = control.recv_frame()
    expect_eq(frame.opcode, ABNF.OPCODE_CLOSE, "last frame on the control websocket")
    control.send_close()
    md = wait_op(op)
    expect_eq((md["status"], md["metadata"].get("return")), ("Success", 7), "interactive exec operation")


def run_events(name):
    events = connect("/1.0/events?type=operation,lifecycle")
    events.settimeout(10)
    status, resp = query("POST", "/1.0/instances/%s/exec" % name,
                         {"command": ["true"], "wait-for-websocket": False, "interactive": False,
                          "environment": {}})
    expect_eq(status, 202, "status of the exec request")
    op_id = resp["metadata"]["id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        opcode, payload = events.recv_data(control_frame=False)
        if opcode != ABNF.OPCODE_TEXT:
            continue

        event = json.loads(payload)
        check(event["type"] in ("operation", "lifecycle"), "event beyond the filter: %r" % event)
        if event["type"] == "operation" and event["metadata"]["id"] == op_id and \
                event["metadata"]["status"] == "Success":
            break
    else:
        check(False, "no Success event for operation %s" % op_id)

    events.close()


def run_console(name):
    status, resp = query("POST", "/1.0/instances/%s/console" % name, {"width": 80, "height": 24, "type": "console"})
    expect_eq(status, 202, "status of the console request")
    op, fds = resp["operation"], resp["metadata"]["metadata"]["fds"]
    expect_eq(sorted(fds), ["0", "control"], "websockets of the console")
    conn = connect("%s/websocket?secret=%s" % (op, fds["0"]))
    # What is typed before the console is attached to the instance's terminal is lost, as with LXD: type the line
    # again each second until its output shows.
    out = b""
    deadline = time.monotonic() + 15
    conn.sock.settimeout(1)
    while b"mark42" not in out and time.monotonic() < deadline:
        conn.send_binary(b"echo mark$((40+2))\r")
        try:
            while b"mark42" not in out:
                opcode, payload = conn.recv_data(control_frame=False)
                check(opcode == ABNF.OPCODE_BINARY, "console frame %d, data %r" % (opcode, payload))
                out += payload
        except websocket.WebSocketTimeoutException:
            pass

    conn.sock.settimeout(30)
    check(b"mark42" in out, "console output: %r" % out)

    # The client closes: the server answers the close frame, detaches and the operation ends.
    conn.send_close()
    while True:
        frame = conn.recv_frame()
        if frame.opcode == ABNF.OPCODE_CLOSE:
            break

    md = wait_op(op)
    expect_eq(md["status"], "Success", "console operation after the detach")
    conn.close()


def main():
    cmd, name = sys.argv[1], sys.argv[2]
    {"exec": run_exec, "interactive": run_interactive, "events": run_events, "console": run_console}[cmd](name)
    print("ok: " + cmd)


if __name__ == "__main__":
    main()
