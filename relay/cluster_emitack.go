package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/notepack"
	"github.com/siorelay/siorelay/internal/socketio"
)

// broadcastAckIDs are the packet ids of broadcasts with ack: one id per
// broadcast, shared by all its recipients as in socket.io, from a range
// (2^32 up) that no socket's own EmitWithAck counter reaches.
var broadcastAckIDs atomic.Int64

func init() { broadcastAckIDs.Store(1 << 32) }

// ackCollector gathers the acks of one broadcast with ack: the expected
// count grows with every server's client count; it is complete when every
// server answered and every expected ack arrived.
type ackCollector struct {
	servers     int // servers asked, this one included
	mu          sync.Mutex
	acks        []Ack // guarded by mu
	expected    int   // guarded by mu
	serversLeft int   // guarded by mu
	done        chan struct{}
	closed      bool // guarded by mu
}

func newAckCollector(servers int) *ackCollector {
	return &ackCollector{servers: servers, serversLeft: servers, done: make(chan struct{})}
}

func (c *ackCollector) addServer(clients int) {
	c.mu.Lock()
	c.serversLeft--
	c.expected += clients
	c.checkLocked()
	c.mu.Unlock()
}

// addAck records one client's ack; sid is "" when the answer came from
// another server (the adapters do not say which socket answered).
func (c *ackCollector) addAck(sid string, a json.RawMessage) {
	c.mu.Lock()
	c.acks = append(c.acks, Ack{SocketID: sid, Value: a})
	c.checkLocked()
	c.mu.Unlock()
}

func (c *ackCollector) checkLocked() {
	if !c.closed && c.serversLeft <= 0 && len(c.acks) >= c.expected {
		c.closed = true
		close(c.done)
	}
}

func (c *ackCollector) result() Acks {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Acks{Answers: append([]Ack(nil), c.acks...), Clients: c.expected, Servers: c.servers - max(c.serversLeft, 0)}
}

// Acks is what [Operator.EmitWithAcks] gathered.
type Acks struct {
	// Answers are the clients' acks in the order they arrived.
	Answers []Ack
	// Clients is the number of clients the event was sent to: this
	// server's and the counts the other servers reported.
	Clients int
	// Servers is the number of servers that reported their count, this
	// one included.
	Servers int
}

// Ack is one client's acknowledgement of a broadcast.
type Ack struct {
	// SocketID is the socket that answered when it is one of this
	// server's; "" for a client of another server (the Redis adapters do
	// not say which socket answered).
	SocketID string
	// Value is the ack's first argument as JSON (null without arguments;
	// binary as Node writes a Buffer in JSON).
	Value json.RawMessage
}

// msgpackAckJSON turns a remote ack argument (msgpack) into JSON, binary
// written as Node's Buffer JSON ({"type":"Buffer","data":[...]}).
func msgpackAckJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	js, _, err := notepack.AppendToJSON(nil, b, nil)
	if err != nil {
		return json.RawMessage("null")
	}
	return js
}

// localAckJSON turns a local client's first ack argument into the same
// form as msgpackAckJSON.
func localAckJSON(a ackData) json.RawMessage {
	if len(a.args) == 0 {
		return json.RawMessage("null")
	}
	if len(a.atts) == 0 {
		return a.args[0]
	}
	mp, err := jsonToNotepack(nil, a.args[0], a.atts)
	if err != nil {
		return json.RawMessage("null")
	}
	return msgpackAckJSON(mp)
}

// EmitWithAck sends an event to the selected sockets of every server of the
// cluster, each client asked for an acknowledgement, and waits for all of
// them, like io.timeout(t).emit(event, ...args, callback) in socket.io. It
// returns the first argument of each client's ack (JSON; binary as Node
// writes a Buffer in JSON). The wait ends when ctx ends (without a
// deadline, after Config.RequestsTimeout): then it returns the acks that
// arrived and [ErrAckTimeout].
func (o Operator) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	res, err := o.EmitWithAcks(ctx, event, args...)
	var values []json.RawMessage
	for _, a := range res.Answers {
		values = append(values, a.Value)
	}
	return values, err
}

// EmitWithAcks is [Operator.EmitWithAck] that also reports which of this
// server's sockets answered, how many clients the event was sent to and
// how many servers reported.
func (o Operator) EmitWithAcks(ctx context.Context, event string, args ...any) (Acks, error) {
	if o.srv.isClosed() {
		return Acks{}, ErrServerClosed
	}
	p, err := eventPacket(o.nsp, event, args)
	if err != nil {
		return Acks{}, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.srv.cfg.RequestsTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	timeoutMS := max(time.Until(deadline).Milliseconds(), 1)

	// Remote servers first, so that the local part is not held up by
	// the server count.
	switch b := o.srv.broker.(type) {
	case *redisBroker:
		n, err := b.serverCount(ctx, o.nsp)
		if err != nil {
			return Acks{}, fmt.Errorf("relay: count servers: %w", err)
		}
		if n > 1 {
			id := randomUID(6)
			ao := adapterOpts(o.opts)
			ao.Flags = ao.Flags.WithTimeout(timeoutMS)
			data, err := jsonToNotepack(nil, p.Data, p.Attachments)
			if err != nil {
				return Acks{}, err
			}
			msg := adapter.AppendBroadcastWithAck(nil, b.uid, id, o.nsp, data, ao)
			c := newAckCollector(n) // the other servers and this one
			b.reqMu.Lock()
			b.ackReqs[id] = c
			b.reqMu.Unlock()
			unregister := func() { b.reqMu.Lock(); delete(b.ackReqs, id); b.reqMu.Unlock() }
			return o.collect(ctx, p, c, unregister, func() error { return b.publishRequest(ctx, o.nsp, msg) })
		}
	case clusterBroker:
		return b.member().emitWithAck(ctx, o, p, timeoutMS)
	}
	return o.collect(ctx, p, newAckCollector(1), func() {}, func() error { return nil })
}

// collect delivers p locally with one ack id, publishes the remote
// request, and waits for c.
func (o Operator) collect(ctx context.Context, p socketio.Packet, c *ackCollector, unregister func(), publish func() error) (Acks, error) {
	defer unregister()
	id := broadcastAckIDs.Add(1)
	p.ID, p.HasID = id, true
	m := newMessage(p)
	var registered []*Socket
	n := 0
	if ns := o.srv.namespace(o.nsp, false); ns != nil {
		registered, n = sendWithAck(ns, m, id, o.opts, func(a ackData, ok bool) {
			// A socket that disconnects first never answers: the wait
			// ends with the timeout, as in socket.io.
			if ok {
				c.addAck(a.sid, localAckJSON(a))
			}
		})
	}
	defer func() {
		for _, sk := range registered {
			sk.dropAck(id)
		}
	}()
	c.addServer(len(registered))
	o.srv.countDeliveries(m, n)
	if err := publish(); err != nil {
		return c.result(), err
	}
	select {
	case <-c.done:
		return c.result(), nil
	case <-ctx.Done():
		return c.result(), ErrAckTimeout
	}
}
