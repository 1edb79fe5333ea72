import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Target(_message.Message):
    __slots__ = ("namespace", "rooms", "except_rooms")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    EXCEPT_ROOMS_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    rooms: _containers.RepeatedScalarFieldContainer[str]
    except_rooms: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, namespace: _Optional[str] = ..., rooms: _Optional[_Iterable[str]] = ..., except_rooms: _Optional[_Iterable[str]] = ...) -> None: ...

class Arg(_message.Message):
    __slots__ = ("json", "binary")
    JSON_FIELD_NUMBER: _ClassVar[int]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    json: str
    binary: bytes
    def __init__(self, json: _Optional[str] = ..., binary: _Optional[bytes] = ...) -> None: ...

class EmitRequest(_message.Message):
    __slots__ = ("target", "event", "args", "volatile", "compress")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    VOLATILE_FIELD_NUMBER: _ClassVar[int]
    COMPRESS_FIELD_NUMBER: _ClassVar[int]
    target: Target
    event: str
    args: _containers.RepeatedCompositeFieldContainer[Arg]
    volatile: bool
    compress: bool
    def __init__(self, target: _Optional[_Union[Target, _Mapping]] = ..., event: _Optional[str] = ..., args: _Optional[_Iterable[_Union[Arg, _Mapping]]] = ..., volatile: _Optional[bool] = ..., compress: _Optional[bool] = ...) -> None: ...

class EmitResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EmitBatchRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[EmitRequest]
    def __init__(self, events: _Optional[_Iterable[_Union[EmitRequest, _Mapping]]] = ...) -> None: ...

class EmitBatchResponse(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class EmitStreamRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[EmitRequest]
    def __init__(self, events: _Optional[_Iterable[_Union[EmitRequest, _Mapping]]] = ...) -> None: ...

class EmitStreamResponse(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class SocketsJoinRequest(_message.Message):
    __slots__ = ("target", "rooms")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    target: Target
    rooms: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, target: _Optional[_Union[Target, _Mapping]] = ..., rooms: _Optional[_Iterable[str]] = ...) -> None: ...

class SocketsJoinResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SocketsLeaveRequest(_message.Message):
    __slots__ = ("target", "rooms")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    target: Target
    rooms: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, target: _Optional[_Union[Target, _Mapping]] = ..., rooms: _Optional[_Iterable[str]] = ...) -> None: ...

class SocketsLeaveResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DisconnectSocketsRequest(_message.Message):
    __slots__ = ("target", "close")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    target: Target
    close: bool
    def __init__(self, target: _Optional[_Union[Target, _Mapping]] = ..., close: _Optional[bool] = ...) -> None: ...

class DisconnectSocketsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerSideEmitRequest(_message.Message):
    __slots__ = ("namespace", "event", "args")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    event: str
    args: _containers.RepeatedCompositeFieldContainer[Arg]
    def __init__(self, namespace: _Optional[str] = ..., event: _Optional[str] = ..., args: _Optional[_Iterable[_Union[Arg, _Mapping]]] = ...) -> None: ...

class ServerSideEmitResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FetchSocketsRequest(_message.Message):
    __slots__ = ("target",)
    TARGET_FIELD_NUMBER: _ClassVar[int]
    target: Target
    def __init__(self, target: _Optional[_Union[Target, _Mapping]] = ...) -> None: ...

class FetchSocketsResponse(_message.Message):
    __slots__ = ("sockets",)
    SOCKETS_FIELD_NUMBER: _ClassVar[int]
    sockets: _containers.RepeatedCompositeFieldContainer[Socket]
    def __init__(self, sockets: _Optional[_Iterable[_Union[Socket, _Mapping]]] = ...) -> None: ...

class Socket(_message.Message):
    __slots__ = ("id", "namespace", "rooms", "data", "handshake")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    HANDSHAKE_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    rooms: _containers.RepeatedScalarFieldContainer[str]
    data: str
    handshake: Handshake
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., rooms: _Optional[_Iterable[str]] = ..., data: _Optional[str] = ..., handshake: _Optional[_Union[Handshake, _Mapping]] = ...) -> None: ...

class Handshake(_message.Message):
    __slots__ = ("address", "headers", "query", "auth", "time", "secure", "xdomain", "url")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class QueryEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SECURE_FIELD_NUMBER: _ClassVar[int]
    XDOMAIN_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    address: str
    headers: _containers.ScalarMap[str, str]
    query: _containers.ScalarMap[str, str]
    auth: str
    time: _timestamp_pb2.Timestamp
    secure: bool
    xdomain: bool
    url: str
    def __init__(self, address: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., query: _Optional[_Mapping[str, str]] = ..., auth: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., secure: _Optional[bool] = ..., xdomain: _Optional[bool] = ..., url: _Optional[str] = ...) -> None: ...

class ServerCountRequest(_message.Message):
    __slots__ = ("namespace",)
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    def __init__(self, namespace: _Optional[str] = ...) -> None: ...

class ServerCountResponse(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class AllRoomsRequest(_message.Message):
    __slots__ = ("namespace",)
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    def __init__(self, namespace: _Optional[str] = ...) -> None: ...

class AllRoomsResponse(_message.Message):
    __slots__ = ("rooms",)
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    rooms: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, rooms: _Optional[_Iterable[str]] = ...) -> None: ...

class EmitWithAckRequest(_message.Message):
    __slots__ = ("target", "event", "args", "timeout")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    target: Target
    event: str
    args: _containers.RepeatedCompositeFieldContainer[Arg]
    timeout: _duration_pb2.Duration
    def __init__(self, target: _Optional[_Union[Target, _Mapping]] = ..., event: _Optional[str] = ..., args: _Optional[_Iterable[_Union[Arg, _Mapping]]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class EmitWithAckResponse(_message.Message):
    __slots__ = ("acks", "clients", "servers", "timed_out")
    ACKS_FIELD_NUMBER: _ClassVar[int]
    CLIENTS_FIELD_NUMBER: _ClassVar[int]
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    acks: _containers.RepeatedCompositeFieldContainer[Ack]
    clients: int
    servers: int
    timed_out: bool
    def __init__(self, acks: _Optional[_Iterable[_Union[Ack, _Mapping]]] = ..., clients: _Optional[int] = ..., servers: _Optional[int] = ..., timed_out: _Optional[bool] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("socket_id", "json")
    SOCKET_ID_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    socket_id: str
    json: str
    def __init__(self, socket_id: _Optional[str] = ..., json: _Optional[str] = ...) -> None: ...
