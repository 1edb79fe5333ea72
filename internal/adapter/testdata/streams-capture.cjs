// Captures what @socket.io/redis-streams-adapter 0.3.1 (socket.io 4.8.4,
// socket.io-adapter 2.5.8, @msgpack/msgpack 2.8.0, redis 4.7.1: the versions
// pinned in clients/compat) sends to Redis, as Redis itself saw it (MONITOR),
// into streams.json. See README.md in this directory for how to run it.
//
//   redis-server --port 6390 --save "" --appendonly no &
//   NODE_PATH=clients/compat/node_modules node internal/adapter/testdata/streams-capture.cjs \
//     redis://127.0.0.1:6390 internal/adapter/testdata/streams.json
//
// Random ids (adapter uids, request ids, socket ids, pids) come from a fixed
// counter instead of crypto, so they are the same on every run; stream entry
// ids, handshake times and ports are not.
"use strict";

const crypto = require("crypto");
let counter = 0;
crypto.randomBytes = (n, cb) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (counter * 7 + i * 13) & 0xff;
  counter++;
  if (cb) return process.nextTick(cb, null, b);
  return b;
};

const fs = require("fs");
const net = require("net");
const http = require("http");
const { createClient } = require("redis");
const { Server } = require("socket.io");
const { io: ioc } = require("socket.io-client");
const { createAdapter } = require("@socket.io/redis-streams-adapter");
const msgpack = require("@msgpack/msgpack");
const notepack = require("notepack.io");

const redisURL = process.argv[2] || "redis://127.0.0.1:6379";
const outPath = process.argv[3] || "streams.json";
const { hostname, port } = new URL(redisURL);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hex = (b) => Buffer.from(b).toString("hex");

// ---- MONITOR: every command Redis executes, with binary-safe arguments ----

// unrepr undoes Redis's sdscatrepr quoting of one MONITOR argument.
function unrepr(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== "\\") {
      out.push(...Buffer.from(c, "utf8"));
      continue;
    }
    const n = s[++i];
    const simple = { n: 10, r: 13, t: 9, a: 7, b: 8, "\\": 92, '"': 34 };
    if (n in simple) out.push(simple[n]);
    else if (n === "x") {
      out.push(parseInt(s.substr(i + 1, 2), 16));
      i += 2;
    } else out.push(n.charCodeAt(0));
  }
  return Buffer.from(out);
}

// argJSON keeps an argument as a string when it is printable UTF-8, else hex.
function argJSON(b) {
  const s = b.toString("utf8");
  if (Buffer.from(s, "utf8").equals(b) && !/[\x00-\x08\x0e-\x1f\x7f\ufffd]/.test(s)) return s;
  return { hex: b.toString("hex") };
}

function startMonitor() {
  const log = [];
  const sock = net.connect(Number(port), hostname);
  let buf = "";
  sock.setEncoding("latin1"); // MONITOR output is ASCII (sdscatrepr escapes the rest)
  sock.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\r\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
      if (!m) continue;
      const args = [];
      const re = /"((?:[^"\\]|\\.)*)"/g;
      let a;
      while ((a = re.exec(m[2]))) args.push(unrepr(a[1]));
      log.push({ client: m[1], args });
    }
  });
  sock.write("MONITOR\r\n");
  return { log, sock };
}

// ---- the scenarios ----

const boring = new Set(["PING", "CLIENT", "INFO", "HELLO", "SELECT", "MONITOR", "QUIT", "FLUSHALL", "CONFIG"]);

async function newServer(opts, recovery, namespaces) {
  const client = createClient({ url: redisURL });
  client.on("error", () => {});
  await client.connect();
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    adapter: createAdapter(client, opts),
    serveClient: false,
    connectionStateRecovery: recovery,
  });
  const received = [];
  for (const name of namespaces) {
    const nsp = io.of(name);
    nsp.use((socket, next) => {
      const rooms = socket.handshake.auth.rooms;
      if (rooms) socket.join(rooms);
      next();
    });
    nsp.on("connection", (s) => {
      received.push({ nsp: name, connection: s.id, recovered: s.recovered });
      s.on("disconnect", (reason) => received.push({ nsp: name, disconnect: reason }));
    });
    for (const ev of ["sse", "sse-ack"]) {
      nsp.on(ev, (...args) => {
        const ack = typeof args.at(-1) === "function" ? args.pop() : null;
        received.push({ nsp: name, serverSideEmit: ev, args: JSON.stringify(args) });
        if (ack) ack({ ok: ev });
      });
    }
  }
  await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
  return { io, client, url: `http://127.0.0.1:${httpServer.address().port}`, received };
}

function connectClient(url, nsp, auth, received, name) {
  return new Promise((resolve, reject) => {
    const s = ioc(url + (nsp === "/" ? "" : nsp), { forceNew: true, transports: ["websocket"], auth, reconnection: false });
    s.onAny((event, ...args) => {
      const ack = typeof args.at(-1) === "function" ? args.pop() : null;
      received.push({ client: name, event, args: JSON.stringify(args, (k, v) => (v && v.type === "Buffer" ? v : v)) });
      if (ack) ack({ from: name });
    });
    s.on("connect", () => resolve(s));
    s.on("connect_error", reject);
  });
}

// settle gives the readers (XREAD BLOCK), subscriptions and answers time to
// run; the capture is a recording, not a test, so waiting is good enough.
const settle = () => sleep(300);

function commandsSince(mon, from) {
  return mon.log.slice(from).filter((c) => !boring.has(c.args[0].toString().toUpperCase()));
}

async function step(mon, name, fn, steps) {
  const from = mon.log.length;
  await fn();
  await settle();
  steps.push({
    name,
    commands: commandsSince(mon, from).map((c) => c.args.map(argJSON)),
  });
}

async function scenario(mon, title, opts, namespaces, body) {
  const flush = createClient({ url: redisURL });
  await flush.connect();
  await flush.flushAll();
  const from = mon.log.length;
  const a = await newServer(opts, { maxDisconnectionDuration: 60000, skipMiddlewares: true }, namespaces);
  const b = await newServer(opts, { maxDisconnectionDuration: 60000, skipMiddlewares: true }, namespaces);
  await settle();
  const setup = commandsSince(mon, from).map((c) => c.args.map(argJSON));
  const steps = [];
  const received = [];
  await body({ a, b, mon, steps, received });
  a.io.close();
  b.io.close();
  await sleep(200);
  await flush.quit();
  return { title, options: opts, namespaces, setup, steps, received: received.concat(a.received, b.received) };
}

async function main() {
  const mon = startMonitor();
  await sleep(200);
  const scenarios = [];

  // 1. The defaults, with connection state recovery.
  scenarios.push(
    await scenario(mon, "defaults", {}, ["/", "/admin"], async ({ a, b, mon, steps, received }) => {
      const c1 = await connectClient(b.url, "/", { rooms: ["r1"] }, received, "c1");
      const c2 = await connectClient(b.url, "/", { rooms: ["r2"] }, received, "c2");
      const c3 = await connectClient(b.url, "/admin", {}, received, "c3");
      await settle();
      await step(mon, "io.emit", () => a.io.emit("hello", "world", 1, 1.5, { a: [true, null] }), steps);
      await step(mon, "to except volatile compress binary", () =>
        a.io.to("r1").except("r2").volatile.compress(false).emit("bin", Buffer.from([1, 2, 3]), { x: Buffer.from([4]) }), steps);
      await step(mon, "binary: ArrayBuffer, Uint16Array, Date, undefined, big numbers", () =>
        a.io.emit("kinds", Buffer.from([9]), new Uint8Array([1, 2]).buffer, new Uint16Array([256, 1]),
          new Date(1500), { u: undefined, n: 2 ** 53, m: -(2 ** 53) - 2, f: -0, g: 2 ** 32 }), steps);
      await step(mon, "of /admin emit", () => a.io.of("/admin").emit("adm", "x"), steps);
      await step(mon, "socketsJoin", () => a.io.in("r1").socketsJoin(["r3", "r4"]), steps);
      await step(mon, "socketsLeave", () => a.io.in("r1").except("r2").socketsLeave("r3"), steps);
      await step(mon, "serverSideEmit", () => a.io.serverSideEmit("sse", 1, "two", { three: [3] }), steps);
      await step(mon, "serverSideEmit binary", () => a.io.serverSideEmit("sse", Buffer.from([5, 6])), steps);
      let sseAck;
      await step(mon, "serverSideEmitWithAck", async () => {
        sseAck = await a.io.serverSideEmitWithAck("sse-ack", 42);
      }, steps);
      let acks;
      await step(mon, "broadcast with ack", async () => {
        acks = await a.io.to("r1").timeout(2000).emitWithAck("ask", 7);
      }, steps);
      let fetched;
      await step(mon, "fetchSockets", async () => {
        fetched = (await a.io.in("r1").fetchSockets()).map((s) => ({ id: s.id, rooms: [...s.rooms] }));
      }, steps);
      let count;
      await step(mon, "serverCount", async () => {
        count = await a.io.of("/").adapter.serverCount();
      }, steps);
      // Recovery: c1 (on B) loses its connection; B persists its session; a
      // new client presents c1's pid and last offset to A, which restores it.
      const pid = c1._pid;
      const offset = c1._lastOffset;
      const c1id = c1.id;
      await step(mon, "recoverable disconnect (persistSession)", () => c1.io.engine.close(), steps);
      await step(mon, "emit while c1 is away", () => a.io.to("r1").emit("missed", 1), steps);
      await step(mon, "emit to another room while c1 is away", () => a.io.to("r2").emit("notmine", 2), steps);
      let recovered;
      await step(mon, "restoreSession on another server", async () => {
        const s = await connectClient(a.url, "/", { pid, offset }, received, "c1-again");
        recovered = { id: s.id, sameId: s.id === c1id };
        s.disconnect();
      }, steps);
      await step(mon, "restoreSession with an unknown pid", async () => {
        const s = await connectClient(a.url, "/", { pid: "nope", offset }, received, "c4");
        recovered.unknownPidId = s.id;
        s.disconnect();
      }, steps);
      await step(mon, "disconnectSockets", () => a.io.of("/admin").disconnectSockets(true), steps);
      c2.disconnect();
      c3.disconnect();
      steps.push({ name: "results", sseAck, acks, fetched, count, pid, offset, recovered });
    }),
  );

  // 2. Several streams, sharded pub/sub, every name option changed.
  const opts2 = {
    streamName: "sio",
    streamCount: 3,
    maxLen: 500,
    channelPrefix: "myapp",
    useShardedPubSub: true,
    sessionKeyPrefix: "sess:",
  };
  // "/notifications" hashes negative (-1014064871 % 3 = -2): it goes to
  // "sio--2", which nobody reads.
  const nsps2 = ["/", "/admin", "/notifications"];
  scenarios.push(
    await scenario(mon, "streamCount 3, sharded pub/sub, custom names", opts2, nsps2, async ({ a, b, mon, steps, received }) => {
      const cs = [];
      for (const n of nsps2) cs.push(await connectClient(b.url, n, {}, received, "c" + n));
      await settle();
      for (const n of nsps2) await step(mon, `emit on ${n}`, () => a.io.of(n).emit("e", n), steps);
      await step(mon, "serverSideEmit", () => a.io.serverSideEmit("sse", 1), steps);
      let count;
      await step(mon, "serverCount", async () => {
        count = await a.io.of("/").adapter.serverCount();
      }, steps);
      const pid = cs[0]._pid;
      await step(mon, "recoverable disconnect (persistSession)", () => cs[0].io.engine.close(), steps);
      for (const s of cs.slice(1)) s.disconnect();
      steps.push({ name: "results", count, pid });
    }),
  );

  // 3. onlyPlaintext: binary is written as JSON.
  scenarios.push(
    await scenario(mon, "onlyPlaintext", { onlyPlaintext: true }, ["/"], async ({ a, mon, steps }) => {
      await step(mon, "binary emit", () => a.io.emit("bin", Buffer.from([1, 2, 3])), steps);
    }),
  );

  mon.sock.destroy();

  // hashCode and the stream each namespace goes to.
  const { hashCode } = require("@socket.io/redis-streams-adapter/dist/util");
  const names = ["/", "/admin", "/chat", "/notifications", "/chat-room-42", "/private", "/é", "/😀", "", "/a/b/c/d/e/f/g/h/i", "/" + "x".repeat(40)];
  const hashes = names.map((n) => ({
    nsp: n,
    hash: hashCode(n),
    // computeStreamName's expression (not exported): -0 prints as "0".
    streams: [1, 2, 3, 4, 7].map((k) => ({ count: k, name: k === 1 ? "socket.io" : "socket.io-" + (hashCode(n) % k) })),
  }));

  // @msgpack/msgpack 2.8.0 (streams adapter) next to notepack.io 3.0.1 (redis-adapter).
  const values = {
    "int 0": 0, "-0": -0, "127": 127, "128": 128, "-32": -32, "-33": -33, "2^32": 2 ** 32,
    "2^53-1": 2 ** 53 - 1, "2^53": 2 ** 53, "-(2^53)-2": -(2 ** 53) - 2, "2^64": 2 ** 64, "1.5": 1.5,
    "NaN": NaN, "Infinity": Infinity, "str31": "x".repeat(31), "str32": "x".repeat(32),
    "null": null, "true": true, "array undefined": [undefined], "object undefined": { a: undefined, b: 1 },
    "object key order": { b: 1, a: 2, 1: 3 }, "Buffer": Buffer.from([1, 2]), "ArrayBuffer": new Uint8Array([1, 2]).buffer,
    "Uint16Array": new Uint16Array([256, 1]), "Date 1500": new Date(1500), "Map": new Map([["a", 1]]),
    "toJSON": { toJSON: () => "json" }, "nested 17 keys": Object.fromEntries([...Array(17).keys()].map((i) => ["k" + i, i])),
  };
  const dialect = Object.entries(values).map(([name, v]) => {
    const row = { name };
    try { row.msgpack = hex(msgpack.encode(v)); } catch (e) { row.msgpackError = e.message; }
    try { row.notepack = hex(notepack.encode(v)); } catch (e) { row.notepackError = e.message; }
    return row;
  });
  // What the adapter's decoder makes of inputs a Go decoder must judge.
  const decodeProbes = ["81a161c0" /* {a:nil} */, "8101a162" /* numeric key */, "81c0a162" /* nil key */,
    "81a95f5f70726f746f5f5fa162" /* __proto__ */, "c1", "9101" + "ff" /* trailing */, "d6ff00000001" /* Date */,
    "d40100" /* fixext1 type 1 */, "ca3fc00000" /* float32 */, "cf0020000000000001" /* 2^53+1 */];
  const decoded = decodeProbes.map((h) => {
    try {
      const v = msgpack.decode(Buffer.from(h, "hex"));
      return { hex: h, json: JSON.stringify(v, (k, x) => (x instanceof Uint8Array ? { bin: hex(x) } : x)), kind: Object.prototype.toString.call(v) };
    } catch (e) {
      return { hex: h, error: e.message };
    }
  });

  const out = {
    capturedWith: {
      node: process.version,
      "socket.io": require("socket.io/package.json").version,
      "@socket.io/redis-streams-adapter": require("@socket.io/redis-streams-adapter/package.json").version,
      "socket.io-adapter": require("socket.io-adapter/package.json").version,
      "@msgpack/msgpack": require("@msgpack/msgpack/package.json").version,
      redis: require("redis/package.json").version,
    },
    scenarios,
    hashes,
    dialect,
    decoded,
  };
  fs.writeFileSync(outPath, JSON.stringify(out, null, 1) + "\n");
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
