package emitter

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/redistest"
)

// benchArg is the payload of the side-by-side benchmark with the Node
// emitter (clients/compat/bench-emitter.js publishes the same event).
func benchArg(i int) map[string]any {
	return map[string]any{"n": i, "ts": 1732550000000, "s": "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"}
}

// BenchmarkEncode measures building the emit message alone.
func BenchmarkEncode(b *testing.B) {
	em := newOffline(&testing.T{}, Config{})
	arg := benchArg(1)
	for _, tc := range []struct {
		name string
		op   Operator
	}{
		{"broadcast", em.op()},
		{"room", em.To("room1")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 512)
			for i := 0; i < b.N; i++ {
				m, err := tc.op.appendEmit(buf[:0], "bench", []any{arg})
				if err != nil {
					b.Fatal(err)
				}
				buf = m.Payload
			}
		})
	}
}

// BenchmarkEmit publishes into a real redis-server with 1 and 128 emits in
// flight. Compare with `make bench-emitter`, which runs the Node emitter
// against the same server.
func BenchmarkEmit(b *testing.B) {
	srv := redistest.Start(b)
	rdb := srv.Client(b)
	em, err := New(rdb, Config{Key: redistest.UniquePrefix(b)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	arg := benchArg(1)
	for _, inflight := range []int{1, 128} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			b.ReportAllocs()
			var wg sync.WaitGroup
			per := b.N / inflight
			start := time.Now()
			for w := 0; w < inflight; w++ {
				n := per
				if w == 0 {
					n += b.N % inflight
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < n; i++ {
						if err := em.Emit(ctx, "bench", arg); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "emits/s")
		})
	}
}
