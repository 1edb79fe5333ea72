package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/emittergrpc"
	"github.com/siorelay/siorelay/internal/redisaddr"
)

const emitterSynopsis = "emitter --redis URL [--grpc-addr 127.0.0.1:50051] [--http-addr 127.0.0.1:8080] [--key PREFIX] [--sharded] [--subscription-mode dynamic] [--adapter pubsub|streams [--stream-name N] [--stream-count 1] [--stream-max-len 10000]] [--token T | --token-file F] [--tls-cert F --tls-key F] [--health-interval 2s] [--requests-timeout 5s] [--metrics-addr 127.0.0.1:9100] [--log-format text|json] [--log-level info] [--shutdown-timeout 10s]"

// runEmitter runs the gRPC EmitterService sidecar until ctx is cancelled
// (SIGINT/SIGTERM), then shuts down gracefully within --shutdown-timeout:
// calls in flight finish, new ones are refused.
func runEmitter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("emitter", emitterSynopsis, stderr)
	addr := fs.String("grpc-addr", "127.0.0.1:50051", "gRPC listen address (host:port; port 0 picks a free one; empty: no gRPC, with --http-addr)")
	api := registerHTTPAPIFlags(fs)
	redisURL := fs.String("redis", "", "Redis to publish to (required). "+redisaddr.Help)
	cluster := registerClusterFlags(fs)
	token := fs.String("token", "", "require this bearer token (metadata \"authorization: Bearer <token>\") on every call but health checks")
	tokenFile := fs.String("token-file", "", "read the bearer token from this file (surrounding whitespace is ignored)")
	tlsCert := fs.String("tls-cert", "", "serve TLS with this PEM certificate (needs --tls-key)")
	tlsKey := fs.String("tls-key", "", "PEM private key of --tls-cert")
	healthInterval := fs.Duration("health-interval", 2*time.Second, "how often Redis is PINGed for the health service (NOT_SERVING while it fails)")
	requestsTimeout := fs.Duration("requests-timeout", 5*time.Second, "how long the queries (FetchSockets, AllRooms, EmitWithAck without a timeout) wait for the servers' answers; a call's deadline may end them sooner")
	shutdownTimeout := fs.Duration("shutdown-timeout", 10*time.Second, "how long in-flight calls may take to finish at shutdown")
	mf := registerMetricsFlags(fs)
	var lf logFlags
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q (usage: siorelay %s)", fs.Args(), emitterSynopsis)
	}
	if *redisURL == "" {
		return usagef("--redis (or %s) is required", envName("redis"))
	}
	if *addr == "" && api.addr == "" {
		return usageError{errNothingToServe.Error()}
	}
	emCfg, err := cluster.config()
	if err != nil {
		return err
	}
	log, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	tok, err := loadToken(*token, *tokenFile)
	if err != nil {
		return err
	}
	tlsCfg, err := loadTLS(*tlsCert, *tlsKey)
	if err != nil {
		return err
	}
	ropts, err := redisaddr.Parse(*redisURL)
	if err != nil {
		return usageError{err.Error()}
	}
	// A call's deadline also bounds its Redis round trip, so that callers
	// get DeadlineExceeded on time when Redis hangs.
	ropts.ContextTimeoutEnabled = true
	rdb, err := redisaddr.New(ropts)
	if err != nil {
		return usageError{err.Error()}
	}
	defer rdb.Close()
	m := mf.newSidecarMetrics(rdb)
	emCfg.RequestsTimeout = *requestsTimeout
	em, err := emitter.New(rdb, emCfg)
	if err != nil {
		return usageError{err.Error()}
	}
	defer em.Close() // the queries' answer subscriptions
	g, err := newEndpoint(emittergrpc.Config{
		Backend:       emittergrpc.NewEmitterBackend(em),
		Token:         tok,
		TLS:           tlsCfg,
		Ping:          func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		PingInterval:  *healthInterval,
		Logger:        log,
		ServerOptions: m.grpcOptions(),
		HTTPObserve:   m.httpObserve(),
	}, *addr, api)
	if err != nil {
		return err
	}
	setDefaultGC(sidecarGCPercent, os.Getenv)
	stopMetrics, err := m.start(nil, stdout, log)
	if err != nil {
		g.abort()
		return err
	}
	defer stopMetrics()
	errc := make(chan error, 1)
	go func() { errc <- g.run() }()
	// Addresses are announced once, on stdout; the log says where the
	// events go.
	g.announce(stdout)
	log.Info("publishing to Redis", "redis", redisaddr.Redacted(*redisURL),
		"key", cluster.key, "sharded", cluster.sharded, "adapter", cluster.adapter, "tls", tlsCfg != nil, "auth", tok != "")

	select {
	case err := <-errc:
		log.Error("serve failed", "err", err)
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", *shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	serr := g.srv.Shutdown(sctx)
	if err := errors.Join(serr, <-errc); err != nil {
		log.Error("shutdown incomplete", "err", err)
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// loadToken returns the token from --token or --token-file (not both);
// surrounding whitespace in the file is ignored.
func loadToken(token, file string) (string, error) {
	t, err := secret("--token", token, file)
	if err != nil || file == "" {
		return t, err
	}
	if t = strings.TrimSpace(t); t == "" {
		return "", usagef("--token-file %s is empty", file)
	}
	return t, nil
}

// loadTLS returns the server TLS configuration, or nil for plaintext.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, usagef("--tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, usagef("TLS key pair: %v", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
