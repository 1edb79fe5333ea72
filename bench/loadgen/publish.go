package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// message is one event the load generator publishes: event ev with a single
// "<ts> <seq>" argument (plus padding) to one room, or to all sockets if
// Room is empty.
type message struct {
	Room string
	Ev   byte  // 'b' measured, 'w' warm-up, 'p' probe
	TS   int64 // intended send time, unix ns
	Seq  int64
}

// publisher hands messages to the server under test. Implementations:
// redisPublisher (the Redis adapter's classic channels, what a Node cluster
// or an emitter would publish). A gRPC EmitterService publisher for a relay
// without Redis fits the same interface.
type publisher interface {
	// publish sends msgs in order; it returns once they were handed over.
	publish(ctx context.Context, msgs []message) error
	close() error
}

// redisPublisher publishes in the @socket.io/redis-emitter format on the
// classic adapter channels, pipelining each batch.
type redisPublisher struct {
	rdb  *redis.Client
	key  string // channel prefix, "socket.io"
	nsp  string
	pad  string
	bufs [][]byte
}

func newRedisPublisher(ctx context.Context, addr string, payloadSize int) (*redisPublisher, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 4, DisableIdentity: true})
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	return &redisPublisher{rdb: rdb, key: "socket.io", nsp: "/", pad: padding(payloadSize)}, nil
}

// basePacketLen is the length of the Socket.IO packet a client receives,
// 42["b","<19-digit ts> <seq>","<pad>"], with no padding.
const basePacketLen = len(`42["b","1764000000000000000 1000000",""]`)

// padding returns the filler argument that brings that packet to about
// size bytes.
func padding(size int) string {
	n := max(0, size-basePacketLen)
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}

func (p *redisPublisher) publish(ctx context.Context, msgs []message) error {
	pipe := p.rdb.Pipeline()
	var arg []byte
	for _, m := range msgs {
		arg = strconv.AppendInt(arg[:0], m.TS, 10)
		arg = append(arg, ' ')
		arg = strconv.AppendInt(arg, m.Seq, 10)
		var payload []byte
		if p.pad == "" {
			payload = appendEmitterMessage(nil, p.nsp, m.Room, string(m.Ev), string(arg))
		} else {
			payload = appendEmitterMessage(nil, p.nsp, m.Room, string(m.Ev), string(arg), p.pad)
		}
		pipe.Publish(ctx, broadcastChannel(p.key, p.nsp, m.Room), payload)
	}
	_, err := pipe.Exec(ctx)
	return err
}

func (p *redisPublisher) close() error { return p.rdb.Close() }

// schedule publishes count messages at a fixed offered rate (messages/s),
// open loop: message i is due at start + i/rate and carries that intended
// time as its timestamp, so a stalled publisher or server shows up as
// latency instead of silently lowering the load (no coordinated omission).
// mk builds message i. It returns the largest lag between a message's due
// time and its hand-over to the publisher.
func schedule(ctx context.Context, pub publisher, rate float64, count int, mk func(i int, due int64) message) (maxLag time.Duration, err error) {
	const maxBatch = 2000
	start := time.Now()
	startNS := start.UnixNano()
	interval := float64(time.Second) / rate
	batch := make([]message, 0, maxBatch)
	for sent := 0; sent < count; {
		elapsed := time.Since(start)
		due := min(count, int(float64(elapsed)/interval)+1)
		if due <= sent {
			next := start.Add(time.Duration(float64(sent) * interval))
			time.Sleep(time.Until(next))
			continue
		}
		due = min(due, sent+maxBatch)
		batch = batch[:0]
		for i := sent; i < due; i++ {
			batch = append(batch, mk(i, startNS+int64(float64(i)*interval)))
		}
		if err := pub.publish(ctx, batch); err != nil {
			return maxLag, err
		}
		lag := time.Duration(time.Now().UnixNano() - batch[0].TS)
		maxLag = max(maxLag, lag)
		sent = due
	}
	return maxLag, nil
}
