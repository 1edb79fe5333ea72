"""Fixtures of the compatibility tests: one real stack (redis-server,
sidecar, Node peer) per test module and adapter mode, clients per test."""

from __future__ import annotations

import itertools
from typing import Iterator, List

import pytest

from stack import Clients, Peer, Redis, Sidecar


class Stack:
    def __init__(self, mode: str, token: str | None = None) -> None:
        self.mode = mode
        self.redis = Redis()
        try:
            self.sidecar = Sidecar(self.redis.url, token=token, sharded=mode == "sharded")
            self.peer = Peer(
                {
                    "redis": self.redis.url,
                    "mode": mode,
                    # explicit: peer.js passes it through, and a missing one
                    # would override the adapter's "dynamic" default
                    "subscriptionMode": "dynamic" if mode == "sharded" else None,
                    "namespaces": ["/", "/admin"],
                    "serverEvents": ["ping", "job"],
                }
            )
        except BaseException:
            self.stop()
            raise
        self._clients: List[Clients] = []
        self._n = itertools.count(1)

    @property
    def addr(self) -> str:
        return self.sidecar.addr

    def rooms(self, *names: str) -> List[str]:
        """Room names unique to this call, so tests never see each other's events."""
        n = next(self._n)
        return [f"{self.mode}-{n}-{name}" for name in names]

    def clients(self, clients: list) -> Clients:
        c = Clients(self.peer.url, clients)
        self._clients.append(c)
        return c

    def close_clients(self) -> None:
        for c in self._clients:
            c.stop()
        self._clients.clear()

    def stop(self) -> None:
        for p in ("peer", "sidecar", "redis"):
            if hasattr(self, p):
                getattr(self, p).stop()


@pytest.fixture(scope="module", params=["classic", "sharded"])
def stack(request) -> Iterator[Stack]:
    s = Stack(request.param)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def token_stack() -> Iterator[Stack]:
    s = Stack("classic", token="s3cret")
    yield s
    s.stop()


@pytest.fixture
def clients(stack: Stack) -> Iterator[Stack]:
    """The stack, with the clients a test starts stopped after it."""
    yield stack
    stack.close_clients()
