package emittergrpc_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/siorelay/siorelay/emitter"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

func jsonArg(s string) *siorelayv1.Arg { return &siorelayv1.Arg{Value: &siorelayv1.Arg_Json{Json: s}} }
func binArg(b []byte) *siorelayv1.Arg {
	return &siorelayv1.Arg{Value: &siorelayv1.Arg_Binary{Binary: b}}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// mustMessage returns a function that unwraps (Message, error), failing t
// on error.
func mustMessage(t *testing.T) func(emitter.Message, error) emitter.Message {
	return func(m emitter.Message, err error) emitter.Message {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
}

// TestActionsPublish checks that each RPC publishes exactly what the Go
// emitter publishes for the same action, over gRPC and over the HTTP API
// (unary methods only).
func TestActionsPublish(t *testing.T) {
	must := mustMessage(t)
	e := startEnv(t)
	sub := e.subscribe(t)
	tests := []struct {
		name   string
		stream bool // gRPC only
		call   func(ctx context.Context, c siorelayv1.EmitterServiceClient) error
		want   func(em *emitter.Emitter) []emitter.Message
	}{{
		name: "Emit to rooms except rooms, JSON and binary args",
		call: func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.Emit(ctx, &siorelayv1.EmitRequest{
				Target: &siorelayv1.Target{Rooms: []string{"r1"}, ExceptRooms: []string{"r2"}},
				Event:  "chat",
				Args:   []*siorelayv1.Arg{jsonArg(`"hi"`), binArg([]byte{1, 2, 3}), jsonArg(`{"a":[1,null]}`)},
			})
			return err
		},
		want: func(em *emitter.Emitter) []emitter.Message {
			return []emitter.Message{must(em.To("r1").Except("r2").EmitMessage("chat", raw(`"hi"`), []byte{1, 2, 3}, raw(`{"a":[1,null]}`)))}
		},
	}, {
		name: "Emit to a namespace, several rooms, volatile, no compress, no args",
		call: func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.Emit(ctx, &siorelayv1.EmitRequest{
				Target:   &siorelayv1.Target{Namespace: "/admin", Rooms: []string{"a", "b"}},
				Event:    "tick",
				Volatile: true,
				Compress: proto.Bool(false),
			})
			return err
		},
		want: func(em *emitter.Emitter) []emitter.Message {
			return []emitter.Message{must(em.Of("/admin").To("a", "b").Volatile().Compress(false).EmitMessage("tick"))}
		},
	}, {
		name: "Emit without target goes to every client of /; empty binary",
		call: func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.Emit(ctx, &siorelayv1.EmitRequest{Event: "all", Args: []*siorelayv1.Arg{binArg(nil), jsonArg("42")}})
			return err
		},
		want: func(em *emitter.Emitter) []emitter.Message {
			return []emitter.Message{must(em.EmitMessage("all", []byte{}, raw("42")))}
		},
	}, {
		name: "SocketsJoin",
		call: func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.SocketsJoin(ctx, &siorelayv1.SocketsJoinRequest{Target: &siorelayv1.Target{Rooms: []string{"r2"}}, Rooms: []string{"r3"}})
			return err
		},
		want: func(em *emitter.Emitter) []emitter.Message {
			return []emitter.Message{em.To("r2").SocketsJoinMessage("r3")}
		},
	}, {
		name: "SocketsLeave in a namespace",
		call: func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.SocketsLeave(ctx, &siorelayv1.SocketsLeaveRequest{Target: &siorelayv1.Target{Namespace: "/chat", ExceptRooms: []string{"x"}}, Rooms: []string{"r3", "r4"}})
			return err
		},
		want: func(em *emitter.Emitter) []emitter.Message {
			return []emitter.Message{em.Of("/chat").Except("x").SocketsLeaveMessage("r3", "r4")}
		},
	}, {
		name: "DisconnectSockets close",
		call: func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.DisconnectSockets(ctx, &siorelayv1.DisconnectSocketsRequest{Target: &siorelayv1.Target{Rooms: []string{"r3"}}, Close: true})
			return err
		},
		want: func(em *emitter.Emitter) []emitter.Message {
			return []emitter.Message{em.To("r3").DisconnectSocketsMessage(true)}
		},
	}, {
		name: "ServerSideEmit",
		call: func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.ServerSideEmit(ctx, &siorelayv1.ServerSideEmitRequest{Namespace: "/", Event: "ping", Args: []*siorelayv1.Arg{jsonArg("42")}})
			return err
		},
		want: func(em *emitter.Emitter) []emitter.Message {
			return []emitter.Message{must(em.ServerSideEmitMessage("ping", raw("42")))}
		},
	}, {
		name: "EmitBatch publishes in order",
		call: func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			resp, err := c.EmitBatch(ctx, &siorelayv1.EmitBatchRequest{Events: []*siorelayv1.EmitRequest{
				{Event: "one", Args: []*siorelayv1.Arg{jsonArg("1")}},
				{Target: &siorelayv1.Target{Namespace: "/admin", Rooms: []string{"r"}}, Event: "two"},
				{Target: &siorelayv1.Target{Rooms: []string{"r"}}, Event: "three", Args: []*siorelayv1.Arg{binArg([]byte("x"))}},
			}})
			if err == nil && resp.GetCount() != 3 {
				t.Errorf("EmitBatch count = %d, want 3", resp.GetCount())
			}
			return err
		},
		want: func(em *emitter.Emitter) []emitter.Message {
			return []emitter.Message{
				must(em.EmitMessage("one", raw("1"))),
				must(em.Of("/admin").To("r").EmitMessage("two")),
				must(em.To("r").EmitMessage("three", []byte("x"))),
			}
		},
	}, {
		name:   "EmitStream publishes every message in order",
		stream: true,
		call: func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			stream, err := c.EmitStream(ctx)
			if err != nil {
				return err
			}
			for i := range 3 {
				evs := []*siorelayv1.EmitRequest{{Event: "s", Args: []*siorelayv1.Arg{jsonArg(strings.Repeat("1", i+1))}}, {Event: "t"}}
				if err := stream.Send(&siorelayv1.EmitStreamRequest{Events: evs}); err != nil {
					return err
				}
			}
			if err := stream.Send(&siorelayv1.EmitStreamRequest{}); err != nil { // empty messages are fine
				return err
			}
			resp, err := stream.CloseAndRecv()
			if err == nil && resp.GetCount() != 6 {
				t.Errorf("EmitStream count = %d, want 6", resp.GetCount())
			}
			return err
		},
		want: func(em *emitter.Emitter) []emitter.Message {
			var out []emitter.Message
			for _, a := range []string{"1", "11", "111"} {
				out = append(out, must(em.EmitMessage("s", raw(a))), must(em.EmitMessage("t")))
			}
			return out
		},
	}}
	for _, tr := range e.transports() {
		for _, tt := range tests {
			if tt.stream && tr.http {
				continue
			}
			t.Run(tr.name+"/"+tt.name, func(t *testing.T) {
				if err := tt.call(ctxT(t), tr.client); err != nil {
					t.Fatalf("call: %v", err)
				}
				var want []published
				for _, m := range tt.want(e.em) {
					want = append(want, msg(m))
				}
				got := sub.next(len(want))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("published (-want +got):\n%s", diff)
				}
				e.expectNothingBefore(t, sub)
			})
		}
	}
}

// TestInvalidArgument checks every validation rule: the call fails with
// InvalidArgument, the message names the problem, and nothing is published
// (for batches and streams: nothing of the batch or message). Over gRPC
// and over the HTTP API (unary methods only).
func TestInvalidArgument(t *testing.T) {
	e := startEnv(t)
	sub := e.subscribe(t)
	ok := &siorelayv1.EmitRequest{Event: "fine", Args: []*siorelayv1.Arg{jsonArg("1")}}
	tests := []struct {
		name    string
		call    func(ctx context.Context, c siorelayv1.EmitterServiceClient) error
		wantMsg string
	}{
		{"empty event", emitCall(&siorelayv1.EmitRequest{}), "event name is empty"},
		{"reserved event", emitCall(&siorelayv1.EmitRequest{Event: "disconnect"}), `"disconnect" is reserved`},
		{"reserved event connect", emitCall(&siorelayv1.EmitRequest{Event: "connect"}), "reserved"},
		{"invalid JSON", emitCall(&siorelayv1.EmitRequest{Event: "e", Args: []*siorelayv1.Arg{jsonArg("1"), jsonArg("hi")}}), "invalid JSON"},
		{"empty JSON", emitCall(&siorelayv1.EmitRequest{Event: "e", Args: []*siorelayv1.Arg{jsonArg("")}}), "args[0]: invalid JSON: empty text"},
		{"two JSON values", emitCall(&siorelayv1.EmitRequest{Event: "e", Args: []*siorelayv1.Arg{jsonArg("1 2")}}), "invalid JSON"},
		{"arg with neither json nor binary", emitCall(&siorelayv1.EmitRequest{Event: "e", Args: []*siorelayv1.Arg{{}}}), "args[0]: set one of json or binary"},
		{"namespace without slash", emitCall(&siorelayv1.EmitRequest{Target: &siorelayv1.Target{Namespace: "admin"}, Event: "e"}), `namespace "admin" must start with "/"`},
		{"SocketsJoin bad namespace", func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.SocketsJoin(ctx, &siorelayv1.SocketsJoinRequest{Target: &siorelayv1.Target{Namespace: "x"}, Rooms: []string{"r"}})
			return err
		}, "SocketsJoin: target: namespace"},
		{"SocketsLeave bad namespace", func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.SocketsLeave(ctx, &siorelayv1.SocketsLeaveRequest{Target: &siorelayv1.Target{Namespace: "x"}, Rooms: []string{"r"}})
			return err
		}, "SocketsLeave: target: namespace"},
		{"DisconnectSockets bad namespace", func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.DisconnectSockets(ctx, &siorelayv1.DisconnectSocketsRequest{Target: &siorelayv1.Target{Namespace: "x"}})
			return err
		}, "DisconnectSockets: target: namespace"},
		{"ServerSideEmit bad namespace", sseCall(&siorelayv1.ServerSideEmitRequest{Namespace: "x", Event: "e"}), "ServerSideEmit: namespace"},
		{"ServerSideEmit empty event", sseCall(&siorelayv1.ServerSideEmitRequest{}), "event name is empty"},
		{"ServerSideEmit reserved event", sseCall(&siorelayv1.ServerSideEmitRequest{Event: "connection"}), `"connection" is reserved`},
		{"ServerSideEmit invalid JSON", sseCall(&siorelayv1.ServerSideEmitRequest{Event: "e", Args: []*siorelayv1.Arg{jsonArg("{")}}), "invalid JSON"},
		{"EmitBatch with one invalid event publishes nothing", func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.EmitBatch(ctx, &siorelayv1.EmitBatchRequest{Events: []*siorelayv1.EmitRequest{ok, ok, {Event: "bad", Args: []*siorelayv1.Arg{jsonArg("nope")}}, ok}})
			return err
		}, "events[2]: "},
		{"EmitBatch with a bad namespace last publishes nothing", func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			_, err := c.EmitBatch(ctx, &siorelayv1.EmitBatchRequest{Events: []*siorelayv1.EmitRequest{ok, {Target: &siorelayv1.Target{Namespace: "nsp"}, Event: "e"}}})
			return err
		}, "events[1]: target: namespace"},
		{"EmitStream with an invalid first message publishes nothing", func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
			stream, err := c.EmitStream(ctx)
			if err != nil {
				return err
			}
			if err := stream.Send(&siorelayv1.EmitStreamRequest{Events: []*siorelayv1.EmitRequest{ok, {Event: "newListener"}}}); err != nil {
				return err
			}
			_, err = stream.CloseAndRecv()
			return err
		}, "message 0: events[1]: event name \"newListener\" is reserved"},
	}
	for _, tr := range e.transports() {
		for _, tt := range tests {
			if tr.http && strings.HasPrefix(tt.name, "EmitStream") {
				continue // gRPC only
			}
			t.Run(tr.name+"/"+tt.name, func(t *testing.T) {
				err := tt.call(ctxT(t), tr.client)
				if code := status.Code(err); code != codes.InvalidArgument {
					t.Fatalf("code = %v (%v), want InvalidArgument", code, err)
				}
				if m := status.Convert(err).Message(); !strings.Contains(m, tt.wantMsg) {
					t.Errorf("message %q does not contain %q", m, tt.wantMsg)
				}
				e.expectNothingBefore(t, sub)
			})
		}
	}
}

func emitCall(r *siorelayv1.EmitRequest) func(context.Context, siorelayv1.EmitterServiceClient) error {
	return func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
		_, err := c.Emit(ctx, r)
		return err
	}
}

func sseCall(r *siorelayv1.ServerSideEmitRequest) func(context.Context, siorelayv1.EmitterServiceClient) error {
	return func(ctx context.Context, c siorelayv1.EmitterServiceClient) error {
		_, err := c.ServerSideEmit(ctx, r)
		return err
	}
}

// TestEmitStreamStopsAtInvalidMessage checks that the messages before an
// invalid one are published, and neither it nor any later one.
func TestEmitStreamStopsAtInvalidMessage(t *testing.T) {
	must := mustMessage(t)
	e := startEnv(t)
	sub := e.subscribe(t)
	stream, err := e.client.EmitStream(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	msgs := []*siorelayv1.EmitStreamRequest{
		{Events: []*siorelayv1.EmitRequest{{Event: "a"}, {Event: "b"}}},
		{Events: []*siorelayv1.EmitRequest{{Event: "c"}, {Event: "d", Args: []*siorelayv1.Arg{jsonArg("'single'")}}}},
		{Events: []*siorelayv1.EmitRequest{{Event: "e"}}},
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break // the server may already have ended the stream; CloseAndRecv reports why
		}
	}
	_, err = stream.CloseAndRecv()
	if code := status.Code(err); code != codes.InvalidArgument {
		t.Fatalf("code = %v (%v), want InvalidArgument", code, err)
	}
	if m := status.Convert(err).Message(); !strings.Contains(m, "message 1") || !strings.Contains(m, "events[1]: ") ||
		!strings.Contains(m, "invalid JSON") || !strings.Contains(m, "2 events of earlier messages were published") {
		t.Errorf("message %q does not name message 1 and the 2 published events", m)
	}
	got := sub.next(2)
	want := []published{msg(must(e.em.EmitMessage("a"))), msg(must(e.em.EmitMessage("b")))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
	e.expectNothingBefore(t, sub)
}
