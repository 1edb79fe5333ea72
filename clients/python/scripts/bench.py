"""Throughput of this client through the real sidecar into a real Redis
(nothing subscribed: Redis is the sink), on loopback:

    python scripts/bench.py [seconds=5] [threads=16]

Prints one JSON line per mode: unary Emit calls/s from ``threads``
threads (sync) and from as many concurrent tasks (asyncio), EmitBatch
events/s (batches of 100) and EmitStream events/s (100 per message).
SIORELAY_BIN selects the sidecar binary (default: built into
.tmp/bin/siorelay)."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import siorelay  # noqa: E402
import siorelay.aio  # noqa: E402
from stack import Redis, Sidecar  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 16
PAYLOAD = {"user": "u123", "text": "hello world", "n": 42}


def report(mode: str, n: int, secs: float) -> None:
    print(json.dumps({"mode": mode, "events": n, "seconds": round(secs, 2), "perSecond": round(n / secs)}), flush=True)


def timed(mode: str, fn: Callable[[float], int]) -> None:
    fn(time.monotonic() + 0.5)  # warm-up
    start = time.monotonic()
    n = fn(start + SECONDS)
    report(mode, n, time.monotonic() - start)


def main() -> None:
    redis = Redis()
    sidecar = Sidecar(redis.url)
    try:
        e = siorelay.Emitter(sidecar.addr)

        def unary(until: float) -> int:
            counts = [0] * THREADS

            def work(i: int) -> None:
                op = e.to("room")
                while time.monotonic() < until:
                    op.emit("chat", PAYLOAD)
                    counts[i] += 1

            ts = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            return sum(counts)

        def batch(until: float) -> int:
            n = 0
            while time.monotonic() < until:
                b = e.batch()
                for _ in range(100):
                    b.to("room").emit("chat", PAYLOAD)
                n += b.send()
            return n

        def stream(until: float) -> int:
            with e.stream(events_per_message=100) as s:
                while time.monotonic() < until:
                    for _ in range(1000):
                        s.to("room").emit("chat", PAYLOAD)
            assert s.count is not None
            return s.count

        timed(f"sync unary Emit x{THREADS} threads", unary)
        timed("sync EmitBatch 100/batch", batch)
        timed("sync EmitStream 100/message", stream)
        e.close()

        async def aio_unary(until: float) -> int:
            async with siorelay.aio.Emitter(sidecar.addr) as ae:
                counts = [0] * THREADS

                async def work(i: int) -> None:
                    op = ae.to("room")
                    while time.monotonic() < until:
                        await op.emit("chat", PAYLOAD)
                        counts[i] += 1

                await asyncio.gather(*(work(i) for i in range(THREADS)))
                return sum(counts)

        async def aio_stream(until: float) -> int:
            async with siorelay.aio.Emitter(sidecar.addr) as ae:
                async with ae.stream(events_per_message=100) as s:
                    while time.monotonic() < until:
                        for _ in range(1000):
                            await s.to("room").emit("chat", PAYLOAD)
                assert s.count is not None
                return s.count

        timed(f"aio unary Emit x{THREADS} tasks", lambda until: asyncio.run(aio_unary(until)))
        timed("aio EmitStream 100/message", lambda until: asyncio.run(aio_stream(until)))
    finally:
        sidecar.stop()
        redis.stop()


if __name__ == "__main__":
    main()
