package emittergrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/siorelay/siorelay/emitter"
)

// Backend is what the service needs from whatever delivers the events: the
// Redis emitter (the sidecar, [NewEmitterBackend]) or a relay running in the
// same process. The service validates every request before calling a
// Backend, so a Backend sees only non-empty, non-reserved event names,
// namespaces starting with "/", and arguments that are json.RawMessage
// holding valid JSON or []byte (binary). Arguments, rooms and names must
// not be modified (JSON arguments share memory with the request's
// strings); they may be kept after the call returns.
//
// Methods must be safe for concurrent use. They return once the action is
// handed on (published to Redis, or queued to local clients). Errors are
// translated to gRPC status codes by the service: errors wrapping
// [ErrInvalidArgument], [emitter.ErrReservedEvent] or [emitter.ErrEncode]
// become InvalidArgument, context errors DeadlineExceeded or Canceled, a
// *status.Status error is passed on as it is, and anything else becomes
// Unavailable.
type Backend interface {
	// Emit sends one event to the clients the event's target selects.
	Emit(ctx context.Context, ev Event) error
	// EmitBatch sends evs in order. It must publish nothing if any event
	// cannot be encoded.
	EmitBatch(ctx context.Context, evs []Event) error
	// SocketsJoin makes the targeted sockets join rooms.
	SocketsJoin(ctx context.Context, t Target, rooms []string) error
	// SocketsLeave makes the targeted sockets leave rooms.
	SocketsLeave(ctx context.Context, t Target, rooms []string) error
	// DisconnectSockets disconnects the targeted sockets; with close, their
	// connections are closed too.
	DisconnectSockets(ctx context.Context, t Target, close bool) error
	// ServerSideEmit sends an event to the servers of namespace nsp.
	ServerSideEmit(ctx context.Context, nsp, event string, args []any) error

	// The queries ask every server of the cluster and wait for their
	// answers until ctx's deadline (the service sets one a little before
	// the call's) or the backend's own requests timeout. When some servers
	// did not answer in time, FetchSockets and AllRooms return what did
	// arrive with an error wrapping [ErrIncomplete]; answers past the
	// backend's size limit are an error wrapping [ErrTooLarge].

	// FetchSockets returns the sockets t selects (t.Volatile and
	// t.Compress are unset).
	FetchSockets(ctx context.Context, t Target) ([]emitter.Socket, error)
	// ServerCount returns the number of servers serving namespace nsp.
	ServerCount(ctx context.Context, nsp string) (int, error)
	// AllRooms returns the rooms of namespace nsp, each once.
	AllRooms(ctx context.Context, nsp string) ([]string, error)
	// EmitWithAck sends ev asking each client for an acknowledgement and
	// waits for them until timeout (zero: the backend's requests timeout)
	// or ctx's deadline, whichever comes first. A wait cut short is not an
	// error: it returns what arrived with Acks.TimedOut set.
	EmitWithAck(ctx context.Context, ev Event, timeout time.Duration) (Acks, error)
}

// Acks is what a Backend's EmitWithAck gathered.
type Acks struct {
	// Answers are the acknowledgements in the order they arrived.
	Answers []Ack
	// Clients is the number of clients the event was sent to.
	Clients int
	// Servers is the number of servers that reported their client count.
	Servers int
	// TimedOut is set when the wait ended before every server reported and
	// every client answered.
	TimedOut bool
}

// Ack is one client's acknowledgement.
type Ack struct {
	// SocketID is the socket that answered, "" where the protocol does not
	// say (an answer relayed through Redis).
	SocketID string
	// JSON is the ack's first argument (null without arguments).
	JSON json.RawMessage
}

// Target selects sockets: those of Namespace in any of Rooms (all of the
// namespace when Rooms is empty) and in none of Except. Volatile and
// Compress are the flags of an emitted event; other actions ignore them.
type Target struct {
	Namespace string // always starts with "/"
	Rooms     []string
	Except    []string
	Volatile  bool
	Compress  *bool // nil leaves the receiving server's default
}

// Event is one event to emit to clients.
type Event struct {
	Target Target
	Name   string
	Args   []any // json.RawMessage or []byte
}

// EmitterBackend is the [Backend] of the sidecar: it publishes through an
// [emitter.Emitter] into Redis.
type EmitterBackend struct {
	em *emitter.Emitter

	mu   sync.RWMutex
	nsps map[string]*emitter.Emitter // guarded by mu; bounded by maxCachedNamespaces
}

var (
	_ Backend     = (*EmitterBackend)(nil)
	_ JSONChecker = (*EmitterBackend)(nil)
)

// maxCachedNamespaces bounds the per-namespace Emitters kept for reuse;
// beyond it an Emitter is made per call.
const maxCachedNamespaces = 1024

// NewEmitterBackend returns a Backend publishing through em; em's own
// namespace is ignored (each request names its own).
func NewEmitterBackend(em *emitter.Emitter) *EmitterBackend {
	return &EmitterBackend{em: em, nsps: map[string]*emitter.Emitter{}}
}

func (b *EmitterBackend) of(nsp string) *emitter.Emitter {
	b.mu.RLock()
	e := b.nsps[nsp]
	b.mu.RUnlock()
	if e != nil {
		return e
	}
	e = b.em.Of(nsp)
	b.mu.Lock()
	if len(b.nsps) < maxCachedNamespaces {
		b.nsps[nsp] = e
	}
	b.mu.Unlock()
	return e
}

func (b *EmitterBackend) op(t Target) emitter.Operator {
	op := b.of(t.Namespace).To(t.Rooms...).Except(t.Except...)
	if t.Volatile {
		op = op.Volatile()
	}
	if t.Compress != nil {
		op = op.Compress(*t.Compress)
	}
	return op
}

// Emit implements [Backend].
func (b *EmitterBackend) Emit(ctx context.Context, ev Event) error {
	return b.op(ev.Target).Emit(ctx, ev.Name, ev.Args...)
}

// ChecksJSON implements [JSONChecker]: the emitter rejects invalid JSON
// arguments while encoding, before publishing.
func (b *EmitterBackend) ChecksJSON() {}

// EmitBatch implements [Backend]: every event is encoded first, then all
// are published in one pipeline. Consecutive events with the same target
// share one emitter.Operator.
func (b *EmitterBackend) EmitBatch(ctx context.Context, evs []Event) error {
	msgs := make([]emitter.Message, len(evs))
	var (
		op   emitter.Operator
		last *Target
	)
	for i := range evs {
		ev := &evs[i]
		if last == nil || !sameTarget(last, &ev.Target) {
			op, last = b.op(ev.Target), &ev.Target
		}
		m, err := op.EmitMessage(ev.Name, ev.Args...)
		if err != nil {
			return fmt.Errorf("events[%d]: %w", i, err)
		}
		msgs[i] = m
	}
	return b.em.Publish(ctx, msgs...)
}

func sameTarget(a, b *Target) bool {
	return a.Namespace == b.Namespace && a.Volatile == b.Volatile &&
		(a.Compress == nil) == (b.Compress == nil) && (a.Compress == nil || *a.Compress == *b.Compress) &&
		slices.Equal(a.Rooms, b.Rooms) && slices.Equal(a.Except, b.Except)
}

// SocketsJoin implements [Backend].
func (b *EmitterBackend) SocketsJoin(ctx context.Context, t Target, rooms []string) error {
	return b.op(t).SocketsJoin(ctx, rooms...)
}

// SocketsLeave implements [Backend].
func (b *EmitterBackend) SocketsLeave(ctx context.Context, t Target, rooms []string) error {
	return b.op(t).SocketsLeave(ctx, rooms...)
}

// DisconnectSockets implements [Backend].
func (b *EmitterBackend) DisconnectSockets(ctx context.Context, t Target, close bool) error {
	return b.op(t).DisconnectSockets(ctx, close)
}

// ServerSideEmit implements [Backend].
func (b *EmitterBackend) ServerSideEmit(ctx context.Context, nsp, event string, args []any) error {
	return b.of(nsp).ServerSideEmit(ctx, event, args...)
}

// FetchSockets implements [Backend].
func (b *EmitterBackend) FetchSockets(ctx context.Context, t Target) ([]emitter.Socket, error) {
	socks, err := b.op(t).FetchSockets(ctx)
	return socks, queryError(err)
}

// ServerCount implements [Backend].
func (b *EmitterBackend) ServerCount(ctx context.Context, nsp string) (int, error) {
	return b.of(nsp).ServerCount(ctx)
}

// AllRooms implements [Backend].
func (b *EmitterBackend) AllRooms(ctx context.Context, nsp string) ([]string, error) {
	rooms, err := b.of(nsp).AllRooms(ctx)
	return rooms, queryError(err)
}

// EmitWithAck implements [Backend].
func (b *EmitterBackend) EmitWithAck(ctx context.Context, ev Event, timeout time.Duration) (Acks, error) {
	res, err := b.op(ev.Target).Timeout(timeout).EmitWithAck(ctx, ev.Name, ev.Args...)
	timedOut := errors.Is(err, emitter.ErrTimeout)
	if err != nil && !timedOut {
		return Acks{}, queryError(err)
	}
	out := Acks{Answers: make([]Ack, len(res.Answers)), Clients: res.Clients, Servers: res.Servers, TimedOut: timedOut}
	for i, a := range res.Answers {
		out.Answers[i] = Ack{JSON: a}
	}
	return out, nil
}

// queryError marks the emitter's query errors for the service.
func queryError(err error) error {
	switch {
	case errors.Is(err, emitter.ErrTimeout):
		return fmt.Errorf("%w: %w", ErrIncomplete, err)
	case errors.Is(err, emitter.ErrResponseTooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return err
}
