package hooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/hooks"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/proctest"
	"github.com/siorelay/siorelay/relay"
)

// ackError returns the "error" of an ack {"error": ...}, or "".
func ackError(t *testing.T, ack []json.RawMessage) string {
	t.Helper()
	if len(ack) != 1 {
		t.Fatalf("ack %s: want one argument", ack)
	}
	var a struct{ Error string }
	if err := json.Unmarshal(ack[0], &a); err != nil {
		t.Fatalf("ack %s: %v", ack, err)
	}
	return a.Error
}

// TestBackendDown: a backend that cannot be reached refuses connections
// and fails acks at once, well within the call timeout.
func TestBackendDown(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		const timeout = 10 * time.Second
		// checkFast asserts that the failed calls under key ended well
		// before the timeout.
		checkFast := func(rec *recorder, key string) {
			t.Helper()
			ds := rec.durations(key)
			if len(ds) != 1 {
				t.Fatalf("%s: %d calls", key, len(ds))
			}
			if ds[0] > timeout/2 {
				t.Errorf("%s after %v, want well under the %v timeout", key, ds[0], timeout)
			}
		}
		// A backend that was never there.
		rec := newRecorder()
		_, _, url := relayWith(t, relay.Config{}, hooks.Config{
			Routes:   []hooks.Route{{Namespace: "/", Target: targetFor(kind, proctest.Addr(t))}},
			Timeout:  timeout,
			Observer: rec,
		})
		cl := nodetest.StartClientsAsync(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
		msg, _, err := cl.WaitConnectError(ctx, "c1")
		if err != nil || msg != "backend unavailable" {
			t.Fatalf("connect_error %q, %v", msg, err)
		}
		checkFast(rec, "connect/error")

		// A backend that goes away after the connection.
		rec = newRecorder()
		target, stop := startBackend(t, kind, &backendFuncs{})
		_, _, url = relayWith(t, relay.Config{}, hooks.Config{
			Routes:   []hooks.Route{{Namespace: "/", Target: target}},
			Timeout:  timeout,
			Observer: rec,
		})
		cl = nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c2"}}})
		if _, err := cl.EmitWithAck(ctx, "c2", timeout, "ping"); err != nil {
			t.Fatal(err)
		}
		stop()
		ack, err := cl.EmitWithAck(ctx, "c2", timeout, "ping")
		if err != nil {
			t.Fatal(err)
		}
		if got := ackError(t, ack); got != "backend unavailable" {
			t.Errorf("ack error %q", got)
		}
		checkFast(rec, "event/error")
	})
}

// TestBackendSlow: while a call waits for a slow backend, the relay serves
// other sockets (their events are forwarded and acked, new clients
// connect); a call that outlasts the timeout fails with "backend timeout".
func TestBackendSlow(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		slowStarted := make(chan struct{}, 1)
		release := make(chan struct{})
		target, _ := startBackend(t, kind, &backendFuncs{
			connect: func(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
				if authField(r, "slow") != "" {
					<-ctx.Done()
					return nil, ctx.Err()
				}
				return &siorelayv1.ConnectResponse{Allow: true}, nil
			},
			event: func(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
				switch r.Event {
				case "slow":
					slowStarted <- struct{}{}
					select {
					case <-release:
						return &siorelayv1.EventResponse{Ack: []*siorelayv1.Arg{jsonArg(`"late"`)}}, nil
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				case "never":
					<-ctx.Done()
					return nil, ctx.Err()
				}
				return &siorelayv1.EventResponse{Ack: []*siorelayv1.Arg{jsonArg(r.Args[0].GetJson())}}, nil
			},
		})

		// Others are served while a call waits (for as long as the test
		// wants: the timeout is far).
		_, _, url := relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}, Timeout: time.Minute})
		cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "slow"}, {Name: "fast"}}})
		type result struct {
			ack []json.RawMessage
			err error
		}
		slowDone := make(chan result, 1)
		go func() {
			ack, err := cl.EmitWithAck(ctx, "slow", 30*time.Second, "slow")
			slowDone <- result{ack, err}
		}()
		select {
		case <-slowStarted:
		case <-ctx.Done():
			t.Fatal("slow call never reached the backend")
		}
		for i := range 20 {
			ack, err := cl.EmitWithAck(ctx, "fast", 10*time.Second, "fast", i)
			if err != nil || len(ack) != 1 || string(ack[0]) != fmt.Sprint(i) {
				t.Fatalf("fast %d: ack %s, %v", i, ack, err)
			}
		}
		if err := cl.Add(ctx, nodetest.ClientConfig{Name: "late"}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.WaitConnected(ctx, "late"); err != nil {
			t.Fatal(err)
		}
		if ack, err := cl.EmitWithAck(ctx, "late", 10*time.Second, "fast", 99); err != nil || len(ack) != 1 || string(ack[0]) != "99" {
			t.Fatalf("late: ack %s, %v", ack, err)
		}
		select {
		case r := <-slowDone:
			t.Fatalf("slow call ended before it was released: %+v", r)
		default:
		}
		close(release)
		if r := <-slowDone; r.err != nil || len(r.ack) != 1 || string(r.ack[0]) != `"late"` {
			t.Fatalf("slow ack %s, %v", r.ack, r.err)
		}

		// Calls that outlast the timeout.
		const timeout = time.Second
		rec := newRecorder()
		_, _, url = relayWith(t, relay.Config{}, hooks.Config{
			Routes:   []hooks.Route{{Namespace: "/", Target: target}},
			Timeout:  timeout,
			Observer: rec,
		})
		cl = nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
		ack, err := cl.EmitWithAck(ctx, "c1", 20*time.Second, "never")
		if err != nil {
			t.Fatal(err)
		}
		if got := ackError(t, ack); got != "backend timeout" {
			t.Errorf("ack error %q", got)
		}
		if err := cl.Add(ctx, nodetest.ClientConfig{Name: "slowconn", Auth: map[string]any{"slow": "yes"}}); err != nil {
			t.Fatal(err)
		}
		if msg, _, err := cl.WaitConnectError(ctx, "slowconn"); err != nil || msg != "backend timeout" {
			t.Fatalf("slow connect: %q, %v", msg, err)
		}
		for _, key := range []string{"event/timeout", "connect/timeout"} {
			ds := rec.durations(key)
			if len(ds) != 1 || ds[0] < timeout || ds[0] > timeout+5*time.Second {
				t.Errorf("%s: durations %v, want one of about %v", key, ds, timeout)
			}
		}
	})
}

// TestGarbageAnswers: answers that break the proto's rules fail cleanly.
func TestGarbageAnswers(t *testing.T) {
	// Through the Go server of each transport: bad JSON texts and a
	// reserved emit name.
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		target, _ := startBackend(t, kind, &backendFuncs{
			connect: func(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
				switch authField(r, "case") {
				case "data":
					return &siorelayv1.ConnectResponse{Allow: true, Data: "{not json"}, nil
				case "emit":
					return &siorelayv1.ConnectResponse{Allow: true, Emits: []*siorelayv1.SocketEmit{{Event: "disconnect"}}}, nil
				case "errordata":
					return &siorelayv1.ConnectResponse{ErrorMessage: "no", ErrorData: "<html>"}, nil
				}
				return &siorelayv1.ConnectResponse{Allow: true}, nil
			},
			event: func(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
				switch r.Event {
				case "badack":
					return &siorelayv1.EventResponse{Ack: []*siorelayv1.Arg{jsonArg("{bad")}, Join: []string{"never"}}, nil
				case "emptyarg":
					return &siorelayv1.EventResponse{Ack: []*siorelayv1.Arg{{}}}, nil
				case "reserved":
					return &siorelayv1.EventResponse{Emits: []*siorelayv1.SocketEmit{{Event: "connect_error"}}}, nil
				}
				return &siorelayv1.EventResponse{Ack: []*siorelayv1.Arg{jsonArg(`"fine"`)}}, nil
			},
		})
		rec := newRecorder()
		srv, _, url := relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}, Observer: rec})
		cl := nodetest.StartClientsAsync(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
			{Name: "data", Auth: map[string]any{"case": "data"}},
			{Name: "emit", Auth: map[string]any{"case": "emit"}},
			{Name: "errordata", Auth: map[string]any{"case": "errordata"}},
			{Name: "ok"},
		}})
		for _, c := range []string{"data", "emit"} {
			if msg, _, err := cl.WaitConnectError(ctx, c); err != nil || msg != "backend unavailable" {
				t.Errorf("%s: connect_error %q, %v", c, msg, err)
			}
		}
		if msg, data, err := cl.WaitConnectError(ctx, "errordata"); err != nil || msg != "no" || len(data) != 0 {
			t.Errorf("errordata: connect_error %q %s, %v (still refused, without the bad data)", msg, data, err)
		}
		if _, err := cl.WaitConnected(ctx, "ok"); err != nil {
			t.Fatal(err)
		}
		for _, ev := range []string{"badack", "emptyarg", "reserved"} {
			ack, err := cl.EmitWithAck(ctx, "ok", 5*time.Second, ev)
			if err != nil {
				t.Fatal(err)
			}
			if got := ackError(t, ack); got != "backend unavailable" {
				t.Errorf("%s: ack error %q", ev, got)
			}
		}
		if socks := srv.Of("/").To("never").Sockets(); len(socks) != 0 {
			t.Errorf("a bad answer's join was applied: %v", socks)
		}
		ack, err := cl.EmitWithAck(ctx, "ok", 5*time.Second, "good")
		if err != nil || len(ack) != 1 || string(ack[0]) != `"fine"` {
			t.Errorf("after garbage: ack %s, %v", ack, err)
		}
		if n := rec.call("connect/bad_answer"); n != 3 {
			t.Errorf("connect/bad_answer = %d", n)
		}
		if n := rec.call("event/bad_answer"); n != 3 {
			t.Errorf("event/bad_answer = %d", n)
		}
	})

	// Raw HTTP answers no BackendService would give.
	t.Run("http-raw", func(t *testing.T) {
		ctx := testContext(t)
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			switch {
			case strings.Contains(string(body), "status500"), strings.Contains(string(body), "ev500"):
				http.Error(w, "boom", http.StatusInternalServerError)
			case strings.Contains(string(body), "html"):
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "<html><body>Welcome to nginx!</body></html>")
			case strings.Contains(string(body), "redirect"):
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			case r.URL.Path == "/connect":
				io.WriteString(w, `{"allow": true, "unknownField": 1}`)
			default:
				w.WriteHeader(http.StatusNoContent) // empty body: the empty answer
			}
		}))
		t.Cleanup(hs.Close)
		rec := newRecorder()
		_, _, url := relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: hs.URL}}, Observer: rec})
		cl := nodetest.StartClientsAsync(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
			{Name: "c500", Auth: map[string]any{"x": "status500"}},
			{Name: "chtml", Auth: map[string]any{"x": "html"}},
			{Name: "credirect", Auth: map[string]any{"x": "redirect"}},
			{Name: "ok"},
		}})
		for _, c := range []string{"c500", "chtml", "credirect"} {
			if msg, _, err := cl.WaitConnectError(ctx, c); err != nil || msg != "backend unavailable" {
				t.Errorf("%s: connect_error %q, %v", c, msg, err)
			}
		}
		if _, err := cl.WaitConnected(ctx, "ok"); err != nil {
			t.Fatal(err)
		}
		for _, ev := range []string{"ev500", "html"} {
			ack, err := cl.EmitWithAck(ctx, "ok", 5*time.Second, ev)
			if err != nil {
				t.Fatal(err)
			}
			if got := ackError(t, ack); got != "backend unavailable" {
				t.Errorf("%s: ack error %q", ev, got)
			}
		}
		ack, err := cl.EmitWithAck(ctx, "ok", 5*time.Second, "empty")
		if err != nil || len(ack) != 0 {
			t.Errorf("204 answer: ack %s, %v (want an ack with no arguments)", ack, err)
		}
		want := map[string]int{"connect/error": 2, "connect/bad_answer": 1, "connect/ok": 1, "event/error": 1, "event/bad_answer": 1, "event/ok": 1}
		for k, n := range want {
			if got := rec.call(k); got != n {
				t.Errorf("%s = %d, want %d", k, got, n)
			}
		}
	})
}

// TestInFlightLimit: beyond Config.MaxInFlight, events are refused with
// "backend busy" at once and connections too; what was accepted completes.
func TestInFlightLimit(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		release := make(chan struct{})
		started := make(chan string, 4)
		target, _ := startBackend(t, kind, &backendFuncs{
			event: func(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
				started <- r.Event
				select {
				case <-release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return &siorelayv1.EventResponse{Ack: []*siorelayv1.Arg{jsonArg(`"done"`)}}, nil
			},
		})
		rec := newRecorder()
		_, f, url := relayWith(t, relay.Config{}, hooks.Config{
			Routes:      []hooks.Route{{Namespace: "/", Target: target}},
			MaxInFlight: 2,
			Timeout:     20 * time.Second,
			Observer:    rec,
		})
		cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
		acks := make(chan []json.RawMessage, 2)
		emit := func(ev string) {
			go func() {
				ack, err := cl.EmitWithAck(ctx, "c1", 20*time.Second, ev)
				if err != nil {
					t.Error(err)
				}
				acks <- ack
			}()
		}
		emit("e1")
		if ev := <-started; ev != "e1" {
			t.Fatalf("first call %q", ev)
		}
		emit("e2") // queued behind e1 on the same socket
		waitFor(t, "two calls in flight", func() bool { return f.InFlight() == 2 })
		// Refused at once: e1 holds its slot until release.
		ack, err := cl.EmitWithAck(ctx, "c1", 10*time.Second, "e3")
		if err != nil {
			t.Fatal(err)
		}
		if got := ackError(t, ack); got != "backend busy" {
			t.Errorf("e3 ack error %q", got)
		}
		if err := cl.Add(ctx, nodetest.ClientConfig{Name: "c2"}); err != nil {
			t.Fatal(err)
		}
		if msg, _, err := cl.WaitConnectError(ctx, "c2"); err != nil || msg != "backend busy" {
			t.Errorf("c2: connect_error %q, %v", msg, err)
		}
		close(release)
		for range 2 {
			if ack := <-acks; len(ack) != 1 || string(ack[0]) != `"done"` {
				t.Errorf("accepted event's ack %s", ack)
			}
		}
		if ev := <-started; ev != "e2" {
			t.Errorf("second call %q", ev)
		}
		if rec.drop(hooks.DropBusy) != 1 || rec.call("connect/busy") != 1 || rec.call("event/ok") != 2 {
			t.Errorf("counters: calls %v drops %v", rec.calls, rec.drops)
		}
		waitFor(t, "slots released", func() bool { return f.InFlight() == 0 })
	})
}

// TestSocketQueueLimit: one socket cannot queue more than 64 events
// behind a slow call; the rest of its events are dropped as busy.
func TestSocketQueueLimit(t *testing.T) {
	ctx := testContext(t)
	release := make(chan struct{})
	got := make(chan string, 100)
	target, _ := startBackend(t, "grpc", &backendFuncs{
		event: func(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
			<-release
			got <- r.Args[0].GetJson()
			return &siorelayv1.EventResponse{}, nil
		},
	})
	rec := newRecorder()
	_, f, url := relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}, Observer: rec})
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
	// One call running, 64 queued, the 66th dropped.
	for i := range 66 {
		if err := cl.Emit(ctx, "c1", "e", i); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a dropped event", func() bool { return rec.drop(hooks.DropBusy) == 1 })
	if n := f.InFlight(); n != 65 {
		t.Errorf("in flight %d, want 65", n)
	}
	close(release)
	for i := range 65 {
		select {
		case arg := <-got:
			if arg != fmt.Sprint(i) {
				t.Fatalf("call %d had argument %s", i, arg)
			}
		case <-ctx.Done():
			t.Fatalf("only %d calls", i)
		}
	}
}

// TestCloseAfterShutdown: the relay's shutdown disconnects its sockets and
// Close waits for those Disconnect calls.
func TestCloseAfterShutdown(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		var mu sync.Mutex
		var reasons []string
		target, _ := startBackend(t, kind, &backendFuncs{
			disconnect: func(ctx context.Context, r *siorelayv1.DisconnectRequest) (*siorelayv1.DisconnectResponse, error) {
				time.Sleep(50 * time.Millisecond) // Close must wait for this
				mu.Lock()
				reasons = append(reasons, r.Reason)
				mu.Unlock()
				return &siorelayv1.DisconnectResponse{}, nil
			},
		})
		f, err := hooks.New(hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := relay.NewServer(relay.Config{OnConnect: f.Connect, OnConnection: f.Connection, OnEvent: f.Event, OnDisconnect: f.Disconnect})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		defer hs.Close()
		nodetest.StartClients(t, nodetest.ClientsConfig{URL: hs.URL, Clients: []nodetest.ClientConfig{{Name: "a"}, {Name: "b"}}})
		ctx := testContext(t)
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(reasons) != 2 || reasons[0] != "server shutting down" || reasons[1] != "server shutting down" {
			t.Errorf("disconnect reasons when Close returned: %q", reasons)
		}
		if err := f.Close(ctx); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// TestEventDuringClose sends an event while Close waits for a running
// call. Close has begun: the event must be refused (acked with an error,
// never sent to the backend), not started in a goroutine that Close may no
// longer wait for. Before the guard it was queued, and when the running
// call had ended first its goroutine was added to the WaitGroup from zero
// during Wait (a misuse the race detector reports, and that can panic
// with "WaitGroup is reused before previous Wait has returned").
func TestEventDuringClose(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		ctx := testContext(t)
		arrived := make(chan string, 4)
		release := make(chan struct{})
		target, _ := startBackend(t, kind, &backendFuncs{
			event: func(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
				arrived <- r.Event
				if r.Event == "first" {
					select {
					case <-release:
					case <-ctx.Done():
					}
				}
				return &siorelayv1.EventResponse{Ack: []*siorelayv1.Arg{jsonArg(`"ok"`)}}, nil
			},
		})
		_, f, url := relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}})
		cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "a"}, {Name: "b"}}})
		if err := cl.Emit(ctx, "a", "first"); err != nil {
			t.Fatal(err)
		}
		if ev := <-arrived; ev != "first" {
			t.Fatalf("backend got %q", ev)
		}
		closed := make(chan error, 1)
		go func() { closed <- f.Close(ctx) }()
		waitCloseWaiting(t)

		ack, err := cl.EmitWithAck(ctx, "b", 10*time.Second, "second")
		close(release)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-closed; err != nil {
			t.Fatalf("Close: %v", err)
		}
		if len(ack) != 1 || string(ack[0]) != `{"error":"backend unavailable"}` {
			t.Errorf("ack of an event sent while Close runs: %s, want {\"error\":\"backend unavailable\"}", ack)
		}
		select {
		case ev := <-arrived:
			t.Errorf("the backend got %q after Close began", ev)
		default:
		}
	})
}

// waitCloseWaiting waits until a Forwarder's Close is blocked waiting for
// the calls in flight (its goroutine in sync.WaitGroup.Wait). Close offers
// no signal for that moment, so the goroutine dump is read until it shows
// it.
func waitCloseWaiting(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	waitFor(t, "Close to wait for the running call", func() bool {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "sync.(*WaitGroup).Wait") && strings.Contains(g, "hooks.(*Forwarder).Close") {
				return true
			}
		}
		return false
	})
}
