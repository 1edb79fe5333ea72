"""Compatibility tests of the queries and acknowledgements, over gRPC:
siorelay.Emitter (sync and asyncio) → the ``siorelay emitter`` sidecar and
``siorelay serve --redis`` → real Redis → a cluster of that relay and a
Node Socket.IO 4.8.4 server with @socket.io/redis-adapter 8.3.0, with
stock socket.io-client clients on both servers. Sockets on the Node server
and on the relay are found, counted and acked alike."""

from __future__ import annotations

import asyncio
from typing import Iterator

import pytest

import siorelay
import siorelay.aio
from stack import Clients, Peer, Redis, Relay, Sidecar, until


class Cluster:
    def __init__(self, mode: str) -> None:
        sharded = mode == "sharded"
        self.redis = Redis()
        self.procs: list = []
        try:
            self.relay = self._keep(Relay(self.redis.url, sharded=sharded))
            self.sidecar = self._keep(Sidecar(self.redis.url, sharded=sharded))
            self.peer = self._keep(
                Peer(
                    {
                        "redis": self.redis.url,
                        "mode": mode,
                        "subscriptionMode": "dynamic" if sharded else None,
                        "namespaces": ["/", "/admin"],
                    }
                )
            )
            self.on_relay = self._keep(
                Clients(self.relay.url, [{"name": "r1"}, {"name": "rquiet", "noAck": True}, {"name": "radmin", "nsp": "/admin"}])
            )
            self.on_peer = self._keep(
                Clients(self.peer.url, [{"name": "p1", "auth": {"rooms": ["q"], "data": {"user": "p1"}}}])
            )
        except BaseException:
            self.stop()
            raise
        self.ids = {
            n: c.wait_for(lambda l, n=n: l.get("type") == "connected" and l.get("client") == n, f"{n} connected")["id"]
            for c, names in ((self.on_relay, ["r1", "rquiet", "radmin"]), (self.on_peer, ["p1"]))
            for n in names
        }
        # The relay's clients join "q" through the service itself.
        with siorelay.Emitter(self.sidecar.addr, timeout=10) as e:
            e.in_([self.ids["r1"], self.ids["rquiet"]]).sockets_join("q")
            until(lambda: {s.id for s in e.in_("q").fetch_sockets()} == {self.ids[n] for n in ("r1", "rquiet", "p1")}, 10, "room q joined")

    def _keep(self, p):
        self.procs.append(p)
        return p

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()
        self.redis.stop()


@pytest.fixture(scope="module", params=["classic", "sharded"])
def cluster(request) -> Iterator[Cluster]:
    c = Cluster(request.param)
    yield c
    c.stop()


@pytest.fixture(params=["sidecar", "relay"])
def emitter(request, cluster):
    e = siorelay.Emitter(getattr(cluster, request.param).addr, timeout=10)
    yield e
    e.close()


def test_server_count(cluster, emitter):
    # The relay and the Node server; a sidecar holds no sockets and is no server.
    assert emitter.server_count() == 2
    assert emitter.of("/admin").server_count() == 2


def test_fetch_sockets_on_both_servers(cluster, emitter):
    ids = cluster.ids
    found = {s.id: s for s in emitter.in_("q").fetch_sockets()}
    assert set(found) == {ids["r1"], ids["rquiet"], ids["p1"]}
    p1, r1 = found[ids["p1"]], found[ids["r1"]]
    assert p1.data == {"user": "p1"}
    assert p1.rooms == frozenset({ids["p1"], "q"}) and r1.rooms == frozenset({ids["r1"], "q"})
    for s in (p1, r1):
        assert s.namespace == "/"
        assert s.handshake["address"] in ("127.0.0.1", "::ffff:127.0.0.1")
        assert s.handshake["query"]["EIO"] == "4" and s.handshake["issued"] > 0
    assert [s.id for s in emitter.of("/admin").fetch_sockets()] == [ids["radmin"]]
    assert {s.id for s in emitter.in_("q").except_(ids["rquiet"]).fetch_sockets()} == {ids["r1"], ids["p1"]}


def test_all_rooms(cluster, emitter):
    rooms = emitter.all_rooms()
    assert {"q", cluster.ids["r1"], cluster.ids["p1"]} <= rooms
    assert cluster.ids["radmin"] not in rooms
    assert cluster.ids["radmin"] in emitter.of("/admin").all_rooms()


def test_emit_with_ack_from_both_servers(cluster, emitter):
    answers = emitter.timeout(5).to("q").except_(cluster.ids["rquiet"]).emit_with_ack("confirm", 1)
    assert sorted(answers, key=lambda a: a["client"]) == [{"ok": True, "client": "p1"}, {"ok": True, "client": "r1"}]
    assert emitter.timeout(5).to("nobody").emit_with_ack("confirm") == []


def test_emit_with_ack_timeout(cluster, emitter):
    with pytest.raises(siorelay.AckTimeoutError) as ei:
        emitter.timeout(0.5).to("q").emit_with_ack("confirm")
    assert sorted(a["client"] for a in ei.value.responses) == ["p1", "r1"]
    assert ei.value.clients == 3


def test_aio(cluster):
    async def run() -> None:
        async with siorelay.aio.Emitter(cluster.relay.addr, timeout=10) as e:
            assert await e.server_count() == 2
            assert {s.id for s in await e.in_("q").fetch_sockets()} == {cluster.ids[n] for n in ("r1", "rquiet", "p1")}
            answers = await e.timeout(5).to(cluster.ids["p1"]).emit_with_ack("confirm")
            assert answers == [{"ok": True, "client": "p1"}]

    asyncio.run(run())
