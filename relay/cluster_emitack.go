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
	mu          sync.Mutex
	acks        []json.RawMessage // guarded by mu
	expected    int               // guarded by mu
	serversLeft int               // guarded by mu
	done        chan struct{}
	closed      bool // guarded by mu
}

func newAckCollector(servers int) *ackCollector {
	return &ackCollector{serversLeft: servers, done: make(chan struct{})}
}

func (c *ackCollector) addServer(clients int) {
	c.mu.Lock()
	c.serversLeft--
	c.expected += clients
	c.checkLocked()
	c.mu.Unlock()
}

func (c *ackCollector) addAck(a json.RawMessage) {
	c.mu.Lock()
	c.acks = append(c.acks, a)
	c.checkLocked()
	c.mu.Unlock()
}

func (c *ackCollector) checkLocked() {
	if !c.closed && c.serversLeft <= 0 && len(c.acks) >= c.expected {
		c.closed = true
		close(c.done)
	}
}

func (c *ackCollector) result() []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]json.RawMessage(nil), c.acks...)
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
	if o.srv.isClosed() {
		return nil, ErrServerClosed
	}
	p, err := eventPacket(o.nsp, event, args)
	if err != nil {
		return nil, err
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
			return nil, fmt.Errorf("relay: count servers: %w", err)
		}
		if n > 1 {
			id := randomUID(6)
			ao := adapterOpts(o.opts)
			ao.Flags = ao.Flags.WithTimeout(timeoutMS)
			data, err := jsonToNotepack(nil, p.Data, p.Attachments)
			if err != nil {
				return nil, err
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
func (o Operator) collect(ctx context.Context, p socketio.Packet, c *ackCollector, unregister func(), publish func() error) ([]json.RawMessage, error) {
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
				c.addAck(localAckJSON(a))
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
