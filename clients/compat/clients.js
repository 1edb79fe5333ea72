// clients.js: stock socket.io-client 4.8.4 clients against any Socket.IO server
// (a Node peer.js or a Go relay), driven over stdin/stdout JSON lines.
//
//   node clients.js '{"url":"http://127.0.0.1:3000","clients":[{"name":"c1","auth":{"rooms":["r1"]}}]}'
//
// Prints {"type":"connected","client","id","recovered"} per client (again after
// each reconnection), then {"type":"ready"} once all are connected; afterwards
// every received event, disconnect and connect_error, and with "packets": true
// every Engine.IO message the client receives, as {"type":"packet","client",
// "data"} (the Socket.IO packet text, or {"$bin"} for an attachment).

import { io } from "socket.io-client";
import { config, out, serveCommands, dieOnError } from "./lib/jsonl.js";

dieOnError();
const cfg = config();
const sockets = new Map();
const notYetConnected = new Set((cfg.clients || []).map((c) => c.name));

function start(c) {
  if (sockets.has(c.name)) throw new Error(`duplicate client name ${c.name}`);
  const base = cfg.url.replace(/\/+$/, "");
  const nsp = c.nsp || "/";
  const socket = io(base + (nsp === "/" ? "" : nsp), {
    forceNew: true, // one Engine.IO connection per client
    path: c.path || cfg.path || "/socket.io/",
    transports: c.transports || ["websocket"],
    auth: c.auth || {},
    query: c.query || {},
    extraHeaders: c.extraHeaders,
    reconnection: c.reconnection ?? cfg.reconnection ?? false,
    // With reconnection: a fixed delay (ms), no randomization, so that a test
    // knows when the client comes back.
    ...(c.reconnectionDelay !== undefined
      ? { reconnectionDelay: c.reconnectionDelay, reconnectionDelayMax: c.reconnectionDelay, randomizationFactor: 0 }
      : {}),
    timeout: c.timeout ?? 10000,
  });
  sockets.set(c.name, socket);
  const ev = { client: c.name, nsp };

  socket.on("connect", () => {
    out({ type: "connected", ...ev, id: socket.id, recovered: socket.recovered, transport: socket.io.engine.transport.name });
    if (notYetConnected.delete(c.name) && notYetConnected.size === 0) out({ type: "ready" });
  });
  socket.io.on("open", () => {
    socket.io.engine.on("upgrade", (t) => out({ type: "upgrade", ...ev, transport: t.name }));
    if (c.packets ?? cfg.packets) socket.io.engine.on("message", (data) => out({ type: "packet", ...ev, data }));
  });
  socket.on("disconnect", (reason, details) =>
    out({ type: "disconnect", ...ev, reason, description: details?.description?.message }),
  );
  socket.on("connect_error", (err) => out({ type: "connect_error", ...ev, message: err.message, data: err.data }));
  socket.onAny((event, ...args) => {
    const ack = typeof args.at(-1) === "function" ? args.pop() : null;
    out({ type: "event", ...ev, event, args, ack: !!ack });
    if (ack && !c.noAck) ack(cfg.ackReply ?? { ok: true, client: c.name });
  });
}

function socketOf(cmd) {
  const s = sockets.get(cmd.client);
  if (!s) throw new Error(`unknown client ${cmd.client}`);
  return s;
}

const commands = {
  // {client, event, args, ack, timeout}: with ack the result is the ack's arguments.
  emit: (cmd) => {
    const s = socketOf(cmd);
    if (!cmd.ack) {
      s.emit(cmd.event, ...(cmd.args || []));
      return null;
    }
    return new Promise((resolve, reject) =>
      s.timeout(cmd.timeout ?? 2000).emit(cmd.event, ...(cmd.args || []), (err, ...args) =>
        err ? reject(err) : resolve(args),
      ),
    );
  },
  // {client, ...client config}: connects one more client.
  add: (cmd) => {
    start({ ...cmd, name: cmd.client });
    return null;
  },
  disconnect: (cmd) => {
    socketOf(cmd).disconnect();
    return null;
  },
  // Closes the client's Engine.IO connection as a network loss would (what
  // socket.io's docs use to simulate one): the socket sees "transport close"
  // and, with reconnection, the manager reconnects.
  drop: (cmd) => {
    socketOf(cmd).io.engine.close();
    return null;
  },
  // socket.connect(): a client without reconnection comes back when the test
  // says so (with recovery, its CONNECT carries its pid and last offset).
  reconnect: (cmd) => {
    socketOf(cmd).connect();
    return null;
  },
  id: (cmd) => socketOf(cmd).id,
  close: () => {
    for (const s of sockets.values()) s.disconnect();
    setImmediate(() => process.exit(0));
    return null;
  },
};

for (const c of cfg.clients || []) start(c);
if (notYetConnected.size === 0) out({ type: "ready" });

serveCommands(async (cmd) => {
  const fn = commands[cmd.cmd];
  if (!fn) throw new Error(`unknown command ${cmd.cmd}`);
  return fn(cmd);
}, () => {
  for (const s of sockets.values()) s.disconnect();
  process.exit(0);
});
