// lbclients.mjs: stock socket.io-client 4.8.4 clients that reach the relays
// through a load balancer the way real users do: each from its own address
// (127.0.X.1, all of which are local on Linux), so that source-address
// stickiness (nginx ip_hash) sees different clients, and each keeping the
// cookies the balancer sets, as a browser does, so that cookie stickiness
// (HAProxy's SERVERID) holds a long-polling session on one relay.
//
// It runs in clients/compat, as internal/nodetest.StartProc starts every
// script, and uses that directory's pinned packages and JSON-lines plumbing
// (clients/compat/README.md):
//
//   node lbclients.mjs '{"url":"http://127.0.0.1:8080","clients":[
//     {"name":"c1","transports":["polling","websocket"],"localAddress":"127.0.1.1"}]}'
//
// Clients connect one after the other (each once the previous one is
// connected), with reconnection on. Output lines:
//   {"type":"connected","client","id","opened","cookie"} on every
//     (re)connection; opened is the transport the connection opened with
//     (it may have upgraded since), cookie the SERVERID cookie the client
//     holds ("" if none)
//   {"type":"ready"} once every client has connected the first time
//   {"type":"upgrade","client","transport"}
//   {"type":"disconnect","client","reason"}
//   {"type":"connect_error","client","message"}
//   {"type":"event","client","event","args"}
// Closing stdin disconnects every client and exits.

import http from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const compat = process.cwd();
const { io } = createRequire(join(compat, "package.json"))("socket.io-client");
const { config, out, serveCommands, dieOnError } = await import(pathToFileURL(join(compat, "lib", "jsonl.js")).href);

dieOnError();
const cfg = config();
const sockets = [];

function start(c) {
  // One keep-alive agent per client, bound to the client's own address; the
  // polling transport uses it, and the WebSocket transport gets the address.
  const agent = new http.Agent({ keepAlive: true, localAddress: c.localAddress });
  const socket = io(cfg.url, {
    forceNew: true, // one Engine.IO connection per client
    transports: c.transports,
    agent,
    localAddress: c.localAddress,
    withCredentials: true, // keep the balancer's cookies (Node has no cookie jar otherwise)
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    timeout: 5000,
  });
  sockets.push(socket);
  const ev = { client: c.name };
  let opened = ""; // the transport the Engine.IO connection opened with
  socket.io.on("open", () => {
    opened = socket.io.engine.transport.name;
    socket.io.engine.on("upgrade", (t) => out({ type: "upgrade", ...ev, transport: t.name }));
  });
  socket.on("disconnect", (reason) => out({ type: "disconnect", ...ev, reason }));
  socket.on("connect_error", (err) => out({ type: "connect_error", ...ev, message: err.message }));
  socket.onAny((event, ...args) => out({ type: "event", ...ev, event, args }));
  return new Promise((resolve) => {
    socket.on("connect", () => {
      const jar = socket.io.engine._cookieJar; // engine.io-client's Node cookie jar
      const cookie = (jar && new Map(jar.cookies).get("SERVERID")?.value) ?? "";
      out({ type: "connected", ...ev, id: socket.id, opened, cookie });
      resolve();
    });
  });
}

for (const c of cfg.clients || []) await start(c);
out({ type: "ready" });

serveCommands(
  async (cmd) => {
    throw new Error(`unknown command ${cmd.cmd}`);
  },
  () => {
    for (const s of sockets) s.disconnect();
    process.exit(0);
  },
);
