package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/emitter"
)

// streamPublisher adds the numbered broadcasts to the stream of a
// @socket.io/redis-streams-adapter cluster (the emitter package with
// emitter.Config.Streams: XADD MAXLEN ~ 10000, the entry the adapter writes
// for io.emit), one pipeline per batch. Every server of the cluster, Node or
// relay, reads them from the stream as it reads another server's
// broadcasts, and sends its clients
// 42["b","<ts> <seq>","<pad>","<entry id>"], the packet the other recovery
// publishers make the servers send.
type streamPublisher struct {
	rdb *redis.Client
	em  *emitter.Emitter
	pad string
}

func newStreamPublisher(ctx context.Context, addr string, payloadSize int) (*streamPublisher, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 4, DisableIdentity: true})
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	em, err := emitter.New(rdb, emitter.Config{Streams: &emitter.StreamsConfig{}})
	if err != nil {
		rdb.Close()
		return nil, err
	}
	return &streamPublisher{rdb: rdb, em: em, pad: padding(payloadSize)}, nil
}

func (p *streamPublisher) publish(ctx context.Context, msgs []message) error {
	batch := make([]emitter.Message, 0, len(msgs))
	for _, m := range msgs {
		arg := strconv.FormatInt(m.TS, 10) + " " + strconv.FormatInt(m.Seq, 10)
		args := []any{arg}
		if p.pad != "" {
			args = append(args, p.pad)
		}
		op := p.em.To()
		if m.Room != "" {
			op = p.em.To(m.Room)
		}
		msg, err := op.EmitMessage(string(m.Ev), args...)
		if err != nil {
			return err
		}
		batch = append(batch, msg)
	}
	return p.em.Publish(ctx, batch...)
}

func (p *streamPublisher) close() error { return p.rdb.Close() }
