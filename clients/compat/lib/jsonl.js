// JSON-lines plumbing shared by the fixture scripts.
//
// Every script reads its config as JSON from argv[2], writes one JSON object per
// line on stdout, and (where it takes commands) reads one JSON object per line on
// stdin. Binary values travel as {"$bin":"<base64>"} in both directions.

import { createInterface } from "node:readline";

/** The JSON config given as argv[2] (an empty object when absent). */
export function config() {
  return process.argv[2] ? JSON.parse(process.argv[2]) : {};
}

/** Writes one JSON line to stdout. Binary values become {"$bin": base64}. */
export function out(obj) {
  process.stdout.write(JSON.stringify(encodeBin(obj)) + "\n");
}

/** Replaces Buffer/ArrayBuffer/TypedArray values with {"$bin": base64}; drops functions. */
export function encodeBin(v) {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("base64") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("base64") };
  if (ArrayBuffer.isView(v)) {
    return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  }
  if (Array.isArray(v)) return v.filter((x) => typeof x !== "function").map(encodeBin);
  if (v instanceof Set) return [...v].map(encodeBin);
  if (v instanceof Map) return encodeBin(Object.fromEntries(v));
  if (v && typeof v === "object" && !(v instanceof Date)) {
    const o = {};
    for (const [k, x] of Object.entries(v)) if (typeof x !== "function") o[k] = encodeBin(x);
    return o;
  }
  return v;
}

/** Replaces {"$bin": base64} objects with Buffers, recursively. */
export function decodeBin(v) {
  if (Array.isArray(v)) return v.map(decodeBin);
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$bin") return Buffer.from(v.$bin, "base64");
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = decodeBin(x);
    return o;
  }
  return v;
}

/**
 * Calls handler(cmd) for each JSON line on stdin and answers
 * {"type":"result","id","result"} or {"type":"result","id","error"}.
 * Commands run concurrently (a slow emitWithAck does not block the next one).
 * onEnd runs when stdin has closed and every command has been answered.
 */
export function serveCommands(handler, onEnd) {
  let inflight = 0;
  let closed = false;
  const maybeEnd = () => closed && inflight === 0 && onEnd && onEnd();
  const rl = createInterface({ input: process.stdin });
  rl.on("line", async (line) => {
    if (!line.trim()) return;
    let cmd;
    try {
      cmd = decodeBin(JSON.parse(line));
    } catch (e) {
      out({ type: "error", message: `bad command line: ${e.message}` });
      return;
    }
    inflight++;
    try {
      const result = await handler(cmd);
      out({ type: "result", id: cmd.id, result: result === undefined ? null : result });
    } catch (e) {
      out({ type: "result", id: cmd.id, error: String(e && e.message ? e.message : e), partial: e && e.partial });
    }
    inflight--;
    maybeEnd();
  });
  rl.on("close", () => {
    closed = true;
    maybeEnd();
  });
}

/** Prints {"type":"fatal"} for an uncaught error and exits 1. */
export function dieOnError() {
  const die = (e) => {
    out({ type: "fatal", message: String(e && e.stack ? e.stack : e) });
    process.exit(1);
  };
  process.on("uncaughtException", die);
  process.on("unhandledRejection", die);
}
