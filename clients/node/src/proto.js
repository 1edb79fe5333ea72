// Loads the EmitterService definition at run time from the .proto shipped
// in this package (proto/siorelay/v1/emitter.proto, a copy of the repo's
// proto/ kept identical by scripts/sync-proto.js and checked by the tests).

import { fileURLToPath } from "node:url";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Directory holding siorelay/v1/emitter.proto. */
export const PROTO_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "proto");
export const PROTO_FILE = "siorelay/v1/emitter.proto";

let service;

/** The generated client constructor for siorelay.v1.EmitterService (cached). */
export function loadService() {
  if (!service) {
    const def = protoLoader.loadSync(PROTO_FILE, {
      includeDirs: [PROTO_DIR],
      keepCase: false, // exceptRooms, as in protobuf JSON
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
    });
    service = grpc.loadPackageDefinition(def).siorelay.v1.EmitterService;
  }
  return service;
}
