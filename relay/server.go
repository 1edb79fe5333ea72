package relay

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siorelay/siorelay/internal/engineio"
	"github.com/siorelay/siorelay/relay/internal/netpoll"
)

// Server is a Socket.IO server (Engine.IO v4, Socket.IO v5) for stock
// socket.io clients. It is an http.Handler; see [Server.ServeHTTP].
type Server struct {
	cfg    Config
	log    *slog.Logger
	poller *netpoll.Poller
	wheel  *netpoll.Wheel
	broker broker
	anyNsp bool
	// recovery holds the packet log and the kept sockets; nil without
	// Config.Recovery.
	recovery *recovery

	ctx    context.Context // cancelled by Shutdown; parent of socket contexts
	cancel context.CancelFunc

	mu       sync.RWMutex
	sessions map[string]*session   // guarded by mu
	nsps     map[string]*namespace // guarded by mu
	closed   bool                  // guarded by mu

	// Counters for Stats (stats.go).
	bc              broadcastCounters
	traffic         traffic
	droppedVolatile atomic.Int64 // polling clients only; netpoll counts WebSocket ones
	slowConsumers   atomic.Int64
	writeTimeouts   atomic.Int64 // the slowConsumers closed by the write timeout
	openedPolling   atomic.Int64
	openedWebSocket atomic.Int64
	upgrades        atomic.Int64
	closes          reasonCounts
	invalidNsp      atomic.Int64
}

// NewServer validates cfg, fills in its defaults and starts the server's
// background goroutines (released by [Server.Shutdown]).
func NewServer(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p, err := netpoll.NewPoller(netpoll.Config{
		MaxMessageSize:     cfg.MaxHTTPBufferSize,
		MaxQueueBytes:      cfg.MaxQueueBytes,
		VolatileQueueBytes: cfg.VolatileQueueBytes,
		WriteTimeout:       cfg.WriteTimeout,
		Logger:             cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	tick := min(cfg.PingInterval, cfg.PingTimeout) / 50
	tick = max(min(tick, 100*time.Millisecond), time.Millisecond)
	span := max(cfg.PingInterval, cfg.PingTimeout, cfg.ConnectTimeout) + time.Second
	srv := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		poller:   p,
		wheel:    netpoll.NewWheel(tick, span),
		sessions: make(map[string]*session),
		nsps:     make(map[string]*namespace),
	}
	srv.ctx, srv.cancel = context.WithCancel(context.Background())
	if cfg.Recovery != nil {
		srv.recovery = newRecovery(srv, *cfg.Recovery)
	}
	srv.broker = &memoryBroker{srv: srv}
	if cfg.Redis != nil {
		switch {
		case cfg.Streams != nil:
			b := newStreamsBroker(srv)
			srv.broker = b
			if srv.recovery != nil {
				srv.recovery.store = b
			}
		case cfg.Sharded:
			srv.broker = newShardedBroker(srv)
		default:
			srv.broker = newRedisBroker(srv)
		}
	}
	for _, n := range cfg.Namespaces {
		if n == "*" {
			srv.anyNsp = true
			continue
		}
		srv.nsps[n] = newNamespace(srv, n, false)
		srv.namespaceAdded(n)
	}
	return srv, nil
}

func (srv *Server) lookup(sid string) *session {
	if len(sid) != engineio.SIDLen {
		return nil
	}
	srv.mu.RLock()
	s := srv.sessions[sid]
	srv.mu.RUnlock()
	if s != nil && s.pongOverdue() {
		// The wheel fires up to half a tick late; the deadline is exact.
		s.close(reasonPingTimeout)
		return nil
	}
	return s
}

func (srv *Server) addSession(s *session) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closed {
		return false
	}
	srv.sessions[s.id] = s
	return true
}

func (srv *Server) removeSession(s *session) {
	srv.mu.Lock()
	if srv.sessions[s.id] == s {
		delete(srv.sessions, s.id)
	}
	srv.mu.Unlock()
}

func (srv *Server) isClosed() bool {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	return srv.closed
}

// namespace returns the namespace called name; with create and the "*"
// option, it is created on first use. It returns nil for an unknown one.
func (srv *Server) namespace(name string, create bool) *namespace {
	srv.mu.RLock()
	ns := srv.nsps[name]
	srv.mu.RUnlock()
	if ns != nil || !create || !srv.anyNsp {
		return ns
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if ns = srv.nsps[name]; ns == nil {
		ns = newNamespace(srv, name, true)
		srv.nsps[name] = ns
		srv.namespaceAdded(name)
	}
	return ns
}

// Ready reports whether the server accepts new connections and, with
// [Config.Redis], whether its Redis subscriptions are live and confirmed.
func (srv *Server) Ready() bool { return !srv.isClosed() && srv.brokerReady() }

// Shutdown stops accepting connections, disconnects every socket with
// reason "server shutting down" and closes every connection cleanly (a
// WebSocket close frame, or engine.io's close packet to a waiting polling
// request), so that clients reconnect elsewhere. It waits until the
// WebSocket connections are closed or ctx ends, then releases the server's
// goroutines. A second call returns nil.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		return nil
	}
	srv.closed = true
	sessions := make([]*session, 0, len(srv.sessions))
	for _, s := range srv.sessions {
		sessions = append(sessions, s)
	}
	srv.mu.Unlock()
	for _, s := range sessions {
		s.close(reasonServerShutdown)
	}
	var err error
	tk := time.NewTicker(10 * time.Millisecond)
	for srv.poller.Stats().Conns > 0 {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tk.C:
			continue
		}
		break
	}
	tk.Stop()
	srv.poller.Close()
	srv.wheel.Close()
	srv.broker.close()
	if srv.recovery != nil {
		srv.recovery.close()
	}
	srv.cancel()
	return err
}

// namespaces returns the names of the server's namespaces.
func (srv *Server) namespaces() []string {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	names := make([]string, 0, len(srv.nsps))
	for n := range srv.nsps {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func newSocketID() string { return engineio.NewSID() }
