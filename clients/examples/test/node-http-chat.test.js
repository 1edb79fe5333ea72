// ../node-http-chat (the HTTP hook, node:http only) behind a real
// `siorelay serve --hook /=http://…` (make test-example-node-http).
import { fileURLToPath } from "node:url";
import { chatTests } from "./chat.js";
import { start } from "./stack.js";

const server = fileURLToPath(new URL("../node-http-chat/server.js", import.meta.url));

chatTests("node-http-chat", async (relayGrpc, token) => {
  const b = await start(process.execPath, [server, "--listen", "127.0.0.1:0", "--relay-grpc", relayGrpc, "--token", token], /chat backend: (http:\/\/\S+)/);
  return { ...b, url: b.match[1] };
});
