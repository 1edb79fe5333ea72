"""Unit tests: request shapes and local validation, against an in-process
fake EmitterService that records what it receives. They prove what the
client sends, not what Socket.IO clients get; test_compat*.py does that
against the real sidecar, Redis and Node stack."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import Any, List, Optional, Tuple

import grpc
import pytest

import siorelay
import siorelay.aio
from siorelay import EmitterError
from siorelay.v1 import emitter_pb2 as pb
from siorelay.v1 import emitter_pb2_grpc as pb_grpc

PKG = Path(__file__).resolve().parent.parent


class Fake(pb_grpc.EmitterServiceServicer):
    def __init__(self) -> None:
        self.calls: List[Tuple[str, Any, dict]] = []
        self.fail: Optional[Tuple[grpc.StatusCode, str]] = None
        self.lock = threading.Lock()

    def _record(self, method: str, request: Any, context: grpc.ServicerContext) -> None:
        md = {k: v for k, v in context.invocation_metadata() if not k.startswith("user-agent")}
        with self.lock:
            self.calls.append((method, request, md))
            fail, self.fail = self.fail, None
        if fail:
            context.abort(*fail)

    def Emit(self, request, context):
        if request.event == "slow":
            time.sleep(0.5)
        self._record("Emit", request, context)
        return pb.EmitResponse()

    def EmitBatch(self, request, context):
        self._record("EmitBatch", request, context)
        return pb.EmitBatchResponse(count=len(request.events))

    def EmitStream(self, request_iterator, context):
        msgs = list(request_iterator)
        self._record("EmitStream", msgs, context)
        return pb.EmitStreamResponse(count=sum(len(m.events) for m in msgs))

    def SocketsJoin(self, request, context):
        self._record("SocketsJoin", request, context)
        return pb.SocketsJoinResponse()

    def SocketsLeave(self, request, context):
        self._record("SocketsLeave", request, context)
        return pb.SocketsLeaveResponse()

    def DisconnectSockets(self, request, context):
        self._record("DisconnectSockets", request, context)
        return pb.DisconnectSocketsResponse()

    def ServerSideEmit(self, request, context):
        self._record("ServerSideEmit", request, context)
        return pb.ServerSideEmitResponse()

    def FetchSockets(self, request, context):
        self._record("FetchSockets", request, context)
        hs = pb.Handshake(address="127.0.0.1", headers={"host": "h"}, query={"EIO": "4"}, auth='{"token":"t"}', secure=True, url="/socket.io/?EIO=4")
        hs.time.FromMilliseconds(1796568677123)
        return pb.FetchSocketsResponse(
            sockets=[pb.Socket(id="S1", namespace="/admin", rooms=["S1", "r"], data='{"user":"u1"}', handshake=hs)]
        )

    def ServerCount(self, request, context):
        self._record("ServerCount", request, context)
        return pb.ServerCountResponse(count=3)

    def AllRooms(self, request, context):
        self._record("AllRooms", request, context)
        return pb.AllRoomsResponse(rooms=["a", "b"])

    def EmitWithAck(self, request, context):
        self._record("EmitWithAck", request, context)
        if request.event == "late":
            return pb.EmitWithAckResponse(acks=[pb.Ack(json='"late"')], clients=3, timed_out=True)
        return pb.EmitWithAckResponse(acks=[pb.Ack(socket_id="S1", json='{"ok":true}'), pb.Ack(json="null")], clients=2, servers=1)


@pytest.fixture(scope="module")
def fake():
    f = Fake()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_EmitterServiceServicer_to_server(f, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    f.addr = f"127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield f
    server.stop(None)


def last(fake: Fake) -> Tuple[str, Any, dict]:
    return fake.calls[-1]


def test_generated_stubs_are_fresh():
    env = dict(os.environ, PYTHON=sys.executable)
    r = subprocess.run(["bash", str(PKG / "scripts" / "generate.sh"), "--check"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_package_type_checks():
    """The package is typed (py.typed): mypy --strict must pass on it."""
    r = subprocess.run([sys.executable, "-m", "mypy"], cwd=PKG, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_emit_request_shape(fake):
    with siorelay.Emitter(fake.addr) as e:
        op = e.of("admin").to("r1").in_(["r2", "r1"]).except_("x").volatile.compress(False)
        op.emit("chat", "hi", 42, {"a": [1, None]}, None, b"\x01\x02\x03", bytearray(b"\x04"), memoryview(b"\x05"))
        method, req, _ = last(fake)
        assert method == "Emit"
        assert req == pb.EmitRequest(
            target=pb.Target(namespace="/admin", rooms=["r1", "r2"], except_rooms=["x"]),
            event="chat",
            args=[
                pb.Arg(json='"hi"'),
                pb.Arg(json="42"),
                pb.Arg(json='{"a":[1,null]}'),
                pb.Arg(json="null"),
                pb.Arg(binary=b"\x01\x02\x03"),
                pb.Arg(binary=b"\x04"),
                pb.Arg(binary=b"\x05"),
            ],
            volatile=True,
            compress=False,
        )
        # Builders are immutable.
        op.to("other")
        op.emit("again")
        assert list(last(fake)[1].target.rooms) == ["r1", "r2"]
        e.emit("plain")
        req = last(fake)[1]
        assert req.target == pb.Target(namespace="/")
        assert not req.volatile
        assert not req.HasField("compress")


def test_token_metadata(fake):
    with siorelay.Emitter(fake.addr, token="s3cret") as e:
        e.emit("ev")
    assert last(fake)[2]["authorization"] == "Bearer s3cret"


def test_other_actions_shapes(fake):
    with siorelay.Emitter(fake.addr) as e:
        e.of("/n").in_("a").except_("b").sockets_join(["c", "d"])
        assert last(fake)[:2] == (
            "SocketsJoin",
            pb.SocketsJoinRequest(target=pb.Target(namespace="/n", rooms=["a"], except_rooms=["b"]), rooms=["c", "d"]),
        )
        e.to("a").sockets_leave("c")
        assert last(fake)[:2] == (
            "SocketsLeave",
            pb.SocketsLeaveRequest(target=pb.Target(namespace="/", rooms=["a"]), rooms=["c"]),
        )
        e.to("a").disconnect_sockets(close=True)
        assert last(fake)[1] == pb.DisconnectSocketsRequest(target=pb.Target(namespace="/", rooms=["a"]), close=True)
        e.disconnect_sockets()
        assert last(fake)[1].close is False
        e.of("/n").server_side_emit("ping", {"x": 1}, b"\x09")
        assert last(fake)[:2] == (
            "ServerSideEmit",
            pb.ServerSideEmitRequest(namespace="/n", event="ping", args=[pb.Arg(json='{"x":1}'), pb.Arg(binary=b"\x09")]),
        )


def _cyclic() -> Any:
    d: dict = {}
    d["self"] = d
    return d


@pytest.mark.parametrize(
    "action",
    [
        lambda e: e.emit("connect"),
        lambda e: e.to("r").emit("disconnecting"),
        lambda e: e.emit("removeListener"),
        lambda e: e.emit(""),
        lambda e: e.emit(42),
        lambda e: e.server_side_emit("connection"),
        lambda e: e.server_side_emit("new_namespace"),
        lambda e: e.emit("ev", {"nested": b"\x01"}),
        lambda e: e.emit("ev", [bytearray(2)]),
        lambda e: e.emit("ev", lambda: None),
        lambda e: e.emit("ev", float("nan")),
        lambda e: e.emit("ev", object()),
        lambda e: e.emit("ev", _cyclic()),
    ],
)
def test_rejected_locally(fake, action):
    with siorelay.Emitter(fake.addr) as e:
        n = len(fake.calls)
        with pytest.raises(EmitterError) as ei:
            action(e)
        assert ei.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert ei.value.local
        assert len(fake.calls) == n, "no call was made"


def test_error_messages(fake):
    with siorelay.Emitter(fake.addr) as e:
        with pytest.raises(EmitterError, match='"connect" is a reserved event name'):
            e.emit("connect")
        with pytest.raises(EmitterError, match="nested inside an argument"):
            e.emit("ev", {"b": b"x"})
        # server_side_emit allows socket-reserved names other than its own.
        e.server_side_emit("disconnect")
        assert last(fake)[1].event == "disconnect"


def test_builder_misuse_is_type_error(fake):
    with siorelay.Emitter(fake.addr) as e:
        with pytest.raises(TypeError):
            e.to(5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            e.to(["a", 1])  # type: ignore[list-item]
        with pytest.raises(TypeError):
            e.compress("no")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        siorelay.Emitter("")


def test_server_error_carries_code(fake):
    e = siorelay.Emitter(fake.addr)
    fake.fail = (grpc.StatusCode.UNAVAILABLE, "redis down")
    with pytest.raises(EmitterError) as ei:
        e.emit("ev")
    assert ei.value.code == grpc.StatusCode.UNAVAILABLE
    assert ei.value.details == "redis down"
    assert not ei.value.local
    assert "Emit: UNAVAILABLE: redis down" in str(ei.value)
    e.close()
    with pytest.raises(EmitterError) as ei:
        e.emit("ev")
    assert ei.value.code == grpc.StatusCode.CANCELLED


def test_batch(fake):
    with siorelay.Emitter(fake.addr) as e:
        with e.of("/n").batch() as b:
            b.to("a").emit("e1", 1)
            b.emit("e2")
            b.of("/m").except_("x").volatile.emit("e3", b"\x07")
            with pytest.raises(EmitterError):
                b.emit("connect")
            assert len(b) == 3
        assert b.count == 3
        method, req, _ = last(fake)
        assert method == "EmitBatch"
        assert [(ev.target.namespace, list(ev.target.rooms), list(ev.target.except_rooms), ev.event, ev.volatile) for ev in req.events] == [
            ("/n", ["a"], [], "e1", False),
            ("/n", [], [], "e2", False),
            ("/m", [], ["x"], "e3", True),
        ]
        assert req.events[2].args[0].binary == b"\x07"


def test_stream(fake):
    with siorelay.Emitter(fake.addr) as e:
        with e.stream(events_per_message=2) as s:
            for i in range(5):
                s.to("r").emit("tick", i)
        assert s.count == 5
        method, msgs, _ = last(fake)
        assert method == "EmitStream"
        assert [[ev.args[0].json for ev in m.events] for m in msgs] == [["0", "1"], ["2", "3"], ["4"]]
        with pytest.raises(EmitterError):
            s.emit("late")


async def test_aio_shapes_and_errors(fake):
    async with siorelay.aio.Emitter(fake.addr, token="t") as e:
        await e.of("/n").to(["a"]).except_("b").compress(True).emit("ev", b"\x01", {"k": "v"})
        method, req, md = last(fake)
        assert method == "Emit" and md["authorization"] == "Bearer t"
        assert req == pb.EmitRequest(
            target=pb.Target(namespace="/n", rooms=["a"], except_rooms=["b"]),
            event="ev",
            args=[pb.Arg(binary=b"\x01"), pb.Arg(json='{"k":"v"}')],
            compress=True,
        )
        await e.in_("a").sockets_join("b")
        await e.in_("a").sockets_leave("b")
        await e.disconnect_sockets(True)
        await e.server_side_emit("ping", 1)
        assert [c[0] for c in fake.calls[-4:]] == ["SocketsJoin", "SocketsLeave", "DisconnectSockets", "ServerSideEmit"]
        n = len(fake.calls)
        with pytest.raises(EmitterError) as ei:
            await e.emit("disconnect")
        assert ei.value.local and len(fake.calls) == n
        fake.fail = (grpc.StatusCode.INVALID_ARGUMENT, "bad")
        with pytest.raises(EmitterError) as ei:
            await e.emit("ev")
        assert ei.value.code == grpc.StatusCode.INVALID_ARGUMENT and not ei.value.local

        async with e.batch() as b:
            b.to("a").emit("x")
            b.emit("y")
        assert b.count == 2 and last(fake)[0] == "EmitBatch"

        async with e.stream(events_per_message=3) as s:
            for i in range(7):
                await s.emit("t", i)
        assert s.count == 7
        assert [len(m.events) for m in last(fake)[1]] == [3, 3, 1]


def test_timeout_is_deadline_exceeded(fake):
    with siorelay.Emitter(fake.addr, timeout=0.1) as e:
        with pytest.raises(EmitterError) as ei:
            e.emit("slow")
        assert ei.value.code == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_aio_timeout_is_deadline_exceeded(fake):
    async with siorelay.aio.Emitter(fake.addr, timeout=0.1) as e:
        with pytest.raises(EmitterError) as ei:
            await e.emit("slow")
        assert ei.value.code == grpc.StatusCode.DEADLINE_EXCEEDED


def _target(nsp: str = "/", rooms: Any = (), except_rooms: Any = ()) -> pb.Target:
    return pb.Target(namespace=nsp, rooms=list(rooms), except_rooms=list(except_rooms))


WANT_HANDSHAKE = {
    "headers": {"host": "h"},
    "time": "2026-12-06T14:51:17.123Z",
    "address": "127.0.0.1",
    "xdomain": False,
    "secure": True,
    "issued": 1796568677123,
    "url": "/socket.io/?EIO=4",
    "query": {"EIO": "4"},
    "auth": {"token": "t"},
}


def test_queries_and_acks(fake):
    with siorelay.Emitter(fake.addr, timeout=1) as e:
        assert e.of("admin").server_count() == 3
        assert last(fake)[:2] == ("ServerCount", pb.ServerCountRequest(namespace="/admin"))
        assert e.all_rooms() == frozenset({"a", "b"})
        assert last(fake)[:2] == ("AllRooms", pb.AllRoomsRequest(namespace="/"))

        sockets = e.of("/admin").in_("r").except_("x").fetch_sockets()
        assert last(fake)[:2] == ("FetchSockets", pb.FetchSocketsRequest(target=_target("/admin", ["r"], ["x"])))
        [s] = sockets
        assert isinstance(s, siorelay.RemoteSocket)
        assert (s.id, s.namespace, s.rooms, s.data) == ("S1", "/admin", frozenset({"S1", "r"}), {"user": "u1"})
        assert s.handshake == WANT_HANDSHAKE
        s.emit("direct", 1)
        assert last(fake)[1] == pb.EmitRequest(target=_target("/admin", ["S1"]), event="direct", args=[pb.Arg(json="1")])
        s.join("j")
        assert last(fake)[:2] == ("SocketsJoin", pb.SocketsJoinRequest(target=_target("/admin", ["S1"]), rooms=["j"]))
        s.disconnect(True)
        assert last(fake)[1] == pb.DisconnectSocketsRequest(target=_target("/admin", ["S1"]), close=True)

        assert e.timeout(1.5).to("r").emit_with_ack("confirm", 1) == [{"ok": True}, None]
        _, req, _ = last(fake)
        assert req.target == _target("/", ["r"]) and req.event == "confirm" and list(req.args) == [pb.Arg(json="1")]
        assert (req.timeout.seconds, req.timeout.nanos) == (1, 500000000)
        e.emit_with_ack("all")
        assert not last(fake)[1].HasField("timeout"), "no timeout: the server's default"

        with pytest.raises(siorelay.AckTimeoutError) as ei:
            e.timeout(0.01).emit_with_ack("late")
        assert ei.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "operation has timed out (1 of 3 clients answered)" in str(ei.value)
        assert (ei.value.responses, ei.value.clients) == (["late"], 3)
        assert isinstance(ei.value, EmitterError)

        n = len(fake.calls)
        with pytest.raises(EmitterError, match="reserved"):
            e.emit_with_ack("connect")
        for bad in (0, -1, "5", True, float("inf")):
            with pytest.raises(TypeError):
                e.timeout(bad)  # type: ignore[arg-type]
        assert len(fake.calls) == n, "no call was made"


@pytest.mark.asyncio
async def test_aio_queries_and_acks(fake):
    async with siorelay.aio.Emitter(fake.addr) as e:
        assert await e.of("/admin").server_count() == 3
        assert await e.all_rooms() == frozenset({"a", "b"})
        [s] = await e.in_("r").fetch_sockets()
        assert isinstance(s, siorelay.aio.RemoteSocket)
        assert (s.id, s.rooms, s.data, s.handshake) == ("S1", frozenset({"S1", "r"}), {"user": "u1"}, WANT_HANDSHAKE)
        await s.leave("j")
        assert last(fake)[:2] == ("SocketsLeave", pb.SocketsLeaveRequest(target=_target("/", ["S1"]), rooms=["j"]))
        assert await e.timeout(2).emit_with_ack("confirm") == [{"ok": True}, None]
        assert last(fake)[1].timeout.seconds == 2
        with pytest.raises(siorelay.AckTimeoutError) as ei:
            await e.emit_with_ack("late")
        assert ei.value.responses == ["late"]
