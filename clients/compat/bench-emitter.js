// bench-emitter.js: the Node baseline for the emitter benchmark (performance.md G6/G7):
// @socket.io/redis-emitter 5.1.0 publishing over node-redis 4.7.1.
//
//   node bench-emitter.js '{"redis":"redis://127.0.0.1:6379","events":100000,"inflight":[1,128]}'
//
// Config: redis; events (per run, default 100000); inflight (a number or a list,
// run in sequence; default [1,128]); payload "small" (default) or "1k"; key
// (default "socket.io"); to (optional room); warmup (events, default 10% of events,
// at least 1000; negative: none).
//
// The event, which a Go benchmark must publish identically (same channel, same
// msgpack layout; only n and ts vary):
//
//   emit("bench", {n: i, ts: Date.now(), s: S})
//
//   i  = 0, 1, 2, ... (the event's index within its run)
//   ts = milliseconds since the Unix epoch (an integer, notepack encodes it as uint64 0xcf)
//   S  = "abcdefghij" repeated 10 times (100 bytes) for "small",
//        repeated 103 times and cut to 1024 bytes for "1k".
//
// Channel: "<key>#/#" (or "<key>#/#<to>#"). Messages are
// ["emitter", {type:2, data:["bench", {n,ts,s}], nsp:"/"}, {rooms:[...], flags:{}, except:[]}].
//
// Prints one {"type":"result","inflight":K,"events":N,"seconds":S,"rate":R} per run.

import { Emitter } from "@socket.io/redis-emitter";
import { config, out } from "./lib/jsonl.js";
import { connect } from "./lib/redis.js";

const cfg = config();
const events = cfg.events ?? 100000;
const inflights = [].concat(cfg.inflight ?? [1, 128]);
const warmup = Math.max(0, cfg.warmup ?? Math.max(1000, Math.floor(events / 10)));
const S = "abcdefghij".repeat(cfg.payload === "1k" ? 103 : 10).slice(0, cfg.payload === "1k" ? 1024 : 100);

const client = await connect({ redis: cfg.redis });
// The emitter does not return the publish promise; remember the last one.
let last;
const publish = client.publish.bind(client);
client.publish = (...args) => (last = publish(...args));

let emitter = new Emitter(client, cfg.key ? { key: cfg.key } : undefined);
if (cfg.to) emitter = emitter.to(cfg.to);

// run publishes n events keeping at most k unacknowledged: before event i it
// waits for event i-k (node-redis answers in order, so that is exact).
async function run(n, k) {
  const window = new Array(k);
  for (let i = 0; i < n; i++) {
    if (window[i % k]) await window[i % k];
    emitter.emit("bench", { n: i, ts: Date.now(), s: S });
    window[i % k] = last;
  }
  await Promise.all(window.filter(Boolean));
}

for (const k of inflights) {
  await run(warmup, k);
  const t0 = process.hrtime.bigint();
  await run(events, k);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  out({ type: "result", inflight: k, events, seconds, rate: events / seconds });
}
await client.quit();
