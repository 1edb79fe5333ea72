// peer.js: a real Node Socket.IO 4.8.4 server with @socket.io/redis-adapter 8.3.0
// (or, with mode "memory", socket.io's own in-memory adapter and no Redis, or,
// with mode "streams", @socket.io/redis-streams-adapter 0.3.1), driven over
// stdin/stdout JSON lines (see README.md for the full protocol).
//
//   node peer.js '{"redis":"redis://127.0.0.1:6379","namespaces":["/"]}'
//
// Prints {"type":"listening","port":N,"uids":{nsp:uid}} once every namespace's
// adapter has its Redis subscriptions confirmed.

import http from "node:http";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { config, out, serveCommands, dieOnError } from "./lib/jsonl.js";
import { connect, trackSubscriptions, trackPublishes } from "./lib/redis.js";
import { createStreamsAdapter } from "./lib/streams.js";

dieOnError();
const cfg = config();
const name = cfg.name || "peer";
const mode = cfg.mode || "classic";
const key = cfg.key || "socket.io";

const noop = { settled: async () => {} };
let pubClient, subClient, subs = noop, pubs = noop;
if (mode !== "memory") {
  pubClient = await connect(cfg);
  subClient = pubClient.duplicate();
  subClient.on("error", (e) => process.stderr.write(`redis sub error: ${e.message}\n`));
  await subClient.connect();
  subs = trackSubscriptions(subClient);
  pubs = trackPublishes(pubClient);
}

let adapter, streams;
if (mode === "memory") {
  // socket.io's default: Adapter, or SessionAwareAdapter with recovery.
} else if (mode === "streams") {
  streams = createStreamsAdapter(pubClient, cfg, (s) => out({ type: "session", ...s }));
  adapter = streams.adapter;
} else if (mode === "classic") {
  adapter = createAdapter(pubClient, subClient, {
    key,
    requestsTimeout: cfg.requestsTimeout,
    publishOnSpecificResponseChannel: cfg.publishOnSpecificResponseChannel,
  });
} else if (mode === "sharded") {
  // Object.assign in the adapter would let an undefined subscriptionMode
  // override its "dynamic" default: pass the key only when it is given.
  adapter = createShardedAdapter(pubClient, subClient, {
    channelPrefix: key,
    ...(cfg.subscriptionMode ? { subscriptionMode: cfg.subscriptionMode } : {}),
  });
} else {
  throw new Error(`unknown mode ${mode}`);
}

const httpServer = http.createServer();
// recovery: {maxDisconnectionDuration (ms), skipMiddlewares} turns on
// connectionStateRecovery (socket.io's defaults for the fields left out).
const recovery = cfg.recovery
  ? Object.fromEntries(Object.entries(cfg.recovery).filter(([, v]) => v !== undefined && v !== null))
  : undefined;
const io = new Server(httpServer, { adapter, serveClient: false, connectionStateRecovery: recovery });

const nsps = new Map();
for (const nspName of cfg.namespaces || ["/"]) {
  const nsp = io.of(nspName);
  nsps.set(nsp.name, nsp);
  if (cfg.uid) forceUid(nsp.adapter, cfg.uid);

  // auth: {rooms: [...], data: any, reject: {message, data}}. Rooms are joined
  // before the CONNECT reaches the client, and the sharded adapter's dynamic room
  // subscriptions are confirmed by then too.
  nsp.use(async (socket, next) => {
    const auth = socket.handshake.auth || {};
    if (auth.reject) {
      const err = new Error(auth.reject.message || "rejected");
      err.data = auth.reject.data;
      return next(err);
    }
    if (auth.data !== undefined) socket.data = auth.data;
    if (Array.isArray(auth.rooms)) socket.join(auth.rooms);
    await subs.settled();
    next();
  });

  nsp.on("connection", (socket) => {
    out({ type: "connection", nsp: nsp.name, id: socket.id, recovered: socket.recovered });
    socket.onAny((event, ...args) => {
      const ack = typeof args.at(-1) === "function" ? args.pop() : null;
      out({ type: "clientEvent", nsp: nsp.name, id: socket.id, event, args, ack: !!ack });
      if (ack) ack({ ok: true, peer: name });
    });
    socket.on("disconnect", (reason) => out({ type: "disconnection", nsp: nsp.name, id: socket.id, reason }));
  });

  for (const event of cfg.serverEvents || []) {
    nsp.on(event, (...args) => {
      const ack = typeof args.at(-1) === "function" ? args.pop() : null;
      out({ type: "serverSideEmit", nsp: nsp.name, event, args, ack: !!ack });
      if (ack) ack({ ok: true, peer: name });
    });
  }
}
await subs.settled();
if (streams) await streams.ready(io);

httpServer.listen(cfg.port || 0, "127.0.0.1", () => {
  const uids = Object.fromEntries([...nsps].map(([n, nsp]) => [n, nsp.adapter.uid]));
  const line = { type: "listening", port: httpServer.address().port, uids };
  if (streams) line.streams = Object.fromEntries([...nsps.keys()].map((n) => [n, streams.streamOf(n)]));
  out(line);
});

// Replaces an adapter's random uid (for golden byte captures) and moves its own
// response subscription to the channel that matches the new uid, so the peer keeps
// working normally.
function forceUid(a, uid) {
  if (mode === "streams") {
    throw new Error("uid is not supported in streams mode");
  } else if (mode === "classic") {
    const listener = a.redisListeners.get("sub");
    subClient.unsubscribe(a.specificResponseChannel, listener, true);
    a.uid = uid;
    a.specificResponseChannel = a.responseChannel + uid + "#";
    subClient.subscribe(a.specificResponseChannel, listener, true);
  } else {
    subClient.sUnsubscribe(a.responseChannel);
    a.uid = uid;
    a.responseChannel = a.channel + uid + "#";
    subClient.sSubscribe(a.responseChannel, (msg, channel) => a.onRawMessage(msg, channel), true);
  }
}

// target applies the selector fields of a command: nsp, to, except, volatile,
// compress, local. Flags are set in that order (it shows in the published bytes).
function target(cmd) {
  const nsp = nsps.get(cmd.nsp || "/");
  if (!nsp) throw new Error(`unknown namespace ${cmd.nsp}`);
  let op = nsp;
  if (cmd.to?.length) op = op.to(cmd.to);
  if (cmd.except?.length) op = op.except(cmd.except);
  if (cmd.volatile) op = op.volatile;
  if (cmd.compress !== undefined && cmd.compress !== null) op = op.compress(cmd.compress);
  if (cmd.local) op = op.local;
  return op;
}

function describe(s) {
  return { id: s.id, rooms: [...s.rooms], data: s.data, handshake: s.handshake };
}

const commands = {
  uid: (cmd) => target(cmd).adapter.uid,
  emit: (cmd) => {
    target(cmd).emit(cmd.event, ...(cmd.args || []));
  },
  // {nsp, sid, event, args}: socket.emit on one of this server's sockets (with
  // recovery, socket.io sends it through the adapter with an offset).
  socketEmit: (cmd) => {
    const s = nsps.get(cmd.nsp || "/")?.sockets.get(cmd.sid);
    if (!s) throw new Error(`unknown socket ${cmd.sid}`);
    s.emit(cmd.event, ...(cmd.args || []));
  },
  // {nsp, sid, close}: socket.disconnect(close) on one of this server's sockets.
  socketDisconnect: (cmd) => {
    const s = nsps.get(cmd.nsp || "/")?.sockets.get(cmd.sid);
    if (!s) throw new Error(`unknown socket ${cmd.sid}`);
    s.disconnect(!!cmd.close);
  },
  // {nsp, sid}: the socket's rooms and data, as this server holds them.
  socketState: (cmd) => {
    const s = nsps.get(cmd.nsp || "/")?.sockets.get(cmd.sid);
    return s ? { rooms: [...s.rooms], data: s.data, recovered: s.recovered } : null;
  },
  // {nsp, sid}: closes one socket's Engine.IO connection from the server, as a
  // network loss would (reason "forced close" here, "transport close" at the
  // client): with recovery on, its session is stored.
  socketDrop: (cmd) => {
    const s = nsps.get(cmd.nsp || "/")?.sockets.get(cmd.sid);
    if (!s) throw new Error(`unknown socket ${cmd.sid}`);
    s.conn.close();
  },
  emitWithAck: (cmd) =>
    new Promise((resolve, reject) => {
      target(cmd)
        .timeout(cmd.timeout ?? 2000)
        .emit(cmd.event, ...(cmd.args || []), (err, responses) =>
          err ? reject(Object.assign(err, { partial: responses })) : resolve(responses),
        );
    }),
  fetchSockets: async (cmd) => (await target(cmd).fetchSockets()).map(describe),
  serverCount: (cmd) => nsps.get(cmd.nsp || "/").adapter.serverCount(),
  allRooms: async (cmd) => {
    const a = nsps.get(cmd.nsp || "/").adapter;
    if (typeof a.allRooms !== "function") throw new Error(`allRooms not supported by the ${mode} adapter`);
    return [...(await a.allRooms())];
  },
  socketsJoin: (cmd) => target(cmd).socketsJoin(cmd.rooms),
  socketsLeave: (cmd) => target(cmd).socketsLeave(cmd.rooms),
  disconnectSockets: (cmd) => target(cmd).disconnectSockets(!!cmd.close),
  serverSideEmit: (cmd) => {
    nsps.get(cmd.nsp || "/").serverSideEmit(cmd.event, ...(cmd.args || []));
  },
  serverSideEmitWithAck: (cmd) => nsps.get(cmd.nsp || "/").serverSideEmitWithAck(cmd.event, ...(cmd.args || [])),
  close: async () => {
    await new Promise((resolve) => io.close(() => resolve()));
    setImmediate(() => process.exit(0));
  },
};

// Each answer is sent only after the publishes the command caused were
// acknowledged by Redis, so what a test does next is ordered after them.
serveCommands(async (cmd) => {
  const fn = commands[cmd.cmd];
  if (!fn) throw new Error(`unknown command ${cmd.cmd}`);
  const result = await fn(cmd);
  await pubs.settled();
  return result;
}, () => process.exit(0));
