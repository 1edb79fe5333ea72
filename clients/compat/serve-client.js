// serve-client.js: a plain Node Socket.IO 4.8.4 server with its defaults
// (serveClient: true, no adapter), for comparing how it serves the browser
// client (/socket.io/socket.io.js, .min.js, .esm.min.js and their .map files)
// with the relay (internal/demo's TestClientFilesLikeNode).
//
//   node serve-client.js '{"path":"/socket.io"}'
//
// Prints {"type":"listening","port":N}; exits when stdin closes.

import http from "node:http";
import { Server } from "socket.io";
import { config, out, serveCommands, dieOnError } from "./lib/jsonl.js";

dieOnError();
const cfg = config();
const httpServer = http.createServer();
const io = new Server(httpServer, cfg.path ? { path: cfg.path } : {});
httpServer.listen(0, "127.0.0.1", () => out({ type: "listening", port: httpServer.address().port }));
serveCommands(async (cmd) => {
  throw new Error(`unknown command ${cmd.cmd}`);
}, () => {
  io.close();
  process.exit(0);
});
