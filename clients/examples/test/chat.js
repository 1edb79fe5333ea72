// The chat scenario both example backends must pass: connection refused
// without a name, welcome + lobby, join with ack, room broadcasts that reach
// the right clients only, and the "left" announcement on disconnect.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, freePort, startRelay } from "./stack.js";

// chatTests registers the scenario; startBackend(relayGrpcAddr, token)
// starts the backend, requiring token on every call, and resolves to
// { url (the hook URL), stop(), output() }.
export function chatTests(name, startBackend) {
  test(name, async (t) => {
    const relayGrpc = `127.0.0.1:${await freePort()}`;
    const token = "example-token";
    const backend = await startBackend(relayGrpc, token);
    t.after(() => backend.stop());
    const relay = await startRelay({ hook: `/=${backend.url}`, grpcAddr: relayGrpc, token });
    t.after(() => relay.stop());
    const clients = [];
    const connect = (auth) => {
      const c = new Client(relay.url, auth);
      clients.push(c);
      return c;
    };
    t.after(() => clients.forEach((c) => c.close()));
    t.after(() => {
      if (t.passed === false) console.log(`backend output:\n${backend.output()}\nrelay output:\n${relay.output()}`);
    });

    await t.test("the backend refuses a relay without its token", async () => {
      const other = await startRelay({ hook: `/=${backend.url}` });
      try {
        const c = new Client(other.url, { name: "mallory" });
        const err = await c.connected().then(() => null, (e) => e);
        c.close();
        assert.ok(err, "connected through a relay without the token");
        assert.equal(err.message, "backend unavailable");
      } finally {
        await other.stop();
      }
    });

    await t.test("a client without auth.name gets connect_error", async () => {
      for (const auth of [undefined, {}, { name: "  " }, { name: 42 }]) {
        const c = connect(auth);
        const err = await c.connected().then(() => null, (e) => e);
        assert.ok(err, `connected with auth ${JSON.stringify(auth)}`);
        assert.equal(err.message, "name required");
        assert.deepEqual(err.data, { hint: "connect with auth: {name: 'alice'}" });
        assert.equal(c.socket.connected, false);
      }
    });

    const alice = connect({ name: "alice" });
    const bob = connect({ name: "bob" });
    const carol = connect({ name: "carol" });

    await t.test("named clients connect and are welcomed to the lobby", async () => {
      for (const [c, name] of [[alice, "alice"], [bob, "bob"], [carol, "carol"]]) {
        await c.connected();
        assert.deepEqual(await c.waitFor("welcome"), [{ name, room: "lobby" }]);
      }
    });

    await t.test("join acks and moves the socket; the old room hears who left", async () => {
      assert.deepEqual(await carol.emitWithAck("join", "games"), { ok: true, room: "games" });
      assert.deepEqual(await alice.waitFor("left"), [{ name: "carol" }]);
      assert.deepEqual(await bob.waitFor("left"), [{ name: "carol" }]);
      assert.deepEqual(await carol.emitWithAck("join", "No Such Room!"), { ok: false, error: "bad room name" });
      // Joining the room it is in changes nothing and tells nobody.
      assert.deepEqual(await carol.emitWithAck("join", "games"), { ok: true, room: "games" });
    });

    await t.test("chat reaches the rest of the sender's room only", async () => {
      assert.deepEqual(await alice.emitWithAck("chat", "hi lobby"), { ok: true });
      assert.deepEqual(await bob.waitFor("chat"), [{ from: "alice", room: "lobby", text: "hi lobby" }]);
      assert.deepEqual(await bob.emitWithAck("chat", "hello alice"), { ok: true });
      assert.deepEqual(await alice.waitFor("chat"), [{ from: "bob", room: "lobby", text: "hello alice" }]);
      // A later message to games reaches carol; nothing of the lobby did,
      // and alice never got her own message back.
      const dave = connect({ name: "dave" });
      await dave.connected();
      assert.deepEqual(await dave.emitWithAck("join", "games"), { ok: true, room: "games" });
      assert.deepEqual(await dave.emitWithAck("chat", "hi games"), { ok: true });
      assert.deepEqual(await carol.waitFor("chat"), [{ from: "dave", room: "games", text: "hi games" }]);
      assert.deepEqual(carol.received("chat"), [[{ from: "dave", room: "games", text: "hi games" }]]);
      assert.deepEqual(alice.received("chat"), [[{ from: "bob", room: "lobby", text: "hello alice" }]]);
      assert.deepEqual(bob.received("chat"), [[{ from: "alice", room: "lobby", text: "hi lobby" }]]);
      assert.deepEqual(dave.received("chat"), []);
      assert.deepEqual(alice.received("left"), [[{ name: "carol" }], [{ name: "dave" }]]);
    });

    await t.test("bad input and unknown events are acked with an error", async () => {
      assert.deepEqual(await alice.emitWithAck("chat", ""), { ok: false, error: "text required" });
      assert.deepEqual(await alice.emitWithAck("nope", 1), { ok: false, error: "unknown event nope" });
    });

    await t.test("a disconnect is announced to the room it left", async () => {
      bob.close();
      assert.deepEqual(await alice.waitFor("left", ([m]) => m.name === "bob"), [{ name: "bob" }]);
      // carol (games) heard nothing about bob: a later games message
      // arrives and her "left" list is still empty.
      assert.deepEqual(await carol.emitWithAck("chat", "still here"), { ok: true });
      const dave = clients.at(-1);
      await dave.waitFor("chat", ([m]) => m.text === "still here");
      assert.deepEqual(carol.received("left"), []);
    });
  });
}
