// Argument encoding and local validation: what the client checks before it
// makes a call, so that a mistake fails fast and nothing is sent.

import { status } from "@grpc/grpc-js";

/** Event names Socket.IO reserves on sockets: emit() rejects them locally. */
export const RESERVED_EVENTS = Object.freeze(
  new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]),
);

/** Event names serverSideEmit() rejects locally. */
export const RESERVED_SERVER_EVENTS = Object.freeze(new Set(["connect", "connection", "new_namespace"]));

const codeNames = Object.fromEntries(Object.entries(status).map(([k, v]) => [v, k]));

/**
 * EmitterError is how every action fails: `code` is the gRPC status code
 * (a number, compare with Status.INVALID_ARGUMENT etc.), `codeName` its name,
 * `details` the server's message. Errors found locally before any call
 * (reserved event name, unencodable argument) have code INVALID_ARGUMENT and
 * `local` set.
 */
export class EmitterError extends Error {
  constructor(message, { code, details, metadata, local = false, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "EmitterError";
    this.code = code;
    this.codeName = codeNames[code] ?? String(code);
    this.details = details ?? message;
    this.metadata = metadata;
    this.local = local;
  }

  /** @internal Wraps a grpc-js ServiceError. */
  static fromGrpc(err, method) {
    const codeName = codeNames[err.code] ?? String(err.code);
    return new EmitterError(`siorelay: ${method}: ${codeName}: ${err.details ?? err.message}`, {
      code: err.code,
      details: err.details,
      metadata: err.metadata,
      cause: err,
    });
  }
}

export function invalid(message, cause) {
  return new EmitterError(`siorelay: ${message}`, { code: status.INVALID_ARGUMENT, local: true, cause });
}

export function assertEvent(event, reserved) {
  if (typeof event !== "string" || event === "") throw invalid("event name must be a non-empty string");
  if (reserved.has(event)) throw invalid(`"${event}" is a reserved event name`);
}

/** "admin" → "/admin", as @socket.io/redis-emitter's of() does. */
export function normalizeNamespace(nsp) {
  if (typeof nsp !== "string") throw new TypeError("siorelay: namespace must be a string");
  return nsp.startsWith("/") ? nsp : "/" + nsp;
}

/** A room or rooms (string, or an iterable of strings) as an array. */
export function roomList(rooms) {
  if (typeof rooms === "string") return [rooms];
  if (rooms == null || typeof rooms[Symbol.iterator] !== "function") {
    throw new TypeError("siorelay: rooms must be a string or an array of strings");
  }
  const out = [];
  for (const r of rooms) {
    if (typeof r !== "string") throw new TypeError("siorelay: rooms must be a string or an array of strings");
    out.push(r);
  }
  return out;
}

function isBinary(v) {
  return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function asBuffer(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

// JSON.stringify hands the replacer the value after toJSON (a Buffer is
// already {type:"Buffer",data:[...]} by then), so the original is read from
// the holder: this[key].
function noNestedBinary(key, value) {
  if (key !== "" && isBinary(this[key])) {
    throw invalid(
      `binary data nested inside an argument (at key "${key}") cannot be sent: ` +
        "pass each Buffer/Uint8Array/ArrayBuffer as its own top-level argument",
    );
  }
  return value;
}

/**
 * Encodes event arguments as Arg messages: a Buffer, any TypedArray/DataView
 * or an ArrayBuffer becomes `binary`; anything else its JSON text (undefined
 * becomes null, as in a Socket.IO packet). Binary nested inside an object or
 * array is rejected (the wire carries one JSON text or one blob per
 * argument), as are functions (acknowledgements are not supported) and
 * values JSON.stringify cannot encode (BigInt, cycles).
 */
export function encodeArgs(args) {
  const out = new Array(args.length);
  for (let i = 0; i < args.length; i++) {
    const v = args[i];
    if (isBinary(v)) {
      out[i] = { binary: asBuffer(v) };
      continue;
    }
    if (typeof v === "function") throw invalid("acknowledgements are not supported");
    let json;
    try {
      json = JSON.stringify(v, noNestedBinary);
    } catch (e) {
      if (e instanceof EmitterError) throw e;
      throw invalid(`argument ${i} cannot be encoded as JSON: ${e.message}`, e);
    }
    out[i] = { json: json === undefined ? "null" : json };
  }
  return out;
}
