// emit.js: runs a list of @socket.io/redis-emitter 5.1.0 operations over node-redis
// against a standalone Redis, in order, waiting for each PUBLISH to be acknowledged.
//
//   node emit.js '{"redis":"redis://127.0.0.1:6379","key":"socket.io",
//                  "ops":[{"op":"emit","nsp":"/","to":["r1"],"event":"hello","args":["world"]}]}'
//
// ops[].op: emit | socketsJoin | socketsLeave | disconnectSockets | serverSideEmit.
// Selector fields: nsp, to, except, volatile, compress. Also: event, args (emit,
// serverSideEmit), rooms (socketsJoin/socketsLeave), close (disconnectSockets).
// Prints {"type":"done","count":N}; on error {"type":"error","message"} and exit 1.

import { Emitter } from "@socket.io/redis-emitter";
import { config, out, decodeBin } from "./lib/jsonl.js";
import { connect, trackPublishes } from "./lib/redis.js";

const cfg = config();
let client;
try {
  client = await connect({ redis: cfg.redis });
  const pubs = trackPublishes(client);
  const emitter = new Emitter(client, cfg.key ? { key: cfg.key } : undefined);
  let count = 0;
  for (const op of cfg.ops || []) {
    run(emitter, op);
    await pubs.settled();
    count++;
  }
  out({ type: "done", count });
  await client.quit();
} catch (e) {
  out({ type: "error", message: String(e && e.message ? e.message : e) });
  process.exit(1);
}

// run applies the selector fields in the order nsp, to, except, volatile, compress
// (flag order shows in the published bytes) and then the operation.
function run(emitter, op) {
  let b = emitter.of(op.nsp || "/");
  if (op.to?.length) b = b.to(op.to);
  if (op.except?.length) b = b.except(op.except);
  if (op.volatile) b = b.volatile;
  if (op.compress !== undefined && op.compress !== null) b = b.compress(op.compress);
  const args = decodeBin(op.args || []);
  switch (op.op) {
    case "emit":
      return b.emit(op.event, ...args);
    case "socketsJoin":
      return b.socketsJoin(op.rooms);
    case "socketsLeave":
      return b.socketsLeave(op.rooms);
    case "disconnectSockets":
      return b.disconnectSockets(!!op.close);
    case "serverSideEmit":
      // serverSideEmit exists on the Emitter only, not on its BroadcastOperator.
      return emitter.of(op.nsp || "/").serverSideEmit(op.event, ...args);
    default:
      throw new Error(`unknown op ${op.op}`);
  }
}
