"""The real stack the compatibility tests run against, on free loopback
ports: a redis-server, the ``siorelay emitter`` sidecar built from this
repo, a Node Socket.IO 4.8.4 peer with @socket.io/redis-adapter 8.3.0
(clients/compat/peer.js) and stock socket.io-client 4.8.4 clients
(clients/compat/clients.js), which print what they receive as JSON lines."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[3]
COMPAT = REPO / "clients" / "compat"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(fn: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def connectable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Proc:
    """A child process whose stderr is kept for diagnostics."""

    def __init__(self, args: List[str], name: str, cwd: Optional[Path] = None, stdin: bool = False) -> None:
        self.name = name
        self.popen = subprocess.Popen(
            args,
            cwd=cwd,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._stderr: List[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self.popen.stderr
        for line in self.popen.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]

    def describe(self) -> str:
        return f"{self.name} (stderr: {''.join(self._stderr)[-2000:]})"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


class Redis(Proc):
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server not found on PATH: install it with `apt-get install redis-server`")
        self.port = free_port()
        super().__init__(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], "redis-server"
        )
        threading.Thread(target=lambda: self.popen.stdout and self.popen.stdout.read(), daemon=True).start()
        until(lambda: self._ready(), 10, f"redis-server on {self.port}")
        self.url = f"redis://127.0.0.1:{self.port}"

    def _ready(self) -> bool:
        if not self.alive():
            raise RuntimeError(f"redis-server exited: {self.describe()}")
        return connectable(self.port)


def redis_command(port: int, *args: str) -> bytes:
    """Sends one command and returns the raw RESP reply (small replies only)."""
    req = f"*{len(args)}\r\n".encode() + b"".join(f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(req)
        buf = b""
        while not buf.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    return buf


def wait_shard_subscribed(port: int, channel: str) -> None:
    """Waits until a sharded adapter subscribed to channel: the "dynamic"
    adapter subscribes when a room is created (e.g. by sockets_join),
    asynchronously, and an event published before that is lost."""
    until(
        lambda: re.search(rb":([1-9]\d*)\r\n$", redis_command(port, "PUBSUB", "SHARDNUMSUB", channel)),
        10,
        f"SSUBSCRIBE {channel}",
    )


_built: Optional[str] = None


def sidecar_binary() -> str:
    """$SIORELAY_BIN, or .tmp/bin/siorelay built from this repo (go build is incremental)."""
    global _built
    if os.environ.get("SIORELAY_BIN"):
        return os.environ["SIORELAY_BIN"]
    if _built is None:
        out = REPO / ".tmp" / "bin" / "siorelay"
        subprocess.run(["go", "build", "-o", str(out), "./cmd/siorelay"], cwd=REPO, check=True)
        _built = str(out)
    return _built


def self_signed_cert(directory: Path) -> Tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made by the openssl command: (cert, key)."""
    if not shutil.which("openssl"):
        raise RuntimeError("openssl not found on PATH: install it with `apt-get install openssl`")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class Sidecar(Proc):
    def __init__(
        self,
        redis_url: str,
        token: Optional[str] = None,
        sharded: bool = False,
        tls: Optional[Tuple[Path, Path]] = None,
    ) -> None:
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        args = [sidecar_binary(), "emitter", "--grpc-addr", self.addr, "--redis", redis_url]
        if sharded:
            args.append("--sharded")
        if token is not None:
            args += ["--token", token]
        if tls is not None:
            args += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
        super().__init__(args, "siorelay " + " ".join(args[1:]))
        threading.Thread(target=lambda: self.popen.stdout and self.popen.stdout.read(), daemon=True).start()
        until(self._ready, 20, f"the sidecar on {self.port}")

    def _ready(self) -> bool:
        if not self.alive():
            raise RuntimeError(f"sidecar exited: {self.describe()}")
        return connectable(self.port)


class Relay(Proc):
    """``siorelay serve --redis`` with its gRPC EmitterService: a relay of
    the cluster, whose own clients connect to ``url``."""

    def __init__(self, redis_url: str, sharded: bool = False, namespaces: str = "/,/admin") -> None:
        self.port, self.grpc_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.addr = f"127.0.0.1:{self.grpc_port}"
        args = [sidecar_binary(), "serve", "--addr", f"127.0.0.1:{self.port}", "--grpc-addr", self.addr,
                "--redis", redis_url, "--namespaces", namespaces, "--demo=false", "--log-level", "warn"]  # fmt: skip
        if sharded:
            args += ["--sharded", "--subscription-mode", "dynamic"]
        super().__init__(args, "siorelay " + " ".join(args[1:]))
        threading.Thread(target=lambda: self.popen.stdout and self.popen.stdout.read(), daemon=True).start()
        until(self._ready, 20, f"the relay on {self.port}")

    def _ready(self) -> bool:
        if not self.alive():
            raise RuntimeError(f"relay exited: {self.describe()}")
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False


class Jsonl(Proc):
    """A clients/compat fixture: JSON lines out (kept in ``lines``), commands in."""

    def __init__(self, script: str, config: Dict[str, Any]) -> None:
        super().__init__(["node", str(COMPAT / script), json.dumps(config)], script, cwd=COMPAT, stdin=True)
        self.lines: List[Dict[str, Any]] = []
        self.cond = threading.Condition()
        self._next_id = 1
        self._eof = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout
        for line in self.popen.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                msg = {"type": "unparsed", "line": line}
            with self.cond:
                self.lines.append(msg)
                self.cond.notify_all()
        with self.cond:
            self._eof = True
            self.cond.notify_all()

    def wait_for(self, pred: Callable[[Dict[str, Any]], bool], what: str, timeout: float = 10, start: int = 0) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    if line.get("type") == "fatal":
                        raise RuntimeError(f"{self.name} died: {line.get('message')}")
                    if pred(line):
                        return line
                if self._eof:
                    raise RuntimeError(f"{self.name} exited before {what}: {self.describe()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out waiting for {what}; got {self.lines[start:]}")
                self.cond.wait(min(left, 0.2))

    def command(self, cmd: Dict[str, Any]) -> Any:
        i = self._next_id
        self._next_id += 1
        assert self.popen.stdin
        self.popen.stdin.write(json.dumps({**cmd, "id": i}) + "\n")
        self.popen.stdin.flush()
        res = self.wait_for(lambda l: l.get("type") == "result" and l.get("id") == i, f"result of {cmd['cmd']}")
        if "error" in res:
            raise RuntimeError(f"{cmd['cmd']}: {res['error']}")
        return res.get("result")

    def stop(self) -> None:
        if self.popen.stdin and not self.popen.stdin.closed:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            super().stop()


class Peer(Jsonl):
    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__("peer.js", config)
        listening = self.wait_for(lambda l: l.get("type") == "listening", "peer listening", timeout=20)
        self.url = f"http://127.0.0.1:{listening['port']}"


class Clients(Jsonl):
    def __init__(self, url: str, clients: List[Dict[str, Any]]) -> None:
        super().__init__("clients.js", {"url": url, "clients": clients})
        self.wait_for(lambda l: l.get("type") == "ready", "clients ready", timeout=20)

    def events(self, client: str) -> List[Dict[str, Any]]:
        """Events the client received, markers left out."""
        return [
            {"event": l["event"], "args": l["args"]}
            for l in list(self.lines)
            if l.get("type") == "event" and l.get("client") == client and l.get("event") != "marker"
        ]

    def wait_marker(self, names: List[str], tag: str) -> None:
        for n in names:
            self.wait_for(
                lambda l: l.get("type") == "event" and l.get("client") == n and l.get("event") == "marker" and l.get("args") == [tag],
                f"marker {tag} at {n}",
            )
