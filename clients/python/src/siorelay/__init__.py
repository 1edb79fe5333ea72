"""siorelay: send Socket.IO events from Python through a siorelay
EmitterService (the ``siorelay emitter`` sidecar), with the API of
@socket.io/redis-emitter.

    from siorelay import Emitter

    e = Emitter("127.0.0.1:50051")
    e.of("/admin").to("room").except_("x").emit("event", {"a": 1}, b"\\x01\\x02")

:class:`Emitter` blocks (grpcio); :class:`siorelay.aio.Emitter` is the
asyncio variant. Every action raises :class:`EmitterError`, which carries
the gRPC status code.
"""

from siorelay._core import RESERVED_EVENTS, RESERVED_SERVER_EVENTS, AckTimeoutError, EmitterError, Rooms
from siorelay._sync import Batch, BroadcastOperator, Emitter, EmitStream, QueueOperator, RemoteSocket

__all__ = [
    "AckTimeoutError",
    "Batch",
    "BroadcastOperator",
    "EmitStream",
    "Emitter",
    "EmitterError",
    "QueueOperator",
    "RemoteSocket",
    "RESERVED_EVENTS",
    "RESERVED_SERVER_EVENTS",
    "Rooms",
]
__version__ = "0.1.0"
