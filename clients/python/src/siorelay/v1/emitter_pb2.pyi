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
