package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/siorelay/siorelay/internal/emittergrpc"
	"github.com/siorelay/siorelay/internal/redisaddr"
	"github.com/siorelay/siorelay/relay"
)

const serveSynopsis = "serve [--addr 127.0.0.1:3000] [--grpc-addr 127.0.0.1:50051] [--http-addr 127.0.0.1:8080] [--path /socket.io/] [--cors-origin ORIGIN]... [--namespaces /NSP]... [--ping-interval 25s] [--ping-timeout 20s] [--max-http-buffer-size 1000000] [--shutdown-timeout 10s] [--shutdown-delay 0s] [--demo [--demo-chat]] [--serve-client=false] [--redis URL [--key PREFIX] [--requests-timeout 5s] [--sharded [--subscription-mode dynamic]] [--adapter pubsub|streams [--stream-name socket.io] [--stream-count 1] [--stream-max-len 10000] [--session-key-prefix sio:session:]]] [--recovery 2m [--recovery-max-bytes 64MiB] [--recovery-skip-hooks]] [--hook NSP=URL]... [--hook-events LIST] [--jwt-secret S | --jwt-public-key F | --jwt-jwks-url U] [--metrics=false | --metrics-addr 127.0.0.1:9100]"

// runServe runs the relay: Socket.IO on --addr, with /healthz and /readyz,
// until ctx is cancelled; then it shuts down gracefully within
// --shutdown-timeout.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", serveSynopsis, stderr)
	addr := fs.String("addr", "127.0.0.1:3000", "HTTP listen address (host:port; port 0 picks a free one)")
	grpcAddr := fs.String("grpc-addr", "", "serve the gRPC EmitterService here, delivering straight to this relay's clients (empty: no gRPC)")
	grpcToken := fs.String("grpc-token", "", "bearer token required on gRPC and HTTP API calls (empty: none)")
	api := registerHTTPAPIFlags(fs)
	path := fs.String("path", "/socket.io/", "URL path of the Socket.IO endpoint")
	var origins, nsps stringList
	fs.Var(&origins, "cors-origin", "allowed CORS origin (repeatable or comma-separated; * allows any; none sends no CORS headers)")
	corsCredentials := fs.Bool("cors-credentials", false, "send Access-Control-Allow-Credentials: true (with --cors-origin)")
	fs.Var(&nsps, "namespaces", "namespace clients may join (repeatable or comma-separated; * accepts any; default /)")
	pingInterval := fs.Duration("ping-interval", 25*time.Second, "Engine.IO ping interval")
	pingTimeout := fs.Duration("ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	connectTimeout := fs.Duration("connect-timeout", 45*time.Second, "close connections that join no namespace within this time")
	maxBuf := fs.Int64("max-http-buffer-size", 1e6, "largest message or polling request body, in bytes")
	shutdownTimeout := fs.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take")
	shutdownDelay := fs.Duration("shutdown-delay", 0, "on SIGTERM, first keep serving this long with /readyz answering 503, so that load balancers and Kubernetes stop sending new clients before the relay closes the connections (instead of a preStop sleep)")
	web := registerWebFlags(fs)
	redisURL := fs.String("redis", "", "join the Redis adapter cluster of this Redis: Node socket.io servers with @socket.io/redis-adapter, other relays and emitters (empty: a single server). "+redisaddr.Help)
	key := fs.String("key", "socket.io", "with --redis: channel prefix (the adapter's key / channelPrefix)")
	sharded := fs.Bool("sharded", false, "with --redis: speak createShardedAdapter (SPUBLISH/SSUBSCRIBE, Redis 7+) instead of createAdapter")
	mode := fs.String("subscription-mode", "dynamic", "with --sharded: the adapter's subscriptionMode (dynamic, dynamic-private or static)")
	requestsTimeout := fs.Duration("requests-timeout", 5*time.Second, "how long this relay's cluster requests wait for answers (with --redis), and the gRPC queries' default wait")
	var af adapterFlags
	af.register(fs, "with --redis: ")
	af.registerSessions()
	hf := registerHookFlags(fs)
	rf := registerRecoveryFlags(fs)
	mf := registerMetricsFlags(fs)
	var lf logFlags
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q (usage: siorelay %s)", fs.Args(), serveSynopsis)
	}
	if err := web.validate(); err != nil {
		return err
	}
	setDefaultGC(serveGCPercent, os.Getenv)
	log, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	cfg := relay.Config{
		Path:              *path,
		Namespaces:        splitList(nsps),
		PingInterval:      *pingInterval,
		PingTimeout:       *pingTimeout,
		ConnectTimeout:    *connectTimeout,
		MaxHTTPBufferSize: *maxBuf,
		Logger:            log,
	}
	if *redisURL != "" {
		rdb, err := redisaddr.NewClient(*redisURL)
		if err != nil {
			return usageError{err.Error()}
		}
		defer rdb.Close()
		cfg.Redis, cfg.Key, cfg.Sharded, cfg.SubscriptionMode, cfg.RequestsTimeout = rdb, *key, *sharded, *mode, *requestsTimeout
		streams, err := af.streams()
		if err != nil {
			return err
		}
		if streams {
			cfg.Streams = &relay.Streams{Name: af.streamName, Count: af.streamCount, MaxLen: af.streamMaxLen, SessionKeyPrefix: af.sessionKey}
		}
		log.Info("redis adapter cluster", "redis", redisaddr.Redacted(*redisURL), "adapter", af.adapter, "key", *key, "sharded", *sharded)
	} else if af.adapter != "pubsub" {
		return usagef("--adapter needs --redis")
	} else if _, err := af.streams(); err != nil {
		return err
	}
	if o := splitList(origins); len(o) > 0 {
		cfg.CORS = &relay.CORS{Origins: o, Credentials: *corsCredentials}
	}
	if err := rf.apply(&cfg); err != nil {
		return err
	}
	var srv *relay.Server
	if web.chat {
		cfg.OnEvent = chatRelay(&srv)
	}
	m, err := mf.newServeMetrics()
	if err != nil {
		return err
	}
	closeHooks, err := hf.install(&cfg, m.hookObserver(), log)
	if err != nil {
		return err
	}
	defer closeHooks()
	srv, err = relay.NewServer(cfg)
	if err != nil {
		return usageError{err.Error()}
	}
	m.registerRelay(srv)
	return listenAndServe(ctx, srv, web, *addr, endpointFlags{*grpcAddr, *grpcToken, *requestsTimeout, api}, *path, shutdownTimes{*shutdownTimeout, *shutdownDelay}, m, stdout, log)
}

// shutdownTimes are the --shutdown-timeout and --shutdown-delay of serve.
type shutdownTimes struct{ timeout, delay time.Duration }

// endpointFlags are serve's EmitterService flags.
type endpointFlags struct {
	grpc, token     string
	requestsTimeout time.Duration // EmitWithAck's default wait
	api             *httpAPIFlags
}

// listenAndServe opens the listeners and runs serve.
func listenAndServe(ctx context.Context, srv *relay.Server, web *webFlags, addr string, ef endpointFlags, path string, st shutdownTimes, m *serveMetrics, stdout io.Writer, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	var g *grpcEndpoint
	if ef.grpc != "" || ef.api.addr != "" {
		g, err = newEndpoint(emittergrpc.Config{Backend: relayBackend{srv, ef.requestsTimeout}, Token: ef.token, Logger: log, ServerOptions: m.grpcOptions(), HTTPObserve: m.httpObserve()}, ef.grpc, ef.api)
		if err != nil {
			ln.Close()
			srv.Shutdown(context.Background())
			return err
		}
		if g.ln != nil {
			web.grpcAddr = g.ln.Addr().String()
		}
	}
	return serve(ctx, ln, srv, g, web, path, st, m, stdout, log)
}

// serve runs srv on ln (and g, if not nil) until ctx ends, then reports
// not ready for st.delay and shuts down within st.timeout.
func serve(ctx context.Context, ln net.Listener, srv *relay.Server, g *grpcEndpoint, web *webFlags, path string, st shutdownTimes, m *serveMetrics, stdout io.Writer, log *slog.Logger) error {
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	mux := http.NewServeMux()
	mux.Handle(path, srv)
	web.mount(mux, path)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	var draining atomic.Bool // set during --shutdown-delay
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			http.Error(w, "not ready (shutting down)", http.StatusServiceUnavailable)
			return
		}
		if !srv.Ready() {
			http.Error(w, "not ready (shutting down, or Redis subscriptions not live)", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	stopMetrics, err := m.start(mux, stdout, log)
	if err != nil {
		if g != nil {
			g.abort()
		}
		srv.Shutdown(context.Background())
		return err
	}
	defer stopMetrics()
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	// Each address is announced once, on stdout (scripts and tests read
	// these lines), not again in the log.
	url := fmt.Sprintf("http://%s%s", ln.Addr(), path)
	fmt.Fprintf(stdout, "siorelay: serving Socket.IO on %s\n", url)
	gerrc := make(chan error, 1)
	if g != nil {
		go func() { gerrc <- g.run() }()
		g.announce(stdout)
	}

	select {
	case err := <-errc:
		if g != nil {
			g.srv.Shutdown(context.Background())
		}
		srv.Shutdown(context.Background())
		return err
	case err := <-gerrc:
		hs.Close()
		srv.Shutdown(context.Background())
		return fmt.Errorf("grpc: %w", err)
	case <-ctx.Done():
	}
	if st.delay > 0 {
		// Still serving, but /readyz says 503: balancers and the
		// Kubernetes endpoints controller take the relay out first.
		draining.Store(true)
		log.Info("draining before shutdown", "delay", st.delay)
		time.Sleep(st.delay)
	}
	timeout := st.timeout
	log.Info("shutting down", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Stop accepting first; pending polling requests are released by the
	// relay's Shutdown, which http.Server.Shutdown waits for.
	hsDone := make(chan error, 1)
	go func() { hsDone <- hs.Shutdown(sctx) }()
	var gerr error
	if g != nil {
		// Calls in flight may finish delivering before the clients go.
		gerr = g.srv.Shutdown(sctx)
		<-gerrc
	}
	rerr := srv.Shutdown(sctx)
	herr := <-hsDone
	if herr != nil {
		hs.Close()
	}
	<-errc
	if err := errors.Join(gerr, rerr, herr); err != nil {
		log.Error("shutdown incomplete", "err", err)
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// splitList flattens repeated and comma-separated flag values.
func splitList(l stringList) []string {
	var out []string
	for _, v := range l {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// relayBackend delivers EmitterService calls to the relay's own clients
// and, with --redis, to its cluster; its queries are in serve_queries.go.
type relayBackend struct {
	srv             *relay.Server
	requestsTimeout time.Duration // EmitWithAck's default wait
}

var _ emittergrpc.Backend = relayBackend{}

func (b relayBackend) op(t emittergrpc.Target) relay.Operator {
	op := b.srv.Of(t.Namespace).To(t.Rooms...).Except(t.Except...)
	if t.Volatile {
		op = op.Volatile()
	}
	return op
}

func (b relayBackend) Emit(ctx context.Context, ev emittergrpc.Event) error {
	err := b.op(ev.Target).Emit(ctx, ev.Name, ev.Args...)
	if errors.Is(err, relay.ErrReservedEvent) {
		return fmt.Errorf("%w: %w", emittergrpc.ErrInvalidArgument, err)
	}
	return err
}

func (b relayBackend) EmitBatch(ctx context.Context, evs []emittergrpc.Event) error {
	// The service validated every event (names, JSON) and the relay cannot
	// fail to encode json.RawMessage or []byte arguments, so nothing is
	// delivered partially.
	for _, ev := range evs {
		if err := b.Emit(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

func (b relayBackend) SocketsJoin(ctx context.Context, t emittergrpc.Target, rooms []string) error {
	return b.op(t).SocketsJoin(ctx, rooms...)
}

func (b relayBackend) SocketsLeave(ctx context.Context, t emittergrpc.Target, rooms []string) error {
	return b.op(t).SocketsLeave(ctx, rooms...)
}

func (b relayBackend) DisconnectSockets(ctx context.Context, t emittergrpc.Target, close bool) error {
	return b.op(t).DisconnectSockets(ctx, close)
}

// ServerSideEmit reaches the other servers of a cluster (with --redis); a
// single relay has none, so there is nobody to deliver to.
func (b relayBackend) ServerSideEmit(ctx context.Context, nsp, event string, args []any) error {
	return b.srv.ServerSideEmit(ctx, nsp, event, args...)
}
