"""The synchronous emitter, on a blocking ``grpc.Channel``."""

from __future__ import annotations

import queue
import threading
from types import TracebackType
from typing import Any, FrozenSet, Iterator, List, Optional, Sequence, Tuple, Type

import grpc

from siorelay._core import (
    EmitterError,
    RemoteSocketBase,
    Rooms,
    Selection,
    Selector,
    ack_responses,
    closed_error,
    invalid,
    metadata,
    normalize_namespace,
    room_list,
    server_side_emit_request,
)
from siorelay.v1 import emitter_pb2 as pb
from siorelay.v1 import emitter_pb2_grpc as pb_grpc


class _Connection:
    """What every Emitter derived from one ``Emitter(...)`` shares."""

    def __init__(
        self,
        target: str,
        token: Optional[str],
        credentials: Optional[grpc.ChannelCredentials],
        timeout: Optional[float],
        options: Optional[Sequence[Tuple[str, Any]]],
    ) -> None:
        if credentials is None:
            self.channel = grpc.insecure_channel(target, options=options)
        else:
            self.channel = grpc.secure_channel(target, credentials, options=options)
        self.stub = pb_grpc.EmitterServiceStub(self.channel)  # type: ignore[no-untyped-call]
        self.metadata = metadata(token)
        self.timeout = timeout
        self.closed = False

    def call(self, method: str, request: Any, timeout: Optional[float] = None) -> Any:
        if self.closed:
            raise closed_error()
        try:
            return getattr(self.stub, method)(request, metadata=self.metadata, timeout=timeout or self.timeout)
        except grpc.RpcError as e:
            raise EmitterError.from_rpc(e, method) from e

    def close(self) -> None:
        self.closed = True
        self.channel.close()


class BroadcastOperator(Selector):
    """Selected sockets of one namespace, plus flags. Every action blocks
    until the server published it and raises :class:`EmitterError`."""

    __slots__ = ()

    def emit(self, event: str, *args: Any) -> None:
        """Sends ``event`` with ``args`` to the selected clients."""
        self._owner.call("Emit", self._sel.emit_request(event, args))

    def sockets_join(self, rooms: Rooms) -> None:
        """Makes the selected sockets join ``rooms``."""
        self._owner.call("SocketsJoin", pb.SocketsJoinRequest(target=self._sel.target(), rooms=room_list(rooms)))

    def sockets_leave(self, rooms: Rooms) -> None:
        """Makes the selected sockets leave ``rooms``."""
        self._owner.call("SocketsLeave", pb.SocketsLeaveRequest(target=self._sel.target(), rooms=room_list(rooms)))

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnects the selected sockets; with ``close`` their connections are closed too."""
        self._owner.call("DisconnectSockets", pb.DisconnectSocketsRequest(target=self._sel.target(), close=close))

    def emit_with_ack(self, event: str, *args: Any) -> List[Any]:
        """Sends ``event`` to the selected clients with an acknowledgement
        and returns the first argument of each answer, in arrival order
        (Node's ``timeout(ms).emitWithAck()``). Raises
        :class:`~siorelay.AckTimeoutError`, holding the answers that came,
        when the :meth:`timeout` passed first; without one, the server's
        requests timeout applies."""
        req = self._sel.emit_with_ack_request(event, args)
        return ack_responses(self._owner.call("EmitWithAck", req, self._sel.call_timeout(self._owner.timeout)))

    def fetch_sockets(self) -> List["RemoteSocket"]:
        """The selected sockets of the whole cluster (Node's ``fetchSockets()``)."""
        res = self._owner.call("FetchSockets", pb.FetchSocketsRequest(target=self._sel.target()))
        nsp = BroadcastOperator(self._owner, Selection(namespace=self._sel.namespace))
        return [RemoteSocket(nsp, s) for s in res.sockets]


class RemoteSocket(RemoteSocketBase):
    """A socket of the cluster (see :class:`siorelay._core.RemoteSocketBase`)
    with Node's RemoteSocket actions, through the same service."""

    __slots__ = ()

    def emit(self, event: str, *args: Any) -> None:
        self._op.to(self.id).emit(event, *args)

    def join(self, rooms: Rooms) -> None:
        self._op.in_(self.id).sockets_join(rooms)

    def leave(self, rooms: Rooms) -> None:
        self._op.in_(self.id).sockets_leave(rooms)

    def disconnect(self, close: bool = False) -> None:
        self._op.in_(self.id).disconnect_sockets(close)


class Emitter:
    """Sends Socket.IO events through a siorelay EmitterService.

    ``Emitter("127.0.0.1:50051").of("/admin").to("room").emit("event", {"a": 1})``

    ``token`` is sent as ``authorization: Bearer <token>``; ``credentials``
    (``grpc.ssl_channel_credentials(...)``) selects TLS; ``timeout`` is each
    call's deadline in seconds. :meth:`of` derives emitters that share the
    channel. Safe to use from several threads.
    """

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

    def emit(self, event: str, *args: Any) -> None:
        self._op.emit(event, *args)

    def sockets_join(self, rooms: Rooms) -> None:
        self._op.sockets_join(rooms)

    def sockets_leave(self, rooms: Rooms) -> None:
        self._op.sockets_leave(rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        self._op.disconnect_sockets(close)

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Sends ``event`` to the Socket.IO servers' namespace listeners (no acknowledgements)."""
        self._conn.call("ServerSideEmit", server_side_emit_request(self._nsp, event, args))

    def timeout(self, seconds: float) -> BroadcastOperator:
        return self._op.timeout(seconds)

    def emit_with_ack(self, event: str, *args: Any) -> List[Any]:
        return self._op.emit_with_ack(event, *args)

    def fetch_sockets(self) -> List[RemoteSocket]:
        return self._op.fetch_sockets()

    def server_count(self) -> int:
        """The Socket.IO servers of the cluster serving this namespace
        (``io.of(nsp).adapter.serverCount()``; the sidecar is not one)."""
        return int(self._conn.call("ServerCount", pb.ServerCountRequest(namespace=self._nsp)).count)

    def all_rooms(self) -> FrozenSet[str]:
        """The rooms of this namespace on the cluster, socket id rooms
        included (``io.of(nsp).adapter.allRooms()``)."""
        return frozenset(self._conn.call("AllRooms", pb.AllRoomsRequest(namespace=self._nsp)).rooms)

    def batch(self) -> "Batch":
        """A batch of events sent in one EmitBatch call (all published, or none)."""
        return Batch(self._conn, self._nsp)

    def stream(self, events_per_message: int = 100, max_pending_messages: int = 16) -> "EmitStream":
        """Opens an EmitStream: the high-throughput path."""
        return EmitStream(self._conn, self._nsp, events_per_message, max_pending_messages)

    def close(self) -> None:
        """Closes the channel; later calls raise EmitterError (CANCELLED)."""
        self._conn.close()

    def __enter__(self) -> "Emitter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class QueueOperator(Selector):
    """The builder of a :class:`Batch` or :class:`EmitStream`: ``emit``
    queues the event (and raises :class:`EmitterError` at once if it is
    invalid)."""

    __slots__ = ()

    def emit(self, event: str, *args: Any) -> None:
        self._owner._push(self._sel.emit_request(event, args))


class _Queue:
    """Builder methods shared by Batch and EmitStream."""

    _op: QueueOperator

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

    def _push(self, req: pb.EmitRequest) -> None:
        raise NotImplementedError


class Batch(_Queue):
    """Events queued with the emitter's builder API and sent together by
    :meth:`send`. As a context manager, the batch is sent on a clean exit."""

    def __init__(self, conn: _Connection, nsp: str) -> None:
        self._conn = conn
        self._events: List[pb.EmitRequest] = []
        self._op = QueueOperator(self, Selection(namespace=nsp))
        self.count = 0

    def _push(self, req: pb.EmitRequest) -> None:
        self._events.append(req)

    def __len__(self) -> int:
        return len(self._events)

    def send(self) -> int:
        """Sends the queued events, empties the batch and returns the count published."""
        events, self._events = self._events, []
        res = self._conn.call("EmitBatch", pb.EmitBatchRequest(events=events))
        self.count += res.count
        return int(res.count)

    def __enter__(self) -> "Batch":
        return self

    def __exit__(
        self, et: Optional[Type[BaseException]], ev: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        if et is None:
            self.send()


_END = object()


class EmitStream(_Queue):
    """One EmitStream call. ``emit`` queues events, grouped into messages of
    ``events_per_message``; when ``max_pending_messages`` messages wait to be
    sent, ``emit`` blocks (backpressure). :meth:`close` flushes, ends the
    stream and returns the number of events the server published, or raises
    the stream's error. As a context manager it closes on a clean exit (the
    count is then in ``count``) and cancels on an exception."""

    def __init__(self, conn: _Connection, nsp: str, events_per_message: int, max_pending_messages: int) -> None:
        if events_per_message < 1:
            raise ValueError("siorelay: events_per_message must be at least 1")
        if conn.closed:
            raise closed_error()
        self._conn = conn
        self._per = events_per_message
        self._pending: List[pb.EmitRequest] = []
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=max_pending_messages)
        self._op = QueueOperator(self, Selection(namespace=nsp))
        self._ended = False
        self._lock = threading.Lock()
        self.count: Optional[int] = None
        self._future = conn.stub.EmitStream.future(self._messages(), metadata=conn.metadata, timeout=conn.timeout)

    def _messages(self) -> Iterator[pb.EmitStreamRequest]:
        while True:
            m = self._queue.get()
            if m is _END:
                return
            yield m

    def _put(self, m: Any) -> None:
        while True:
            if self._future.done():
                self._raise()
                raise invalid("stream ended")  # the server ended it early without an error
            try:
                self._queue.put(m, timeout=0.05)
                return
            except queue.Full:
                continue

    def _raise(self) -> None:
        err = self._future.exception()
        if err is not None:
            raise EmitterError.from_rpc(err, "EmitStream") from err

    def _push(self, req: pb.EmitRequest) -> None:
        with self._lock:
            if self._ended:
                raise EmitterError("siorelay: emit after close", grpc.StatusCode.FAILED_PRECONDITION, local=True)
            self._pending.append(req)
            if len(self._pending) >= self._per:
                events, self._pending = self._pending, []
                self._put(pb.EmitStreamRequest(events=events))

    def close(self) -> int:
        """Flushes, ends the stream and returns the number of events published."""
        with self._lock:
            if not self._ended:
                self._ended = True
                if self._pending:
                    events, self._pending = self._pending, []
                    self._put(pb.EmitStreamRequest(events=events))
                self._put(_END)
        try:
            res = self._future.result()
        except grpc.RpcError as e:
            raise EmitterError.from_rpc(e, "EmitStream") from e
        self.count = int(res.count)
        return self.count

    def cancel(self) -> None:
        """Abandons the stream."""
        with self._lock:
            self._ended = True
        self._future.cancel()

    def __enter__(self) -> "EmitStream":
        return self

    def __exit__(
        self, et: Optional[Type[BaseException]], ev: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        if et is None:
            self.close()
        else:
            self.cancel()
