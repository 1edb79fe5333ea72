import type { ChannelCredentials, ChannelOptions, Metadata, status } from "@grpc/grpc-js";

/** A room name, or several. */
export type Rooms = string | Iterable<string>;

/** Sent as binary (Node clients receive a Buffer, browsers an ArrayBuffer). */
export type BinaryArg = ArrayBuffer | ArrayBufferView;

/**
 * An event argument: binary at the top level, or anything JSON.stringify
 * accepts. Binary nested inside an object or array is rejected.
 */
export type Arg = BinaryArg | unknown;

export interface EmitterOptions {
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  /** true: TLS with the system roots; an object: custom PEM roots / client cert. Ignored with `credentials`. */
  tls?: boolean | { rootCerts?: Buffer; privateKey?: Buffer; certChain?: Buffer };
  /** Channel credentials to use instead of `tls` (default: insecure). */
  credentials?: ChannelCredentials;
  /** grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /** Deadline of each call in milliseconds (default: none). */
  timeout?: number;
}

/** gRPC status codes (grpc-js `status`). */
export declare const Status: typeof status;

/** Event names emit() rejects locally. */
export declare const RESERVED_EVENTS: ReadonlySet<string>;
/** Event names serverSideEmit() rejects locally. */
export declare const RESERVED_SERVER_EVENTS: ReadonlySet<string>;

/** How every action fails. */
export declare class EmitterError extends Error {
  name: "EmitterError";
  /** The gRPC status code. Local validation errors use INVALID_ARGUMENT. */
  code: status;
  /** The code's name, such as "INVALID_ARGUMENT". */
  codeName: string;
  /** The server's status message (or the local message). */
  details: string;
  /** Trailers of a failed call. */
  metadata?: Metadata;
  /** True when the error was found before any call was made. */
  local: boolean;
}

/** An EmitterError of emitWithAck() whose timeout passed before every client answered. */
export interface AckTimeoutError extends EmitterError {
  /** The first argument of each answer that arrived. */
  responses: unknown[];
  /** The number of clients the event was sent to. */
  clients: number;
}

/** socket.handshake of a RemoteSocket, as Node's. */
export interface Handshake {
  headers: Record<string, string>;
  /** new Date(issued).toString() */
  time: string;
  address: string;
  xdomain: boolean;
  secure: boolean;
  /** ms since the epoch */
  issued: number;
  url: string;
  query: Record<string, string>;
  auth: unknown;
}

/** A socket of the cluster, as fetchSockets() returns it (Node's RemoteSocket). */
export declare class RemoteSocket {
  private constructor();
  readonly id: string;
  readonly namespace: string;
  readonly rooms: Set<string>;
  readonly data: unknown;
  readonly handshake: Handshake;
  emit(event: string, ...args: Arg[]): Promise<void>;
  join(rooms: Rooms): Promise<void>;
  leave(rooms: Rooms): Promise<void>;
  disconnect(close?: boolean): Promise<void>;
}

/** The targeting builder shared by Emitter, Batch and EmitStream. */
interface Targeting<Op> {
  to(room: Rooms): Op;
  in(room: Rooms): Op;
  except(room: Rooms): Op;
  readonly volatile: Op;
  compress(compress: boolean): Op;
}

export declare class BroadcastOperator implements Targeting<BroadcastOperator> {
  private constructor();
  to(room: Rooms): BroadcastOperator;
  in(room: Rooms): BroadcastOperator;
  except(room: Rooms): BroadcastOperator;
  readonly volatile: BroadcastOperator;
  compress(compress: boolean): BroadcastOperator;
  /** Resolves once published. */
  emit(event: string, ...args: Arg[]): Promise<void>;
  socketsJoin(rooms: Rooms): Promise<void>;
  socketsLeave(rooms: Rooms): Promise<void>;
  disconnectSockets(close?: boolean): Promise<void>;
  /** How long emitWithAck() waits for the answers, in ms. */
  timeout(ms: number): BroadcastOperator;
  /** Resolves with the first argument of each client's answer; rejects with an AckTimeoutError on timeout. */
  emitWithAck(event: string, ...args: Arg[]): Promise<unknown[]>;
  /** The selected sockets of the whole cluster. */
  fetchSockets(): Promise<RemoteSocket[]>;
}

export declare class Emitter implements Targeting<BroadcastOperator> {
  constructor(address: string, opts?: EmitterOptions);
  /** An Emitter for another namespace, sharing this one's connection ("admin" means "/admin"). */
  of(nsp: string): Emitter;
  to(room: Rooms): BroadcastOperator;
  in(room: Rooms): BroadcastOperator;
  except(room: Rooms): BroadcastOperator;
  readonly volatile: BroadcastOperator;
  compress(compress: boolean): BroadcastOperator;
  emit(event: string, ...args: Arg[]): Promise<void>;
  socketsJoin(rooms: Rooms): Promise<void>;
  socketsLeave(rooms: Rooms): Promise<void>;
  disconnectSockets(close?: boolean): Promise<void>;
  timeout(ms: number): BroadcastOperator;
  emitWithAck(event: string, ...args: Arg[]): Promise<unknown[]>;
  fetchSockets(): Promise<RemoteSocket[]>;
  /** The Socket.IO servers of the cluster serving this namespace (Node servers and relays; not the sidecar). */
  serverCount(): Promise<number>;
  /** The rooms of this namespace on the cluster, socket id rooms included. */
  allRooms(): Promise<Set<string>>;
  /** Sends to the Socket.IO servers' `namespace.on(event)` listeners. No acknowledgements. */
  serverSideEmit(event: string, ...args: Arg[]): Promise<void>;
  batch(): Batch;
  stream(opts?: { eventsPerMessage?: number; timeout?: number }): EmitStream;
  close(): void;
}

/** What a Batch's builder returns: emit() queues and returns the Batch. */
export interface BatchOperator extends Targeting<BatchOperator> {
  to(room: Rooms): BatchOperator;
  in(room: Rooms): BatchOperator;
  except(room: Rooms): BatchOperator;
  readonly volatile: BatchOperator;
  compress(compress: boolean): BatchOperator;
  /** Queues the event; throws EmitterError (synchronously) if it is invalid. */
  emit(event: string, ...args: Arg[]): void;
}

/** Events sent together by one EmitBatch call: all published in order, or none. */
export declare class Batch implements Targeting<BatchOperator> {
  private constructor();
  readonly length: number;
  of(nsp: string): BatchOperator;
  to(room: Rooms): BatchOperator;
  in(room: Rooms): BatchOperator;
  except(room: Rooms): BatchOperator;
  readonly volatile: BatchOperator;
  compress(compress: boolean): BatchOperator;
  /** Queues the event; throws EmitterError (synchronously) if it is invalid. */
  emit(event: string, ...args: Arg[]): void;
  /** Sends the queued events and empties the batch; resolves with the count published. */
  send(): Promise<number>;
}

/** What an EmitStream's builder returns: emit() queues and resolves when the stream can take more. */
export interface StreamOperator extends Targeting<StreamOperator> {
  to(room: Rooms): StreamOperator;
  in(room: Rooms): StreamOperator;
  except(room: Rooms): StreamOperator;
  readonly volatile: StreamOperator;
  compress(compress: boolean): StreamOperator;
  emit(event: string, ...args: Arg[]): Promise<void>;
}

/** One EmitStream call: the high-throughput path. */
export declare class EmitStream implements Targeting<StreamOperator> {
  private constructor();
  of(nsp: string): StreamOperator;
  to(room: Rooms): StreamOperator;
  in(room: Rooms): StreamOperator;
  except(room: Rooms): StreamOperator;
  readonly volatile: StreamOperator;
  compress(compress: boolean): StreamOperator;
  emit(event: string, ...args: Arg[]): Promise<void>;
  /** Flushes, closes the sending side and resolves with the number of events published. */
  end(): Promise<number>;
  /** Cancels the call. */
  cancel(): void;
}
