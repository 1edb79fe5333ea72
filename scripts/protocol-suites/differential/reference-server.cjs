// The socket.io-protocol suite's reference server (its Readme's settings and
// handlers) on Node socket.io 4.8.4 from clients/compat/node_modules, for
// comparing the relay with Node. Usage: node reference-server.cjs PORT
// (RECOVERY=1: with connectionStateRecovery, maxDisconnectionDuration 60 s)
const path = require("node:path");
const { Server } = require(path.join(__dirname, "..", "..", "..", "clients", "compat", "node_modules", "socket.io"));

const io = new Server(Number(process.argv[2] || 3000), {
  pingInterval: 300, pingTimeout: 200, maxPayload: 1000000, connectTimeout: 1000, cors: { origin: "*" },
  ...(process.env.RECOVERY === "1" ? { connectionStateRecovery: { maxDisconnectionDuration: 60000 } } : {}),
});
for (const nsp of [io.of("/"), io.of("/custom")]) {
  nsp.on("connection", (socket) => {
    socket.emit("auth", socket.handshake.auth);
    socket.on("message", (...args) => socket.emit("message-back", ...args));
    socket.on("message-with-ack", (...args) => {
      const ack = args.pop();
      if (typeof ack === "function") ack(...args);
    });
  });
}
console.log(`reference server on port ${io.httpServer.address().port}`);
