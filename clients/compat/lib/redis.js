// node-redis (v4) clients for the fixtures: standalone or cluster, plus a way to
// wait until every (un)subscription the adapter asked for has been confirmed.

import { createClient, createCluster } from "redis";

/**
 * Connects a node-redis client: cfg.cluster (["host:port", ...]) selects a
 * cluster client, otherwise cfg.redis ("redis://host:port") a standalone one.
 */
export async function connect(cfg) {
  // Fixtures fail fast: about one second of retries, then the error surfaces.
  const socket = {
    reconnectStrategy: (retries, cause) => (retries >= 20 ? new Error(`redis: giving up: ${cause.message}`) : 50),
  };
  const client = cfg.cluster
    ? createCluster({ rootNodes: cfg.cluster.map((a) => ({ url: `redis://${a}` })), defaults: { socket } })
    : createClient({ url: cfg.redis || "redis://127.0.0.1:6379", socket });
  client.on("error", (e) => process.stderr.write(`redis error: ${e.message}\n`));
  await client.connect();
  return client;
}

const subscribeMethods = [
  "subscribe", "unsubscribe",
  "pSubscribe", "pUnsubscribe",
  "sSubscribe", "sUnsubscribe",
];

/**
 * Wraps the (un)subscribe methods of a node-redis client so that every call's
 * promise is remembered. The adapters fire these calls without awaiting them;
 * settled() resolves once Redis has confirmed all of them, which is what makes
 * "listening" (and a client's "connected") mean "subscriptions are live".
 */
export function trackSubscriptions(client) {
  const pending = new Set();
  let calls = 0;
  for (const name of subscribeMethods) {
    const orig = client[name].bind(client);
    client[name] = (...args) => {
      if (!name.includes("nsub")) calls++;
      const p = orig(...args);
      pending.add(p);
      const done = () => pending.delete(p);
      p.then(done, (e) => {
        done();
        process.stderr.write(`${name} failed: ${e.message}\n`);
      });
      return p;
    };
  }
  return {
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    /** How many (p/s)subscribe calls were made so far. */
    calls: () => calls,
  };
}

/**
 * Wraps publish/sPublish/xAdd of a node-redis client so that settled() resolves
 * once every publish (or stream entry) issued so far was acknowledged by Redis.
 * The adapters and the emitter publish without returning the promise.
 */
export function trackPublishes(client) {
  const pending = new Set();
  for (const name of ["publish", "sPublish", "xAdd"]) {
    const orig = client[name].bind(client);
    client[name] = (...args) => {
      const p = orig(...args);
      pending.add(p);
      p.then(() => pending.delete(p), () => pending.delete(p));
      return p;
    };
  }
  return {
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
