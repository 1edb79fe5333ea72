"""Compatibility tests of the sync client: siorelay.Emitter → the real
``siorelay emitter`` sidecar → real Redis → a real Node Socket.IO server
with @socket.io/redis-adapter → real socket.io-client clients, whose
received events are asserted.

settle() relies on ordering: the sidecar publishes before it answers and
the peer reads every channel on one Redis connection, so once every client
got a marker emitted after the calls under test, nothing they sent is still
on its way."""

from __future__ import annotations

import base64
import itertools

import grpc
import pytest

import siorelay
from siorelay import EmitterError
from siorelay.v1 import emitter_pb2 as pb
from siorelay.v1 import emitter_pb2_grpc as pb_grpc
from stack import wait_shard_subscribed

_markers = itertools.count(1)


def settle(e: siorelay.Emitter, c, by_nsp: dict) -> None:
    tag = f"m{next(_markers)}"
    for nsp, names in by_nsp.items():
        e.of(nsp).emit("marker", tag)
        c.wait_marker(names, tag)


def b64(b: bytes) -> dict:
    return {"$bin": base64.b64encode(b).decode()}


@pytest.fixture
def emitter(stack):
    e = siorelay.Emitter(stack.addr, timeout=10)
    yield e
    e.close()


def test_emit_room_except_namespace_binary(clients, emitter):
    r1, r2, x = clients.rooms("r1", "r2", "x")
    c = clients.clients(
        [
            {"name": "in", "auth": {"rooms": [r1]}},
            {"name": "excepted", "auth": {"rooms": [r1, x]}},
            {"name": "other", "auth": {"rooms": [r2]}},
            {"name": "admin", "nsp": "/admin", "auth": {"rooms": [r1]}},
        ]
    )
    emitter.to(r1).except_(x).emit("chat", "hi", {"a": [1, None], "b": "é"}, b"\x01\x02\x03", 4.5, False, None)
    emitter.of("admin").emit("adm", bytearray(b"\xff\x00"), memoryview(b"mv"))
    emitter.in_([r1, r2]).emit("multi", 1)
    settle(emitter, c, {"/": ["in", "excepted", "other"], "/admin": ["admin"]})
    assert c.events("in") == [
        {"event": "chat", "args": ["hi", {"a": [1, None], "b": "é"}, b64(b"\x01\x02\x03"), 4.5, False, None]},
        {"event": "multi", "args": [1]},
    ]
    assert c.events("excepted") == [{"event": "multi", "args": [1]}]
    assert c.events("other") == [{"event": "multi", "args": [1]}]
    assert c.events("admin") == [{"event": "adm", "args": [b64(b"\xff\x00"), b64(b"mv")]}]


def test_volatile_and_compress(clients, emitter):
    (r,) = clients.rooms("r")
    c = clients.clients([{"name": "c", "auth": {"rooms": [r]}}])
    emitter.to(r).volatile.emit("v", 1)
    emitter.to(r).compress(False).emit("nc", 2)
    settle(emitter, c, {"/": ["c"]})
    assert c.events("c") == [{"event": "v", "args": [1]}, {"event": "nc", "args": [2]}]


def test_sockets_join_then_emit_and_leave(clients, emitter):
    a, b, other = clients.rooms("a", "b", "other")
    c = clients.clients([{"name": "a1", "auth": {"rooms": [a]}}, {"name": "o1", "auth": {"rooms": [other]}}])
    emitter.in_(a).sockets_join(b)
    if clients.mode == "sharded":
        wait_shard_subscribed(clients.redis.port, f"socket.io#/#{b}#")
    emitter.to(b).emit("joined", "yes")
    emitter.in_(a).sockets_leave([b])
    emitter.to(b).emit("after-leave", "no")
    settle(emitter, c, {"/": ["a1", "o1"]})
    assert c.events("a1") == [{"event": "joined", "args": ["yes"]}]
    assert c.events("o1") == []


def test_disconnect_sockets(clients, emitter):
    d1, d2 = clients.rooms("d1", "d2")
    c = clients.clients(
        [{"name": "soft", "auth": {"rooms": [d1]}}, {"name": "hard", "auth": {"rooms": [d2]}}, {"name": "stays"}]
    )
    emitter.to(d1).disconnect_sockets()
    soft = c.wait_for(lambda l: l.get("type") == "disconnect" and l.get("client") == "soft", "soft disconnect")
    assert soft["reason"] == "io server disconnect"
    emitter.to(d2).disconnect_sockets(close=True)
    hard = c.wait_for(lambda l: l.get("type") == "disconnect" and l.get("client") == "hard", "hard disconnect")
    # Socket.IO 4.8 sends a DISCONNECT packet before closing the connection.
    assert hard["reason"] == "io server disconnect"
    settle(emitter, c, {"/": ["stays"]})
    assert not [l for l in c.lines if l.get("type") == "disconnect" and l.get("client") == "stays"]


def test_server_side_emit(stack, emitter):
    start = len(stack.peer.lines)
    emitter.server_side_emit("ping", 42, {"k": "v"})
    emitter.of("/admin").server_side_emit("job", "x")
    p = stack.peer.wait_for(lambda l: l.get("type") == "serverSideEmit" and l.get("event") == "ping", "ping", start=start)
    assert (p["nsp"], p["args"]) == ("/", [42, {"k": "v"}])
    j = stack.peer.wait_for(lambda l: l.get("type") == "serverSideEmit" and l.get("event") == "job", "job", start=start)
    assert (j["nsp"], j["args"]) == ("/admin", ["x"])


def test_batch_and_stream(clients, emitter):
    r, s = clients.rooms("r", "s")
    c = clients.clients([{"name": "b", "auth": {"rooms": [r]}}, {"name": "s", "auth": {"rooms": [s]}}])
    with emitter.batch() as batch:
        batch.to(r).emit("b1", 1)
        batch.to(r).emit("b2", b"hey")
        batch.to(s).emit("b3", 3)
    assert batch.count == 3
    n = 250
    with emitter.stream(events_per_message=16) as st:
        for i in range(n):
            st.to(s).emit("tick", i)
    assert st.count == n
    settle(emitter, c, {"/": ["b", "s"]})
    assert c.events("b") == [{"event": "b1", "args": [1]}, {"event": "b2", "args": [b64(b"hey")]}]
    got = c.events("s")
    assert got[0] == {"event": "b3", "args": [3]}
    assert [ev["args"][0] for ev in got[1:]] == list(range(n))


def test_errors(clients, emitter):
    (r,) = clients.rooms("r")
    c = clients.clients([{"name": "c", "auth": {"rooms": [r]}}])
    with grpc.insecure_channel(clients.addr) as ch:
        stub = pb_grpc.EmitterServiceStub(ch)
        with pytest.raises(grpc.RpcError) as ei:
            stub.Emit(pb.EmitRequest(target=pb.Target(namespace="admin", rooms=[r]), event="ev"), timeout=10)
        assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as ei:
            stub.Emit(pb.EmitRequest(target=pb.Target(rooms=[r]), event="ev", args=[pb.Arg(json="{nope")]), timeout=10)
        assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    with pytest.raises(EmitterError) as ee:
        emitter.to(r).emit("connect")
    assert ee.value.local and ee.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(EmitterError):
        emitter.to(r).emit("ev", {"nested": b"\x01"})

    # A batch with one event the server rejects publishes nothing.
    batch = emitter.batch()
    batch.to(r).emit("good", 1)
    batch._events.append(pb.EmitRequest(target=pb.Target(rooms=[r]), event="ev", args=[pb.Arg(json="{bad")]))
    with pytest.raises(EmitterError) as ee:
        batch.send()
    assert ee.value.code == grpc.StatusCode.INVALID_ARGUMENT and not ee.value.local

    settle(emitter, c, {"/": ["c"]})
    assert c.events("c") == []


def test_token(token_stack):
    c = token_stack.clients([{"name": "c", "auth": {"rooms": ["t"]}}])
    try:
        for bad in (siorelay.Emitter(token_stack.addr, token="nope"), siorelay.Emitter(token_stack.addr)):
            with bad:
                with pytest.raises(EmitterError) as ee:
                    bad.to("t").emit("ev", 1)
                assert ee.value.code == grpc.StatusCode.UNAUTHENTICATED
                with pytest.raises(EmitterError) as ee:
                    bad.server_side_emit("x")
                assert ee.value.code == grpc.StatusCode.UNAUTHENTICATED
                with pytest.raises(EmitterError) as ee:
                    with bad.stream() as st:
                        st.emit("s", 1)
                assert ee.value.code == grpc.StatusCode.UNAUTHENTICATED
        with siorelay.Emitter(token_stack.addr, token="s3cret") as good:
            good.to("t").emit("ok", 1)
            settle(good, c, {"/": ["c"]})
        assert c.events("c") == [{"event": "ok", "args": [1]}]
    finally:
        token_stack.close_clients()


def test_redis_down_is_unavailable():
    from stack import Redis, Sidecar

    redis = Redis()
    sidecar = Sidecar(redis.url)
    try:
        with siorelay.Emitter(sidecar.addr, timeout=20) as e:
            e.emit("up", 1)  # works while Redis is there
            redis.stop()
            with pytest.raises(EmitterError) as ee:
                e.emit("down", 1)
            assert ee.value.code == grpc.StatusCode.UNAVAILABLE, str(ee.value)
            assert not ee.value.local
    finally:
        sidecar.stop()
        redis.stop()


def test_tls(tmp_path):
    from stack import Clients, Peer, Redis, Sidecar, self_signed_cert

    cert, key = self_signed_cert(tmp_path)
    redis = Redis()
    procs: list = [redis]
    try:
        sidecar = Sidecar(redis.url, tls=(cert, key))
        procs.append(sidecar)
        peer = Peer({"redis": redis.url, "namespaces": ["/"]})
        procs.append(peer)
        c = Clients(peer.url, [{"name": "c", "auth": {"rooms": ["t"]}}])
        procs.append(c)
        creds = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with siorelay.Emitter(sidecar.addr, credentials=creds, timeout=10) as secure:
            secure.to("t").emit("over-tls", b"\x01")
            settle(secure, c, {"/": ["c"]})
        assert c.events("c") == [{"event": "over-tls", "args": [b64(b"\x01")]}]
        with siorelay.Emitter(sidecar.addr, timeout=3) as plain:
            with pytest.raises(EmitterError) as ee:
                plain.emit("ev")
            assert not ee.value.local
    finally:
        for p in reversed(procs):
            p.stop()
