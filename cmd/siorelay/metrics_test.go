package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws/wsutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/siorelay/siorelay/emitter"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/redistest"

	"github.com/siorelay/siorelay/internal/proctest"
)

// scrape GETs a /metrics URL, checks it with promlint (the checks of
// `promtool check metrics`) and parses it.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return mfs
}

// value returns the value of the series of name with exactly the labels
// kv (name, value pairs), and whether it exists. For a histogram it is the
// sample count.
func value(mfs map[string]*dto.MetricFamily, name string, kv ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
series:
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel())*2 != len(kv) {
			continue
		}
		for _, l := range m.GetLabel() {
			found := false
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == l.GetName() && kv[i+1] == l.GetValue() {
					found = true
				}
			}
			if !found {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// metricCheck is one expected series value.
type metricCheck struct {
	name   string
	labels []string
	want   float64
}

func m(name string, want float64, labels ...string) metricCheck {
	return metricCheck{name, labels, want}
}

// expectMetrics scrapes url until every check holds (counters settle
// asynchronously, e.g. after a client goes away), failing after 10s with
// what differs.
func expectMetrics(t *testing.T, url string, checks ...metricCheck) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mfs := scrape(t, url)
		var bad []string
		for _, c := range checks {
			got, ok := value(mfs, c.name, c.labels...)
			if !ok || got != c.want {
				if !ok {
					bad = append(bad, fmt.Sprintf("%s%q missing, want %v", c.name, c.labels, c.want))
				} else {
					bad = append(bad, fmt.Sprintf("%s%q = %v, want %v", c.name, c.labels, got, c.want))
				}
			}
		}
		if len(bad) == 0 {
			return mfs
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics of %s:\n\t%s", url, strings.Join(bad, "\n\t"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeMetrics runs `serve` with a real redis-server, a real
// WebSocket client, the gRPC EmitterService and a Go emitter, and checks
// that /metrics on the main address moves as the traffic says.
func TestServeMetrics(t *testing.T) {
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	url, stdout, _, _ := startServeOut(t, "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--redis", "redis://"+rs.Addr(), "--key", key, "--namespaces", "/,/chat", "--demo=false", "--log-level", "error")
	base := strings.TrimSuffix(url, "/socket.io/")
	metricsURL := base + "/metrics"
	waitStatus(t, base+"/readyz", http.StatusOK)
	grpcAddr := afterLine(t, stdout, "serving gRPC EmitterService on ")

	mfs := expectMetrics(t, metricsURL,
		m("siorelay_ready", 1),
		m("siorelay_connections", 0, "transport", "websocket"),
		m("siorelay_connections", 0, "transport", "polling"),
		m("siorelay_sockets", 0, "namespace", "/"),
		m("siorelay_sockets", 0, "namespace", "/chat"),
		m("siorelay_redis_reconnects_total", 0),
		m("siorelay_redis_errors_total", 0, "op", "publish"),
	)
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if mfs[name] == nil {
			t.Errorf("standard metric %s missing", name)
		}
	}

	// A client joins "/" and sends an event.
	conn, rd := dialSocketIO(t, url)
	in, inBytes := 1.0, 1.0 // "40"
	out, outBytes := 1.0, 0.0
	outBytes += float64(len(`0{"sid":"`) + 20 + len(`"}`))
	ev := `42["chat","hi"]`
	if err := wsutil.WriteClientText(conn, []byte(ev)); err != nil {
		t.Fatal(err)
	}
	in, inBytes = in+1, inBytes+float64(len(ev)-1)
	expect := func(want string) {
		t.Helper()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		for {
			msg, err := readText(rd)
			if err != nil {
				t.Fatalf("read: %v (want %q)", err, want)
			}
			if string(msg) == "2" {
				continue
			}
			if string(msg) != want {
				t.Fatalf("got %q; want %q", msg, want)
			}
			out, outBytes = out+1, outBytes+float64(len(msg)-1)
			return
		}
	}

	// gRPC: one good Emit, one InvalidArgument.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := siorelayv1.NewEmitterServiceClient(dialInsecure(t, grpcAddr))
	if _, err := client.Emit(ctx, &siorelayv1.EmitRequest{Event: "hello", Args: []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: "1"}}}}); err != nil {
		t.Fatal(err)
	}
	expect(`42["hello",1]`)
	if _, err := client.Emit(ctx, &siorelayv1.EmitRequest{Event: "connect"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Emit of a reserved event: %v; want InvalidArgument", err)
	}
	// A broadcast from another member of the cluster, through Redis.
	em, err := emitter.New(rs.Client(t), emitter.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Emit(ctx, "fromredis"); err != nil {
		t.Fatal(err)
	}
	expect(`42["fromredis"]`)

	const emit = "/siorelay.v1.EmitterService/Emit"
	expectMetrics(t, metricsURL,
		m("siorelay_connections", 1, "transport", "websocket"),
		m("siorelay_connections_opened_total", 1, "transport", "websocket"),
		m("siorelay_connections_opened_total", 0, "transport", "polling"),
		m("siorelay_sockets", 1, "namespace", "/"),
		m("siorelay_sockets", 0, "namespace", "/chat"),
		m("siorelay_socket_connects_total", 1, "namespace", "/"),
		m("siorelay_packets_received_total", in),
		m("siorelay_received_bytes_total", inBytes),
		m("siorelay_packets_sent_total", out),
		m("siorelay_sent_bytes_total", outBytes),
		m("siorelay_broadcasts_total", 2),
		m("siorelay_deliveries_total", 2),
		m("siorelay_redis_broadcasts_received_total", 1),
		m("siorelay_grpc_calls_total", 1, "method", emit, "code", "OK"),
		m("siorelay_grpc_calls_total", 1, "method", emit, "code", "InvalidArgument"),
		m("siorelay_grpc_call_duration_seconds", 2, "method", emit),
		m("siorelay_redis_errors_total", 0, "op", "publish"),
	)

	// The client goes away.
	conn.Close()
	expectMetrics(t, metricsURL,
		m("siorelay_connections", 0, "transport", "websocket"),
		m("siorelay_connections_closed_total", 1, "reason", "transport close"),
		m("siorelay_socket_disconnects_total", 1, "namespace", "/", "reason", "transport close"),
		m("siorelay_socket_disconnects_total", 0, "namespace", "/", "reason", "ping timeout"),
		m("siorelay_sockets", 0, "namespace", "/"),
	)

	// Redis goes away: not ready, the subscription is lost, a publish
	// fails; it comes back: reconnected.
	rs.Stop()
	expectMetrics(t, metricsURL,
		m("siorelay_ready", 0),
		m("siorelay_redis_subscription_lost_total", 1),
	)
	if _, err := client.Emit(ctx, &siorelayv1.EmitRequest{Event: "lost"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("Emit with Redis down: %v; want Unavailable", err)
	}
	expectMetrics(t, metricsURL,
		m("siorelay_redis_errors_total", 1, "op", "publish"),
		m("siorelay_grpc_calls_total", 1, "method", emit, "code", "Unavailable"),
	)
	rs.Restart()
	expectMetrics(t, metricsURL,
		m("siorelay_ready", 1),
		m("siorelay_redis_reconnects_total", 1),
		m("siorelay_redis_subscription_lost_total", 1),
	)
}

// TestServeMetricsFlags: --metrics-addr moves /metrics to its own address,
// --metrics=false removes it, and the two together are a usage error.
func TestServeMetricsFlags(t *testing.T) {
	url, stdout, _, _ := startServeOut(t, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-level", "error")
	base := strings.TrimSuffix(url, "/socket.io/")
	own := afterLine(t, stdout, "serving metrics on ")
	expectMetrics(t, own, m("siorelay_connections", 0, "transport", "websocket"))
	if code, _ := get(t, base+"/metrics"); code != http.StatusNotFound {
		t.Errorf("main address /metrics with --metrics-addr: %d; want 404", code)
	}

	t.Setenv("SIORELAY_METRICS", "false")
	url, _, _, _ = startServeOut(t, "--addr", "127.0.0.1:0", "--log-level", "error")
	if code, _ := get(t, strings.TrimSuffix(url, "/socket.io/")+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics with SIORELAY_METRICS=false: %d; want 404", code)
	}
	var stderr proctest.Buffer
	err := runServe(context.Background(), []string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, io.Discard, &stderr)
	if _, ok := err.(usageError); !ok {
		t.Errorf("--metrics=false with --metrics-addr: %v; want a usage error", err)
	}
}

// TestEmitterMetrics runs the sidecar with --metrics-addr and a real
// redis-server and checks its gRPC calls by method and code (refused,
// invalid, good, streamed, and failed once Redis is gone) and its Redis
// publish errors.
func TestEmitterMetrics(t *testing.T) {
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	sc := startSidecar(t, "--redis", rs.URL(), "--key", key, "--grpc-addr", "127.0.0.1:0",
		"--metrics-addr", "127.0.0.1:0", "--token", "tok", "--log-level", "error")
	metricsURL := afterLine(t, sc.stdout, "serving metrics on ")
	client := siorelayv1.NewEmitterServiceClient(dialInsecure(t, sc.addr))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	actx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer tok")
	good := &siorelayv1.EmitRequest{Event: "hello"}

	if _, err := client.Emit(ctx, good); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("Emit without token: %v; want Unauthenticated", err)
	}
	if _, err := client.Emit(actx, &siorelayv1.EmitRequest{Event: "connect"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Emit of a reserved event: %v; want InvalidArgument", err)
	}
	if _, err := client.Emit(actx, good); err != nil {
		t.Fatal(err)
	}
	st, err := client.EmitStream(actx)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := st.Send(&siorelayv1.EmitStreamRequest{Events: []*siorelayv1.EmitRequest{good, good}}); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := st.CloseAndRecv(); err != nil || res.Count != 6 {
		t.Fatalf("EmitStream: %v, %v; want 6 events", res, err)
	}
	const emit, stream = "/siorelay.v1.EmitterService/Emit", "/siorelay.v1.EmitterService/EmitStream"
	expectMetrics(t, metricsURL,
		m("siorelay_grpc_calls_total", 1, "method", emit, "code", "Unauthenticated"),
		m("siorelay_grpc_calls_total", 1, "method", emit, "code", "InvalidArgument"),
		m("siorelay_grpc_calls_total", 1, "method", emit, "code", "OK"),
		m("siorelay_grpc_calls_total", 1, "method", stream, "code", "OK"),
		m("siorelay_grpc_stream_messages_received_total", 3, "method", stream),
		m("siorelay_grpc_call_duration_seconds", 3, "method", emit),
		m("siorelay_redis_errors_total", 0, "op", "publish"),
	)

	rs.Stop()
	if _, err := client.Emit(actx, good); status.Code(err) != codes.Unavailable {
		t.Fatalf("Emit with Redis stopped: %v; want Unavailable", err)
	}
	mfs := expectMetrics(t, metricsURL,
		m("siorelay_grpc_calls_total", 1, "method", emit, "code", "Unavailable"),
	)
	if v, _ := value(mfs, "siorelay_redis_errors_total", "op", "publish"); v < 1 {
		t.Errorf("redis publish errors = %v after a failed publish; want at least 1", v)
	}
	if mfs["go_goroutines"] == nil || mfs["process_cpu_seconds_total"] == nil {
		t.Error("standard Go and process metrics missing")
	}
}

// TestServeHookMetrics: with --hook, the backend calls `serve` makes are
// counted by hook and outcome and timed, and an event the flags do not
// forward is counted as dropped.
func TestServeHookMetrics(t *testing.T) {
	b := &hookBackend{via: "grpc"}
	url, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--log-level", "error", "--demo=false",
		"--hook", "/="+startGRPCBackend(t, b), "--hook-events", "ask", "--hook-timeout", "5s")
	metricsURL := strings.TrimSuffix(url, "/socket.io/") + "/metrics"
	conn, rd := dialSocketIO(t, url) // CONNECT: the connect hook allows it
	if err := wsutil.WriteClientText(conn, []byte(`421["ask",1]`)); err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	for {
		msg, err := readText(rd)
		if err != nil {
			t.Fatalf("waiting for the ack: %v", err)
		}
		if strings.HasPrefix(string(msg), "431[") {
			break
		}
	}
	if err := wsutil.WriteClientText(conn, []byte(`42["unlisted"]`)); err != nil {
		t.Fatal(err)
	}
	expectMetrics(t, metricsURL,
		m("siorelay_hook_calls_total", 1, "hook", "connect", "outcome", "ok"),
		m("siorelay_hook_calls_total", 1, "hook", "event", "outcome", "ok"),
		m("siorelay_hook_call_duration_seconds", 1, "hook", "connect"),
		m("siorelay_hook_call_duration_seconds", 1, "hook", "event"),
		m("siorelay_hook_events_dropped_total", 1, "reason", "not_forwarded"),
		m("siorelay_socket_connects_total", 1, "namespace", "/"),
	)
}
