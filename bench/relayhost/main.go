package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/siorelay/siorelay/relay"
	"github.com/vmihailenco/msgpack/v5"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "relayhost:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	redisURL := flag.String("redis", "", "Redis URL to bridge broadcasts from (empty = no bridge)")
	prefix := flag.String("key", "socket.io", "adapter channel prefix")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := relay.NewServer(relay.Config{Transports: []string{"websocket"}, Logger: logger})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("/bench/gc", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"gc": true, "goroutines": runtime.NumGoroutine(), "stats": srv.Stats(),
			"heap_inuse": ms.HeapInuse, "stack_inuse": ms.StackInuse, "sys": ms.Sys,
		})
	})

	if *redisURL != "" {
		opt, err := redis.ParseURL(*redisURL)
		if err != nil {
			return err
		}
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		ps := rdb.PSubscribe(ctx, *prefix+"#*")
		defer ps.Close()
		if _, err := ps.Receive(ctx); err != nil {
			return fmt.Errorf("psubscribe: %w", err)
		}
		go bridge(ctx, srv, ps, logger)
	}

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(l) }()
	hello, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "port": l.Addr().(*net.TCPAddr).Port, "ready": true})
	fmt.Println(string(hello))

	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	return srv.Shutdown(sctx)
}

// emitterMessage is ["emitter"|uid, packet, opts] as @socket.io/redis-emitter
// and the classic adapter publish it.
type emitterMessage struct {
	_msgpack struct{} `msgpack:",as_array"`
	UID      string
	Packet   struct {
		Type int    `msgpack:"type"`
		Data []any  `msgpack:"data"`
		NSP  string `msgpack:"nsp"`
	}
	Opts struct {
		Rooms  []string       `msgpack:"rooms"`
		Except []string       `msgpack:"except"`
		Flags  map[string]any `msgpack:"flags"`
	}
}

// bridge delivers every broadcast read from ps until ctx ends. It reads
// synchronously, so a slow relay backs up into Redis, not into memory here.
func bridge(ctx context.Context, srv *relay.Server, ps *redis.PubSub, logger *slog.Logger) {
	for {
		m, err := ps.ReceiveMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				logger.Error("bridge receive", "err", err)
			}
			return
		}
		var em emitterMessage
		if err := msgpack.Unmarshal([]byte(m.Payload), &em); err != nil || len(em.Packet.Data) == 0 {
			logger.Warn("bridge decode", "err", err)
			continue
		}
		ev, ok := em.Packet.Data[0].(string)
		if !ok {
			continue
		}
		nsp := em.Packet.NSP
		if nsp == "" {
			nsp = "/"
		}
		op := srv.Of(nsp)
		if len(em.Opts.Rooms) > 0 {
			op = op.To(em.Opts.Rooms...)
		}
		if len(em.Opts.Except) > 0 {
			op = op.Except(em.Opts.Except...)
		}
		if v, _ := em.Opts.Flags["volatile"].(bool); v {
			op = op.Volatile()
		}
		if err := op.Emit(ctx, ev, em.Packet.Data[1:]...); err != nil {
			logger.Warn("bridge emit", "err", err)
		}
	}
}
