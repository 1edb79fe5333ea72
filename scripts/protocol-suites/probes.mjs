// Repeats single socket.io-suite tests many times against localhost:3000, to
// measure how often their timing goes wrong (RESULTS.md). Uses the suite's
// own ws 8.5.0 (the race depends on how it delivers frames) and node-fetch
// (a new connection per request, as in the suite).
//
//   node probes.mjs SUITE_DIR race [N] [CONNECT] [AUTH]  CONNECT reply, then auth: misses of AUTH
//   node probes.mjs SUITE_DIR ping-timeout [N]           polling session still open after 500 ms
//   node probes.mjs SUITE_DIR ping-pong [N]              three polling ping rounds within the connect timeout
//
// SUITE_DIR is a socket.io-protocol test-suite/ folder after `npm ci`.
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [dir, probe, n = "30", ...rest] = process.argv.slice(2);
if (!dir || !probe) {
  console.error("usage: node probes.mjs SUITE_DIR race|ping-timeout|ping-pong [N] ...");
  process.exit(2);
}
const { WebSocket } = createRequire(path.resolve(dir, "package.json"))("ws");
const fetch = (await import(pathToFileURL(path.resolve(dir, "node_modules/node-fetch/src/index.js")).href)).default;
const N = Number(n);
const URL = "http://localhost:3000/socket.io/?EIO=4&transport=polling";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const waitFor = (s, type) => new Promise((r) => s.addEventListener(type, r, { once: true }));
const openPolling = async () => JSON.parse((await (await fetch(URL)).text()).substring(1)).sid;

const probes = {
  // The suite's connect tests: two waitFor calls, the second added after
  // the first resolved.
  async race([connect = "40", auth = '42["auth",{}]']) {
    let missed = 0;
    for (let i = 0; i < N; i++) {
      const ws = new WebSocket("ws://localhost:3000/socket.io/?EIO=4&transport=websocket");
      await waitFor(ws, "message");
      ws.send(connect);
      await waitFor(ws, "message");
      const { data } = await waitFor(ws, "message");
      if (data !== auth) missed++;
      ws.close();
    }
    return `missed auth ${missed}/${N}`;
  },
  // heartbeat / HTTP long-polling / should close the session upon ping timeout
  async "ping-timeout"() {
    let open = 0;
    for (let i = 0; i < N; i++) {
      const sid = await openPolling();
      await sleep(500);
      if ((await fetch(`${URL}&sid=${sid}`)).status !== 400) open++;
    }
    return `session still open after 500 ms: ${open}/${N}`;
  },
  // heartbeat / HTTP long-polling / should send ping/pong packets
  async "ping-pong"() {
    let failed = 0;
    const thirds = [];
    for (let i = 0; i < N; i++) {
      const t0 = Date.now();
      const sid = await openPolling();
      for (let j = 0; j < 3; j++) {
        const r = await fetch(`${URL}&sid=${sid}`);
        const body = await r.text();
        if (r.status !== 200 || body !== "2") { failed++; break; }
        if (j === 2) thirds.push(Date.now() - t0);
        await fetch(`${URL}&sid=${sid}`, { method: "post", body: "3" });
      }
    }
    thirds.sort((a, b) => a - b);
    return `failed ${failed}/${N}; third ping at ${thirds[0]}–${thirds.at(-1)} ms (median ${thirds[thirds.length >> 1]})`;
  },
};
if (!probes[probe]) {
  console.error(`unknown probe ${probe}`);
  process.exit(2);
}
console.log(await probes[probe](rest));
