// Command grpc benchmarks the siorelay gRPC EmitterService against the Go
// emitter it wraps, with Redis as the sink: unary Emit calls per second,
// events per second through EmitStream and EmitBatch, and the Go emitter
// called directly (concurrent Emit, and Publish of pre-encoded batches)
// for comparison.
//
// By default it starts its own redis-server on a free loopback port and
// serves the EmitterService in-process on a real TCP loopback listener;
// --redis uses an existing Redis, and --addr benchmarks an already running
// `siorelay emitter` sidecar instead (the direct rows then publish to
// --redis, which must be the sidecar's).
//
//	go run ./bench/grpc                       # everything, 5s per row
//	go run ./bench/grpc -duration 10s -only stream,direct-batch
//
// Each row runs for --duration after a short warm-up and prints one line:
// operations/s, events/s, mean latency per operation, and the CPU time
// spent per event by this process (client and in-process sidecar; with
// --addr, add --sidecar-pid to count the sidecar's) and by redis-server,
// with the events/s that CPU cost would allow on all cores of an
// otherwise idle machine. On a shared, loaded machine the CPU figures
// are steadier than the throughput ones. Nothing
// subscribes to the channels, so Redis only receives and drops the
// publishes (as in production when no server listens on a room).
//
// Concurrency: single-threaded driver; each row runs its workers in
// goroutines and waits for all of them before the next row starts.
package main
