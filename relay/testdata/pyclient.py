"""A python-socketio client for relay/compat_python_test.go.

Usage: pyclient.py URL TRANSPORTS (comma-separated, e.g. "polling,websocket")

Prints one JSON object per line: "connected", then "hello" (an event the Go
test emits to the room "py"), "ack" (the server's ack of "ackme"), "back"
(the server's echo of "message"), "disconnected". Binary values print as
{"hex": "..."}.
"""
import json
import sys
import threading
import time

import socketio


def plain(v):
    if isinstance(v, (bytes, bytearray)):
        return {"hex": bytes(v).hex()}
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def out(**kw):
    print(json.dumps(kw), flush=True)


url, transports = sys.argv[1], sys.argv[2].split(",")
sio = socketio.Client(reconnection=False)
hello = threading.Event()
back = threading.Event()


@sio.on("hello")
def on_hello(*args):
    out(type="hello", args=plain(list(args)))
    hello.set()


@sio.on("message-back")
def on_back(*args):
    out(type="back", args=plain(list(args)))
    back.set()


@sio.event
def disconnect(*args):
    out(type="disconnected")


sio.connect(url, transports=transports, auth={"rooms": ["py"]}, wait_timeout=10)
if len(transports) > 1:
    # Give the polling → websocket upgrade a moment to finish.
    deadline = time.time() + 5
    while sio.transport() != "websocket" and time.time() < deadline:
        time.sleep(0.02)
out(type="connected", sid=sio.get_sid(), transport=sio.transport())
if not hello.wait(10):
    out(type="error", message="no hello")
    sys.exit(1)
res = sio.call("ackme", (7, b"\x01\x02", {"k": "v"}), timeout=10)
out(type="ack", args=plain(list(res) if isinstance(res, tuple) else [res]))
sio.emit("message", ("x", b"\x09"))
if not back.wait(10):
    out(type="error", message="no message-back")
    sys.exit(1)
sio.disconnect()
