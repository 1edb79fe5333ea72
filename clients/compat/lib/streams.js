// peer.js's "streams" mode: @socket.io/redis-streams-adapter 0.3.1, and a way
// to know when such an adapter is really listening.
//
// The adapter duplicates the Redis client it is given (one reader per stream,
// plus one pub/sub subscriber) and starts everything without returning a
// promise. Its readers begin with XREAD ... STREAMS <stream> $, so an entry added
// before a reader's first XREAD reaches Redis is never seen by it. ready()
// therefore waits until (1) every namespace's SUBSCRIBE/SSUBSCRIBE was
// confirmed and (2) every reader has read a marker entry added after it started:
// an entry without "nsp", which the adapter (and every reader that follows it)
// skips.

import { createAdapter } from "@socket.io/redis-streams-adapter";
import { hashCode } from "@socket.io/redis-streams-adapter/dist/util.js";
import { trackSubscriptions } from "./redis.js";

/** The adapter options given in the peer config (undefined ones left out, so
 * the adapter's defaults apply: Object.assign would let undefined win). */
export function streamsOptions(cfg) {
  const s = cfg.streams || {};
  const opts = {
    streamName: s.streamName,
    streamCount: s.streamCount,
    maxLen: s.maxLen,
    readCount: s.readCount,
    blockTimeInMs: s.blockTimeInMs,
    sessionKeyPrefix: s.sessionKeyPrefix,
    useShardedPubSub: s.useShardedPubSub,
    onlyPlaintext: s.onlyPlaintext,
    channelPrefix: cfg.key,
  };
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined && v !== null));
}

const defaults = { streamName: "socket.io", streamCount: 1, sessionKeyPrefix: "sio:session:" };

/** The stream a namespace's messages go to (the adapter's computeStreamName). */
export function streamOf(nsp, opts) {
  const o = { ...defaults, ...opts };
  return o.streamCount === 1 ? o.streamName : o.streamName + "-" + (hashCode(nsp) % o.streamCount);
}

/** The streams every server reads. */
function readStreams(opts) {
  const o = { ...defaults, ...opts };
  if (o.streamCount === 1) return [o.streamName];
  return [...Array(o.streamCount).keys()].map((i) => `${o.streamName}-${i}`);
}

const MARKER = "siorelay-ready";

/**
 * Creates the adapter over pubClient, watching the clients it duplicates.
 * Returns {adapter, ready(io), streamOf(nsp)}.
 */
export function createStreamsAdapter(pubClient, cfg, onSession) {
  const opts = streamsOptions(cfg);
  const seen = new Set(); // marker tokens some reader has returned
  const trackers = [];
  const duplicate = pubClient.duplicate.bind(pubClient);
  pubClient.duplicate = (...args) => {
    const c = duplicate(...args);
    trackers.push(trackSubscriptions(c));
    const xRead = c.xRead.bind(c);
    c.xRead = async (...a) => {
      const res = await xRead(...a);
      for (const s of res || []) for (const m of s.messages) if (m.message[MARKER]) seen.add(m.message[MARKER]);
      return res;
    };
    return c;
  };
  // Report each session the adapter stores, once Redis has it.
  const prefix = opts.sessionKeyPrefix || defaults.sessionKeyPrefix;
  const set = pubClient.set.bind(pubClient);
  pubClient.set = async (key, value, o) => {
    const res = await set(key, value, o);
    if (typeof key === "string" && key.startsWith(prefix)) onSession({ key, pid: key.slice(prefix.length), px: o?.PX });
    return res;
  };
  const adapter = createAdapter(pubClient, opts);

  async function ready(io) {
    // (1) One SUBSCRIBE per namespace, or two SSUBSCRIBEs with sharded pub/sub.
    const want = io._nsps.size * (opts.useShardedPubSub ? 2 : 1);
    const deadline = Date.now() + 20000;
    const calls = () => trackers.reduce((n, t) => n + t.calls(), 0);
    while (calls() < want) {
      if (Date.now() > deadline) throw new Error(`streams adapter: ${calls()} of ${want} subscriptions made`);
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const t of trackers) await t.settled();
    // (2) A marker in every stream, added again until a reader returns it.
    let n = 0;
    for (const stream of readStreams(opts)) {
      for (;;) {
        if (Date.now() > deadline) throw new Error(`streams adapter: no reader of ${stream}`);
        const token = `${process.pid}-${stream}-${n++}`;
        await pubClient.xAdd(stream, "*", { [MARKER]: token });
        const until = Date.now() + 250;
        while (!seen.has(token) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
        if (seen.has(token)) break;
      }
    }
  }

  return { adapter, ready, streamOf: (nsp) => streamOf(nsp, opts) };
}
