// Unit tests: request shapes and local validation, against an in-process
// grpc-js fake of EmitterService that records what it receives. They prove
// what the client sends, not what Socket.IO clients get; that is
// compat.test.js, against the real sidecar, Redis and Node stack.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { Emitter, EmitterError, Status } from "../src/index.js";
import { loadService } from "../src/proto.js";

const pkgDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

let server;
let addr;
const calls = [];
let failWith = null; // {code, details} makes the next call fail

// Call metadata without the headers every grpc-js call carries.
function meta(call) {
  const m = call.metadata.getMap();
  delete m["user-agent"];
  return m;
}

function record(method) {
  return (call, cb) => {
    if (method === "EmitStream") {
      const msgs = [];
      call.on("data", (m) => msgs.push(m));
      call.on("end", () => {
        calls.push({ method, metadata: meta(call), request: msgs });
        cb(null, { count: String(msgs.reduce((n, m) => n + m.events.length, 0)) });
      });
      return;
    }
    calls.push({ method, metadata: meta(call), request: call.request });
    if (call.request.event === "slow") {
      setTimeout(() => cb(null, {}), 500);
      return;
    }
    if (failWith) {
      const f = failWith;
      failWith = null;
      cb(f);
      return;
    }
    if (answers[method]) {
      cb(null, answers[method]);
      return;
    }
    cb(null, method === "EmitBatch" ? { count: String(call.request.events.length) } : {});
  };
}

// Canned answers of the query methods, by method.
const answers = {
  ServerCount: { count: 3 },
  AllRooms: { rooms: ["a", "b", "a"] },
  FetchSockets: {
    sockets: [
      {
        id: "S1",
        namespace: "/admin",
        rooms: ["S1", "r"],
        data: '{"user":"u1"}',
        handshake: {
          address: "127.0.0.1",
          headers: { host: "h" },
          query: { EIO: "4" },
          auth: '{"token":"t"}',
          time: { seconds: "1796568677", nanos: 123456789 },
          secure: true,
          url: "/socket.io/?EIO=4",
        },
      },
    ],
  },
  EmitWithAck: { acks: [{ socketId: "S1", json: '{"ok":true}' }, { json: "null" }], clients: 2, servers: 1 },
};

before(async () => {
  server = new grpc.Server();
  const methods = [
    "Emit", "EmitBatch", "EmitStream", "SocketsJoin", "SocketsLeave", "DisconnectSockets", "ServerSideEmit",
    "FetchSockets", "ServerCount", "AllRooms", "EmitWithAck",
  ];
  server.addService(loadService().service, Object.fromEntries(methods.map((m) => [m, record(m)])));
  const port = await new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  addr = `127.0.0.1:${port}`;
});

after(() => server.forceShutdown());

function last() {
  return calls.at(-1);
}

// The request as protobuf-JSON-like plain data (bytes as base64).
function plain(req) {
  return JSON.parse(JSON.stringify(req, (k, v) => (v && v.type === "Buffer" ? Buffer.from(v.data).toString("base64") : v)));
}

test("unit: proto copy matches the repo's proto/", () => {
  execFileSync(process.execPath, [path.join(pkgDir, "scripts", "sync-proto.js"), "--check"], { stdio: "inherit" });
});

test("unit: .d.ts type-checks the documented usage", () => {
  execFileSync(process.execPath, [path.join(pkgDir, "node_modules", "typescript", "bin", "tsc"), "-p", pkgDir], {
    stdio: "inherit",
  });
});

test("unit: emit request shape mirrors of/to/except/volatile/compress", async () => {
  const e = new Emitter(addr);
  const op = e.of("admin").to("r1").in(["r2", "r1"]).except("x").volatile.compress(false);
  await op.emit("chat", "hi", 42, { a: [1, null] }, null, undefined, Buffer.from([1, 2, 3]), new Uint16Array([1]));
  assert.deepEqual(plain(last().request), {
    target: { namespace: "/admin", rooms: ["r1", "r2"], exceptRooms: ["x"] },
    event: "chat",
    args: [
      { json: '"hi"', value: "json" },
      { json: "42", value: "json" },
      { json: '{"a":[1,null]}', value: "json" },
      { json: "null", value: "json" },
      { json: "null", value: "json" },
      { binary: "AQID", value: "binary" },
      { binary: "AQA=", value: "binary" },
    ],
    volatile: true,
    compress: false,
    _compress: "compress",
  });
  // The operator is immutable: op.to() did not change op.
  op.to("other");
  await op.emit("again");
  assert.deepEqual(last().request.target.rooms, ["r1", "r2"]);
  e.close();
});

test("unit: plain emitter targets / with no flags", async () => {
  const e = new Emitter(addr);
  await e.emit("ev");
  const req = plain(last().request);
  // Empty repeated fields and false are absent on the wire (proto3).
  assert.deepEqual(req.target, { namespace: "/" });
  assert.equal(req.volatile, undefined);
  assert.equal(req.compress, undefined, "compress absent unless set");
  e.close();
});

test("unit: token is sent as bearer metadata", async () => {
  const e = new Emitter(addr, { token: "s3cret" });
  await e.emit("ev");
  assert.equal(last().metadata.authorization, "Bearer s3cret");
  e.close();
});

test("unit: sockets join/leave/disconnect and serverSideEmit shapes", async () => {
  const e = new Emitter(addr);
  await e.of("/n").in("a").except("b").socketsJoin(["c", "d"]);
  assert.deepEqual(plain(last()), {
    method: "SocketsJoin",
    metadata: {},
    request: { target: { namespace: "/n", rooms: ["a"], exceptRooms: ["b"] }, rooms: ["c", "d"] },
  });
  await e.to("a").socketsLeave("c");
  assert.deepEqual(plain(last().request), { target: { namespace: "/", rooms: ["a"] }, rooms: ["c"] });
  await e.to("a").disconnectSockets(true);
  assert.deepEqual(plain(last().request), { target: { namespace: "/", rooms: ["a"] }, close: true });
  await e.disconnectSockets();
  assert.equal(!!last().request.close, false);
  await e.of("/n").serverSideEmit("ping", { x: 1 }, new Uint8Array([9]).buffer);
  assert.deepEqual(plain(last()), {
    method: "ServerSideEmit",
    metadata: {},
    request: {
      namespace: "/n",
      event: "ping",
      args: [
        { json: '{"x":1}', value: "json" },
        { binary: "CQ==", value: "binary" },
      ],
    },
  });
  e.close();
});

test("unit: reserved names and bad arguments are rejected locally, before any call", async () => {
  const e = new Emitter(addr);
  const before = calls.length;
  const cases = [
    () => e.emit("connect"),
    () => e.to("r").emit("disconnecting"),
    () => e.emit("newListener"),
    () => e.emit(""),
    () => e.emit(42),
    () => e.serverSideEmit("connection"),
    () => e.serverSideEmit("new_namespace"),
    () => e.emit("ev", { nested: Buffer.from([1]) }),
    () => e.emit("ev", [new Uint8Array(2)]),
    () => e.emit("ev", () => {}),
    () => e.serverSideEmit("ev", 1, () => {}),
    () => e.emit("ev", 10n),
    () => {
      const o = {};
      o.self = o;
      return e.emit("ev", o);
    },
  ];
  for (const [i, c] of cases.entries()) {
    const p = c();
    assert.ok(p instanceof Promise, `case ${i} returns a promise`);
    await assert.rejects(p, (err) => {
      assert.ok(err instanceof EmitterError, `case ${i}: ${err}`);
      assert.equal(err.code, Status.INVALID_ARGUMENT);
      assert.equal(err.codeName, "INVALID_ARGUMENT");
      assert.equal(err.local, true);
      return true;
    });
  }
  await assert.rejects(e.emit("ev", { b: Buffer.from([1]) }), /nested inside an argument \(at key "b"\)/);
  await assert.rejects(e.emit("connect"), /"connect" is a reserved event name/);
  assert.equal(calls.length, before, "no call was made");
  // serverSideEmit allows socket-reserved names other than its own.
  await e.serverSideEmit("disconnect");
  assert.equal(last().request.event, "disconnect");
  e.close();
});

test("unit: builder misuse throws TypeError", () => {
  const e = new Emitter(addr);
  assert.throws(() => e.to(5), TypeError);
  assert.throws(() => e.to(["a", 1]), TypeError);
  assert.throws(() => e.compress("no"), TypeError);
  assert.throws(() => new Emitter(""), TypeError);
  e.close();
});

test("unit: server errors reject with EmitterError carrying the status code", async () => {
  const e = new Emitter(addr);
  failWith = { code: Status.UNAVAILABLE, details: "redis down" };
  await assert.rejects(e.emit("ev"), (err) => {
    assert.ok(err instanceof EmitterError);
    assert.equal(err.code, Status.UNAVAILABLE);
    assert.equal(err.details, "redis down");
    assert.equal(err.local, false);
    assert.match(err.message, /Emit: UNAVAILABLE: redis down/);
    return true;
  });
  e.close();
  await assert.rejects(e.emit("ev"), (err) => err.code === Status.CANCELLED);
});

test("unit: batch sends one EmitBatch with per-event targets", async () => {
  const e = new Emitter(addr);
  const b = e.of("/n").batch();
  assert.equal(b.to("a").emit("e1", 1), undefined);
  b.emit("e2");
  b.of("/m").except("x").volatile.emit("e3", Buffer.from([7]));
  assert.throws(() => b.emit("connect"), (err) => err instanceof EmitterError && err.local);
  assert.equal(b.length, 3);
  assert.equal(await b.send(), 3);
  assert.equal(b.length, 0);
  const req = plain(last().request);
  assert.equal(last().method, "EmitBatch");
  assert.deepEqual(
    req.events.map((ev) => [ev.target.namespace, ev.target.rooms, ev.target.exceptRooms, ev.event, ev.volatile, ev.args]),
    [
      ["/n", ["a"], undefined, "e1", undefined, [{ json: "1", value: "json" }]],
      ["/n", undefined, undefined, "e2", undefined, undefined],
      ["/m", undefined, ["x"], "e3", true, [{ binary: "Bw==", value: "binary" }]],
    ],
  );
  e.close();
});

test("unit: stream groups events into messages and resolves with the count", async () => {
  const e = new Emitter(addr);
  const s = e.stream({ eventsPerMessage: 2 });
  for (let i = 0; i < 5; i++) await s.to("r").emit("tick", i);
  assert.equal(await s.end(), 5);
  const msgs = last().request;
  assert.equal(last().method, "EmitStream");
  assert.deepEqual(
    msgs.map((m) => m.events.map((ev) => ev.args[0].json)),
    [["0", "1"], ["2", "3"], ["4"]],
  );
  assert.throws(() => s.emit("late"), (err) => err instanceof EmitterError);
  e.close();
});

test("unit: the timeout option is each call's deadline (DEADLINE_EXCEEDED)", async () => {
  const e = new Emitter(addr, { timeout: 100 });
  await assert.rejects(e.emit("slow"), (err) => err instanceof EmitterError && err.code === Status.DEADLINE_EXCEEDED);
  e.close();
});

test("unit: queries and emitWithAck: request shapes and Node's answer shapes", async () => {
  const e = new Emitter(addr, { timeout: 1000 });
  assert.equal(await e.of("admin").serverCount(), 3);
  assert.deepEqual(plain(last()), { method: "ServerCount", metadata: {}, request: { namespace: "/admin" } });
  assert.deepEqual(await e.allRooms(), new Set(["a", "b"]));
  assert.deepEqual(plain(last().request), { namespace: "/" });

  const sockets = await e.of("/admin").in("r").except("x").fetchSockets();
  assert.deepEqual(plain(last().request), { target: { namespace: "/admin", rooms: ["r"], exceptRooms: ["x"] } });
  assert.equal(sockets.length, 1);
  const [s] = sockets;
  assert.equal(s.id, "S1");
  assert.deepEqual(s.rooms, new Set(["S1", "r"]));
  assert.deepEqual(s.data, { user: "u1" });
  assert.deepEqual(s.handshake, {
    headers: { host: "h" },
    time: new Date(1796568677123).toString(),
    address: "127.0.0.1",
    xdomain: false,
    secure: true,
    issued: 1796568677123,
    url: "/socket.io/?EIO=4",
    query: { EIO: "4" },
    auth: { token: "t" },
  });
  // A RemoteSocket's actions target it in its namespace.
  await s.emit("direct", 1);
  assert.deepEqual(plain(last().request), { target: { namespace: "/admin", rooms: ["S1"] }, event: "direct", args: [{ json: "1", value: "json" }] });
  await s.join("j");
  assert.deepEqual(plain(last()), { method: "SocketsJoin", metadata: {}, request: { target: { namespace: "/admin", rooms: ["S1"] }, rooms: ["j"] } });
  await s.disconnect(true);
  assert.deepEqual(plain(last().request), { target: { namespace: "/admin", rooms: ["S1"] }, close: true });

  assert.deepEqual(await e.timeout(1500).to("r").emitWithAck("confirm", 1), [{ ok: true }, null]);
  assert.deepEqual(plain(last().request), {
    target: { namespace: "/", rooms: ["r"] },
    event: "confirm",
    args: [{ json: "1", value: "json" }],
    timeout: { seconds: "1", nanos: 500000000 },
  });
  await e.emitWithAck("all");
  assert.equal(last().request.timeout ?? null, null, "no timeout: the server's default");

  answers.EmitWithAck = { acks: [{ json: '"late"' }], clients: 3, timedOut: true };
  await assert.rejects(e.timeout(10).emitWithAck("e"), (err) => {
    assert.ok(err instanceof EmitterError);
    assert.equal(err.code, Status.DEADLINE_EXCEEDED);
    assert.match(err.message, /operation has timed out \(1 of 3 clients answered\)/);
    assert.deepEqual(err.responses, ["late"]);
    return true;
  });
  const before = calls.length;
  await assert.rejects(e.emitWithAck("connect"), /reserved/);
  assert.throws(() => e.timeout(0), TypeError);
  assert.throws(() => e.batch().to("r").fetchSockets(), /only emit can be batched/);
  assert.equal(calls.length, before, "no call was made");
  e.close();
});
