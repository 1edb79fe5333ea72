"""What the sync and asyncio emitters share: local validation, argument
encoding, the immutable target selection and the error type."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple, TypeVar, Union

import grpc

from siorelay.v1 import emitter_pb2 as pb

#: Event names Socket.IO reserves on sockets: ``emit`` rejects them locally.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)

#: Event names ``server_side_emit`` rejects locally.
RESERVED_SERVER_EVENTS = frozenset({"connect", "connection", "new_namespace"})

#: A room name, or several.
Rooms = Union[str, Iterable[str]]


class EmitterError(Exception):
    """How every action fails.

    ``code`` is the :class:`grpc.StatusCode` (``INVALID_ARGUMENT``,
    ``UNAVAILABLE``, ``UNAUTHENTICATED``, ``DEADLINE_EXCEEDED``, ...),
    ``details`` the server's message. Errors found before any call was made
    (reserved event name, an argument that cannot be encoded) have code
    ``INVALID_ARGUMENT`` and ``local`` set.
    """

    def __init__(self, message: str, code: grpc.StatusCode, details: str = "", local: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.details = details or message
        self.local = local

    @classmethod
    def from_rpc(cls, err: grpc.RpcError, method: str) -> "EmitterError":
        code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
        details = (err.details() if hasattr(err, "details") else str(err)) or ""
        e = cls(f"siorelay: {method}: {code.name}: {details}", code, details)
        e.__cause__ = err
        return e


class AckTimeoutError(EmitterError):
    """``emit_with_ack`` timed out before every client answered, as Node's
    ``emitWithAck()`` rejects with "operation has timed out". ``responses``
    holds the answers that did arrive, ``clients`` how many clients were
    sent the event. Its code is ``DEADLINE_EXCEEDED``."""

    def __init__(self, responses: List[Any], clients: int) -> None:
        super().__init__(
            f"siorelay: operation has timed out ({len(responses)} of {clients} clients answered)",
            grpc.StatusCode.DEADLINE_EXCEEDED,
        )
        self.responses = responses
        self.clients = clients


def invalid(message: str) -> EmitterError:
    return EmitterError(f"siorelay: {message}", grpc.StatusCode.INVALID_ARGUMENT, local=True)


def closed_error() -> EmitterError:
    return EmitterError("siorelay: emitter is closed", grpc.StatusCode.CANCELLED, local=True)


def check_event(event: object, reserved: FrozenSet[str]) -> str:
    if not isinstance(event, str) or event == "":
        raise invalid("event name must be a non-empty string")
    if event in reserved:
        raise invalid(f'"{event}" is a reserved event name')
    return event


def normalize_namespace(nsp: str) -> str:
    """``"admin"`` → ``"/admin"``, as @socket.io/redis-emitter's ``of()`` does."""
    if not isinstance(nsp, str):
        raise TypeError("siorelay: namespace must be a str")
    return nsp if nsp.startswith("/") else "/" + nsp


def room_list(rooms: Rooms) -> Tuple[str, ...]:
    if isinstance(rooms, str):
        return (rooms,)
    if isinstance(rooms, (bytes, bytearray)) or not isinstance(rooms, Iterable):
        raise TypeError("siorelay: rooms must be a str or an iterable of str")
    out = tuple(rooms)
    if not all(isinstance(r, str) for r in out):
        raise TypeError("siorelay: rooms must be a str or an iterable of str")
    return out


_BINARY = (bytes, bytearray, memoryview)


def _nested(o: Any) -> Any:
    if isinstance(o, _BINARY):
        raise invalid(
            "binary data nested inside an argument cannot be sent: "
            "pass each bytes/bytearray/memoryview as its own top-level argument"
        )
    if callable(o):
        raise invalid("acknowledgements are not supported")
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def encode_args(args: Sequence[Any]) -> List[pb.Arg]:
    """Encodes event arguments as ``Arg`` messages.

    ``bytes``, ``bytearray`` and ``memoryview`` become ``binary``; anything
    else its JSON text (``None`` is ``null``). Binary nested inside a dict or
    list is rejected (one argument is one JSON text or one blob on the wire),
    as are callables (acknowledgements are not supported), NaN/Infinity and
    anything :func:`json.dumps` cannot encode.
    """
    out = []
    for i, v in enumerate(args):
        if isinstance(v, _BINARY):
            out.append(pb.Arg(binary=bytes(v)))
            continue
        if callable(v):
            raise invalid("acknowledgements are not supported")
        try:
            text = json.dumps(v, separators=(",", ":"), allow_nan=False, default=_nested)
        except EmitterError:
            raise
        except (TypeError, ValueError, RecursionError) as e:
            raise invalid(f"argument {i} cannot be encoded as JSON: {e}") from e
        out.append(pb.Arg(json=text))
    return out


def _add(have: Tuple[str, ...], rooms: Rooms) -> Tuple[str, ...]:
    out = list(have)
    for r in room_list(rooms):
        if r not in out:
            out.append(r)
    return tuple(out)


@dataclass(frozen=True)
class Selection:
    """Namespace, rooms, excepted rooms and flags of a broadcast."""

    namespace: str = "/"
    rooms: Tuple[str, ...] = ()
    except_rooms: Tuple[str, ...] = ()
    volatile: bool = False
    compress: Optional[bool] = None
    ack_timeout: Optional[float] = None  # seconds; None: the server's requests timeout

    def to(self, rooms: Rooms) -> "Selection":
        return replace(self, rooms=_add(self.rooms, rooms))

    def except_(self, rooms: Rooms) -> "Selection":
        return replace(self, except_rooms=_add(self.except_rooms, rooms))

    def target(self) -> pb.Target:
        return pb.Target(namespace=self.namespace, rooms=self.rooms, except_rooms=self.except_rooms)

    def emit_request(self, event: str, args: Sequence[Any]) -> pb.EmitRequest:
        check_event(event, RESERVED_EVENTS)
        req = pb.EmitRequest(target=self.target(), event=event, args=encode_args(args), volatile=self.volatile)
        if self.compress is not None:
            req.compress = self.compress
        return req


    def emit_with_ack_request(self, event: str, args: Sequence[Any]) -> pb.EmitWithAckRequest:
        check_event(event, RESERVED_EVENTS)
        req = pb.EmitWithAckRequest(target=self.target(), event=event, args=encode_args(args))
        if self.ack_timeout is not None:
            req.timeout.FromNanoseconds(round(self.ack_timeout * 1e9))
        return req

    def call_timeout(self, default: Optional[float]) -> Optional[float]:
        """The deadline of an EmitWithAck call: the server ends the wait at
        the ack timeout and answers, so the call may take that long."""
        need = (self.ack_timeout or 0) + 5
        return None if default is None else max(default, need)


def ack_timeout(seconds: float) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0 or seconds == float("inf"):
        raise TypeError("siorelay: timeout takes a positive number of seconds")
    return float(seconds)


def _json(text: str, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError as e:
        raise EmitterError(f"siorelay: the server sent invalid JSON: {e}", grpc.StatusCode.INTERNAL) from e


def ack_responses(res: pb.EmitWithAckResponse) -> List[Any]:
    """The first argument of each answer, as Node's ``emitWithAck()``
    resolves; raises :class:`AckTimeoutError` when the timeout cut the wait."""
    responses = [_json(a.json, None) for a in res.acks]
    if res.timed_out:
        raise AckTimeoutError(responses, res.clients)
    return responses


def socket_fields(s: pb.Socket) -> Dict[str, Any]:
    """The fields of a RemoteSocket, with the shapes of Node's (``rooms`` a
    set, ``data`` and ``handshake["auth"]`` decoded from JSON, ``issued`` in
    milliseconds)."""
    h = s.handshake
    return {
        "id": s.id,
        "namespace": s.namespace or "/",
        "rooms": frozenset(s.rooms),
        "data": _json(s.data, None),
        "handshake": {
            "headers": dict(h.headers),
            "time": h.time.ToJsonString() if h.HasField("time") else "",
            "address": h.address,
            "xdomain": h.xdomain,
            "secure": h.secure,
            "issued": h.time.ToMilliseconds() if h.HasField("time") else 0,
            "url": h.url,
            "query": dict(h.query),
            "auth": _json(h.auth, {}),
        },
    }


class RemoteSocketBase:
    """A socket of the cluster as ``fetch_sockets()`` returns it (Node's
    RemoteSocket): ``id``, ``namespace``, ``rooms`` (a frozenset, its own id
    room included), ``data`` and ``handshake`` (a dict: headers, time,
    address, xdomain, secure, issued, url, query, auth)."""

    __slots__ = ("_op", "id", "namespace", "rooms", "data", "handshake")

    def __init__(self, op: Any, s: pb.Socket) -> None:
        f = socket_fields(s)
        self._op = op
        self.id: str = f["id"]
        self.namespace: str = f["namespace"]
        self.rooms: FrozenSet[str] = f["rooms"]
        self.data: Any = f["data"]
        self.handshake: Dict[str, Any] = f["handshake"]

    def __repr__(self) -> str:
        return f"RemoteSocket(id={self.id!r}, namespace={self.namespace!r}, rooms={sorted(self.rooms)!r}, data={self.data!r})"


def server_side_emit_request(namespace: str, event: str, args: Sequence[Any]) -> pb.ServerSideEmitRequest:
    check_event(event, RESERVED_SERVER_EVENTS)
    return pb.ServerSideEmitRequest(namespace=namespace, event=event, args=encode_args(args))


def metadata(token: Optional[str]) -> Tuple[Tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token is not None else ()


S = TypeVar("S", bound="Selector")


class Selector:
    """The targeting builder: each method returns a new object of the same
    type and leaves its receiver unchanged."""

    __slots__ = ("_owner", "_sel")

    def __init__(self, owner: Any, sel: Selection) -> None:
        self._owner = owner
        self._sel = sel

    def _with(self: S, sel: Selection) -> S:
        new = object.__new__(type(self))
        new._owner = self._owner
        new._sel = sel
        return new

    def to(self: S, rooms: Rooms) -> S:
        """Targets the sockets in any of ``rooms`` (a str or an iterable of str)."""
        return self._with(self._sel.to(rooms))

    def in_(self: S, rooms: Rooms) -> S:
        """Same as :meth:`to` (``in`` is a keyword)."""
        return self._with(self._sel.to(rooms))

    def except_(self: S, rooms: Rooms) -> S:
        """Excludes the sockets in any of ``rooms``."""
        return self._with(self._sel.except_(rooms))

    @property
    def volatile(self: S) -> S:
        """Marks the event volatile: it may be dropped for a client that is not ready."""
        return self._with(replace(self._sel, volatile=True))

    def compress(self: S, compress: bool) -> S:
        """Sets whether the event's data may be compressed."""
        if not isinstance(compress, bool):
            raise TypeError("siorelay: compress takes a bool")
        return self._with(replace(self._sel, compress=compress))

    def timeout(self: S, seconds: float) -> S:
        """How long ``emit_with_ack`` waits for the clients' answers, in
        seconds (Node's ``timeout(ms)``; seconds like ``Emitter(timeout=)``)."""
        return self._with(replace(self._sel, ack_timeout=ack_timeout(seconds)))
