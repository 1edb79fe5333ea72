// The real stack the compatibility tests run against, started per test file
// on free loopback ports: a redis-server, the `siorelay emitter` sidecar
// (built from this repo), a Node Socket.IO 4.8.4 peer with
// @socket.io/redis-adapter 8.3.0 (clients/compat/peer.js) and stock
// socket.io-client 4.8.4 clients (clients/compat/clients.js).

import { spawn, execFileSync } from "node:child_process";
import { createInterface } from "node:readline";
import net from "node:net";
import path from "node:path";
import fs from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const compatDir = path.join(repoRoot, "clients", "compat");

const children = new Set();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

/** A free TCP port on 127.0.0.1 (the OS picks it; closed again before use). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function which(cmd) {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

/** Resolves when fn() returns truthy, polling; rejects after timeoutMs. */
export async function until(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function connectable(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

function track(child, name) {
  children.add(child);
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
    if (stderr.length > 64 << 10) stderr = stderr.slice(-32 << 10);
  });
  child.on("exit", () => children.delete(child));
  const exited = new Promise((resolve) => child.on("exit", (code, sig) => resolve({ code, sig })));
  return {
    child,
    exited,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
    describe: () => `${name} (stderr: ${stderr.slice(-2000)})`,
  };
}

/** Sends one command to the Redis on port and resolves with the raw RESP reply. */
export function redisCommand(port, ...args) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let buf = "";
    s.setEncoding("utf8");
    s.on("error", reject);
    s.on("data", (d) => {
      buf += d;
      // Replies used here are small and end with CRLF once complete.
      if (buf.endsWith("\r\n")) {
        s.end();
        resolve(buf);
      }
    });
    s.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(""));
  });
}

/**
 * Waits until a sharded adapter subscribed to a room's channel: the
 * sharded "dynamic" adapter subscribes when a room is created (here, by
 * socketsJoin), asynchronously, and an event published before that is lost.
 */
export async function waitShardSubscribed(port, channel) {
  await until(async () => /:([1-9]\d*)\r\n$/.test(await redisCommand(port, "PUBSUB", "SHARDNUMSUB", channel)), 10000, `SSUBSCRIBE ${channel}`);
}

/** Starts redis-server on a free port; fails clearly when it is not installed. */
export async function startRedis() {
  const bin = which("redis-server");
  if (!bin) throw new Error("redis-server not found on PATH: install it with `apt-get install redis-server`");
  const port = await freePort();
  const child = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const p = track(child, "redis-server");
  child.stdout.resume();
  await until(async () => child.exitCode === null && (await connectable(port)), 10000, `redis-server on ${port}: ${p.describe()}`);
  return { ...p, port, url: `redis://127.0.0.1:${port}` };
}

let builtBinary = null;

/**
 * The sidecar binary: $SIORELAY_BIN if set, otherwise built from this repo
 * into .tmp/bin/siorelay (go build is incremental, so this is cheap when
 * nothing changed).
 */
export function sidecarBinary() {
  if (process.env.SIORELAY_BIN) return process.env.SIORELAY_BIN;
  if (!builtBinary) {
    const out = path.join(repoRoot, ".tmp", "bin", "siorelay");
    execFileSync("go", ["build", "-o", out, "./cmd/siorelay"], { cwd: repoRoot, stdio: "inherit" });
    builtBinary = out;
  }
  return builtBinary;
}

/**
 * Makes a self-signed certificate for 127.0.0.1 with the openssl command
 * into a fresh temporary directory: {cert, key} paths.
 */
export function selfSignedCert() {
  if (!which("openssl")) throw new Error("openssl not found on PATH: install it with `apt-get install openssl`");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "siorelay-tls-"));
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ], { stdio: "pipe" });
  return { dir, cert, key };
}

/** Starts `siorelay emitter` against redisUrl on a free port. */
export async function startSidecar({ redis, token, sharded, key, tls } = {}) {
  const port = await freePort();
  const args = ["emitter", "--grpc-addr", `127.0.0.1:${port}`, "--redis", redis];
  if (key) args.push("--key", key);
  if (sharded) args.push("--sharded");
  if (token) args.push("--token", token);
  if (tls) args.push("--tls-cert", tls.cert, "--tls-key", tls.key);
  const child = spawn(sidecarBinary(), args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } });
  child.stdout.resume();
  const p = track(child, `siorelay ${args.join(" ")}`);
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`sidecar exited: ${p.describe()}`);
    return connectable(port);
  }, 20000, `the sidecar on ${port}: ${p.describe()}`);
  return { ...p, addr: `127.0.0.1:${port}` };
}

/** Starts `siorelay serve --redis` with its gRPC EmitterService on free ports; waits for /readyz. */
export async function startRelay({ redis, sharded } = {}) {
  const port = await freePort();
  const grpcPort = await freePort();
  const args = ["serve", "--addr", `127.0.0.1:${port}`, "--grpc-addr", `127.0.0.1:${grpcPort}`, "--redis", redis,
    "--namespaces", "/,/admin", "--demo=false", "--log-level", "warn"];
  if (sharded) args.push("--sharded", "--subscription-mode", "dynamic");
  const child = spawn(sidecarBinary(), args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } });
  child.stdout.resume();
  const p = track(child, `siorelay ${args.join(" ")}`);
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`relay exited: ${p.describe()}`);
    try {
      return (await fetch(`${url}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }, 20000, `the relay on ${port}: ${p.describe()}`);
  return { ...p, url, addr: `127.0.0.1:${grpcPort}` };
}

/**
 * A clients/compat fixture process speaking JSON lines: every line it
 * prints is kept in `lines`; waitFor() awaits one matching a predicate;
 * command() sends a command and awaits its result.
 */
class JsonlProc {
  constructor(script, config) {
    this.child = spawn(process.execPath, [path.join(compatDir, script), JSON.stringify(config)], {
      cwd: compatDir,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.p = track(this.child, script);
    this.lines = [];
    this.waiters = new Set();
    this.nextId = 1;
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = { type: "unparsed", line };
      }
      this.lines.push(msg);
      for (const w of [...this.waiters]) w();
    });
    this.child.on("exit", () => {
      for (const w of [...this.waiters]) w();
    });
  }

  /** Resolves with the first line (from index `from`) matching pred. */
  waitFor(pred, { timeout = 10000, from = 0, what = "a line" } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const fatal = this.lines.find((l) => l.type === "fatal");
        if (fatal) return finish(new Error(`fixture died: ${fatal.message}`));
        for (let i = from; i < this.lines.length; i++) {
          if (pred(this.lines[i])) return finish(null, this.lines[i]);
        }
        if (this.child.exitCode !== null) finish(new Error(`fixture exited before ${what}: ${this.p.describe()}`));
      };
      const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.lines.slice(from))}`)), timeout);
      const finish = (err, v) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        err ? reject(err) : resolve(v);
      };
      this.waiters.add(check);
      check();
    });
  }

  async command(cmd) {
    const id = this.nextId++;
    this.child.stdin.write(JSON.stringify({ ...cmd, id }) + "\n");
    const res = await this.waitFor((l) => l.type === "result" && l.id === id, { what: `result of ${cmd.cmd}` });
    if (res.error) throw new Error(`${cmd.cmd}: ${res.error}`);
    return res.result;
  }

  async stop() {
    this.child.stdin.end();
    await this.p.stop();
  }
}

/** Starts peer.js and waits until its adapters' subscriptions are live. */
export async function startPeer(config) {
  const peer = new JsonlProc("peer.js", config);
  const l = await peer.waitFor((m) => m.type === "listening", { timeout: 20000, what: "peer listening" });
  peer.port = l.port;
  peer.url = `http://127.0.0.1:${l.port}`;
  return peer;
}

/** Starts clients.js with the given clients and waits until all are connected. */
export async function startClients(url, clients) {
  const c = new JsonlProc("clients.js", { url, clients });
  await c.waitFor((m) => m.type === "ready", { timeout: 20000, what: "clients ready" });
  return c;
}

/** The events (type "event") received by client name, in order. */
export function eventsOf(proc, client) {
  return proc.lines.filter((l) => l.type === "event" && l.client === client).map((l) => ({ event: l.event, args: l.args }));
}
