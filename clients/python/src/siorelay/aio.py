"""The asyncio emitter, on ``grpc.aio``: the same API as
:class:`siorelay.Emitter` with ``async`` actions.

    async with siorelay.aio.Emitter("127.0.0.1:50051") as e:
        await e.of("/admin").to("room").emit("event", {"a": 1})
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, FrozenSet, List, Optional, Sequence, Tuple, Type

import grpc
import grpc.aio

from siorelay._core import (
    EmitterError,
    RemoteSocketBase,
    Rooms,
    Selection,
    Selector,
    ack_responses,
    closed_error,
    metadata,
    normalize_namespace,
    room_list,
    server_side_emit_request,
)
from siorelay.v1 import emitter_pb2 as pb
from siorelay.v1 import emitter_pb2_grpc as pb_grpc

__all__ = ["Emitter", "BroadcastOperator", "Batch", "EmitStream", "QueueOperator", "RemoteSocket", "EmitterError"]


class _Connection:
    def __init__(
        self,
        target: str,
        token: Optional[str],
        credentials: Optional[grpc.ChannelCredentials],
        timeout: Optional[float],
        options: Optional[Sequence[Tuple[str, Any]]],
    ) -> None:
        if credentials is None:
            self.channel = grpc.aio.insecure_channel(target, options=options)
        else:
            self.channel = grpc.aio.secure_channel(target, credentials, options=options)
        self.stub = pb_grpc.EmitterServiceStub(self.channel)  # type: ignore[no-untyped-call]
        self.metadata = metadata(token)
        self.timeout = timeout
        self.closed = False

    async def call(self, method: str, request: Any, timeout: Optional[float] = None) -> Any:
        if self.closed:
            raise closed_error()
        try:
            return await getattr(self.stub, method)(request, metadata=self.metadata, timeout=timeout or self.timeout)
        except grpc.RpcError as e:
            raise EmitterError.from_rpc(e, method) from e

    async def close(self) -> None:
        self.closed = True
        await self.channel.close(None)


class BroadcastOperator(Selector):
    """Selected sockets of one namespace, plus flags; actions are coroutines."""

    __slots__ = ()

    async def emit(self, event: str, *args: Any) -> None:
        await self._owner.call("Emit", self._sel.emit_request(event, args))

    async def sockets_join(self, rooms: Rooms) -> None:
        await self._owner.call("SocketsJoin", pb.SocketsJoinRequest(target=self._sel.target(), rooms=room_list(rooms)))

    async def sockets_leave(self, rooms: Rooms) -> None:
        await self._owner.call(
            "SocketsLeave", pb.SocketsLeaveRequest(target=self._sel.target(), rooms=room_list(rooms))
        )

    async def disconnect_sockets(self, close: bool = False) -> None:
        await self._owner.call("DisconnectSockets", pb.DisconnectSocketsRequest(target=self._sel.target(), close=close))

    async def emit_with_ack(self, event: str, *args: Any) -> List[Any]:
        """See :meth:`siorelay.BroadcastOperator.emit_with_ack`."""
        req = self._sel.emit_with_ack_request(event, args)
        return ack_responses(await self._owner.call("EmitWithAck", req, self._sel.call_timeout(self._owner.timeout)))

    async def fetch_sockets(self) -> List["RemoteSocket"]:
        """The selected sockets of the whole cluster (Node's ``fetchSockets()``)."""
        res = await self._owner.call("FetchSockets", pb.FetchSocketsRequest(target=self._sel.target()))
        nsp = BroadcastOperator(self._owner, Selection(namespace=self._sel.namespace))
        return [RemoteSocket(nsp, s) for s in res.sockets]


class RemoteSocket(RemoteSocketBase):
    """A socket of the cluster with Node's RemoteSocket actions, as coroutines."""

    __slots__ = ()

    async def emit(self, event: str, *args: Any) -> None:
        await self._op.to(self.id).emit(event, *args)

    async def join(self, rooms: Rooms) -> None:
        await self._op.in_(self.id).sockets_join(rooms)

    async def leave(self, rooms: Rooms) -> None:
        await self._op.in_(self.id).sockets_leave(rooms)

    async def disconnect(self, close: bool = False) -> None:
        await self._op.in_(self.id).disconnect_sockets(close)


class Emitter:
    """The asyncio twin of :class:`siorelay.Emitter`. Create it inside the
    event loop that uses it; ``await close()`` (or ``async with``) when done."""

    def __init__(
        self,
        target: str,
        *,
        token: Optional[str] = None,
        credentials: Optional[grpc.ChannelCredentials] = None,
        timeout: Optional[float] = None,
        options: Optional[Sequence[Tuple[str, Any]]] = None,
    ) -> None:
        if not isinstance(target, str) or not target:
            raise TypeError("siorelay: Emitter needs a server address such as 127.0.0.1:50051")
        self._init(_Connection(target, token, credentials, timeout, options), "/")

    def _init(self, conn: _Connection, nsp: str) -> None:
        self._conn = conn
        self._nsp = nsp
        self._op = BroadcastOperator(conn, Selection(namespace=nsp))

    def of(self, nsp: str) -> "Emitter":
        """An emitter for namespace ``nsp`` (``"admin"`` means ``"/admin"``), sharing the channel."""
        e = Emitter.__new__(Emitter)
        e._init(self._conn, normalize_namespace(nsp))
        return e

    def to(self, rooms: Rooms) -> BroadcastOperator:
        return self._op.to(rooms)

    def in_(self, rooms: Rooms) -> BroadcastOperator:
        return self._op.in_(rooms)

    def except_(self, rooms: Rooms) -> BroadcastOperator:
        return self._op.except_(rooms)

    @property
    def volatile(self) -> BroadcastOperator:
        return self._op.volatile

    def compress(self, compress: bool) -> BroadcastOperator:
        return self._op.compress(compress)

    async def emit(self, event: str, *args: Any) -> None:
        await self._op.emit(event, *args)

    async def sockets_join(self, rooms: Rooms) -> None:
        await self._op.sockets_join(rooms)

    async def sockets_leave(self, rooms: Rooms) -> None:
        await self._op.sockets_leave(rooms)

    async def disconnect_sockets(self, close: bool = False) -> None:
        await self._op.disconnect_sockets(close)

    async def server_side_emit(self, event: str, *args: Any) -> None:
        await self._conn.call("ServerSideEmit", server_side_emit_request(self._nsp, event, args))

    def timeout(self, seconds: float) -> BroadcastOperator:
        return self._op.timeout(seconds)

    async def emit_with_ack(self, event: str, *args: Any) -> List[Any]:
        return await self._op.emit_with_ack(event, *args)

    async def fetch_sockets(self) -> List[RemoteSocket]:
        return await self._op.fetch_sockets()

    async def server_count(self) -> int:
        """See :meth:`siorelay.Emitter.server_count`."""
        return int((await self._conn.call("ServerCount", pb.ServerCountRequest(namespace=self._nsp))).count)

    async def all_rooms(self) -> FrozenSet[str]:
        """See :meth:`siorelay.Emitter.all_rooms`."""
        return frozenset((await self._conn.call("AllRooms", pb.AllRoomsRequest(namespace=self._nsp))).rooms)

    def batch(self) -> "Batch":
        return Batch(self._conn, self._nsp)

    def stream(self, events_per_message: int = 100) -> "EmitStream":
        return EmitStream(self._conn, self._nsp, events_per_message)

    async def close(self) -> None:
        await self._conn.close()

    async def __aenter__(self) -> "Emitter":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class QueueOperator(Selector):
    """The builder of a Batch: ``emit`` queues (synchronously)."""

    __slots__ = ()

    def emit(self, event: str, *args: Any) -> None:
        self._owner._push(self._sel.emit_request(event, args))


class Batch:
    """Events sent together by ``await send()`` (all published, or none).
    ``async with e.batch() as b:`` sends on a clean exit."""

    def __init__(self, conn: _Connection, nsp: str) -> None:
        self._conn = conn
        self._events: List[pb.EmitRequest] = []
        self._op = QueueOperator(self, Selection(namespace=nsp))
        self.count = 0

    def _push(self, req: pb.EmitRequest) -> None:
        self._events.append(req)

    def __len__(self) -> int:
        return len(self._events)

    def of(self, nsp: str) -> QueueOperator:
        return QueueOperator(self, Selection(namespace=normalize_namespace(nsp)))

    def to(self, rooms: Rooms) -> QueueOperator:
        return self._op.to(rooms)

    def in_(self, rooms: Rooms) -> QueueOperator:
        return self._op.in_(rooms)

    def except_(self, rooms: Rooms) -> QueueOperator:
        return self._op.except_(rooms)

    @property
    def volatile(self) -> QueueOperator:
        return self._op.volatile

    def compress(self, compress: bool) -> QueueOperator:
        return self._op.compress(compress)

    def emit(self, event: str, *args: Any) -> None:
        self._op.emit(event, *args)

    async def send(self) -> int:
        events, self._events = self._events, []
        res = await self._conn.call("EmitBatch", pb.EmitBatchRequest(events=events))
        self.count += res.count
        return int(res.count)

    async def __aenter__(self) -> "Batch":
        return self

    async def __aexit__(
        self, et: Optional[Type[BaseException]], ev: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        if et is None:
            await self.send()


class StreamOperator(Selector):
    """The builder of an EmitStream: ``await emit(...)`` queues the event and
    waits only when a full message has to be written (backpressure)."""

    __slots__ = ()

    async def emit(self, event: str, *args: Any) -> None:
        await self._owner._push(self._sel.emit_request(event, args))


class EmitStream:
    """One EmitStream call, grouping events into messages of
    ``events_per_message``. ``await close()`` flushes, ends the stream and
    returns the number of events published (or raises the stream's error).
    ``async with`` closes on a clean exit and cancels on an exception."""

    def __init__(self, conn: _Connection, nsp: str, events_per_message: int) -> None:
        if events_per_message < 1:
            raise ValueError("siorelay: events_per_message must be at least 1")
        if conn.closed:
            raise closed_error()
        self._conn = conn
        self._per = events_per_message
        self._pending: List[pb.EmitRequest] = []
        self._op = StreamOperator(self, Selection(namespace=nsp))
        self._ended = False
        self.count: Optional[int] = None
        self._call = conn.stub.EmitStream(metadata=conn.metadata, timeout=conn.timeout)

    def of(self, nsp: str) -> StreamOperator:
        return StreamOperator(self, Selection(namespace=normalize_namespace(nsp)))

    def to(self, rooms: Rooms) -> StreamOperator:
        return self._op.to(rooms)

    def in_(self, rooms: Rooms) -> StreamOperator:
        return self._op.in_(rooms)

    def except_(self, rooms: Rooms) -> StreamOperator:
        return self._op.except_(rooms)

    @property
    def volatile(self) -> StreamOperator:
        return self._op.volatile

    def compress(self, compress: bool) -> StreamOperator:
        return self._op.compress(compress)

    async def emit(self, event: str, *args: Any) -> None:
        await self._op.emit(event, *args)

    async def _write(self, events: List[pb.EmitRequest]) -> None:
        try:
            await self._call.write(pb.EmitStreamRequest(events=events))
        except (grpc.RpcError, Exception) as e:
            # The call has ended: report its status rather than the write's.
            await self._result()
            raise EmitterError(f"siorelay: EmitStream: write failed: {e}", grpc.StatusCode.UNKNOWN) from e

    async def _push(self, req: pb.EmitRequest) -> None:
        if self._ended:
            raise EmitterError("siorelay: emit after close", grpc.StatusCode.FAILED_PRECONDITION, local=True)
        self._pending.append(req)
        if len(self._pending) >= self._per:
            events, self._pending = self._pending, []
            await self._write(events)

    async def _result(self) -> int:
        try:
            res = await self._call
        except grpc.RpcError as e:
            raise EmitterError.from_rpc(e, "EmitStream") from e
        return int(res.count)

    async def close(self) -> int:
        if not self._ended:
            self._ended = True
            if self._pending:
                events, self._pending = self._pending, []
                await self._write(events)
            try:
                await self._call.done_writing()
            except Exception:
                pass  # the call already ended; _result reports how
        self.count = await self._result()
        return self.count

    def cancel(self) -> None:
        self._ended = True
        self._call.cancel()

    async def __aenter__(self) -> "EmitStream":
        return self

    async def __aexit__(
        self, et: Optional[Type[BaseException]], ev: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        if et is None:
            await self.close()
        else:
            self.cancel()
