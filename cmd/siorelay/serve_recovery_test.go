package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/nodetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// recoveryBackend records the order of Connect and Disconnect calls; its
// Disconnect takes a while, as a slow backend's would.
type recoveryBackend struct {
	siorelayv1.UnimplementedBackendServiceServer
	slowDisconnect time.Duration

	mu      sync.Mutex
	calls   []string
	changed chan struct{} // closed and replaced at each call
}

func (b *recoveryBackend) log(format string, args ...any) {
	b.mu.Lock()
	b.calls = append(b.calls, fmt.Sprintf(format, args...))
	if b.changed != nil {
		close(b.changed)
	}
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// wait returns the calls once there are n of them.
func (b *recoveryBackend) wait(ctx context.Context, n int) []string {
	for {
		b.mu.Lock()
		if len(b.calls) >= n || ctx.Err() != nil {
			defer b.mu.Unlock()
			return slices.Clone(b.calls)
		}
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
}

func (b *recoveryBackend) Connect(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
	b.log("connect recovered=%v data=%s", r.Recovered, r.Data)
	res := &siorelayv1.ConnectResponse{Allow: true}
	if !r.Recovered {
		res.Rooms, res.Data = []string{"r1"}, `{"user":"u1"}`
	}
	return res, nil
}

func (b *recoveryBackend) Disconnect(ctx context.Context, r *siorelayv1.DisconnectRequest) (*siorelayv1.DisconnectResponse, error) {
	time.Sleep(b.slowDisconnect)
	b.log("disconnect %s rooms=%d", r.Reason, len(r.Rooms))
	return &siorelayv1.DisconnectResponse{}, nil
}

// TestServeRecovery: with --recovery a stock client that loses its
// connection comes back with its id, room and data, and gets what the
// gRPC EmitterService sent meanwhile; the backend sees the loss (its
// Disconnect call, even a slow one) before the recovered Connect.
func TestServeRecovery(t *testing.T) {
	for _, skip := range []bool{false, true} {
		t.Run(fmt.Sprintf("skip-hooks=%v", skip), func(t *testing.T) {
			b := &recoveryBackend{slowDisconnect: 300 * time.Millisecond}
			args := []string{"--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--log-level", "error",
				"--recovery", "2m", "--hook", "/=" + startGRPCBackend(t, b)}
			if skip {
				args = append(args, "--recovery-skip-hooks")
			}
			url, stdout, _, _ := startServeOut(t, args...)
			grpcAddr := afterLine(t, stdout, "serving gRPC EmitterService on ")
			cc, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			em := siorelayv1.NewEmitterServiceClient(cc)
			ctx := hookContext(t)
			emit := func(room, event string, arg string) {
				t.Helper()
				if _, err := em.Emit(ctx, &siorelayv1.EmitRequest{
					Target: &siorelayv1.Target{Namespace: "/", Rooms: []string{room}},
					Event:  event,
					Args:   []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: arg}}},
				}); err != nil {
					t.Fatal(err)
				}
			}
			off := false
			cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: baseURL(url), Clients: []nodetest.ClientConfig{
				{Name: "c1", Reconnection: &off},
			}})
			id := cl.ID("c1")
			emit("r1", "before", "1")
			if _, err := cl.WaitEvent(ctx, "c1", "before"); err != nil {
				t.Fatal(err)
			}
			if err := cl.Drop(ctx, "c1"); err != nil {
				t.Fatal(err)
			}
			if _, err := cl.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "disconnect" && l.Str("client") == "c1" }); err != nil {
				t.Fatal(err)
			}
			// The relay may not have noticed yet: emit until it has (the
			// packets then go to the log and are replayed, or reach the
			// old connection before it closes and are lost with it, which
			// is what recovery repairs).
			emit("r1", "meanwhile", "2")
			emit("r1", "meanwhile", "3")
			if err := cl.Reconnect(ctx, "c1"); err != nil {
				t.Fatal(err)
			}
			l, err := cl.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "connected" && l.Str("client") == "c1" })
			if err != nil {
				t.Fatal(err)
			}
			var c struct{ Recovered bool }
			l.Decode(&c)
			if !c.Recovered || l.Str("id") != id {
				t.Fatalf("reconnected as %s (recovered %v), want %s recovered", l.Str("id"), c.Recovered, id)
			}
			var got []string
			for range 2 {
				ev, err := cl.WaitEvent(ctx, "c1", "meanwhile")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(ev.Args[0]))
			}
			if !slices.Equal(got, []string{"2", "3"}) {
				t.Fatalf("missed events %v, want [2 3]", got)
			}
			// Still in r1, with its data (the hook's Event sees it).
			emit("r1", "after", "4")
			if _, err := cl.WaitEvent(ctx, "c1", "after"); err != nil {
				t.Fatal(err)
			}
			want := []string{
				`connect recovered=false data=`,
				`disconnect transport close rooms=2`,
				`connect recovered=true data={"user":"u1"}`,
			}
			if skip {
				want = want[:2]
			}
			if diff := cmp.Diff(want, b.wait(ctx, len(want))); diff != "" {
				t.Errorf("backend calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServeRecoveryBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--recovery-max-bytes", "1MiB"},
		{"--recovery-skip-hooks"},
		{"--recovery", "-1s"},
		{"--recovery", "2m", "--recovery-max-bytes", "lots"},
		{"--recovery", "2m", "--recovery-max-bytes", "0"},
	} {
		err := runServe(context.Background(), append([]string{"--addr", "127.0.0.1:0"}, args...), io.Discard, io.Discard)
		var ue usageError
		if err == nil || !errorsAs(err, &ue) {
			t.Errorf("%v: err %v, want usage error", args, err)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1048576": 1 << 20, "64MiB": 64 << 20, "64mib": 64 << 20, "100 MB": 100e6, "1.5GiB": 3 << 29, "2KB": 2000, "7B": 7, "1e6": 1e6,
	} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "MiB", "1XB", "NaN", "1e30GiB", "0.1"} {
		if got, err := parseByteSize(in); err == nil {
			t.Errorf("%q: %d, want an error", in, got)
		}
	}
}
