// Node baseline for the connection state recovery benchmark (`loadgen recovery`,
// bench/README.md "Recovery").
//
// socket.io 4.8.4 on one server with its default in-memory adapter (the
// SessionAwareAdapter that connectionStateRecovery selects; Node's Redis adapter
// cannot recover), WebSocket transport only, permessage-deflate off,
// bufferutil/utf-8-validate installed. No middleware and no application code.
//
// Run:  node --max-old-space-size=8192 recovery.js
// Env:  PORT (default 0 = any free port), HOST (default 127.0.0.1),
//       RECOVERY_MS (default 120000: maxDisconnectionDuration, as `siorelay serve --recovery 2m`),
//       REDIS_URL is ignored (the driver passes it to every Node target).
//
// Once listening it prints one JSON line to stdout:
//   {"pid":123,"port":45678,"ready":true}
// Side endpoints on the same HTTP server (outside /socket.io/):
//   POST /bench/emit  body: a JSON array of events, each an array [event, ...args];
//                     every event is broadcast with io.emit(event, ...args), in order,
//                     before the 204 reply. This is how the load generator makes Node
//                     emit the same numbered packets, at the same rate, as the relay
//                     emits for its gRPC EmitterService.EmitBatch.
//   GET /bench/stats  replies {"clients":N,"recovered":R,"restoreMisses":{"noSession":S,"noOffset":O},
//                     "memory":{...}} without collecting (S: CONNECTs with a pid the adapter held no
//                     session for, not yet stored or expired; O: the offset was not in its log)
// SIGTERM/SIGINT close everything and exit 0.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 0);
const recoveryMs = Number(process.env.RECOVERY_MS || 120000);

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
    res.end(JSON.stringify({ clients: io.engine.clientsCount, recovered, restoreMisses, memory: process.memoryUsage() }));
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

// Why reconnects got a new session instead (for /bench/stats): the adapter's
// restoreSession returns null when it holds no session for the pid (not
// stored yet, or expired) or when the offset is not in its packet log.
const restoreMisses = { noSession: 0, noOffset: 0 };
const adapter = io.of("/").adapter;
const restoreSession = adapter.restoreSession.bind(adapter);
adapter.restoreSession = (pid, offset) => {
  const known = adapter.sessions.has(pid);
  const res = restoreSession(pid, offset);
  if (!res) {
    restoreMisses[known ? "noOffset" : "noSession"]++;
  }
  return res;
};

httpServer.listen(port, host, () => {
  process.stdout.write(JSON.stringify({ pid: process.pid, port: httpServer.address().port, ready: true }) + "\n");
});

const stop = () => {
  io.close();
  setTimeout(() => process.exit(0), 2000).unref();
  httpServer.close(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
