// Node baseline for the siorelay load generator (bench/loadgen).
//
// socket.io 4.8.4 with the classic @socket.io/redis-adapter 8.3.0 over node-redis 4.7,
// WebSocket transport only, permessage-deflate off, bufferutil/utf-8-validate installed.
// No application code: clients only connect and receive what is published into Redis.
//
// Run:  node --expose-gc --max-old-space-size=8192 server.js
// Env:  PORT (default 0 = any free port), HOST (default 127.0.0.1),
//       REDIS_URL (default redis://127.0.0.1:6379; "none" = socket.io's default
//       in-memory adapter and no Redis at all, a single server as users start it),
//       BENCH_DROP_REQUEST=1 sets rawSocket.request = null on every connection
//       (the memory tip from the socket.io docs; reported as a separate variant).
//
// Once listening and subscribed it prints one JSON line to stdout:
//   {"pid":123,"port":45678,"ready":true}
// Side endpoints on the same HTTP server (outside /socket.io/):
//   GET /bench/gc     runs gc() three times, replies with process.memoryUsage() as JSON
//   GET /bench/stats  replies {"clients":N,"memory":{...}} without collecting
//   GET /bench/fetch  runs io.fetchSockets() across the cluster once, replies
//                     {"ms":<its duration>,"count":<sockets>}
//   GET /bench/ack?room=R&timeout=MS
//                     runs io.to(R).timeout(MS).emitWithAck("q") once, replies
//                     {"ms":<its duration>,"count":<acks>} ({"error":...} on a timeout)
// SIGUSR2 also runs gc(). SIGTERM/SIGINT close everything and exit 0.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 0);
const redisURL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const withRedis = redisURL !== "none";
const dropRequest = process.env.BENCH_DROP_REQUEST === "1";

function collect() {
  if (typeof global.gc !== "function") {
    return false;
  }
  global.gc();
  global.gc();
  global.gc();
  return true;
}

async function main() {
  const pub = withRedis ? createClient({ url: redisURL }) : null;
  const sub = withRedis ? pub.duplicate() : null;
  if (withRedis) {
    for (const c of [pub, sub]) {
      c.on("error", (err) => console.error("redis:", err.message));
    }
    await Promise.all([pub.connect(), sub.connect()]);
  }

  const httpServer = http.createServer((req, res) => {
    if (req.url === "/bench/gc") {
      const ok = collect();
      res.writeHead(ok ? 200 : 500, { "content-type": "application/json" });
      res.end(JSON.stringify({ gc: ok, clients: io.engine.clientsCount, memory: process.memoryUsage() }));
      return;
    }
    if (req.url === "/bench/stats") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ clients: io.engine.clientsCount, memory: process.memoryUsage() }));
      return;
    }
    if (req.url === "/bench/fetch" || req.url.startsWith("/bench/ack?")) {
      // Cluster queries timed inside Node: what a Node app sees.
      const u = new URL(req.url, "http://localhost");
      const start = process.hrtime.bigint();
      const query = u.pathname === "/bench/fetch"
        ? io.fetchSockets()
        : io.to(u.searchParams.get("room")).timeout(Number(u.searchParams.get("timeout") || 10000)).emitWithAck("q");
      query.then(
        (list) => {
          const ms = Number(process.hrtime.bigint() - start) / 1e6;
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ ms, count: list.length }));
        },
        (err) => {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: String(err && err.message) }));
        },
      );
      return;
    }
    res.writeHead(404);
    res.end();
  });

  const io = new Server(httpServer, {
    transports: ["websocket"],
    perMessageDeflate: false,
    serveClient: false,
    ...(withRedis ? { adapter: createAdapter(pub, sub) } : {}),
  });

  if (dropRequest) {
    io.engine.on("connection", (rawSocket) => {
      rawSocket.request = null;
    });
  }

  // Clients may ask to join rooms through the CONNECT auth payload: {"rooms":["a","b"]}.
  // Every socket is also in its own id room, which the loadgen uses for per-user emits.
  io.on("connection", (socket) => {
    const rooms = socket.handshake.auth && socket.handshake.auth.rooms;
    if (Array.isArray(rooms) && rooms.length > 0) {
      socket.join(rooms.map(String));
    }
  });

  // The adapter subscribes asynchronously; wait until Redis reports our pattern subscription.
  for (let i = 0; withRedis && i < 200; i++) {
    const n = await pub.sendCommand(["PUBSUB", "NUMPAT"]);
    if (Number(n) > 0) {
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }

  await new Promise((resolve) => httpServer.listen(port, host, resolve));
  process.stdout.write(JSON.stringify({ pid: process.pid, port: httpServer.address().port, ready: true }) + "\n");

  process.on("SIGUSR2", collect);
  const stop = () => {
    io.close();
    Promise.allSettled(withRedis ? [pub.quit(), sub.quit()] : []).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
