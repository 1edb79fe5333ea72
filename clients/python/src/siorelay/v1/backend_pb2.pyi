from siorelay.v1 import emitter_pb2 as _emitter_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SocketEmit(_message.Message):
    __slots__ = ("event", "args")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    event: str
    args: _containers.RepeatedCompositeFieldContainer[_emitter_pb2.Arg]
    def __init__(self, event: _Optional[str] = ..., args: _Optional[_Iterable[_Union[_emitter_pb2.Arg, _Mapping]]] = ...) -> None: ...

class ConnectRequest(_message.Message):
    __slots__ = ("socket_id", "namespace", "auth", "headers", "query", "address", "transport", "secure", "data", "recovered")
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
    SOCKET_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    SECURE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RECOVERED_FIELD_NUMBER: _ClassVar[int]
    socket_id: str
    namespace: str
    auth: str
    headers: _containers.ScalarMap[str, str]
    query: _containers.ScalarMap[str, str]
    address: str
    transport: str
    secure: bool
    data: str
    recovered: bool
    def __init__(self, socket_id: _Optional[str] = ..., namespace: _Optional[str] = ..., auth: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., query: _Optional[_Mapping[str, str]] = ..., address: _Optional[str] = ..., transport: _Optional[str] = ..., secure: _Optional[bool] = ..., data: _Optional[str] = ..., recovered: _Optional[bool] = ...) -> None: ...

class ConnectResponse(_message.Message):
    __slots__ = ("allow", "rooms", "data", "emits", "error_message", "error_data")
    ALLOW_FIELD_NUMBER: _ClassVar[int]
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EMITS_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_DATA_FIELD_NUMBER: _ClassVar[int]
    allow: bool
    rooms: _containers.RepeatedScalarFieldContainer[str]
    data: str
    emits: _containers.RepeatedCompositeFieldContainer[SocketEmit]
    error_message: str
    error_data: str
    def __init__(self, allow: _Optional[bool] = ..., rooms: _Optional[_Iterable[str]] = ..., data: _Optional[str] = ..., emits: _Optional[_Iterable[_Union[SocketEmit, _Mapping]]] = ..., error_message: _Optional[str] = ..., error_data: _Optional[str] = ...) -> None: ...

class EventRequest(_message.Message):
    __slots__ = ("socket_id", "namespace", "event", "args", "attachments", "ack_requested", "rooms", "data")
    SOCKET_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    ACK_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    socket_id: str
    namespace: str
    event: str
    args: _containers.RepeatedCompositeFieldContainer[_emitter_pb2.Arg]
    attachments: _containers.RepeatedScalarFieldContainer[bytes]
    ack_requested: bool
    rooms: _containers.RepeatedScalarFieldContainer[str]
    data: str
    def __init__(self, socket_id: _Optional[str] = ..., namespace: _Optional[str] = ..., event: _Optional[str] = ..., args: _Optional[_Iterable[_Union[_emitter_pb2.Arg, _Mapping]]] = ..., attachments: _Optional[_Iterable[bytes]] = ..., ack_requested: _Optional[bool] = ..., rooms: _Optional[_Iterable[str]] = ..., data: _Optional[str] = ...) -> None: ...

class EventResponse(_message.Message):
    __slots__ = ("ack", "join", "leave", "emits", "disconnect")
    ACK_FIELD_NUMBER: _ClassVar[int]
    JOIN_FIELD_NUMBER: _ClassVar[int]
    LEAVE_FIELD_NUMBER: _ClassVar[int]
    EMITS_FIELD_NUMBER: _ClassVar[int]
    DISCONNECT_FIELD_NUMBER: _ClassVar[int]
    ack: _containers.RepeatedCompositeFieldContainer[_emitter_pb2.Arg]
    join: _containers.RepeatedScalarFieldContainer[str]
    leave: _containers.RepeatedScalarFieldContainer[str]
    emits: _containers.RepeatedCompositeFieldContainer[SocketEmit]
    disconnect: bool
    def __init__(self, ack: _Optional[_Iterable[_Union[_emitter_pb2.Arg, _Mapping]]] = ..., join: _Optional[_Iterable[str]] = ..., leave: _Optional[_Iterable[str]] = ..., emits: _Optional[_Iterable[_Union[SocketEmit, _Mapping]]] = ..., disconnect: _Optional[bool] = ...) -> None: ...

class DisconnectRequest(_message.Message):
    __slots__ = ("socket_id", "namespace", "reason", "rooms", "data")
    SOCKET_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    socket_id: str
    namespace: str
    reason: str
    rooms: _containers.RepeatedScalarFieldContainer[str]
    data: str
    def __init__(self, socket_id: _Optional[str] = ..., namespace: _Optional[str] = ..., reason: _Optional[str] = ..., rooms: _Optional[_Iterable[str]] = ..., data: _Optional[str] = ...) -> None: ...

class DisconnectResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
