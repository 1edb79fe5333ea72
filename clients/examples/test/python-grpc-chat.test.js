// ../python-grpc-chat (BackendService over gRPC, in Python) behind a real
// `siorelay serve --hook /=grpc://…`. EXAMPLES_PYTHON: a Python with the
// siorelay package (clients/python) installed (make test-example-python-grpc).
import { fileURLToPath } from "node:url";
import { chatTests } from "./chat.js";
import { start } from "./stack.js";

const python = process.env.EXAMPLES_PYTHON || "python3";
const chat = fileURLToPath(new URL("../python-grpc-chat/chat.py", import.meta.url));

chatTests("python-grpc-chat", async (relayGrpc, token) => {
  const b = await start(python, ["-u", chat, "--listen", "127.0.0.1:0", "--relay-grpc", relayGrpc, "--token", token], /chat backend: (grpc:\/\/\S+)/);
  return { ...b, url: b.match[1] };
});
