package emitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Errors of the queries (FetchSockets, ServerCount, AllRooms, EmitWithAck).
var (
	// ErrTimeout is wrapped by the error of a query whose wait ended (its
	// timeout, or ctx's deadline) before every server answered, or, for
	// EmitWithAck, before every client acknowledged. The result returned
	// with it holds what did arrive; the error's message says how much
	// was missing ("1 of 2 servers answered").
	ErrTimeout = errors.New("emitter: timeout reached while waiting for answers")
	// ErrResponseTooLarge is wrapped by the error of a query whose answers
	// grew past Config.MaxResponseSize; nothing of them is returned.
	ErrResponseTooLarge = errors.New("emitter: answers exceed the response size limit")
	// ErrClosed is returned by a query after [Emitter.Close].
	ErrClosed = errors.New("emitter: closed")
)

// Socket is a socket of any server of the cluster, as fetchSockets()
// describes it (a RemoteSocket in Node).
type Socket struct {
	// ID is socket.id, also the name of the socket's own room.
	ID string
	// Namespace is the namespace the socket is connected to.
	Namespace string
	// Rooms are the rooms the socket is in, its own id room included.
	Rooms []string
	// Data is socket.data as JSON: {} when its server never set it, null
	// when its server sent none.
	Data json.RawMessage
	// Handshake describes the socket's connection.
	Handshake Handshake
}

// Handshake is socket.handshake: the HTTP request that opened a socket's
// connection and the auth payload of its CONNECT.
type Handshake struct {
	// Address is the client's address as its server saw it, without port.
	Address string
	// Headers are the request's headers, names in lower case; a header
	// sent more than once has its values joined with ", " (Set-Cookie's
	// too), as in Node's req.headers.
	Headers map[string]string
	// Query holds the first value of each query parameter of the request
	// URL; URL has them all.
	Query map[string]string
	// Auth is the CONNECT packet's auth payload as JSON ({} when none).
	Auth json.RawMessage
	// Time is when the connection was made (handshake.issued).
	Time time.Time
	// Secure reports a connection over TLS.
	Secure bool
	// XDomain reports a request that carried an Origin header.
	XDomain bool
	// URL is the request's path and query.
	URL string
}

// Acks is what [Operator.EmitWithAck] gathered.
type Acks struct {
	// Answers are the first argument of each client's acknowledgement, as
	// JSON, in the order they arrived: null for an acknowledgement without
	// arguments, binary data as Node writes a Buffer in JSON
	// ({"type":"Buffer","data":[...]}). The adapters carry only the first
	// argument, and not the socket that sent it.
	Answers []json.RawMessage
	// Clients is the number of clients the servers sent the event to (the
	// sum of the counts the servers reported).
	Clients int
	// Servers is the number of servers that reported their client count.
	Servers int
}

// maxAckTimeout bounds a query's timeout (a whole-cluster wait).
const maxAckTimeout = 10 * time.Minute

// Timeout sets how long FetchSockets and EmitWithAck wait for answers, as
// io.timeout(d) does in Node (EmitWithAck also sends it to the servers,
// which stop waiting for their clients' acknowledgements after it). Zero
// means Config.RequestsTimeout. The wait also ends when ctx is done.
func (o Operator) Timeout(d time.Duration) Operator {
	o.timeout = d
	return o
}

func (o Operator) wait() time.Duration {
	if o.timeout > 0 {
		return min(o.timeout, maxAckTimeout)
	}
	return o.e.c.cfg.RequestsTimeout
}

// FetchSockets returns the targeted sockets of every server of the cluster,
// like io.in(rooms).except(rooms).fetchSockets(): it publishes the
// adapter's request, counts the servers as the adapter does, and waits for
// all of them to answer. When some do not answer in time, it returns the
// sockets of those that did and an error wrapping [ErrTimeout].
func (o Operator) FetchSockets(ctx context.Context) ([]Socket, error) {
	c, err := o.e.c.queries.do(ctx, &request{kind: fetchSockets, nsp: o.e.nsp, opts: o.opts}, o.wait())
	if c == nil {
		return nil, err
	}
	return c.sockets(o.e.nsp), err
}

// EmitWithAck sends an event to the targeted clients of every server of the
// cluster, each asked for an acknowledgement, and waits until every server
// has reported how many clients it sent the event to and all of those
// clients acknowledged: io.timeout(t).to(rooms).emitWithAck(event, ...args).
// When the timeout ([Operator.Timeout], else Config.RequestsTimeout) or
// ctx's deadline passes first, it returns what arrived and an error
// wrapping [ErrTimeout]. A reserved event name or an argument that cannot
// be encoded is an error wrapping ErrReservedEvent or ErrEncode, and
// nothing is published.
func (o Operator) EmitWithAck(ctx context.Context, event string, args ...any) (Acks, error) {
	if IsReservedEvent(event) {
		return Acks{}, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, err := o.e.c.queries.t.eventData(event, args)
	if err != nil {
		return Acks{}, encodeError(err)
	}
	c, err := o.e.c.queries.do(ctx, &request{kind: broadcastWithAck, nsp: o.e.nsp, opts: o.opts, data: data}, o.wait())
	if c == nil {
		return Acks{}, err
	}
	return c.acks(), err
}

// FetchSockets returns every socket of the namespace on every server of the
// cluster (see [Operator.FetchSockets]).
func (e *Emitter) FetchSockets(ctx context.Context) ([]Socket, error) {
	return e.op().FetchSockets(ctx)
}

// EmitWithAck sends an event to every client of the namespace and waits for
// their acknowledgements (see [Operator.EmitWithAck]).
func (e *Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (Acks, error) {
	return e.op().EmitWithAck(ctx, event, args...)
}

// Timeout returns an Operator whose FetchSockets and EmitWithAck wait d
// (see [Operator.Timeout]).
func (e *Emitter) Timeout(d time.Duration) Operator { return e.op().Timeout(d) }

// ServerCount returns the number of Socket.IO servers of the cluster serving
// the namespace, Node servers and relays alike, as the adapter counts them
// (adapter.serverCount()): the subscribers of the namespace's request
// channel (PUBSUB NUMSUB), or of its channel with the sharded adapter
// (SHARDNUMSUB), summed over the masters of a Redis Cluster. The emitter
// itself is never one of them.
func (e *Emitter) ServerCount(ctx context.Context) (int, error) {
	n, err := e.c.queries.t.serverCount(ctx, e.nsp)
	if err != nil {
		return 0, fmt.Errorf("emitter: count servers: %w", err)
	}
	return n, nil
}

// AllRooms returns the rooms of the namespace on every server of the
// cluster, each socket's own id room included, like adapter.allRooms():
// each room once, in no particular order. When some servers do not answer
// within Config.RequestsTimeout (or ctx's deadline), it returns the rooms
// of those that did and an error wrapping [ErrTimeout].
//
// The sharded adapter has no allRooms request; there AllRooms gathers the
// rooms of the sockets a FetchSockets of the whole namespace returns,
// which is the same set (a room exists while it has a member) at the cost
// of fetching every socket.
func (e *Emitter) AllRooms(ctx context.Context) ([]string, error) {
	c, err := e.c.queries.do(ctx, &request{kind: allRooms, nsp: e.nsp}, e.c.cfg.RequestsTimeout)
	if c == nil {
		return nil, err
	}
	return c.rooms(), err
}

// Close releases what the queries hold: the Redis subscriptions on which
// they receive answers (one connection per namespace queried). Queries in
// flight fail, later ones return [ErrClosed]; emitting still works. An
// Emitter that never queried holds nothing and needs no Close. Close
// applies to every Emitter derived from the same New, and a second call
// returns nil.
func (e *Emitter) Close() error { return e.c.queries.close() }
