// Compatibility tests of the queries and acknowledgements over gRPC: this
// client → the `siorelay emitter` sidecar and `siorelay serve --redis` →
// a real redis-server → a cluster of that relay and a Node Socket.IO 4.8.4
// server with @socket.io/redis-adapter 8.3.0, with stock socket.io-client
// 4.8.4 clients on both. Sockets on the Node server and on the relay are
// found, counted and acked alike, from the sidecar and from the relay.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Emitter, EmitterError, Status } from "../src/index.js";
import { startRedis, startSidecar, startRelay, startPeer, startClients, until } from "./stack.js";

for (const mode of ["classic", "sharded"]) {
  describe(`queries (${mode} adapter)`, () => {
    const sharded = mode === "sharded";
    let redis, relay, sidecar, peer, onRelay, onPeer;
    const ids = {};
    const emitters = {};

    before(async () => {
      redis = await startRedis();
      relay = await startRelay({ redis: redis.url, sharded });
      sidecar = await startSidecar({ redis: redis.url, sharded });
      peer = await startPeer({
        redis: redis.url,
        mode,
        subscriptionMode: sharded ? "dynamic" : undefined,
        namespaces: ["/", "/admin"],
      });
      onRelay = await startClients(relay.url, [{ name: "r1" }, { name: "rquiet", noAck: true }, { name: "radmin", nsp: "/admin" }]);
      onPeer = await startClients(peer.url, [{ name: "p1", auth: { rooms: ["q"], data: { user: "p1" } } }]);
      for (const [proc, names] of [[onRelay, ["r1", "rquiet", "radmin"]], [onPeer, ["p1"]]]) {
        for (const n of names) ids[n] = (await proc.waitFor((l) => l.type === "connected" && l.client === n)).id;
      }
      emitters.sidecar = new Emitter(sidecar.addr, { timeout: 10000 });
      emitters.relay = new Emitter(relay.addr, { timeout: 10000 });
      // The relay's clients join "q" through the service itself.
      await emitters.sidecar.in([ids.r1, ids.rquiet]).socketsJoin("q");
      const want = [ids.r1, ids.rquiet, ids.p1].sort().join();
      await until(async () => (await emitters.sidecar.in("q").fetchSockets()).map((s) => s.id).sort().join() === want, 10000, "room q joined");
    });

    after(async () => {
      for (const e of Object.values(emitters)) e.close();
      for (const p of [onPeer, onRelay, peer, sidecar, relay, redis]) await p?.stop();
    });

    for (const via of ["sidecar", "relay"]) {
      test(`${via}: serverCount counts the relay and the Node server`, async () => {
        const e = emitters[via];
        assert.equal(await e.serverCount(), 2);
        assert.equal(await e.of("/admin").serverCount(), 2);
      });

      test(`${via}: fetchSockets finds sockets on both servers`, async () => {
        const e = emitters[via];
        const found = new Map((await e.in("q").fetchSockets()).map((s) => [s.id, s]));
        assert.deepEqual([...found.keys()].sort(), [ids.r1, ids.rquiet, ids.p1].sort());
        const p1 = found.get(ids.p1);
        const r1 = found.get(ids.r1);
        assert.deepEqual(p1.data, { user: "p1" });
        assert.deepEqual(p1.rooms, new Set([ids.p1, "q"]));
        assert.deepEqual(r1.rooms, new Set([ids.r1, "q"]));
        for (const s of [p1, r1]) {
          assert.equal(s.handshake.query.EIO, "4");
          assert.ok(s.handshake.issued > 0 && /127\.0\.0\.1/.test(s.handshake.address), JSON.stringify(s.handshake));
        }
        assert.deepEqual((await e.of("/admin").fetchSockets()).map((s) => s.id), [ids.radmin]);
        assert.deepEqual((await e.in("q").except(ids.rquiet).fetchSockets()).map((s) => s.id).sort(), [ids.r1, ids.p1].sort());
      });

      test(`${via}: allRooms`, async () => {
        const e = emitters[via];
        const rooms = await e.allRooms();
        for (const r of ["q", ids.r1, ids.p1]) assert.ok(rooms.has(r), `${r} in ${[...rooms]}`);
        assert.ok(!rooms.has(ids.radmin));
        assert.ok((await e.of("/admin").allRooms()).has(ids.radmin));
      });

      test(`${via}: emitWithAck gathers answers from both servers`, async () => {
        const e = emitters[via];
        const answers = await e.timeout(5000).to("q").except(ids.rquiet).emitWithAck("confirm", 1);
        assert.deepEqual(answers.sort((a, b) => a.client.localeCompare(b.client)), [
          { ok: true, client: "p1" },
          { ok: true, client: "r1" },
        ]);
        assert.deepEqual(await e.timeout(5000).to("nobody").emitWithAck("confirm"), []);
      });

      test(`${via}: emitWithAck times out on a client that never answers`, async () => {
        const e = emitters[via];
        await assert.rejects(e.timeout(500).to("q").emitWithAck("confirm"), (err) => {
          assert.ok(err instanceof EmitterError);
          assert.equal(err.code, Status.DEADLINE_EXCEEDED);
          assert.deepEqual(err.responses.map((a) => a.client).sort(), ["p1", "r1"]);
          assert.equal(err.clients, 3);
          return true;
        });
      });
    }
  });
}
