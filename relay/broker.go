package relay

import (
	"context"

	"github.com/siorelay/siorelay/internal/socketio"
)

// broadcastOpts selects the sockets of a namespace, like socket.io's
// BroadcastOptions: sockets in any of Rooms (all when empty) and in none of
// Except. A room may be a socket id.
type broadcastOpts struct {
	Rooms    []string
	Except   []string
	Volatile bool
}

// broker carries server-side operations to the sockets they select: on this
// node only (memoryBroker) or on every node of a cluster (a Redis broker,
// later). Implementations deliver locally through namespace.deliver and the
// namespace join/leave/disconnect helpers, so the local fan-out path is
// shared.
type broker interface {
	// broadcast delivers p (an EVENT packet, namespace set) to the
	// selected sockets.
	broadcast(ctx context.Context, p socketio.Packet, opts broadcastOpts) error
	// socketsJoin makes the selected sockets join rooms.
	socketsJoin(ctx context.Context, nsp string, opts broadcastOpts, rooms []string) error
	// socketsLeave makes the selected sockets leave rooms.
	socketsLeave(ctx context.Context, nsp string, opts broadcastOpts, rooms []string) error
	// disconnectSockets disconnects the selected sockets; with close, their
	// whole connections.
	disconnectSockets(ctx context.Context, nsp string, opts broadcastOpts, close bool) error
	// close releases the broker's resources.
	close() error
}
