"""A chat backend for siorelay, over gRPC.

siorelay holds the Socket.IO connections; this process only decides:

- who may connect: a client must send ``auth: {name}``; it then joins the
  room ``room:lobby`` and its name is kept as the socket's data;
- what the events do: ``join`` moves the socket to another room, ``chat``
  sends a message to everyone else in its room (through the relay's
  EmitterService, with siorelay's Python client);
- what happens on disconnect: the rest of the room is told who left.

Run it next to ``siorelay serve --hook '/=grpc://127.0.0.1:50061'
--grpc-addr 127.0.0.1:50051`` (see README.md).
"""

import argparse
import json
import logging
import re
import signal
import threading
from concurrent import futures

import grpc

import siorelay
from siorelay.v1 import backend_pb2 as pb
from siorelay.v1 import backend_pb2_grpc as pb_grpc
from siorelay.v1 import emitter_pb2

log = logging.getLogger("chat")

ROOM_NAME = re.compile(r"^[a-z0-9-]{1,32}$")


def arg(value):
    """One event argument as the relay expects it: a JSON text (or bytes)."""
    if isinstance(value, bytes):
        return emitter_pb2.Arg(binary=value)
    return emitter_pb2.Arg(json=json.dumps(value))


def values(args):
    """The Python values of an event's arguments."""
    return [json.loads(a.json) if a.WhichOneof("value") == "json" else a.binary for a in args]


def chat_rooms(rooms):
    """The chat rooms among a socket's rooms (its own id is one too)."""
    return [r for r in rooms if r.startswith("room:")]


class Chat(pb_grpc.BackendServiceServicer):
    def __init__(self, io: siorelay.Emitter):
        self.io = io  # the relay's EmitterService: broadcasts to rooms

    def Connect(self, req, context):
        auth = json.loads(req.auth or "{}")
        name = auth.get("name") if isinstance(auth, dict) else None
        if not isinstance(name, str) or not name.strip():
            # The client gets connect_error: err.message, err.data.
            return pb.ConnectResponse(
                allow=False,
                error_message="name required",
                error_data=json.dumps({"hint": "connect with auth: {name: 'alice'}"}),
            )
        name = name.strip()[:32]
        log.info("%s connects to %s", name, req.namespace)
        return pb.ConnectResponse(
            allow=True,
            rooms=["room:lobby"],
            data=json.dumps({"name": name}),
            emits=[pb.SocketEmit(event="welcome", args=[arg({"name": name, "room": "lobby"})])],
        )

    def Event(self, req, context):
        name = json.loads(req.data)["name"]
        args = values(req.args)

        if req.event == "join":  # socket.emit("join", "games", ack)
            room = args[0] if args else None
            if not isinstance(room, str) or not ROOM_NAME.match(room):
                return pb.EventResponse(ack=[arg({"ok": False, "error": "bad room name"})])
            leaving = [r for r in chat_rooms(req.rooms) if r != "room:" + room]
            if leaving:
                self.io.of(req.namespace).to(leaving).except_(req.socket_id).emit("left", {"name": name})
            return pb.EventResponse(join=["room:" + room], leave=leaving, ack=[arg({"ok": True, "room": room})])

        if req.event == "chat":  # socket.emit("chat", "hello", ack)
            text = args[0] if args else None
            if not isinstance(text, str) or not text:
                return pb.EventResponse(ack=[arg({"ok": False, "error": "text required"})])
            for room in chat_rooms(req.rooms):
                message = {"from": name, "room": room[len("room:"):], "text": text}
                # Everyone in the room but the sender (socket.to(room).emit in Node).
                self.io.of(req.namespace).to(room).except_(req.socket_id).emit("chat", message)
            return pb.EventResponse(ack=[arg({"ok": True})])

        return pb.EventResponse(ack=[arg({"ok": False, "error": "unknown event " + req.event})])

    def Disconnect(self, req, context):
        name = json.loads(req.data)["name"] if req.data else "?"
        log.info("%s left (%s)", name, req.reason)
        rooms = chat_rooms(req.rooms)
        if rooms:
            self.io.of(req.namespace).to(rooms).emit("left", {"name": name})
        return pb.DisconnectResponse()


class RequireToken(grpc.ServerInterceptor):
    """Refuses calls without the relay's --hook-token (authorization: Bearer)."""

    def __init__(self, token):
        self.expected = ("authorization", "Bearer " + token)

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad token")

        self.deny = grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(self, continuation, details):
        if self.expected in details.invocation_metadata:
            return continuation(details)
        return self.deny


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:50061", help="where the relay calls this backend (port 0: any free one)")
    p.add_argument("--relay-grpc", default="127.0.0.1:50051", help="the relay's --grpc-addr (its EmitterService)")
    p.add_argument("--token", help="require the relay's --hook-token on every call")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s chat: %(message)s")

    io = siorelay.Emitter(args.relay_grpc, timeout=5)
    interceptors = [RequireToken(args.token)] if args.token else []
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), interceptors=interceptors)
    pb_grpc.add_BackendServiceServicer_to_server(Chat(io), server)
    port = server.add_insecure_port(args.listen)
    server.start()
    host = args.listen.rsplit(":", 1)[0]
    print(f"chat backend: grpc://{host}:{port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=2).wait()
    io.close()


if __name__ == "__main__":
    main()
