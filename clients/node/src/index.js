// @siorelay/emitter: the @socket.io/redis-emitter API over gRPC, talking to
// a siorelay EmitterService (the `siorelay emitter` sidecar).
//
//   const e = new Emitter("127.0.0.1:50051");
//   await e.of("/admin").to("room").except("x").emit("event", { a: 1 }, Buffer.from([1, 2]));
//
// Every action returns a Promise that resolves once the server published it
// and rejects with an EmitterError carrying the gRPC status code.

import * as grpc from "@grpc/grpc-js";
import { loadService } from "./proto.js";
import {
  EmitterError,
  assertEvent,
  encodeArgs,
  invalid,
  normalizeNamespace,
  roomList,
  RESERVED_EVENTS,
  RESERVED_SERVER_EVENTS,
} from "./encode.js";
import { RemoteSocket, ackResponses, duration } from "./answers.js";

export { EmitterError, RemoteSocket, RESERVED_EVENTS, RESERVED_SERVER_EVENTS };
export const Status = grpc.status;

const closed = Symbol("closed");

// Connection is what every Emitter derived from one `new Emitter` shares:
// the gRPC client, the call metadata and the default deadline.
class Connection {
  constructor(address, opts) {
    const EmitterService = loadService();
    let credentials = opts.credentials;
    if (!credentials) {
      if (opts.tls === true) credentials = grpc.credentials.createSsl();
      else if (opts.tls && typeof opts.tls === "object") {
        const { rootCerts, privateKey, certChain } = opts.tls;
        credentials = grpc.credentials.createSsl(rootCerts ?? null, privateKey ?? null, certChain ?? null);
      } else credentials = grpc.credentials.createInsecure();
    }
    this.client = new EmitterService(address, credentials, opts.channelOptions);
    this.metadata = new grpc.Metadata();
    if (opts.token !== undefined && opts.token !== null) {
      this.metadata.set("authorization", `Bearer ${opts.token}`);
    }
    this.timeout = opts.timeout;
    this[closed] = false;
  }

  callOptions() {
    return this.timeout ? { deadline: Date.now() + this.timeout } : {};
  }

  // unary makes one call and resolves with the response message. A call
  // that waits for clients (EmitWithAck) may need more than the default
  // deadline: minMs raises it.
  unary(method, request, minMs = 0) {
    if (this[closed]) return Promise.reject(closedError());
    let opts = this.callOptions();
    if (minMs && opts.deadline && opts.deadline < Date.now() + minMs) opts = { deadline: Date.now() + minMs };
    return new Promise((resolve, reject) => {
      this.client[method](request, this.metadata, opts, (err, res) =>
        err ? reject(EmitterError.fromGrpc(err, method)) : resolve(res),
      );
    });
  }

  close() {
    this[closed] = true;
    this.client.close();
  }
}

function closedError() {
  return new EmitterError("siorelay: emitter is closed", { code: grpc.status.CANCELLED });
}

// Target state shared by Emitter (namespace only) and BroadcastOperator.
function target(nsp, rooms, except) {
  return { namespace: nsp, rooms: [...rooms], exceptRooms: [...except] };
}

// emitRequest validates and encodes one event; it throws EmitterError.
function emitRequest(nsp, rooms, except, flags, event, args) {
  assertEvent(event, RESERVED_EVENTS);
  const req = { target: target(nsp, rooms, except), event, args: encodeArgs(args) };
  if (flags.volatile) req.volatile = true;
  if (flags.compress !== undefined) req.compress = flags.compress;
  return req;
}

/**
 * BroadcastOperator selects sockets (rooms, excepted rooms) of one namespace
 * and carries the volatile/compress flags. Each builder method returns a new
 * operator and leaves its receiver unchanged.
 */
export class BroadcastOperator {
  /** @internal */
  constructor(sink, nsp, rooms = new Set(), except = new Set(), flags = {}) {
    this._sink = sink;
    this._nsp = nsp;
    this._rooms = rooms;
    this._except = except;
    this._flags = flags;
  }

  to(room) {
    const rooms = new Set(this._rooms);
    for (const r of roomList(room)) rooms.add(r);
    return new BroadcastOperator(this._sink, this._nsp, rooms, this._except, this._flags);
  }

  in(room) {
    return this.to(room);
  }

  except(room) {
    const except = new Set(this._except);
    for (const r of roomList(room)) except.add(r);
    return new BroadcastOperator(this._sink, this._nsp, this._rooms, except, this._flags);
  }

  get volatile() {
    return new BroadcastOperator(this._sink, this._nsp, this._rooms, this._except, { ...this._flags, volatile: true });
  }

  compress(compress) {
    if (typeof compress !== "boolean") throw new TypeError("siorelay: compress takes a boolean");
    return new BroadcastOperator(this._sink, this._nsp, this._rooms, this._except, { ...this._flags, compress });
  }

  /** How long emitWithAck() waits for the clients' answers, in ms. */
  timeout(ms) {
    duration(ms); // validates
    return new BroadcastOperator(this._sink, this._nsp, this._rooms, this._except, { ...this._flags, timeout: ms });
  }

  /**
   * Sends the event to the selected clients with an acknowledgement and
   * resolves with the first argument of each answer, in arrival order (Node's
   * io.timeout(ms).emitWithAck()); rejects with an EmitterError
   * (DEADLINE_EXCEEDED, `responses` holding the answers that came) when the
   * timeout passed first. Without timeout(), the server's requests timeout.
   */
  emitWithAck(event, ...args) {
    let req;
    try {
      assertEvent(event, RESERVED_EVENTS);
      req = { target: target(this._nsp, this._rooms, this._except), event, args: encodeArgs(args) };
      if (this._flags.timeout !== undefined) req.timeout = duration(this._flags.timeout);
    } catch (e) {
      return this._sink.rejectLocal(e);
    }
    // The server ends the wait at the timeout and answers; the call may take that long.
    return this._sink.call("EmitWithAck", req, (this._flags.timeout ?? 0) + 5000).then(ackResponses);
  }

  /** The selected sockets of the whole cluster (Node's fetchSockets()), as RemoteSocket objects. */
  fetchSockets() {
    const nsp = new BroadcastOperator(this._sink, this._nsp);
    return this._sink
      .call("FetchSockets", { target: target(this._nsp, this._rooms, this._except) })
      .then((res) => (res.sockets ?? []).map((s) => new RemoteSocket(nsp, s)));
  }

  emit(event, ...args) {
    let req;
    try {
      req = emitRequest(this._nsp, this._rooms, this._except, this._flags, event, args);
    } catch (e) {
      return this._sink.rejectLocal(e);
    }
    return this._sink.emit(req);
  }

  socketsJoin(rooms) {
    return this._sink.unary("SocketsJoin", {
      target: target(this._nsp, this._rooms, this._except),
      rooms: roomList(rooms),
    });
  }

  socketsLeave(rooms) {
    return this._sink.unary("SocketsLeave", {
      target: target(this._nsp, this._rooms, this._except),
      rooms: roomList(rooms),
    });
  }

  disconnectSockets(close = false) {
    return this._sink.unary("DisconnectSockets", {
      target: target(this._nsp, this._rooms, this._except),
      close: !!close,
    });
  }
}

// Sinks decide what an operator's actions do: the unary sink makes one call
// each; the batch and stream sinks queue events.
class UnarySink {
  constructor(conn) {
    this.conn = conn;
  }
  rejectLocal(e) {
    return Promise.reject(e);
  }
  emit(req) {
    return this.conn.unary("Emit", req).then(() => undefined);
  }
  unary(method, req) {
    return this.conn.unary(method, req).then(() => undefined);
  }
  call(method, req, minMs) {
    return this.conn.unary(method, req, minMs);
  }
}

// Batch emits return nothing (so a chained emit cannot look as if it kept
// the operator's target); stream emits return the backpressure Promise.
class QueueSink {
  constructor(owner) {
    this.owner = owner;
  }
  rejectLocal(e) {
    throw e;
  }
  emit(req) {
    return this.owner._push(req);
  }
  unary() {
    throw new TypeError("siorelay: only emit can be batched or streamed");
  }
  call() {
    throw new TypeError("siorelay: only emit can be batched or streamed");
  }
}

/**
 * The builder methods shared by Emitter, Batch and EmitStream: each starts
 * from the object's own operator (this._op).
 */
class Targeting {
  to(room) {
    return this._op.to(room);
  }
  in(room) {
    return this._op.in(room);
  }
  except(room) {
    return this._op.except(room);
  }
  get volatile() {
    return this._op.volatile;
  }
  compress(compress) {
    return this._op.compress(compress);
  }
  emit(event, ...args) {
    return this._op.emit(event, ...args);
  }
}

/** What Batch and EmitStream share: their operators queue on the object itself (_push). */
class Queue extends Targeting {
  constructor(nsp) {
    super();
    this._op = new BroadcastOperator(new QueueSink(this), nsp);
  }
  of(nsp) {
    return new BroadcastOperator(new QueueSink(this), normalizeNamespace(nsp));
  }
}

/**
 * Emitter sends to the clients of one namespace ("/" unless made by of()).
 * Construct it once per process; of() derives emitters that share its
 * connection.
 */
export class Emitter extends Targeting {
  constructor(address, opts = {}) {
    super();
    if (typeof address !== "string" || address === "") {
      throw new TypeError("siorelay: Emitter needs a server address such as 127.0.0.1:50051");
    }
    this._init(new Connection(address, opts), "/");
  }

  _init(conn, nsp) {
    this._conn = conn;
    this._nsp = nsp;
    this._op = new BroadcastOperator(new UnarySink(conn), nsp);
  }

  /** Returns an Emitter for namespace nsp ("admin" is read as "/admin"), sharing this one's connection. */
  of(nsp) {
    const e = Object.create(Emitter.prototype);
    e._init(this._conn, normalizeNamespace(nsp));
    return e;
  }

  socketsJoin(rooms) {
    return this._op.socketsJoin(rooms);
  }
  socketsLeave(rooms) {
    return this._op.socketsLeave(rooms);
  }
  disconnectSockets(close = false) {
    return this._op.disconnectSockets(close);
  }

  /** io.timeout(ms): an operator whose emitWithAck() waits ms for the answers. */
  timeout(ms) {
    return this._op.timeout(ms);
  }
  /** io.emitWithAck(): every client of the namespace, the server's requests timeout. */
  emitWithAck(event, ...args) {
    return this._op.emitWithAck(event, ...args);
  }
  /** io.fetchSockets(): every socket of the namespace on the cluster. */
  fetchSockets() {
    return this._op.fetchSockets();
  }
  /** io.of(nsp).adapter.serverCount(): the Socket.IO servers of the cluster serving the namespace (not the sidecar). */
  serverCount() {
    return this._conn.unary("ServerCount", { namespace: this._nsp }).then((res) => Number(res.count ?? 0));
  }
  /** io.of(nsp).adapter.allRooms(): the rooms of the namespace on the cluster, socket id rooms included, as a Set. */
  allRooms() {
    return this._conn.unary("AllRooms", { namespace: this._nsp }).then((res) => new Set(res.rooms ?? []));
  }

  /** Sends an event to the Socket.IO servers' namespace listeners. */
  serverSideEmit(event, ...args) {
    let req;
    try {
      assertEvent(event, RESERVED_SERVER_EVENTS);
      if (typeof args.at(-1) === "function") {
        throw invalid("acknowledgements are not supported");
      }
      req = { namespace: this._nsp, event, args: encodeArgs(args) };
    } catch (e) {
      return Promise.reject(e);
    }
    return this._conn.unary("ServerSideEmit", req).then(() => undefined);
  }

  /** Starts a batch: events queued on it are sent in one EmitBatch call by send(). */
  batch() {
    return new Batch(this._conn, this._nsp);
  }

  /** Opens an EmitStream: the high-throughput path for many events. */
  stream(opts = {}) {
    return new EmitStream(this._conn, this._nsp, opts);
  }

  /** Closes the connection; later calls reject with CANCELLED. */
  close() {
    this._conn.close();
  }
}

/**
 * Batch queues events with the Emitter's builder API and sends them in one
 * EmitBatch call. The server validates the batch as a whole: either every
 * event is published, in order, or none is.
 */
export class Batch extends Queue {
  /** @internal */
  constructor(conn, nsp) {
    super(nsp);
    this._conn = conn;
    this._events = [];
  }
  _push(req) {
    this._events.push(req);
  }
  get length() {
    return this._events.length;
  }
  /** Sends the queued events and empties the batch; resolves with the count published. */
  async send() {
    const events = this._events;
    this._events = [];
    const res = await this._conn.unary("EmitBatch", { events });
    return Number(res.count);
  }
}

/**
 * EmitStream sends events over one EmitStream call, grouped into messages
 * of up to `eventsPerMessage` (default 100). emit() queues synchronously and
 * returns a Promise that resolves when the stream can take more (await it
 * for backpressure, or ignore it). end() flushes, closes the stream and
 * resolves with the number of events the server published; if the server
 * ended the stream with an error, end() rejects with it.
 */
export class EmitStream extends Queue {
  /** @internal */
  constructor(conn, nsp, opts) {
    super(nsp);
    this._per = opts.eventsPerMessage ?? 100;
    this._pending = [];
    this._error = null;
    this._ended = false;
    this._result = new Promise((resolve, reject) => {
      if (conn[closed]) {
        reject(closedError());
        return;
      }
      const opt = conn.timeout ? { deadline: Date.now() + (opts.timeout ?? conn.timeout) } : {};
      this._call = conn.client.EmitStream(conn.metadata, opt, (err, res) => {
        if (err) {
          this._error = EmitterError.fromGrpc(err, "EmitStream");
          reject(this._error);
        } else resolve(Number(res.count));
      });
    });
    // The result is observed by end(); an unobserved failure must not crash
    // the process before the caller gets there.
    this._result.catch(() => {});
  }
  _push(req) {
    if (this._ended) throw new EmitterError("siorelay: emit after end", { code: grpc.status.FAILED_PRECONDITION });
    if (this._error) return Promise.reject(this._error);
    this._pending.push(req);
    if (this._pending.length >= this._per) return this._flush();
    return Promise.resolve();
  }
  _flush() {
    if (this._pending.length === 0 || !this._call) return Promise.resolve();
    const events = this._pending;
    this._pending = [];
    if (this._call.write({ events })) return Promise.resolve();
    // Wait for room in the stream, or for its end (a failed call never drains).
    const settled = this._result.then(
      () => {},
      () => {},
    );
    return Promise.race([new Promise((resolve) => this._call.once("drain", resolve)), settled]);
  }
  /** Flushes, closes the sending side and resolves with the published count. */
  async end() {
    if (!this._ended) {
      this._ended = true;
      if (this._call) {
        this._flush();
        this._call.end();
      }
    }
    return this._result;
  }
  /** Abandons the stream: cancels the call. */
  cancel() {
    this._ended = true;
    this._call?.cancel();
  }
}
