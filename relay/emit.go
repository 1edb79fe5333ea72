package relay

import (
	"context"
	"slices"
)

// Operator selects sockets of one namespace for a server-side operation,
// like socket.io's BroadcastOperator: srv.Of("/chat").To("room1").Except("x").
// It is a value; each method returns a modified copy.
type Operator struct {
	srv  *Server
	nsp  string
	opts broadcastOpts
}

// Of returns an Operator for namespace nsp ("" means "/"), selecting all
// its sockets.
func (srv *Server) Of(nsp string) Operator {
	if nsp == "" {
		nsp = "/"
	}
	return Operator{srv: srv, nsp: nsp}
}

// To narrows the selection to sockets in any of rooms (a socket id is a
// room holding that socket). Calls accumulate.
func (o Operator) To(rooms ...string) Operator {
	o.opts.Rooms = append(slices.Clip(o.opts.Rooms), rooms...)
	return o
}

// In is the same as To.
func (o Operator) In(rooms ...string) Operator { return o.To(rooms...) }

// Except excludes sockets in any of rooms. Calls accumulate.
func (o Operator) Except(rooms ...string) Operator {
	o.opts.Except = append(slices.Clip(o.opts.Except), rooms...)
	return o
}

// Volatile marks the event as droppable: a client whose send queue is
// over Config.VolatileQueueBytes (or a polling client with no request
// waiting) does not get it.
func (o Operator) Volatile() Operator {
	o.opts.Volatile = true
	return o
}

// Emit sends an event to the selected sockets. Each argument is
// encoded as JSON (encoding/json, without HTML escaping), except that a
// []byte is sent as a binary attachment and a json.RawMessage is sent
// verbatim. The packet is encoded once and the bytes shared by all
// recipients. Emit never waits for a client: a slow client's queue
// policy applies (see Config.MaxQueueBytes).
func (o Operator) Emit(ctx context.Context, event string, args ...any) error {
	if o.srv.isClosed() {
		return ErrServerClosed
	}
	p, err := eventPacket(o.nsp, event, args)
	if err != nil {
		return err
	}
	return o.srv.broker.broadcast(ctx, p, o.opts)
}

// SocketsJoin makes the selected sockets join rooms.
func (o Operator) SocketsJoin(ctx context.Context, rooms ...string) error {
	return o.srv.broker.socketsJoin(ctx, o.nsp, o.opts, rooms)
}

// SocketsLeave makes the selected sockets leave rooms.
func (o Operator) SocketsLeave(ctx context.Context, rooms ...string) error {
	return o.srv.broker.socketsLeave(ctx, o.nsp, o.opts, rooms)
}

// DisconnectSockets disconnects the selected sockets (reason "server
// namespace disconnect"); with close, their whole connections are closed.
func (o Operator) DisconnectSockets(ctx context.Context, close bool) error {
	return o.srv.broker.disconnectSockets(ctx, o.nsp, o.opts, close)
}

// Sockets returns the ids of the selected sockets on this server.
func (o Operator) Sockets() []string {
	ns := o.srv.namespace(o.nsp, false)
	if ns == nil {
		return nil
	}
	var ids []string
	ns.forEach(o.opts, func(sk *Socket) { ids = append(ids, sk.id) })
	return ids
}
