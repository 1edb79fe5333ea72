package relay

import "errors"

// ErrShardedAllRooms is returned by [Server.AllRooms] with
// [Config.Sharded] or [Config.Streams]: the sharded and the streams
// adapters (socket.io's ClusterAdapter) have no such request.
var ErrShardedAllRooms = errors.New("relay: allRooms is not supported by the sharded and streams adapters")

// ErrRedisUnavailable is returned by cluster operations while the
// server's Redis subscription is down: the local part (delivery to this
// server's sockets) is done, the other servers are not told.
var ErrRedisUnavailable = errors.New("relay: redis unavailable; only local sockets were reached")

// namespaceWatcher is a broker that follows the server's namespaces (the
// Redis brokers subscribe per namespace). namespaceAdded must not block:
// it is called with Server.mu held.
type namespaceWatcher interface{ addNamespace(nsp string) }

// readier is a broker that can be not ready (Redis down).
type readier interface{ ready() bool }

func (srv *Server) namespaceAdded(nsp string) {
	if w, ok := srv.broker.(namespaceWatcher); ok {
		w.addNamespace(nsp)
	}
}

func (srv *Server) brokerReady() bool {
	if r, ok := srv.broker.(readier); ok {
		return r.ready()
	}
	return true
}

// roomWatcher is a broker that follows rooms as they are created and
// deleted on this server (the sharded broker subscribes room channels).
// Called with namespace.mu held: it must not block. private says the room
// is a local socket's own id room.
type roomWatcher interface {
	roomEvent(nsp, room string, private, created bool)
}

func (srv *Server) roomEvent(nsp, room string, private, created bool) {
	if w, ok := srv.broker.(roomWatcher); ok {
		w.roomEvent(nsp, room, private, created)
	}
}
