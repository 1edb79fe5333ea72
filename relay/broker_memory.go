package relay

import (
	"context"

	"github.com/siorelay/siorelay/internal/socketio"
)

// memoryBroker is the single-node broker: every operation is applied to
// this server's sockets only.
type memoryBroker struct {
	srv *Server
}

var _ broker = (*memoryBroker)(nil)

func (b *memoryBroker) broadcast(ctx context.Context, p socketio.Packet, opts broadcastOpts) error {
	if ns := b.srv.namespace(p.Namespace, false); ns != nil {
		ns.deliver(p, opts)
	}
	return nil
}

func (b *memoryBroker) socketsJoin(ctx context.Context, nsp string, opts broadcastOpts, rooms []string) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { ns.join(sk, rooms) })
	}
	return nil
}

func (b *memoryBroker) socketsLeave(ctx context.Context, nsp string, opts broadcastOpts, rooms []string) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { ns.leave(sk, rooms) })
	}
	return nil
}

func (b *memoryBroker) disconnectSockets(ctx context.Context, nsp string, opts broadcastOpts, close bool) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { sk.Disconnect(close) })
	}
	return nil
}

func (b *memoryBroker) close() error { return nil }
