package emitter

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/redis/go-redis/v9"
)

// maxFlushers bounds the pipelines in flight at once when many goroutines
// publish concurrently.
const maxFlushers = 2

// maxBatch bounds one pipeline, so a burst does not build one huge write.
const maxBatch = 512

// pipeliner publishes messages, sending concurrent publishes together.
//
// A publish that finds nothing else in flight is sent straight away on the
// caller's goroutine (the lowest latency for one publish at a time). When
// publishes overlap, later ones queue and up to maxFlushers short-lived
// goroutines send the queue as pipelines: all publishes that arrived while
// the previous round trip was in flight share the next one. Nothing runs
// while nothing is being published, so an Emitter needs no Close.
type pipeliner struct {
	rdb     redis.UniversalClient
	sharded bool

	mu       sync.Mutex
	queue    []*pending // guarded by mu
	inFlight int        // direct publishes and flushers running; guarded by mu
	flushers int        // guarded by mu
}

type pending struct {
	msg  Message
	err  error
	done chan struct{}
}

var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan struct{}, 1)} }}

func newPipeliner(rdb redis.UniversalClient, sharded bool) *pipeliner {
	return &pipeliner{rdb: rdb, sharded: sharded}
}

// cmdable is what publishing needs of a client or a pipeline.
type cmdable interface {
	Publish(ctx context.Context, channel string, message any) *redis.IntCmd
	SPublish(ctx context.Context, channel string, message any) *redis.IntCmd
	Do(ctx context.Context, args ...any) *redis.Cmd
}

func (p *pipeliner) cmd(ctx context.Context, pipe cmdable, m Message) redis.Cmder {
	if m.stream != nil {
		return pipe.Do(ctx, m.xaddArgs()...)
	}
	if p.sharded {
		return pipe.SPublish(ctx, m.Channel, m.Payload)
	}
	return pipe.Publish(ctx, m.Channel, m.Payload)
}

func wrapPublishErr(m Message, err error) error {
	if err == nil {
		return nil
	}
	if m.stream != nil {
		return fmt.Errorf("emitter: add to stream %q: %w", m.Channel, err)
	}
	return fmt.Errorf("emitter: publish to %q: %w", m.Channel, err)
}

// publish sends m and waits for Redis to acknowledge it, or for ctx.
func (p *pipeliner) publish(ctx context.Context, m Message) error {
	err, _ := p.publishOwned(ctx, m)
	return err
}

// publishOwned is publish that also reports whether m.Payload is no longer
// referenced (false when ctx ended while the message was still queued or
// being written).
func (p *pipeliner) publishOwned(ctx context.Context, m Message) (error, bool) {
	if err := ctx.Err(); err != nil {
		return err, true
	}
	p.mu.Lock()
	if p.inFlight == 0 {
		p.inFlight++
		p.mu.Unlock()
		err := p.cmd(ctx, p.rdb, m).Err()
		p.mu.Lock()
		p.inFlight--
		p.startFlusherLocked()
		p.mu.Unlock()
		return wrapPublishErr(m, err), true
	}
	pd := pendingPool.Get().(*pending)
	pd.msg, pd.err = m, nil
	p.queue = append(p.queue, pd)
	p.startFlusherLocked()
	p.mu.Unlock()
	select {
	case <-pd.done:
		err := pd.err
		pd.msg, pd.err = Message{}, nil
		pendingPool.Put(pd)
		return wrapPublishErr(m, err), true
	case <-ctx.Done():
		// The flusher still owns pd and will signal it; let it go to GC.
		return ctx.Err(), false
	}
}

// startFlusherLocked starts a flusher if work is queued and fewer than
// maxFlushers run.
func (p *pipeliner) startFlusherLocked() {
	if len(p.queue) > 0 && p.flushers < maxFlushers {
		p.flushers++
		p.inFlight++
		go p.flush()
	}
}

// flush sends the queue in pipelines until it is empty.
func (p *pipeliner) flush() {
	ctx := context.Background()
	for {
		// Let the goroutines that are about to publish enqueue first: a
		// fuller pipeline costs Redis and this process fewer syscalls.
		runtime.Gosched()
		p.mu.Lock()
		n := min(len(p.queue), maxBatch)
		if n == 0 {
			p.flushers--
			p.inFlight--
			p.mu.Unlock()
			return
		}
		batch := make([]*pending, n)
		copy(batch, p.queue)
		rest := copy(p.queue, p.queue[n:])
		clear(p.queue[rest:])
		p.queue = p.queue[:rest]
		p.mu.Unlock()

		if len(batch) == 1 {
			batch[0].err = p.cmd(ctx, p.rdb, batch[0].msg).Err()
		} else {
			pipe := p.rdb.Pipeline()
			cmds := make([]redis.Cmder, len(batch))
			for i, pd := range batch {
				cmds[i] = p.cmd(ctx, pipe, pd.msg)
			}
			_, _ = pipe.Exec(ctx)
			for i, pd := range batch {
				pd.err = cmds[i].Err()
			}
		}
		for _, pd := range batch {
			pd.done <- struct{}{}
		}
	}
}

// publishAll sends msgs in one pipeline on the caller's goroutine.
func (p *pipeliner) publishAll(ctx context.Context, msgs []Message) error {
	switch len(msgs) {
	case 0:
		return nil
	case 1:
		return p.publish(ctx, msgs[0])
	}
	pipe := p.rdb.Pipeline()
	cmds := make([]redis.Cmder, len(msgs))
	for i, m := range msgs {
		cmds[i] = p.cmd(ctx, pipe, m)
	}
	_, _ = pipe.Exec(ctx)
	failed, first := 0, -1
	for i, c := range cmds {
		if c.Err() != nil {
			failed++
			if first < 0 {
				first = i
			}
		}
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("emitter: %d of %d publishes failed, the first to %q: %w",
		failed, len(msgs), msgs[first].Channel, cmds[first].Err())
}
