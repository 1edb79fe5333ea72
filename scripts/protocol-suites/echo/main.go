package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/siorelay/siorelay/relay"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	path := flag.String("path", "/socket.io/", "Socket.IO path")
	debug := flag.Bool("debug", false, "log at debug level")
	recovery := flag.Duration("recovery", 0, "connection state recovery for this long (0: off)")
	flag.Parse()

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg := config(*path, log)
	if *recovery > 0 {
		cfg.Recovery = &relay.Recovery{MaxDisconnection: *recovery, SkipOnConnect: true}
	}
	srv, err := relay.NewServer(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Printf("echo: serving on http://%s%s\n", ln.Addr(), *path)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(srv.Shutdown(sctx), hs.Shutdown(sctx))
	<-errc
	return err
}

// config is the reference server's configuration with its echo hooks.
func config(path string, log *slog.Logger) relay.Config {
	return relay.Config{
		Path:              path,
		Namespaces:        []string{"/", "/custom"},
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		ConnectTimeout:    time.Second,
		MaxHTTPBufferSize: 1e6,
		CORS:              &relay.CORS{Origins: []string{"*"}},
		Logger:            log,
		OnConnection: func(ctx context.Context, s *relay.Socket) {
			_ = s.Emit(ctx, "auth", json.RawMessage(s.Handshake().Auth))
		},
		OnEvent: func(ctx context.Context, s *relay.Socket, ev relay.Event, ack relay.AckFunc) {
			switch ev.Name {
			case "message":
				_ = s.Emit(ctx, "message-back", ev.Values()...)
			case "message-with-ack":
				if ack != nil {
					_ = ack(ev.Values()...)
				}
			}
		},
	}
}
