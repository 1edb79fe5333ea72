"""Fixtures: a `siorelay serve` per test on free loopback ports, the gRPC
emitter client for it, and python-socketio clients that record what they
receive."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import socketio

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "clients" / "python" / "src"))

import siorelay  # noqa: E402  (clients/python, the gRPC emitter client)

TIMEOUT = 10.0


class Relay:
    """A running `siorelay serve`; url and grpc_addr are read from what it
    prints, so both ports are picked by the kernel (port 0)."""

    def __init__(self, binary: str) -> None:
        self.proc = subprocess.Popen(
            [binary, "serve", "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
             "--namespaces", "/,/custom", "--log-level", "warn"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr: List[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._read_stdout, args=(lines,), daemon=True).start()
        self.url = ""
        self.grpc_addr = ""
        while not (self.url and self.grpc_addr):
            try:
                line = lines.get(timeout=TIMEOUT)
            except queue.Empty:
                self.stop()
                raise RuntimeError(f"siorelay serve printed no addresses within {TIMEOUT}s: {''.join(self.stderr)}")
            if line is None:
                self.stop()
                raise RuntimeError(f"siorelay serve exited: {''.join(self.stderr)}")
            m = re.search(r"serving Socket\.IO on (http://\S+?)/socket\.io/", line)
            if m:
                self.url = m.group(1)
            m = re.search(r"serving gRPC EmitterService on (\S+)", line)
            if m:
                self.grpc_addr = m.group(1)

    def _read_stdout(self, lines: "queue.Queue[Optional[str]]") -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            lines.put(line)
        lines.put(None)

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def relay() -> Iterator[Relay]:
    binary = os.environ.get("SIORELAY_BIN", "")
    if not binary or not os.access(binary, os.X_OK):
        pytest.fail("SIORELAY_BIN must name a built siorelay binary (make test-pyclient builds one)", pytrace=False)
    r = Relay(binary)
    yield r
    r.stop()
    assert r.proc.returncode == 0, f"siorelay serve exited with {r.proc.returncode}: {''.join(r.stderr)}"


@pytest.fixture
def emitter(relay: Relay) -> Iterator[siorelay.Emitter]:
    e = siorelay.Emitter(relay.grpc_addr)
    yield e
    e.close()


class Recorder:
    """A python-socketio Client whose events land in a queue as
    (namespace, event, args)."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self.sio = socketio.Client(reconnection=False)
        self.events: "queue.Queue[Tuple[str, str, Tuple[Any, ...]]]" = queue.Queue()
        self.connect_errors: "queue.Queue[Tuple[str, Any]]" = queue.Queue()
        self.disconnects: "queue.Queue[Tuple[str, str]]" = queue.Queue()

    def watch(self, namespace: str) -> None:
        ev = self.events

        def on_any(event: str, *args: Any) -> None:
            ev.put((namespace, event, args))

        def on_connect_error(data: Any) -> None:
            self.connect_errors.put((namespace, data))

        def on_disconnect(reason: str = "") -> None:
            self.disconnects.put((namespace, reason))

        self.sio.on("*", on_any, namespace=namespace)
        self.sio.on("connect_error", on_connect_error, namespace=namespace)
        self.sio.on("disconnect", on_disconnect, namespace=namespace)

    def connect(self, url: str, namespaces: List[str]) -> None:
        for n in namespaces:
            self.watch(n)
        # "upgrade": polling first, then the upgrade to WebSocket.
        transports = ["polling", "websocket"] if self.transport == "upgrade" else [self.transport]
        self.sio.connect(url, namespaces=namespaces, transports=transports, wait_timeout=TIMEOUT)

    def next_event(self) -> Tuple[str, str, Tuple[Any, ...]]:
        try:
            return self.events.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no event within {TIMEOUT}s") from None

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


@pytest.fixture(params=["websocket", "polling", "upgrade"])
def client(request: pytest.FixtureRequest) -> Iterator[Recorder]:
    c = Recorder(request.param)
    yield c
    c.close()


def expect_nothing_pending(c: Recorder) -> Dict[str, Any]:
    """Returns what is queued without waiting (for negative checks made
    after a later, awaited event proved delivery order)."""
    return {"events": list(c.events.queue), "disconnects": list(c.disconnects.queue)}
