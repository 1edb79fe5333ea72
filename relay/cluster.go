package relay

import "errors"

// errShardedUnsupported is returned by NewServer for Config.Sharded until
// the sharded broker exists.
var errShardedUnsupported = errors.New("relay: the sharded Redis adapter is not supported yet")

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
