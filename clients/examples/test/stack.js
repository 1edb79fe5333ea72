// The pieces the example tests run: the example backend, a real
// `siorelay serve` calling it, and real socket.io-client clients.
import { spawn } from "node:child_process";
import net from "node:net";
import { io } from "socket.io-client";

const DEADLINE_MS = 10_000;

export const siorelayBin = () => {
  const bin = process.env.SIORELAY_BIN;
  if (!bin) throw new Error("SIORELAY_BIN is not set: build with `go build -o .tmp/bin/siorelay ./cmd/siorelay` (make test-example-*)");
  return bin;
};

// freePort returns a port that was free a moment ago on 127.0.0.1.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// start runs a process and resolves once a line of its stdout matches
// ready; the result's match is that match, stop() ends the process.
export function start(cmd, args, ready, { env } = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  const onData = (d) => { out += d; };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 3000).unref();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { stop(); reject(new Error(`${cmd} did not get ready in ${DEADLINE_MS} ms; output:\n${out}`)); }, DEADLINE_MS);
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(ready);
      if (m) { clearTimeout(timer); resolve({ match: m, stop, output: () => out }); }
    });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`${cmd} exited (${code}) before it was ready; output:\n${out}`)); });
    child.once("error", (err) => { clearTimeout(timer); reject(err); });
  });
}

// startRelay runs `siorelay serve` with one hook (and --hook-token token, if
// set) and its EmitterService on grpcAddr (if set); it resolves to the
// relay's base URL.
export async function startRelay({ hook, grpcAddr, token }) {
  const relay = await start(siorelayBin(), [
    "serve", "--addr", "127.0.0.1:0", "--hook", hook, "--demo=false",
    ...(grpcAddr ? ["--grpc-addr", grpcAddr] : []),
    ...(token ? ["--hook-token", token] : []),
  ], /serving Socket\.IO on (http:\/\/[^/\s]+)\//);
  return { ...relay, url: relay.match[1] };
}

// Client is a socket.io-client socket that records every event it gets.
export class Client {
  constructor(url, auth) {
    this.events = []; // [name, ...args]
    this.waiters = [];
    this.socket = io(url, { auth, transports: ["websocket"], reconnection: false, forceNew: true });
    this.socket.onAny((...ev) => {
      this.events.push(ev);
      this.waiters = this.waiters.filter((w) => !w());
    });
  }

  // connected resolves when the namespace is joined; it rejects with the
  // connect_error the server sent.
  connected() {
    return new Promise((resolve, reject) => {
      if (this.socket.connected) return resolve();
      this.socket.once("connect", resolve);
      this.socket.once("connect_error", reject);
    });
  }

  // received returns the arguments of every event name received so far.
  received(name) {
    return this.events.filter(([n]) => n === name).map(([, ...args]) => args);
  }

  // waitFor resolves with the args of the first event name received (ever)
  // for which match(args) is true.
  waitFor(name, match = () => true) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received(name).find(match);
        if (found) resolve(found);
        return Boolean(found);
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching ${name} event in ${DEADLINE_MS} ms; got ${JSON.stringify(this.events)}`));
      }, DEADLINE_MS);
      const waiter = () => check() && (clearTimeout(timer), true);
      this.waiters.push(waiter);
    });
  }

  emitWithAck(...args) {
    return this.socket.timeout(DEADLINE_MS).emitWithAck(...args);
  }

  close() {
    this.socket.disconnect();
  }
}
