package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/emittergrpc"
	"github.com/siorelay/siorelay/relay"
)

// The EmitterService queries of `serve`: the relay asks the other servers
// of its cluster (with --redis) and adds its own sockets.

// FetchSockets implements emittergrpc.Backend.
func (b relayBackend) FetchSockets(ctx context.Context, t emittergrpc.Target) ([]emitter.Socket, error) {
	rs, err := b.op(t).FetchSockets(ctx)
	if err != nil && !errors.Is(err, relay.ErrRequestTimeout) {
		return nil, err
	}
	out := make([]emitter.Socket, len(rs))
	inParallel(len(rs), func(i int) { out[i] = emitterSocket(rs[i], t.Namespace) })
	return out, incomplete(err)
}

// emitterSocket is r as the EmitterService describes a socket.
func emitterSocket(r relay.RemoteSocket, nsp string) emitter.Socket {
	s := emitter.Socket{ID: r.ID, Namespace: nsp, Rooms: r.Rooms, Data: r.Data}
	if s.Data == nil {
		s.Data = json.RawMessage("null")
	}
	if s.Rooms == nil {
		s.Rooms = []string{}
	}
	if err := json.Unmarshal(r.Handshake, &s.Handshake); err != nil {
		s.Handshake = emitter.Handshake{Auth: json.RawMessage("{}")}
	}
	return s
}

// inParallel calls f(0) … f(n-1) on up to GOMAXPROCS goroutines, in
// chunks of at least 1,024: describing tens of thousands of sockets
// uses every core.
func inParallel(n int, f func(i int)) {
	const minChunk = 1024
	workers := min(runtime.GOMAXPROCS(0), (n+minChunk-1)/minChunk)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				f(i)
			}
		})
	}
	wg.Wait()
}

// incomplete marks a relay timeout as a partial answer.
func incomplete(err error) error {
	if errors.Is(err, relay.ErrRequestTimeout) {
		return fmt.Errorf("%w: %w", emittergrpc.ErrIncomplete, err)
	}
	return err
}

// ServerCount implements emittergrpc.Backend: 1 without Redis.
func (b relayBackend) ServerCount(ctx context.Context, nsp string) (int, error) {
	return b.srv.ServerCount(ctx, nsp)
}

// AllRooms implements emittergrpc.Backend. The sharded adapter has no
// allRooms request: the rooms are gathered from the sockets of a fetch of
// the whole namespace (the same set).
func (b relayBackend) AllRooms(ctx context.Context, nsp string) ([]string, error) {
	rooms, err := b.srv.AllRooms(ctx, nsp)
	if !errors.Is(err, relay.ErrShardedAllRooms) {
		return rooms, incomplete(err)
	}
	socks, err := b.srv.Of(nsp).FetchSockets(ctx)
	if err != nil && !errors.Is(err, relay.ErrRequestTimeout) {
		return nil, err
	}
	seen := map[string]bool{}
	rooms = []string{}
	for _, s := range socks {
		for _, r := range s.Rooms {
			if !seen[r] {
				seen[r] = true
				rooms = append(rooms, r)
			}
		}
	}
	return rooms, incomplete(err)
}

// EmitWithAck implements emittergrpc.Backend; a zero timeout is the
// relay's requests timeout (--requests-timeout).
func (b relayBackend) EmitWithAck(ctx context.Context, ev emittergrpc.Event, timeout time.Duration) (emittergrpc.Acks, error) {
	if timeout <= 0 {
		timeout = b.requestsTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := b.op(ev.Target).EmitWithAcks(ctx, ev.Name, ev.Args...)
	timedOut := errors.Is(err, relay.ErrAckTimeout)
	switch {
	case errors.Is(err, relay.ErrReservedEvent):
		return emittergrpc.Acks{}, fmt.Errorf("%w: %w", emittergrpc.ErrInvalidArgument, err)
	case err != nil && !timedOut:
		return emittergrpc.Acks{}, err
	}
	out := emittergrpc.Acks{Answers: make([]emittergrpc.Ack, len(res.Answers)), Clients: res.Clients, Servers: res.Servers, TimedOut: timedOut}
	for i, a := range res.Answers {
		out.Answers[i] = emittergrpc.Ack{SocketID: a.SocketID, JSON: a.Value}
	}
	return out, nil
}
