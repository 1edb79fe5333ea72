// Compiled (not run) by `tsc -p .` in the tests: the README's usage must
// type-check against src/index.d.ts.
import { Emitter, EmitterError, Status } from "../src/index.js";
import type { AckTimeoutError, RemoteSocket } from "../src/index.js";

async function usage(): Promise<number> {
  const e = new Emitter("127.0.0.1:50051", { token: "t", timeout: 5000 });
  await e.emit("hello", "world", 1, { a: [true, null] });
  await e.of("/admin").to("room").except(["x", "y"]).volatile.compress(false).emit("ev", Buffer.from([1]));
  await e.in(new Set(["a"])).socketsJoin("b");
  await e.to("a").socketsLeave(["b"]);
  await e.disconnectSockets(true);
  await e.serverSideEmit("ping", 42);
  const b = e.batch();
  b.to("r").emit("a", 1);
  b.emit("b", new Uint8Array([2]));
  b.of("/x").except("y").emit("c");
  const n: number = await b.send();
  const s = e.stream({ eventsPerMessage: 50 });
  await s.to("r").emit("tick", n);
  const published: number = await s.end();
  const sockets: RemoteSocket[] = await e.in("room").fetchSockets();
  for (const sock of sockets) {
    const rooms: Set<string> = sock.rooms;
    const addr: string = sock.handshake.address;
    await sock.emit("hello", rooms.size, addr);
    await sock.join("vip");
  }
  const servers: number = await e.of("/admin").serverCount();
  const all: Set<string> = await e.allRooms();
  try {
    const answers: unknown[] = await e.timeout(5000).to("room").emitWithAck("confirm", servers, all.size);
    void answers;
  } catch (err) {
    if (err instanceof EmitterError && err.code === Status.DEADLINE_EXCEEDED) void (err as AckTimeoutError).responses;
  }
  try {
    await e.emit("connect");
  } catch (err) {
    if (err instanceof EmitterError && err.code === Status.INVALID_ARGUMENT && err.local) return -1;
  }
  e.close();
  return published;
}
void usage;
