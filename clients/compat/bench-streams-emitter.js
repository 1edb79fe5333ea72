// bench-streams-emitter.js: the Node baseline for the Go emitter's streams
// benchmark. @socket.io/redis-streams-emitter is not served by the npm registry
// here, so this is the other Node way its users take: a socket.io 4.8.4 server
// that listens on nothing, with @socket.io/redis-streams-adapter 0.3.1 over
// node-redis 4.7.1, emitting. Its adapter also reads the stream back (and skips
// its own entries), as such a process does.
//
//   node bench-streams-emitter.js '{"redis":"redis://127.0.0.1:6379"}'
//
// Config: redis; key (channelPrefix, default "socket.io"); streamName,
// streamCount, maxLen (the adapter's options; its defaults when left out).
// Prints {"type":"ready"}, then answers commands on stdin (lib/jsonl.js):
//   {"id":N,"cmd":"run","events":E,"inflight":K}
//     -> {"events":E,"inflight":K,"seconds":S,"rate":R}
// so that a Go benchmark can interleave Node runs with its own.
//
// The event, which the Go benchmark publishes identically (same stream, same
// fields and data; only n and ts vary):
//
//   io.emit("bench", {n: i, ts: Date.now(), s: S})      S = "abcdefghij" × 10
//
// XADD <stream> MAXLEN ~ <maxLen> * uid <uid> nsp / type 3
//      data {"packet":{"type":2,"data":["bench",{"n":i,"ts":...,"s":"..."}]},"opts":{"rooms":[],"except":[],"flags":{}}}

import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { config, out, serveCommands, dieOnError } from "./lib/jsonl.js";
import { connect } from "./lib/redis.js";

dieOnError();
const cfg = config();
const S = "abcdefghij".repeat(10);

const client = await connect({ redis: cfg.redis });
// The adapter does not return the XADD promise; remember the last one.
let last;
const xAdd = client.xAdd.bind(client);
client.xAdd = (...args) => (last = xAdd(...args));

const opts = Object.fromEntries(
  Object.entries({ channelPrefix: cfg.key, streamName: cfg.streamName, streamCount: cfg.streamCount, maxLen: cfg.maxLen })
    .filter(([, v]) => v !== undefined && v !== null),
);
const io = new Server({ adapter: createAdapter(client, opts) });

// run emits n events keeping at most k unacknowledged: before event i it
// waits for event i-k (node-redis answers in order, so that is exact).
async function run(n, k) {
  const window = new Array(k);
  for (let i = 0; i < n; i++) {
    if (window[i % k]) await window[i % k];
    io.emit("bench", { n: i, ts: Date.now(), s: S });
    window[i % k] = last;
  }
  await Promise.all(window.filter(Boolean));
}

out({ type: "ready" });
serveCommands(async (cmd) => {
  if (cmd.cmd !== "run") throw new Error(`unknown command ${cmd.cmd}`);
  const t0 = process.hrtime.bigint();
  await run(cmd.events, cmd.inflight);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { events: cmd.events, inflight: cmd.inflight, seconds, rate: cmd.events / seconds };
}, () => {
  io.close();
  process.exit(0);
});
