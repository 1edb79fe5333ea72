// A chat backend for siorelay, over HTTP, with node:http only.
//
// siorelay holds the Socket.IO connections and POSTs to this server
// (protobuf JSON, see proto/siorelay/v1/backend.proto):
//   /connect     a client must send auth: {name}; it joins "room:lobby"
//                and its name is kept as the socket's data;
//   /event       "join" moves the socket to another room, "chat" sends a
//                message to everyone else in its room (through the relay's
//                EmitterService, with siorelay's Node client);
//   /disconnect  the rest of the room is told who left.
//
// Run it next to `siorelay serve --hook '/=http://127.0.0.1:8081'
// --grpc-addr 127.0.0.1:50051` (see README.md).
import http from "node:http";
import { parseArgs } from "node:util";
import { Emitter } from "@siorelay/emitter";

const { values: opts } = parseArgs({
  options: {
    listen: { type: "string", default: "127.0.0.1:8081" }, // port 0: any free one
    "relay-grpc": { type: "string", default: "127.0.0.1:50051" }, // the relay's --grpc-addr
    token: { type: "string" }, // the relay's --hook-token, if any
  },
});

const io = new Emitter(opts["relay-grpc"], { timeout: 5000 });
const ROOM_NAME = /^[a-z0-9-]{1,32}$/;

// One event argument as the relay expects it: a JSON text.
const arg = (value) => ({ json: JSON.stringify(value) });
// The values of an event's arguments (binary ones arrive base64-encoded).
const values = (args = []) => args.map((a) => ("json" in a ? JSON.parse(a.json) : Buffer.from(a.binary, "base64")));
// The chat rooms among a socket's rooms (its own id is one too).
const chatRooms = (rooms = []) => rooms.filter((r) => r.startsWith("room:"));

const handlers = {
  async connect(req) {
    const auth = JSON.parse(req.auth || "{}");
    const name = typeof auth?.name === "string" ? auth.name.trim().slice(0, 32) : "";
    if (!name) {
      // The client gets connect_error: err.message, err.data.
      return { allow: false, errorMessage: "name required", errorData: JSON.stringify({ hint: "connect with auth: {name: 'alice'}" }) };
    }
    console.log(`${name} connects to ${req.namespace}`);
    return {
      allow: true,
      rooms: ["room:lobby"],
      data: JSON.stringify({ name }),
      emits: [{ event: "welcome", args: [arg({ name, room: "lobby" })] }],
    };
  },

  async event(req) {
    const { name } = JSON.parse(req.data);
    const args = values(req.args);
    const nsp = io.of(req.namespace);

    if (req.event === "join") { // socket.emit("join", "games", ack)
      const room = args[0];
      if (typeof room !== "string" || !ROOM_NAME.test(room)) return { ack: [arg({ ok: false, error: "bad room name" })] };
      const leaving = chatRooms(req.rooms).filter((r) => r !== `room:${room}`);
      if (leaving.length) await nsp.to(leaving).except(req.socketId).emit("left", { name });
      return { join: [`room:${room}`], leave: leaving, ack: [arg({ ok: true, room })] };
    }

    if (req.event === "chat") { // socket.emit("chat", "hello", ack)
      const text = args[0];
      if (typeof text !== "string" || !text) return { ack: [arg({ ok: false, error: "text required" })] };
      for (const room of chatRooms(req.rooms)) {
        // Everyone in the room but the sender (socket.to(room).emit in Node).
        await nsp.to(room).except(req.socketId).emit("chat", { from: name, room: room.slice("room:".length), text });
      }
      return { ack: [arg({ ok: true })] };
    }

    return { ack: [arg({ ok: false, error: `unknown event ${req.event}` })] };
  },

  async disconnect(req) {
    const name = req.data ? JSON.parse(req.data).name : "?";
    console.log(`${name} left (${req.reason})`);
    const rooms = chatRooms(req.rooms);
    if (rooms.length) await io.of(req.namespace).to(rooms).emit("left", { name });
    return {};
  },
};

const server = http.createServer(async (request, response) => {
  const handler = request.method === "POST" && handlers[request.url.slice(1)];
  if (!handler) return reply(response, 404, { error: "not found" });
  if (opts.token && request.headers.authorization !== `Bearer ${opts.token}`) return reply(response, 401, { error: "bad token" });
  try {
    let body = "";
    for await (const chunk of request) body += chunk;
    reply(response, 200, await handler(JSON.parse(body || "{}")));
  } catch (err) {
    console.error(`${request.url}: ${err.message}`);
    reply(response, 500, { error: err.message }); // the relay treats it as a failed call
  }
});

function reply(response, status, body) {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

const [host, port] = [opts.listen.slice(0, opts.listen.lastIndexOf(":")), Number(opts.listen.slice(opts.listen.lastIndexOf(":") + 1))];
server.listen(port, host, () => console.log(`chat backend: http://${host}:${server.address().port}`));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close(() => io.close()));
