package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "echo-backend:", err)
		os.Exit(1)
	}
}

func run() error {
	grpcAddr := flag.String("grpc-addr", "", "serve BackendService over gRPC here (empty: no gRPC)")
	httpAddr := flag.String("http-addr", "", "serve BackendService over HTTP (protobuf JSON) here (empty: no HTTP)")
	authDelay := flag.Duration("auth-delay", 0, "send \"auth\" this long after Connect answers, through the relay's EmitterService (--relay-grpc), instead of in ConnectResponse.emits (0: in emits; see ../RESULTS.md)")
	relayGRPC := flag.String("relay-grpc", "", "with --auth-delay: the relay's --grpc-addr")
	debug := flag.Bool("debug", false, "log every call")
	flag.Parse()
	if *grpcAddr == "" && *httpAddr == "" {
		return errors.New("set --grpc-addr and/or --http-addr")
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	b := backend{log: log}
	if *authDelay > 0 {
		if *relayGRPC == "" {
			return errors.New("--auth-delay needs --relay-grpc")
		}
		cc, err := grpc.NewClient(*relayGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer cc.Close()
		b.later = &laterAuth{delay: *authDelay, emitter: siorelayv1.NewEmitterServiceClient(cc), log: log}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 2)
	if *grpcAddr != "" {
		ln, err := net.Listen("tcp", *grpcAddr)
		if err != nil {
			return err
		}
		gs := grpc.NewServer()
		siorelayv1.RegisterBackendServiceServer(gs, b)
		go func() { errc <- gs.Serve(ln) }()
		defer gs.GracefulStop()
		fmt.Printf("echo-backend: grpc on %s\n", ln.Addr())
	}
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return err
		}
		hs := &http.Server{Handler: httpHandler(b), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- hs.Serve(ln) }()
		defer hs.Close()
		fmt.Printf("echo-backend: http on %s\n", ln.Addr())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
}

// backend implements the suite's reference handlers.
type backend struct {
	siorelayv1.UnimplementedBackendServiceServer
	log   *slog.Logger
	later *laterAuth // nil: "auth" goes in ConnectResponse.emits
}

// Connect admits every client and sends it "auth" with its auth payload
// (socket.emit("auth", socket.handshake.auth)).
func (b backend) Connect(ctx context.Context, req *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
	b.log.Debug("connect", "sid", req.GetSocketId(), "nsp", req.GetNamespace(), "auth", req.GetAuth())
	auth := req.GetAuth()
	if auth == "" {
		auth = "{}"
	}
	if b.later != nil {
		b.later.send(req.GetNamespace(), req.GetSocketId(), auth)
		return &siorelayv1.ConnectResponse{Allow: true}, nil
	}
	return &siorelayv1.ConnectResponse{
		Allow: true,
		Emits: []*siorelayv1.SocketEmit{{Event: "auth", Args: []*siorelayv1.Arg{jsonArg(auth)}}},
	}, nil
}

// Event echoes "message" as "message-back" and acknowledges
// "message-with-ack" with its arguments; other events get nothing.
func (b backend) Event(ctx context.Context, req *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
	b.log.Debug("event", "sid", req.GetSocketId(), "nsp", req.GetNamespace(), "event", req.GetEvent(), "args", len(req.GetArgs()), "ack", req.GetAckRequested())
	switch req.GetEvent() {
	case "message":
		return &siorelayv1.EventResponse{
			Emits: []*siorelayv1.SocketEmit{{Event: "message-back", Args: req.GetArgs()}},
		}, nil
	case "message-with-ack":
		return &siorelayv1.EventResponse{Ack: req.GetArgs()}, nil
	}
	return &siorelayv1.EventResponse{}, nil
}

// Disconnect has nothing to clean up.
func (b backend) Disconnect(ctx context.Context, req *siorelayv1.DisconnectRequest) (*siorelayv1.DisconnectResponse, error) {
	b.log.Debug("disconnect", "sid", req.GetSocketId(), "nsp", req.GetNamespace(), "reason", req.GetReason())
	return &siorelayv1.DisconnectResponse{}, nil
}

// laterAuth sends "auth" some time after Connect has answered, to the
// socket's own room, through the relay's EmitterService. It exists only
// for a race in the suite's client, see ../RESULTS.md: an "auth" that
// reaches the suite's client in the same TCP read as the CONNECT reply is
// lost by the suite.
type laterAuth struct {
	delay   time.Duration
	emitter siorelayv1.EmitterServiceClient
	log     *slog.Logger
}

// send schedules "auth" for socket sid of namespace nsp.
func (l *laterAuth) send(nsp, sid, auth string) {
	time.AfterFunc(l.delay, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		target := &siorelayv1.Target{Namespace: nsp, Rooms: []string{sid}}
		_, err := l.emitter.Emit(ctx, &siorelayv1.EmitRequest{Target: target, Event: "auth", Args: []*siorelayv1.Arg{jsonArg(auth)}})
		if err != nil {
			l.log.Error("auth emit", "sid", sid, "err", err)
		}
	})
}

func jsonArg(text string) *siorelayv1.Arg {
	return &siorelayv1.Arg{Value: &siorelayv1.Arg_Json{Json: text}}
}

// httpHandler serves b the way the relay's HTTP hooks call it: POST
// /connect, /event and /disconnect with the request message as protobuf
// JSON, answered with the response message as protobuf JSON.
func httpHandler(b backend) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /connect", call(b.Connect))
	mux.Handle("POST /event", call(b.Event))
	mux.Handle("POST /disconnect", call(b.Disconnect))
	return mux
}

// call adapts one BackendService method to HTTP.
func call[Req any, Resp proto.Message, P interface {
	*Req
	proto.Message
}](method func(context.Context, P) (Resp, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := P(new(Req))
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := method(r.Context(), req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out, err := protojson.Marshal(resp)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	})
}
