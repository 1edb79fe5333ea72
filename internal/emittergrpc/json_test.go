package emittergrpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/emittergrpc"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

// recordingBackend records the events it is given; it does not check JSON,
// so the service must.
type recordingBackend struct {
	failingBackend // nil error: every other method succeeds
	mu             sync.Mutex
	events         []emittergrpc.Event
}

func (r *recordingBackend) Emit(_ context.Context, ev emittergrpc.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *recordingBackend) EmitBatch(_ context.Context, evs []emittergrpc.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, evs...)
	return nil
}

// TestServiceChecksJSON checks that for a Backend that is not a
// JSONChecker (a relay in the same process) the service itself rejects
// invalid JSON before calling it, and passes valid arguments on as
// json.RawMessage and []byte.
func TestServiceChecksJSON(t *testing.T) {
	b := &recordingBackend{}
	svc := emittergrpc.NewService(b)
	for _, bad := range []string{"hi", "", "1 2", "{", "[1,]", "01"} {
		_, err := svc.Emit(t.Context(), &siorelayv1.EmitRequest{Event: "e", Args: []*siorelayv1.Arg{jsonArg(bad)}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "args[0]: invalid JSON") {
			t.Errorf("Emit with JSON %q: %v, want InvalidArgument naming args[0]", bad, err)
		}
		_, err = svc.EmitBatch(t.Context(), &siorelayv1.EmitBatchRequest{Events: []*siorelayv1.EmitRequest{{Event: "ok"}, {Event: "e", Args: []*siorelayv1.Arg{jsonArg(bad)}}}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "events[1]: args[0]: invalid JSON") {
			t.Errorf("EmitBatch with JSON %q: %v, want InvalidArgument naming events[1]", bad, err)
		}
	}
	if len(b.events) != 0 {
		t.Fatalf("the backend was called for invalid requests: %+v", b.events)
	}
	if _, err := svc.Emit(t.Context(), &siorelayv1.EmitRequest{
		Target: &siorelayv1.Target{Rooms: []string{"r"}, ExceptRooms: []string{"x"}},
		Event:  "e", Args: []*siorelayv1.Arg{jsonArg(`{"a":1}`), binArg([]byte{7})},
	}); err != nil {
		t.Fatal(err)
	}
	want := []emittergrpc.Event{{
		Target: emittergrpc.Target{Namespace: "/", Rooms: []string{"r"}, Except: []string{"x"}},
		Name:   "e", Args: []any{json.RawMessage(`{"a":1}`), []byte{7}},
	}}
	if diff := cmp.Diff(want, b.events); diff != "" {
		t.Errorf("backend got (-want +got):\n%s", diff)
	}
}

// FuzzJSONAgreement checks the premise of EmitterBackend being a
// JSONChecker: for every non-empty text, the emitter accepts a JSON
// argument exactly when encoding/json calls it valid.
func FuzzJSONAgreement(f *testing.F) {
	for _, s := range []string{"1", "hi", "1 2", "{", `{"a":[1,2,{"b":null}]}`, "'x'", "[1,]", "01", "-0", "1e999",
		`"\ud800"`, "\"\xff\"", " 1 ", "\t[]\n", "tru", "nulls", `"a\u00e9"`, `"\x01"`, "[" + strings.Repeat("[", 100) + strings.Repeat("]", 101)} {
		f.Add(s)
	}
	em, err := emitter.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), emitter.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" {
			return // the service rejects it before any backend
		}
		_, err := em.EmitMessage("e", json.RawMessage(s))
		if valid := json.Valid([]byte(s)); valid != (err == nil) {
			t.Fatalf("JSON %q: json.Valid %v, emitter error %v", s, valid, err)
		}
	})
}

// failSecondBatch fails the second EmitBatch with a Redis-like error.
type failSecondBatch struct {
	recordingBackend
	calls int
}

func (f *failSecondBatch) EmitBatch(ctx context.Context, evs []emittergrpc.Event) error {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n == 2 {
		return errors.New("connection reset by peer")
	}
	return f.recordingBackend.EmitBatch(ctx, evs)
}

// TestEmitStreamPublishFailure checks a stream whose second message fails
// to publish: Unavailable, the count of events published before it in the
// message, and nothing of the later messages handed to the backend.
func TestEmitStreamPublishFailure(t *testing.T) {
	b := &failSecondBatch{}
	e := startEnv(t, func(c *emittergrpc.Config) { c.Backend = b })
	stream, err := e.client.EmitStream(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		ev := &siorelayv1.EmitRequest{Event: fmt.Sprintf("m%d", i)}
		if err := stream.Send(&siorelayv1.EmitStreamRequest{Events: []*siorelayv1.EmitRequest{ev, ev}}); err != nil {
			break // the server ended the stream; CloseAndRecv says why
		}
	}
	_, err = stream.CloseAndRecv()
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("code %v (%v), want Unavailable", status.Code(err), err)
	}
	if m := status.Convert(err).Message(); !strings.Contains(m, "connection reset by peer") ||
		!strings.Contains(m, "message 1: 2 events of earlier messages were published") {
		t.Errorf("message %q does not name the cause, message 1 and the 2 events published", m)
	}
	var names []string
	for _, ev := range b.events {
		names = append(names, ev.Name)
	}
	if diff := cmp.Diff([]string{"m0", "m0"}, names); diff != "" {
		t.Errorf("backend published (-want +got):\n%s", diff)
	}
	if b.calls != 2 {
		t.Errorf("EmitBatch called %d times, want 2 (nothing after the failure)", b.calls)
	}
}
