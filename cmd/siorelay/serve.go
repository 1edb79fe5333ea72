package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/siorelay/siorelay/relay"
)

const serveSynopsis = "serve [--addr 127.0.0.1:3000] [--path /socket.io/] [--cors-origin ORIGIN]... [--namespaces /NSP]... [--ping-interval 25s] [--ping-timeout 20s] [--max-http-buffer-size 1000000] [--shutdown-timeout 10s]"

// runServe runs the relay: Socket.IO on --addr, with /healthz and /readyz,
// until ctx is cancelled; then it shuts down gracefully within
// --shutdown-timeout.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", serveSynopsis, stderr)
	addr := fs.String("addr", "127.0.0.1:3000", "HTTP listen address (host:port; port 0 picks a free one)")
	path := fs.String("path", "/socket.io/", "URL path of the Socket.IO endpoint")
	var origins, nsps stringList
	fs.Var(&origins, "cors-origin", "allowed CORS origin (repeatable or comma-separated; * allows any; none sends no CORS headers)")
	fs.Var(&nsps, "namespaces", "namespace clients may join (repeatable or comma-separated; * accepts any; default /)")
	pingInterval := fs.Duration("ping-interval", 25*time.Second, "Engine.IO ping interval")
	pingTimeout := fs.Duration("ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	connectTimeout := fs.Duration("connect-timeout", 45*time.Second, "close connections that join no namespace within this time")
	maxBuf := fs.Int64("max-http-buffer-size", 1e6, "largest message or polling request body, in bytes")
	shutdownTimeout := fs.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take")
	var lf logFlags
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q (usage: siorelay %s)", fs.Args(), serveSynopsis)
	}
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
	if o := splitList(origins); len(o) > 0 {
		cfg.CORS = &relay.CORS{Origins: o}
	}
	srv, err := relay.NewServer(cfg)
	if err != nil {
		return usageError{err.Error()}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	return serve(ctx, ln, srv, *path, *shutdownTimeout, stdout, log)
}

// serve runs srv on ln until ctx ends, then shuts down within timeout.
func serve(ctx context.Context, ln net.Listener, srv *relay.Server, path string, timeout time.Duration, stdout io.Writer, log *slog.Logger) error {
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	mux := http.NewServeMux()
	mux.Handle(path, srv)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if !srv.Ready() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	url := fmt.Sprintf("http://%s%s", ln.Addr(), path)
	fmt.Fprintf(stdout, "siorelay: serving Socket.IO on %s\n", url)
	log.Info("serving", "addr", ln.Addr().String(), "path", path)

	select {
	case err := <-errc:
		srv.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Stop accepting first; pending polling requests are released by the
	// relay's Shutdown, which http.Server.Shutdown waits for.
	hsDone := make(chan error, 1)
	go func() { hsDone <- hs.Shutdown(sctx) }()
	rerr := srv.Shutdown(sctx)
	herr := <-hsDone
	if herr != nil {
		hs.Close()
	}
	<-errc
	if err := errors.Join(rerr, herr); err != nil {
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
