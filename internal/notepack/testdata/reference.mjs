// Reference for internal/notepack's differential test: reads a JSON array of
// cases on stdin and answers, for each, what notepack.io 3.0.1 (the codec of
// @socket.io/redis-adapter 8.3.0 and @socket.io/redis-emitter 5.1.0) does.
//   {"json": text}  -> {"hex": notepack.encode(JSON.parse(text))}
//   {"hex": bytes}  -> {"json": JSON.stringify(notepack.decode(bytes))}
// With "codec": "msgpack" a case uses @msgpack/msgpack 2.8.0 instead (the
// codec of @socket.io/redis-streams-adapter 0.3.1).
// Run from clients/compat so that both resolve to the pinned copies.
import { createRequire } from "node:module";
const require = createRequire(process.cwd() + "/");
const codecs = { notepack: require("notepack.io"), msgpack: require("@msgpack/msgpack") };

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((c) => {
    const codec = codecs[c.codec || "notepack"];
    try {
      if (c.json !== undefined) {
        return { hex: Buffer.from(codec.encode(JSON.parse(c.json))).toString("hex") };
      }
      const v = codec.decode(Buffer.from(c.hex, "hex"));
      return { json: v === undefined ? "undefined" : JSON.stringify(v) };
    } catch (e) {
      return { error: String(e.message || e) };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
