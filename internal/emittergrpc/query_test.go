package emittergrpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/emittergrpc"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

// queryBackend answers the queries with fixed results; it records the
// deadline and arguments it was called with. (The service's own logic:
// the queries against real Node servers and relays are tested in
// cmd/siorelay and the emitter package.)
type queryBackend struct {
	failingBackend
	socks    []emitter.Socket
	rooms    []string
	acks     emittergrpc.Acks
	err      error
	deadline chan time.Time
	target   chan emittergrpc.Target
	timeout  chan time.Duration
}

func newQueryBackend() *queryBackend {
	return &queryBackend{deadline: make(chan time.Time, 1), target: make(chan emittergrpc.Target, 1), timeout: make(chan time.Duration, 1)}
}

// record keeps v in ch unless a value is already waiting there.
func record[T any](ch chan T, v T) {
	select {
	case ch <- v:
	default:
	}
}

func (b *queryBackend) seen(ctx context.Context) {
	d, _ := ctx.Deadline()
	record(b.deadline, d)
}

func (b *queryBackend) FetchSockets(ctx context.Context, t emittergrpc.Target) ([]emitter.Socket, error) {
	b.seen(ctx)
	record(b.target, t)
	return b.socks, b.err
}

func (b *queryBackend) ServerCount(ctx context.Context, nsp string) (int, error) {
	return len(nsp), b.err // "/a" has 2 servers
}

func (b *queryBackend) AllRooms(ctx context.Context, nsp string) ([]string, error) {
	b.seen(ctx)
	return b.rooms, b.err
}

func (b *queryBackend) EmitWithAck(ctx context.Context, ev emittergrpc.Event, timeout time.Duration) (emittergrpc.Acks, error) {
	b.seen(ctx)
	record(b.target, ev.Target)
	record(b.timeout, timeout)
	return b.acks, b.err
}

var testSocket = emitter.Socket{
	ID: "abcdefghijklmnopqrst", Namespace: "/a", Rooms: []string{"abcdefghijklmnopqrst", "r1"}, Data: json.RawMessage(`{"u":1}`),
	Handshake: emitter.Handshake{
		Address: "127.0.0.1", Headers: map[string]string{"host": "h"}, Query: map[string]string{"EIO": "4"},
		Auth: json.RawMessage(`{"t":"x"}`), Time: time.UnixMilli(1700000000123), Secure: true, XDomain: true, URL: "/socket.io/?EIO=4",
	},
}

var testSocketProto = &siorelayv1.Socket{
	Id: "abcdefghijklmnopqrst", Namespace: "/a", Rooms: []string{"abcdefghijklmnopqrst", "r1"}, Data: `{"u":1}`,
	Handshake: &siorelayv1.Handshake{
		Address: "127.0.0.1", Headers: map[string]string{"host": "h"}, Query: map[string]string{"EIO": "4"},
		Auth: `{"t":"x"}`, Time: timestamppb.New(time.UnixMilli(1700000000123)), Secure: true, Xdomain: true, Url: "/socket.io/?EIO=4",
	},
}

func TestFetchSocketsService(t *testing.T) {
	b := newQueryBackend()
	b.socks = []emitter.Socket{testSocket}
	svc := emittergrpc.NewService(b)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	call, _ := ctx.Deadline()

	res, err := svc.FetchSockets(ctx, &siorelayv1.FetchSocketsRequest{Target: &siorelayv1.Target{Namespace: "/a", Rooms: []string{"r1"}, ExceptRooms: []string{"x"}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&siorelayv1.FetchSocketsResponse{Sockets: []*siorelayv1.Socket{testSocketProto}}, res, protocmp.Transform()); d != "" {
		t.Errorf("answer (-want +got):\n%s", d)
	}
	if d := cmp.Diff(emittergrpc.Target{Namespace: "/a", Rooms: []string{"r1"}, Except: []string{"x"}}, <-b.target); d != "" {
		t.Errorf("target (-want +got):\n%s", d)
	}
	// The backend stops waiting a tenth of the time left (at most 100 ms)
	// before the call's deadline.
	if got := call.Sub(<-b.deadline); got < 99*time.Millisecond || got > 101*time.Millisecond {
		t.Errorf("backend deadline %v before the call's; want 100ms", got)
	}

	// Servers missing: DeadlineExceeded, the partial answer in the details.
	b.err = fmt.Errorf("%w: %w", emittergrpc.ErrIncomplete, errors.New("1 of 2 servers answered"))
	_, err = svc.FetchSockets(ctx, &siorelayv1.FetchSocketsRequest{})
	<-b.target
	<-b.deadline
	st := status.Convert(err)
	if st.Code() != codes.DeadlineExceeded || !strings.Contains(st.Message(), "1 of 2 servers answered") {
		t.Fatalf("status %v; want DeadlineExceeded saying 1 of 2", err)
	}
	if d := cmp.Diff([]any{&siorelayv1.FetchSocketsResponse{Sockets: []*siorelayv1.Socket{testSocketProto}}}, st.Details(), protocmp.Transform()); d != "" {
		t.Errorf("details (-want +got):\n%s", d)
	}

	if _, err := svc.FetchSockets(ctx, &siorelayv1.FetchSocketsRequest{Target: &siorelayv1.Target{Namespace: "a"}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("namespace a: %v; want InvalidArgument", err)
	}
}

func TestQueryStatusCodes(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want codes.Code
	}{
		{errors.New("emitter: count servers: dial tcp: connection refused"), codes.Unavailable},
		{fmt.Errorf("%w: x", emittergrpc.ErrTooLarge), codes.ResourceExhausted},
		{fmt.Errorf("%w: x", emittergrpc.ErrIncomplete), codes.DeadlineExceeded},
		{fmt.Errorf("count: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{context.Canceled, codes.Canceled},
		{fmt.Errorf("%w: bad", emittergrpc.ErrInvalidArgument), codes.InvalidArgument},
	} {
		b := newQueryBackend()
		b.err = tt.err
		svc := emittergrpc.NewService(b)
		ctx := t.Context()
		_, err := svc.AllRooms(ctx, &siorelayv1.AllRoomsRequest{})
		if got := status.Code(err); got != tt.want {
			t.Errorf("AllRooms, backend error %v: %v; want %v", tt.err, err, tt.want)
		}
		if tt.want != codes.DeadlineExceeded || errors.Is(tt.err, context.DeadlineExceeded) {
			_, err = svc.ServerCount(ctx, &siorelayv1.ServerCountRequest{})
			if got := status.Code(err); got != tt.want {
				t.Errorf("ServerCount, backend error %v: %v; want %v", tt.err, err, tt.want)
			}
		}
	}
	svc := emittergrpc.NewService(newQueryBackend())
	res, err := svc.ServerCount(t.Context(), &siorelayv1.ServerCountRequest{Namespace: "/a"})
	if err != nil || res.GetCount() != 2 {
		t.Errorf("ServerCount = %v, %v", res, err)
	}
}

func TestEmitWithAckService(t *testing.T) {
	b := newQueryBackend()
	b.acks = emittergrpc.Acks{
		Answers: []emittergrpc.Ack{{SocketID: "s1", JSON: json.RawMessage(`{"ok":1}`)}, {JSON: json.RawMessage("null")}},
		Clients: 3, Servers: 2, TimedOut: true,
	}
	svc := emittergrpc.NewService(b)
	res, err := svc.EmitWithAck(t.Context(), &siorelayv1.EmitWithAckRequest{
		Target: &siorelayv1.Target{Rooms: []string{"r"}}, Event: "ask",
		Args:    []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: "1"}}},
		Timeout: durationpb.New(1500 * time.Millisecond),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &siorelayv1.EmitWithAckResponse{
		Acks:    []*siorelayv1.Ack{{SocketId: "s1", Json: `{"ok":1}`}, {Json: "null"}},
		Clients: 3, Servers: 2, TimedOut: true,
	}
	if d := cmp.Diff(want, res, protocmp.Transform()); d != "" {
		t.Errorf("answer (-want +got):\n%s", d)
	}
	if got := <-b.timeout; got != 1500*time.Millisecond {
		t.Errorf("timeout %v", got)
	}
	if tg := <-b.target; tg.Namespace != "/" || tg.Rooms[0] != "r" {
		t.Errorf("target %+v", tg)
	}
	<-b.deadline
	for name, r := range map[string]*siorelayv1.EmitWithAckRequest{
		"negative timeout": {Event: "e", Timeout: durationpb.New(-time.Second)},
		"timeout too long": {Event: "e", Timeout: durationpb.New(11 * time.Minute)},
		"invalid duration": {Event: "e", Timeout: &durationpb.Duration{Seconds: 1, Nanos: -1}},
		"reserved event":   {Event: "disconnect"},
		"empty event":      {},
		"bad JSON":         {Event: "e", Args: []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: "hi"}}}},
	} {
		if _, err := svc.EmitWithAck(t.Context(), r); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v; want InvalidArgument", name, err)
		}
	}
}

func TestQueryResponseSize(t *testing.T) {
	b := newQueryBackend()
	for i := range 100 {
		s := testSocket
		s.ID = fmt.Sprintf("socket-%02d", i)
		b.socks = append(b.socks, s)
	}
	e := startEnv(t, func(c *emittergrpc.Config) { c.Backend, c.MaxResponseSize = b, 10_000 })
	_, err := e.client.FetchSockets(t.Context(), &siorelayv1.FetchSocketsRequest{})
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "narrow the target") {
		t.Fatalf("100 sockets over a 10 kB limit: %v; want ResourceExhausted", err)
	}
	// A partial answer too large for the details is described only.
	b.err = fmt.Errorf("%w: 1 of 2 servers answered", emittergrpc.ErrIncomplete)
	_, err = e.client.FetchSockets(t.Context(), &siorelayv1.FetchSocketsRequest{})
	if st := status.Convert(err); st.Code() != codes.DeadlineExceeded || len(st.Details()) != 0 || !strings.Contains(st.Message(), "too large") {
		t.Fatalf("large partial answer: %v (%d details)", err, len(st.Details()))
	}
}
