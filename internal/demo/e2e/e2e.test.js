// End-to-end test of the demo page: `siorelay serve` with its gRPC
// EmitterService, the page opened in headless Chromium (the Debian chromium
// package, driven by playwright-core), events sent over gRPC appearing on
// the page. Run with `make test-demo-e2e` (SIORELAY_BIN names the binary).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..", "..");
const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const SIORELAY = process.env.SIORELAY_BIN || path.join(repo, ".tmp", "bin", "siorelay-demo-e2e");
const SHOTS = process.env.SCREENSHOT_DIR || path.join(repo, ".tmp", "demo-e2e");
const TIMEOUT = 15000;
// --headless is added by playwright's headless mode as well.
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// startRelay runs `siorelay serve` on kernel-chosen loopback ports and
// reads both addresses from what it prints.
function startRelay() {
  const proc = spawn(SIORELAY, ["serve", "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--demo", "--demo-chat", "--log-level", "warn"],
    { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const found = {};
    const timer = setTimeout(() => reject(new Error(`siorelay serve printed no addresses within ${TIMEOUT}ms: ${stderr}`)), TIMEOUT);
    proc.on("error", (err) => { clearTimeout(timer); reject(new Error(`cannot run ${SIORELAY}: ${err.message} (make test-demo-e2e builds it)`)); });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`siorelay serve exited with ${code}: ${stderr}`)); });
    createInterface({ input: proc.stdout }).on("line", (line) => {
      let m = line.match(/serving Socket\.IO on (http:\/\/\S+?)\/socket\.io\//);
      if (m) found.url = m[1];
      m = line.match(/serving gRPC EmitterService on (\S+)/);
      if (m) found.grpc = m[1];
      if (found.url && found.grpc) { clearTimeout(timer); resolve(found); }
    });
  });
  return {
    ready,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const { code } = await exited;
      return { code, stderr };
    },
  };
}

// emitterClient is a client of siorelay.v1.EmitterService, loaded from the
// repository's proto file.
function emitterClient(addr) {
  const def = protoLoader.loadSync(path.join(repo, "proto", "siorelay", "v1", "emitter.proto"),
    { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const Service = grpc.loadPackageDefinition(def).siorelay.v1.EmitterService;
  const client = new Service(addr, grpc.credentials.createInsecure());
  return {
    emit(req) {
      return new Promise((resolve, reject) => {
        client.emit(req, { deadline: Date.now() + TIMEOUT }, (err, res) => (err ? reject(err) : resolve(res)));
      });
    },
    close() { client.close(); },
  };
}

test("the demo page shows events sent over the gRPC EmitterService", async (t) => {
  assert.ok(existsSync(CHROMIUM),
    `chromium not found at ${CHROMIUM}: install the Debian package (apt-get install -y chromium) or set CHROMIUM_BIN`);

  // Cleanups run last-registered first (t.after hooks run in order).
  const cleanups = [];
  t.after(async () => { for (const f of cleanups.reverse()) await f(); });
  const relay = startRelay();
  cleanups.push(async () => {
    const { code, stderr } = await relay.stop();
    assert.equal(code, 0, `siorelay serve exited with ${code} after SIGTERM: ${stderr}`);
  });
  const { url, grpc: grpcAddr } = await relay.ready;

  // The page at "/" must load the stock client from the relay itself
  // (issue 4: nothing but the relay is needed), byte-identical to the
  // bundle embedded in internal/demo.
  const home = await fetch(url + "/");
  const html = await home.text();
  assert.equal(home.status, 200, `GET ${url}/ answered ${home.status}: siorelay serve serves no demo page`);
  const src = html.match(/<script src="([^"]*socket\.io[^"]*\.js)"/)?.[1];
  assert.ok(src, `the page at / loads no socket.io client script:\n${html.slice(0, 500)}`);
  const scriptURL = new URL(src, url + "/");
  assert.equal(scriptURL.origin, new URL(url).origin,
    `the demo page loads socket.io-client from ${scriptURL}, not from the relay: mount internal/demo's bundle ` +
    "in cmd/siorelay/serve.go (demo.Register(mux, path), or demo.RegisterClient for another page)");
  const served = Buffer.from(await (await fetch(scriptURL)).arrayBuffer());
  const embedded = readFileSync(path.join(repo, "internal", "demo", "client", "socket.io.min.js"));
  assert.ok(served.equals(embedded), `${scriptURL} is not the embedded socket.io-client ${served.length} vs ${embedded.length} bytes`);

  const emitter = emitterClient(grpcAddr);
  cleanups.push(() => emitter.close());

  const profile = mkdtempSync(path.join(tmpdir(), "siorelay-e2e-chromium-"));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: TIMEOUT,
  });
  cleanups.push(() => browser.close());
  const page = browser.pages()[0] ?? await browser.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    // Failed loads are reported with their URL by the response handler.
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) problems.push(`console: ${msg.text()}`);
  });
  page.on("response", (res) => {
    // Browsers ask for /favicon.ico and, with devtools, source maps.
    const u = new URL(res.url());
    if (res.status() >= 400 && u.pathname !== "/favicon.ico" && !u.pathname.endsWith(".map")) {
      problems.push(`HTTP ${res.status()} for ${res.url()}`);
    }
  });
  page.on("requestfailed", (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));

  // The checks read the page's text only, so they hold for any page that
  // shows its connection state ("connected as <id> (<transport>)") and the
  // events it receives.
  const shows = (text) => page.waitForFunction((t) => document.body.innerText.includes(t), text, { timeout: TIMEOUT });
  await page.goto(url + "/", { timeout: TIMEOUT });
  // Connected, and upgraded from polling to WebSocket.
  await page.waitForFunction(() => /connected as \S+ \(websocket\)/.test(document.body.innerText), null, { timeout: TIMEOUT });

  const text = 'hello from gRPC <i id="markup">not markup</i> é';
  await emitter.emit({ target: { namespace: "/" }, event: "chat", args: [{ json: JSON.stringify({ user: "grpc", text }) }] });
  await shows("grpc: hello from gRPC");
  assert.ok((await page.innerText("body")).includes(JSON.stringify(text).slice(1, -1)) || (await page.innerText("body")).includes(text),
    "the event's text is not on the page verbatim");
  assert.equal(await page.locator("#markup").count(), 0, "event text was rendered as HTML");

  await emitter.emit({ event: "file", args: [{ json: '{"name":"a.bin"}' }, { binary: Buffer.from([1, 2, 3]) }] });
  await shows("a.bin");
  await shows("<3 bytes>");

  // The hint says what `make run` does with what is typed (--demo-chat:
  // every other page), and how to send from a terminal, not grpcurl.
  const hint = await page.innerText("p.hint");
  assert.match(hint, /passes it on to every\s+other page/, `hint: ${hint}`);
  assert.ok(hint.includes(`siorelay emit --grpc ${grpcAddr} chat '"hello"'`), `hint: ${hint}`);
  assert.ok(!/hooks|grpcurl/.test(hint), `hint: ${hint}`);

  // A second tab, as the hint suggests.
  const other = await browser.newPage();
  other.on("pageerror", (err) => problems.push(`second page error: ${err.message}`));
  await other.goto(url + "/", { timeout: TIMEOUT });
  await other.waitForFunction(() => /connected as \S+ \(websocket\)/.test(document.body.innerText), null, { timeout: TIMEOUT });
  const me = await page.innerText("#me");
  assert.match(me, /^guest-[0-9a-f]+$/);
  assert.notEqual(await other.innerText("#me"), me, "two tabs have the same name");

  // Sending from the first page: its first text box and Enter. It shows
  // its own line at once, the other page gets it with its author's name;
  // the connection stays up.
  const typed = "hi from the page";
  await page.locator("form input").first().fill(typed);
  await page.locator("form input").first().press("Enter");
  await shows(`${me} (you): ${typed}`);
  await other.waitForFunction((t) => document.body.innerText.includes(t), `${me}: ${typed}`, { timeout: TIMEOUT });
  // A later event reaches the first page after anything sent to it
  // before, so if the relay echoed the line back it would be there now.
  await emitter.emit({ event: "chat", args: [{ json: '"still connected"' }] });
  await shows("server: still connected");
  const count = (await page.innerText("#log")).split(typed).length - 1;
  assert.equal(count, 1, `the sender sees "${typed}" ${count} times:\n${await page.innerText("#log")}`);
  assert.match(await page.innerText("body"), /connected as \S+ \(websocket\)/);

  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, "demo.png"), fullPage: true });
  await other.screenshot({ path: path.join(SHOTS, "demo-second-tab.png"), fullPage: true });
  assert.deepEqual(problems, []);
});
