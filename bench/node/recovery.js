// Node baseline for the connection state recovery benchmarks (`loadgen recovery`
// and `loadgen recovery-streams`, bench/README.md "Connection state recovery" and
// "Recovery in a Redis Streams cluster").
//
// socket.io 4.8.4, WebSocket transport only, permessage-deflate off,
// bufferutil/utf-8-validate installed, no middleware and no application code,
// with one of two adapters (ADAPTER):
//   memory   (default) one server with its default in-memory adapter (the
//            SessionAwareAdapter that connectionStateRecovery selects; Node's
//            Redis adapter cannot recover);
//   streams  a member of a @socket.io/redis-streams-adapter 0.3.1 cluster on
//            REDIS_URL (node-redis 4.7.1 client), with the adapter's defaults
//            (stream "socket.io", maxLen 10000, sessions under "sio:session:"),
//            as `siorelay serve --adapter streams` has them.
//
// Run:  node --max-old-space-size=8192 recovery.js
// Env:  PORT (default 0 = any free port), HOST (default 127.0.0.1),
//       RECOVERY_MS (default 120000: maxDisconnectionDuration, as `siorelay serve --recovery 2m`),
//       ADAPTER (memory or streams), REDIS_URL (streams only; the driver passes it
//       to every Node target, and memory ignores it).
//
// Once listening it prints one JSON line to stdout:
//   {"pid":123,"port":45678,"ready":true}
// Side endpoints on the same HTTP server (outside /socket.io/):
//   POST /bench/emit  body: a JSON array of events, each an array [event, ...args];
//                     every event is broadcast with io.emit(event, ...args), in order,
//                     before the 204 reply. This is how the load generator makes Node
//                     emit the same numbered packets, at the same rate, as the relay
//                     emits for its gRPC EmitterService.EmitBatch.
//   GET /bench/stats  replies {"adapter":A,"clients":N,"recovered":R,"restoreMisses":{...},
//                     "memory":{...}} without collecting. restoreMisses counts CONNECTs with
//                     a pid that got a new session: memory: {"noSession":S,"noOffset":O} (S:
//                     the adapter held no session for the pid, not yet stored or expired; O:
//                     the offset was not in its log); streams: {"notFound":F,"error":E} (F:
//                     the adapter's "session or offset not found", which does not say which;
//                     E: any other failure, e.g. a Redis error).
// SIGTERM/SIGINT close everything and exit 0.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 0);
const recoveryMs = Number(process.env.RECOVERY_MS || 120000);
const adapterKind = process.env.ADAPTER || "memory";
if (adapterKind !== "memory" && adapterKind !== "streams") {
  console.error(`recovery.js: ADAPTER=${adapterKind}: want memory or streams`);
  process.exit(2);
}

let recovered = 0;

const httpServer = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/bench/emit") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let events;
      try {
        events = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        if (!Array.isArray(events) || !events.every((e) => Array.isArray(e) && typeof e[0] === "string")) {
          throw new Error("want [[event, ...args], ...]");
        }
      } catch (err) {
        res.writeHead(400, { "content-type": "text/plain" });
        res.end(String(err.message) + "\n");
        return;
      }
      for (const e of events) {
        io.emit(...e);
      }
      res.writeHead(204);
      res.end();
    });
    return;
  }
  if (req.url === "/bench/stats") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ adapter: adapterKind, clients: io.engine.clientsCount, recovered, restoreMisses, memory: process.memoryUsage() }),
    );
    return;
  }
  res.writeHead(404);
  res.end();
});

// The load generator keeps one connection for its POSTs. Node's 5 s keep-alive
// timeout would close it during the pauses of an event loop saturated by
// broadcasting, racing the next POST (which then fails with ECONNRESET): off.
httpServer.keepAliveTimeout = 0;

const io = new Server(httpServer, {
  transports: ["websocket"],
  perMessageDeflate: false,
  serveClient: false,
  connectionStateRecovery: {
    maxDisconnectionDuration: recoveryMs,
    skipMiddlewares: true,
  },
});

io.on("connection", (socket) => {
  if (socket.recovered) {
    recovered++;
  }
});

// Why reconnects got a new session instead (for /bench/stats).
const restoreMisses = adapterKind === "memory" ? { noSession: 0, noOffset: 0 } : { notFound: 0, error: 0 };

// The in-memory adapter's restoreSession returns null when it holds no
// session for the pid (not stored yet, or expired) or when the offset is not
// in its packet log.
function countMemoryMisses(adapter) {
  const restoreSession = adapter.restoreSession.bind(adapter);
  adapter.restoreSession = (pid, offset) => {
    const known = adapter.sessions.has(pid);
    const res = restoreSession(pid, offset);
    if (!res) {
      restoreMisses[known ? "noOffset" : "noSession"]++;
    }
    return res;
  };
}

// The streams adapter's restoreSession rejects with "session or offset not
// found" (socket.io then makes a new session); anything else is an error.
function countStreamsMisses(adapter) {
  const restoreSession = adapter.restoreSession.bind(adapter);
  adapter.restoreSession = async (pid, offset) => {
    try {
      return await restoreSession(pid, offset);
    } catch (err) {
      restoreMisses[err === "session or offset not found" ? "notFound" : "error"]++;
      throw err;
    }
  };
}

async function start() {
  if (adapterKind === "streams") {
    const { createClient } = require("redis");
    const { createAdapter } = require("@socket.io/redis-streams-adapter");
    if (!process.env.REDIS_URL) {
      throw new Error("ADAPTER=streams needs REDIS_URL");
    }
    const client = createClient({ url: process.env.REDIS_URL });
    client.on("error", (err) => console.error("recovery.js: redis:", err.message));
    await client.connect();
    io.adapter(createAdapter(client));
    countStreamsMisses(io.of("/").adapter);
  } else {
    countMemoryMisses(io.of("/").adapter);
  }
  httpServer.listen(port, host, () => {
    process.stdout.write(JSON.stringify({ pid: process.pid, port: httpServer.address().port, ready: true }) + "\n");
  });
}

start().catch((err) => {
  console.error("recovery.js:", err);
  process.exit(1);
});
const stop = () => {
  io.close();
  setTimeout(() => process.exit(0), 2000).unref();
  httpServer.close(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
