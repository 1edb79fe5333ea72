// Answers of the queries and of emitWithAck: protobuf messages turned into
// the shapes Node's server API returns (RemoteSocket, arrays of responses,
// Sets of rooms).

import { status } from "@grpc/grpc-js";
import { EmitterError } from "./encode.js";

/** Parses a JSON text of an answer (socket data, auth, an ack's argument). */
function parse(text, fallback) {
  if (text === undefined || text === "") return fallback;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new EmitterError(`siorelay: the server sent invalid JSON: ${e.message}`, { code: status.INTERNAL, cause: e });
  }
}

/** A google.protobuf.Timestamp ({seconds: "…", nanos}) as milliseconds since the epoch. */
function millis(ts) {
  if (!ts) return 0;
  return Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

/**
 * RemoteSocket is a socket of the cluster as fetchSockets() returns it,
 * with Node's RemoteSocket shape (id, handshake, rooms as a Set, data) and
 * its actions, which go through the same EmitterService.
 */
export class RemoteSocket {
  /** @internal */
  constructor(nspOperator, s) {
    const h = s.handshake ?? {};
    const issued = millis(h.time);
    this.id = s.id;
    this.namespace = s.namespace || "/";
    this.rooms = new Set(s.rooms ?? []);
    this.data = parse(s.data, null);
    this.handshake = {
      headers: { ...(h.headers ?? {}) },
      time: new Date(issued).toString(),
      address: h.address ?? "",
      xdomain: !!h.xdomain,
      secure: !!h.secure,
      issued,
      url: h.url ?? "",
      query: { ...(h.query ?? {}) },
      auth: parse(h.auth, {}),
    };
    Object.defineProperty(this, "_op", { value: nspOperator });
  }
  emit(event, ...args) {
    return this._op.to(this.id).emit(event, ...args);
  }
  join(rooms) {
    return this._op.in(this.id).socketsJoin(rooms);
  }
  leave(rooms) {
    return this._op.in(this.id).socketsLeave(rooms);
  }
  disconnect(close = false) {
    return this._op.in(this.id).disconnectSockets(close);
  }
}

/**
 * The responses of an EmitWithAck answer, as Node's emitWithAck() resolves
 * them; when the timeout cut the wait short, an EmitterError
 * (DEADLINE_EXCEEDED, "operation has timed out") carrying the responses
 * that arrived, as Node's rejection does.
 */
export function ackResponses(res) {
  const responses = (res.acks ?? []).map((a) => parse(a.json, null));
  if (res.timedOut) {
    const clients = Number(res.clients ?? 0);
    const err = new EmitterError(`siorelay: operation has timed out (${responses.length} of ${clients} clients answered)`, {
      code: status.DEADLINE_EXCEEDED,
    });
    err.responses = responses;
    err.clients = clients;
    throw err;
  }
  return responses;
}

/** An ack timeout in ms as a google.protobuf.Duration. */
export function duration(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) throw new TypeError("siorelay: timeout takes a positive number of milliseconds");
  const whole = Math.floor(ms);
  return { seconds: String(Math.floor(whole / 1000)), nanos: (whole % 1000) * 1e6 };
}
