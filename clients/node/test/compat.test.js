// Compatibility tests: this client → the real `siorelay emitter` sidecar →
// a real redis-server → a real Node Socket.IO 4.8.4 server with
// @socket.io/redis-adapter 8.3.0 → real socket.io-client 4.8.4 clients.
// What the clients print is what is asserted.
//
// Ordering argument used by settle(): the sidecar publishes each call before
// it answers, the peer's adapter reads every channel on one Redis
// connection, so an event published after an awaited call is delivered
// after it. A marker event that every client has received therefore proves
// that nothing sent before it is still on its way.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Emitter, EmitterError, Status } from "../src/index.js";
import { loadService } from "../src/proto.js";
import fs from "node:fs";
import { startRedis, startSidecar, startPeer, startClients, eventsOf, waitShardSubscribed, selfSignedCert } from "./stack.js";

let markers = 0;

/** Emits a marker on each namespace and waits until every named client got it. */
async function settle(e, clients, byNsp) {
  const tag = `m${++markers}`;
  for (const [nsp, names] of Object.entries(byNsp)) {
    await e.of(nsp).emit("marker", tag);
    await Promise.all(
      names.map((n) =>
        clients.waitFor((l) => l.type === "event" && l.client === n && l.event === "marker" && l.args[0] === tag, {
          what: `marker ${tag} at ${n}`,
        }),
      ),
    );
  }
}

/** Events a client received, markers left out. */
function got(clients, name) {
  return eventsOf(clients, name).filter((ev) => ev.event !== "marker");
}

function rawClient(addr) {
  const Svc = loadService();
  return new Svc(addr, grpc.credentials.createInsecure());
}

function rawEmit(client, req, metadata = new grpc.Metadata()) {
  return new Promise((resolve) => client.Emit(req, metadata, (err, res) => resolve({ err, res })));
}

for (const mode of ["classic", "sharded"]) {
  describe(`compat (${mode} adapter)`, () => {
    let redis, sidecar, peer, e;
    let run = 0;
    const rooms = (...names) => names.map((n) => `${mode}-${run}-${n}`);

    before(async () => {
      redis = await startRedis();
      sidecar = await startSidecar({ redis: redis.url, sharded: mode === "sharded" });
      // subscriptionMode is explicit: peer.js passes it through as given, and
      // an undefined one would override the adapter's "dynamic" default.
      peer = await startPeer({
        redis: redis.url,
        mode,
        subscriptionMode: mode === "sharded" ? "dynamic" : undefined,
        namespaces: ["/", "/admin"],
        serverEvents: ["ping", "job"],
      });
      e = new Emitter(sidecar.addr, { timeout: 10000 });
    });

    after(async () => {
      e?.close();
      await peer?.stop();
      await sidecar?.stop();
      await redis?.stop();
    });

    test("emit to a room, except a room, to a namespace; JSON and binary args", async () => {
      run++;
      const [r1, r2, x] = rooms("r1", "r2", "x");
      const c = await startClients(peer.url, [
        { name: "in", auth: { rooms: [r1] } },
        { name: "excepted", auth: { rooms: [r1, x] } },
        { name: "other", auth: { rooms: [r2] } },
        { name: "admin", nsp: "/admin", auth: { rooms: [r1] } },
      ]);
      try {
        await e.to(r1).except(x).emit("chat", "hi", { a: [1, null], b: "é" }, Buffer.from([1, 2, 3]), 42, true, null);
        await e.of("/admin").emit("adm", new Uint8Array([255, 0]).buffer);
        await e.in([r1, r2]).emit("multi", 1);
        await settle(e, c, { "/": ["in", "excepted", "other"], "/admin": ["admin"] });

        assert.deepEqual(got(c, "in"), [
          { event: "chat", args: ["hi", { a: [1, null], b: "é" }, { $bin: "AQID" }, 42, true, null] },
          { event: "multi", args: [1] },
        ]);
        assert.deepEqual(got(c, "excepted"), [{ event: "multi", args: [1] }]);
        assert.deepEqual(got(c, "other"), [{ event: "multi", args: [1] }]);
        assert.deepEqual(got(c, "admin"), [{ event: "adm", args: [{ $bin: "/wA=" }] }]);
      } finally {
        await c.stop();
      }
    });

    test("volatile and compress flags are accepted and delivered", async () => {
      run++;
      const [r] = rooms("r");
      const c = await startClients(peer.url, [{ name: "c", auth: { rooms: [r] } }]);
      try {
        await e.to(r).volatile.emit("v", 1);
        await e.to(r).compress(false).emit("nc", 2);
        await settle(e, c, { "/": ["c"] });
        assert.deepEqual(got(c, "c"), [
          { event: "v", args: [1] },
          { event: "nc", args: [2] },
        ]);
      } finally {
        await c.stop();
      }
    });

    test("socketsJoin then emit to the joined room; socketsLeave", async () => {
      run++;
      const [a, b, other] = rooms("a", "b", "other");
      const c = await startClients(peer.url, [
        { name: "a1", auth: { rooms: [a] } },
        { name: "o1", auth: { rooms: [other] } },
      ]);
      try {
        await e.in(a).socketsJoin(b);
        if (mode === "sharded") await waitShardSubscribed(redis.port, `socket.io#/#${b}#`);
        await e.to(b).emit("joined", "yes");
        await e.in(a).socketsLeave([b]);
        await e.to(b).emit("after-leave", "no");
        await settle(e, c, { "/": ["a1", "o1"] });
        assert.deepEqual(got(c, "a1"), [{ event: "joined", args: ["yes"] }]);
        assert.deepEqual(got(c, "o1"), []);
        const sockets = await peer.command({ cmd: "fetchSockets", to: [a] });
        assert.equal(sockets.length, 1);
        assert.ok(sockets[0].rooms.includes(a) && !sockets[0].rooms.includes(b), JSON.stringify(sockets[0].rooms));
      } finally {
        await c.stop();
      }
    });

    test("disconnectSockets with and without close", async () => {
      run++;
      const [d1, d2] = rooms("d1", "d2");
      const c = await startClients(peer.url, [
        { name: "soft", auth: { rooms: [d1] } },
        { name: "hard", auth: { rooms: [d2] } },
        { name: "stays", auth: {} },
      ]);
      // Socket.IO 4.8 sends a DISCONNECT packet before closing the connection
      // in both cases, so each client sees "io server disconnect"; the peer
      // sees "server namespace disconnect" for each.
      try {
        const from = peer.lines.length;
        const softId = c.lines.find((l) => l.type === "connected" && l.client === "soft").id;
        const hardId = c.lines.find((l) => l.type === "connected" && l.client === "hard").id;
        await e.to(d1).disconnectSockets();
        const soft = await c.waitFor((l) => l.type === "disconnect" && l.client === "soft", { what: "soft disconnect" });
        assert.equal(soft.reason, "io server disconnect");
        await e.to(d2).disconnectSockets(true);
        const hard = await c.waitFor((l) => l.type === "disconnect" && l.client === "hard", { what: "hard disconnect" });
        assert.equal(hard.reason, "io server disconnect");
        for (const id of [softId, hardId]) {
          const d = await peer.waitFor((l) => l.type === "disconnection" && l.id === id, { from, what: `peer disconnection of ${id}` });
          assert.equal(d.reason, "server namespace disconnect");
        }
        await settle(e, c, { "/": ["stays"] });
        assert.equal(c.lines.filter((l) => l.type === "disconnect" && l.client === "stays").length, 0);
      } finally {
        await c.stop();
      }
    });

    test("serverSideEmit reaches the peer's namespace listener", async () => {
      run++;
      const from = peer.lines.length;
      await e.serverSideEmit("ping", 42, { k: "v" });
      await e.of("/admin").serverSideEmit("job", "x");
      const p = await peer.waitFor((l) => l.type === "serverSideEmit" && l.event === "ping", { from, what: "ping" });
      assert.deepEqual({ nsp: p.nsp, args: p.args }, { nsp: "/", args: [42, { k: "v" }] });
      const j = await peer.waitFor((l) => l.type === "serverSideEmit" && l.event === "job", { from, what: "job" });
      assert.deepEqual({ nsp: j.nsp, args: j.args }, { nsp: "/admin", args: ["x"] });
    });

    test("batch and stream deliver every event in order", async () => {
      run++;
      const [r, s] = rooms("r", "s");
      const c = await startClients(peer.url, [
        { name: "b", auth: { rooms: [r] } },
        { name: "s", auth: { rooms: [s] } },
      ]);
      try {
        const batch = e.batch();
        batch.to(r).emit("b1", 1);
        batch.to(r).emit("b2", Buffer.from("hey"));
        batch.to(s).emit("b3", 3);
        assert.equal(await batch.send(), 3);

        const st = e.stream({ eventsPerMessage: 16 });
        const n = 250;
        for (let i = 0; i < n; i++) await st.to(s).emit("tick", i);
        assert.equal(await st.end(), n);

        await settle(e, c, { "/": ["b", "s"] });
        assert.deepEqual(got(c, "b"), [
          { event: "b1", args: [1] },
          { event: "b2", args: [{ $bin: Buffer.from("hey").toString("base64") }] },
        ]);
        const sEvents = got(c, "s");
        assert.deepEqual(sEvents[0], { event: "b3", args: [3] });
        assert.deepEqual(
          sEvents.slice(1).map((ev) => ev.args[0]),
          Array.from({ length: n }, (_, i) => i),
        );
      } finally {
        await c.stop();
      }
    });

    test("errors: bad namespace sent raw is INVALID_ARGUMENT; reserved names never leave the client", async () => {
      run++;
      const [r] = rooms("r");
      const c = await startClients(peer.url, [{ name: "c", auth: { rooms: [r] } }]);
      const raw = rawClient(sidecar.addr);
      try {
        const { err } = await rawEmit(raw, { target: { namespace: "admin", rooms: [r] }, event: "ev" });
        assert.equal(err?.code, Status.INVALID_ARGUMENT, String(err));
        const reserved = await rawEmit(raw, { target: { rooms: [r] }, event: "disconnect" });
        assert.equal(reserved.err?.code, Status.INVALID_ARGUMENT, "the server rejects reserved names too");
        const badJson = await rawEmit(raw, { target: { rooms: [r] }, event: "ev", args: [{ json: "{nope" }] });
        assert.equal(badJson.err?.code, Status.INVALID_ARGUMENT);

        await assert.rejects(e.to(r).emit("connect"), (err) => err instanceof EmitterError && err.local && err.code === Status.INVALID_ARGUMENT);
        await assert.rejects(e.to(r).emit("ev", { nested: Buffer.from([1]) }), (err) => err.local);

        // A batch with one bad event publishes nothing.
        const b = e.batch();
        b.to(r).emit("good", 1);
        b._events.push({ target: { rooms: [r] }, event: "ev", args: [{ json: "{bad" }] });
        await assert.rejects(b.send(), (err) => err instanceof EmitterError && err.code === Status.INVALID_ARGUMENT && !err.local);

        await settle(e, c, { "/": ["c"] });
        assert.deepEqual(got(c, "c"), [], "nothing of a rejected request was delivered");
      } finally {
        raw.close();
        await c.stop();
      }
    });
  });
}

describe("compat: token", () => {
  let redis, sidecar, peer;

  before(async () => {
    redis = await startRedis();
    sidecar = await startSidecar({ redis: redis.url, token: "s3cret" });
    peer = await startPeer({ redis: redis.url, namespaces: ["/"] });
  });

  after(async () => {
    await peer?.stop();
    await sidecar?.stop();
    await redis?.stop();
  });

  test("a wrong or missing token is UNAUTHENTICATED and publishes nothing; the right one works", async () => {
    const c = await startClients(peer.url, [{ name: "c", auth: { rooms: ["t"] } }]);
    const good = new Emitter(sidecar.addr, { token: "s3cret" });
    const wrong = new Emitter(sidecar.addr, { token: "nope" });
    const none = new Emitter(sidecar.addr);
    try {
      for (const bad of [wrong, none]) {
        await assert.rejects(bad.to("t").emit("ev", 1), (err) => {
          assert.ok(err instanceof EmitterError);
          assert.equal(err.code, Status.UNAUTHENTICATED);
          assert.equal(err.codeName, "UNAUTHENTICATED");
          return true;
        });
        await assert.rejects(bad.serverSideEmit("x"), (err) => err.code === Status.UNAUTHENTICATED);
        await assert.rejects(bad.batch().send(), (err) => err.code === Status.UNAUTHENTICATED);
        const st = bad.stream();
        st.emit("s", 1);
        await assert.rejects(st.end(), (err) => err.code === Status.UNAUTHENTICATED);
      }
      await good.to("t").emit("ok", 1);
      await settle(good, c, { "/": ["c"] });
      assert.deepEqual(got(c, "c"), [{ event: "ok", args: [1] }]);
    } finally {
      good.close();
      wrong.close();
      none.close();
      await c.stop();
    }
  });
});

describe("compat: Redis down", () => {
  test("an emit while Redis is unreachable is UNAVAILABLE", async () => {
    const redis = await startRedis();
    const sidecar = await startSidecar({ redis: redis.url });
    const e = new Emitter(sidecar.addr, { timeout: 20000 });
    try {
      await e.emit("up", 1); // works while Redis is there
      await redis.stop();
      await assert.rejects(e.emit("down", 1), (err) => {
        assert.ok(err instanceof EmitterError, String(err));
        assert.equal(err.codeName, "UNAVAILABLE", err.message);
        assert.equal(err.local, false);
        return true;
      });
    } finally {
      e.close();
      await sidecar.stop();
      await redis.stop();
    }
  });
});

describe("compat: TLS", () => {
  test("tls.rootCerts reaches a sidecar serving TLS; a plaintext client does not", async () => {
    const cert = selfSignedCert();
    const redis = await startRedis();
    const sidecar = await startSidecar({ redis: redis.url, tls: cert });
    const peer = await startPeer({ redis: redis.url, namespaces: ["/"] });
    const c = await startClients(peer.url, [{ name: "c", auth: { rooms: ["t"] } }]);
    const secure = new Emitter(sidecar.addr, {
      tls: { rootCerts: fs.readFileSync(cert.cert) },
      // Node warns about an IP address as TLS server name; the cert also names localhost.
      channelOptions: { "grpc.ssl_target_name_override": "localhost" },
      timeout: 10000,
    });
    const plain = new Emitter(sidecar.addr, { timeout: 3000 });
    try {
      await secure.to("t").emit("over-tls", Buffer.from([1]));
      await settle(secure, c, { "/": ["c"] });
      assert.deepEqual(got(c, "c"), [{ event: "over-tls", args: [{ $bin: "AQ==" }] }]);
      await assert.rejects(plain.emit("ev"), (err) => err instanceof EmitterError && !err.local);
    } finally {
      secure.close();
      plain.close();
      await c.stop();
      await peer.stop();
      await sidecar.stop();
      await redis.stop();
      fs.rmSync(cert.dir, { recursive: true, force: true });
    }
  });
});

describe("compat: --key", () => {
  test("a sidecar and a peer with the same custom key prefix talk; the default prefix does not reach them", async () => {
    const redis = await startRedis();
    const keyed = await startSidecar({ redis: redis.url, key: "myapp" });
    const plainSidecar = await startSidecar({ redis: redis.url });
    const peer = await startPeer({ redis: redis.url, key: "myapp", namespaces: ["/"] });
    const c = await startClients(peer.url, [{ name: "c", auth: { rooms: ["k"] } }]);
    const e = new Emitter(keyed.addr, { timeout: 10000 });
    const other = new Emitter(plainSidecar.addr, { timeout: 10000 });
    try {
      await other.to("k").emit("wrong-prefix", 1);
      await e.to("k").emit("right-prefix", 2);
      await settle(e, c, { "/": ["c"] });
      assert.deepEqual(got(c, "c"), [{ event: "right-prefix", args: [2] }]);
    } finally {
      e.close();
      other.close();
      await c.stop();
      await peer.stop();
      await keyed.stop();
      await plainSidecar.stop();
      await redis.stop();
    }
  });
});
