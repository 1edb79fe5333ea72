// Throughput of this client through the real sidecar into a real Redis
// (nothing subscribed: Redis is the sink), on loopback:
//
//   node scripts/bench.js [seconds=5] [concurrency=64]
//
// Prints one JSON line per mode: unary Emit calls/s with `concurrency`
// calls in flight, EmitBatch events/s (batches of 100) and EmitStream
// events/s (100 events per message). SIORELAY_BIN selects the sidecar
// binary (default: built into .tmp/bin/siorelay).

import { Emitter } from "../src/index.js";
import { startRedis, startSidecar } from "../test/stack.js";

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 64);
const payload = { user: "u123", text: "hello world", n: 42 };

const redis = await startRedis();
const sidecar = await startSidecar({ redis: redis.url });
const e = new Emitter(sidecar.addr);

async function timed(name, fn) {
  await fn(Date.now() + 500); // warm-up
  const start = process.hrtime.bigint();
  const n = await fn(Date.now() + seconds * 1000);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ mode: name, events: n, seconds: +secs.toFixed(2), perSecond: Math.round(n / secs) }));
}

try {
  await timed(`unary Emit x${concurrency}`, async (until) => {
    let n = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < until) {
          await e.to("room").emit("chat", payload);
          n++;
        }
      }),
    );
    return n;
  });

  await timed("EmitBatch 100/batch x4", async (until) => {
    let n = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() < until) {
          const b = e.batch();
          for (let i = 0; i < 100; i++) b.to("room").emit("chat", payload);
          n += await b.send();
        }
      }),
    );
    return n;
  });

  await timed("EmitStream 100/message", async (until) => {
    const s = e.stream({ eventsPerMessage: 100 });
    let i = 0;
    while (Date.now() < until) {
      for (let j = 0; j < 1000; j++, i++) await s.to("room").emit("chat", payload);
    }
    const n = await s.end();
    if (n !== i) throw new Error(`stream published ${n} of ${i}`);
    return n;
  });
} finally {
  e.close();
  await sidecar.stop();
  await redis.stop();
}
