"""Compatibility tests of the asyncio client (siorelay.aio.Emitter) against
the same real stack as test_compat_sync.py. The fixture processes are
waited on in a thread so the event loop keeps running."""

from __future__ import annotations

import asyncio
import base64
import itertools

import grpc
import pytest

import siorelay.aio
from siorelay import EmitterError
from stack import wait_shard_subscribed

_markers = itertools.count(1)


async def settle(e: siorelay.aio.Emitter, c, by_nsp: dict) -> None:
    tag = f"am{next(_markers)}"
    for nsp, names in by_nsp.items():
        await e.of(nsp).emit("marker", tag)
        await asyncio.to_thread(c.wait_marker, names, tag)


def b64(b: bytes) -> dict:
    return {"$bin": base64.b64encode(b).decode()}


async def test_aio_emit_join_disconnect(clients):
    r1, x, j = clients.rooms("r1", "x", "j")
    c = await asyncio.to_thread(
        clients.clients,
        [
            {"name": "in", "auth": {"rooms": [r1]}},
            {"name": "excepted", "auth": {"rooms": [r1, x]}},
            {"name": "admin", "nsp": "/admin", "auth": {"rooms": [r1]}},
        ],
    )
    async with siorelay.aio.Emitter(clients.addr, timeout=10) as e:
        await e.to(r1).except_(x).emit("chat", {"a": 1}, b"\x00\x01")
        await e.of("/admin").to(r1).emit("adm", "only admin")
        await e.in_(x).sockets_join(j)
        if clients.mode == "sharded":
            await asyncio.to_thread(wait_shard_subscribed, clients.redis.port, f"socket.io#/#{j}#")
        await e.to(j).emit("joined")
        await e.to(j).sockets_leave(j)
        await e.to(j).emit("after-leave")
        await settle(e, c, {"/": ["in", "excepted"], "/admin": ["admin"]})
        assert c.events("in") == [{"event": "chat", "args": [{"a": 1}, b64(b"\x00\x01")]}]
        assert c.events("excepted") == [{"event": "joined", "args": []}]
        assert c.events("admin") == [{"event": "adm", "args": ["only admin"]}]

        await e.to(x).disconnect_sockets(close=False)
        d = await asyncio.to_thread(
            c.wait_for, lambda l: l.get("type") == "disconnect" and l.get("client") == "excepted", "disconnect"
        )
        assert d["reason"] == "io server disconnect"


async def test_aio_server_side_emit_batch_stream_errors(clients):
    (r,) = clients.rooms("r")
    c = await asyncio.to_thread(clients.clients, [{"name": "c", "auth": {"rooms": [r]}}])
    async with siorelay.aio.Emitter(clients.addr, timeout=10) as e:
        start = len(clients.peer.lines)
        await e.of("/admin").server_side_emit("job", [1, 2])
        p = await asyncio.to_thread(
            clients.peer.wait_for, lambda l: l.get("type") == "serverSideEmit" and l.get("event") == "job", "job", 10, start
        )
        assert (p["nsp"], p["args"]) == ("/admin", [[1, 2]])

        async with e.batch() as b:
            b.to(r).emit("b1", 1)
            b.to(r).emit("b2", b"\x02")
        assert b.count == 2
        async with e.stream(events_per_message=7) as st:
            for i in range(100):
                await st.to(r).emit("tick", i)
        assert st.count == 100

        with pytest.raises(EmitterError) as ee:
            await e.to(r).emit("connect_error")
        assert ee.value.local
        with pytest.raises(EmitterError) as ee:
            await e.of("/admin").server_side_emit("connection")
        assert ee.value.local

        await settle(e, c, {"/": ["c"]})
        got = c.events("c")
        assert got[:2] == [{"event": "b1", "args": [1]}, {"event": "b2", "args": [b64(b"\x02")]}]
        assert [ev["args"][0] for ev in got[2:]] == list(range(100))


async def test_aio_token(token_stack):
    for bad in (siorelay.aio.Emitter(token_stack.addr, token="nope"), siorelay.aio.Emitter(token_stack.addr)):
        async with bad:
            with pytest.raises(EmitterError) as ee:
                await bad.emit("ev")
            assert ee.value.code == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(EmitterError) as ee:
                async with bad.stream() as st:
                    await st.emit("s", 1)
            assert ee.value.code == grpc.StatusCode.UNAUTHENTICATED
    async with siorelay.aio.Emitter(token_stack.addr, token="s3cret") as good:
        await good.emit("ok")
