package emittergrpc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/siorelay/siorelay/internal/emittergrpc"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/redistest"
)

const emitPath = "/siorelay.v1.EmitterService/Emit"

// wantError checks an error answer: HTTP status, Content-Type, and a JSON
// body whose code is wantCode and whose message contains wantMsg.
func wantError(t *testing.T, code int, h http.Header, body string, wantHTTP int, wantCode, wantMsg string) {
	t.Helper()
	if code != wantHTTP {
		t.Errorf("HTTP status %d, want %d (body %s)", code, wantHTTP, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var e struct{ Code, Message string }
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body is not JSON: %q", body)
	}
	if e.Code != wantCode || !strings.Contains(e.Message, wantMsg) {
		t.Errorf("error %+v, want code %q and a message containing %q", e, wantCode, wantMsg)
	}
}

// TestHTTPRequestErrors sends requests the HTTP API must refuse: each gets
// its status and a Connect error body, and nothing is published.
func TestHTTPRequestErrors(t *testing.T) {
	e := startEnv(t, func(c *emittergrpc.Config) { c.HTTPMaxBodySize = 1024 })
	sub := e.subscribe(t)
	big := `{"event":"big","args":[{"json":"\"` + strings.Repeat("x", 1100) + `\""}]}`
	json := []string{"Content-Type", "application/json"}
	with := func(h ...string) []string { return append(append([]string(nil), json...), h...) }
	for _, tt := range []struct {
		name, method, path, body string
		headers                  []string
		wantHTTP                 int
		wantCode, wantMsg        string
	}{
		{"bad JSON", "POST", emitPath, `{"event":`, json, 400, "invalid_argument", "JSON request body"},
		{"not an object", "POST", emitPath, `[1]`, json, 400, "invalid_argument", "JSON request body"},
		{"unknown field", "POST", emitPath, `{"event":"e","except":["x"]}`, json, 400, "invalid_argument", "except"},
		{"wrong field type", "POST", emitPath, `{"event":1}`, json, 400, "invalid_argument", "event"},
		{"bad base64", "POST", emitPath, `{"event":"e","args":[{"binary":"!!"}]}`, json, 400, "invalid_argument", "binary"},
		{"both json and binary", "POST", emitPath, `{"event":"e","args":[{"json":"1","binary":"AQ=="}]}`, json, 400, "invalid_argument", "oneof"},
		{"invalid proto", "POST", emitPath, "\xff\xff\xff", []string{"Content-Type", "application/proto"}, 400, "invalid_argument", "protobuf request body"},
		{"reserved event", "POST", emitPath, `{"event":"connect"}`, json, 400, "invalid_argument", `"connect" is reserved`},
		{"empty body is the empty message", "POST", "/siorelay.v1.EmitterService/ServerSideEmit", ``, json, 400, "invalid_argument", "event name is empty"},
		{"oversized body", "POST", emitPath, big, json, 413, "resource_exhausted", "larger than 1024 bytes"},
		{"unknown method", "POST", "/siorelay.v1.EmitterService/Nope", `{}`, json, 404, "unimplemented", "unknown method"},
		{"unknown service", "POST", "/siorelay.v9.Other/Emit", `{}`, json, 404, "unimplemented", "unknown method"},
		{"root", "POST", "/", `{}`, json, 404, "unimplemented", "unknown method"},
		{"streaming method", "POST", "/siorelay.v1.EmitterService/EmitStream", `{}`, json, 501, "unimplemented", "streaming method"},
		{"GET", "GET", emitPath, ``, nil, 405, "unimplemented", "use POST"},
		{"no Content-Type", "POST", emitPath, `{"event":"e"}`, nil, 415, "invalid_argument", "missing Content-Type"},
		{"text/plain", "POST", emitPath, `{"event":"e"}`, []string{"Content-Type", "text/plain"}, 415, "invalid_argument", "unsupported Content-Type"},
		{"form", "POST", emitPath, `event=e`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "invalid_argument", "unsupported Content-Type"},
		{"latin-1", "POST", emitPath, `{"event":"e"}`, []string{"Content-Type", "application/json; charset=iso-8859-1"}, 415, "invalid_argument", "charset"},
		{"gzip", "POST", emitPath, `{"event":"e"}`, with("Content-Encoding", "gzip"), 501, "unimplemented", "Content-Encoding"},
		{"Connect version 2", "POST", emitPath, `{"event":"e"}`, with("Connect-Protocol-Version", "2"), 400, "invalid_argument", "Connect-Protocol-Version"},
		{"bad timeout", "POST", emitPath, `{"event":"e"}`, with("Connect-Timeout-Ms", "soon"), 400, "invalid_argument", "Connect-Timeout-Ms"},
		{"timeout too long", "POST", emitPath, `{"event":"e"}`, with("Connect-Timeout-Ms", "12345678901"), 400, "invalid_argument", "Connect-Timeout-Ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := e.do(t, tt.method, tt.path, tt.body, tt.headers...)
			wantError(t, code, h, body, tt.wantHTTP, tt.wantCode, tt.wantMsg)
			switch code {
			case 405:
				if h.Get("Allow") != "POST" {
					t.Errorf("405 without Allow: POST: %v", h)
				}
			case 415:
				if h.Get("Accept-Post") == "" {
					t.Errorf("415 without Accept-Post: %v", h)
				}
			}
			e.expectNothingBefore(t, sub)
		})
	}
}

// TestHTTPServesEveryUnaryMethod: every unary method of the generated
// service description is reachable over HTTP (none answers 404), each
// streaming one answers 501; no list of methods is kept by hand.
func TestHTTPServesEveryUnaryMethod(t *testing.T) {
	e := startEnv(t)
	desc := siorelayv1.EmitterService_ServiceDesc
	for _, m := range desc.Methods {
		code, _, body := e.post(t, "/"+desc.ServiceName+"/"+m.MethodName, `{"target":{"namespace":"no-slash"}}`, "Content-Type", "application/json")
		if code == 404 || code == 200 {
			t.Errorf("%s: %d %s, want the method's own answer to an invalid request", m.MethodName, code, body)
		}
	}
	for _, s := range desc.Streams {
		code, h, body := e.post(t, "/"+desc.ServiceName+"/"+s.StreamName, `{}`, "Content-Type", "application/json")
		wantError(t, code, h, body, 501, "unimplemented", "streaming method")
	}
}

// TestHTTPEncodings sends valid requests in each accepted form.
func TestHTTPEncodings(t *testing.T) {
	must := mustMessage(t)
	e := startEnv(t)
	sub := e.subscribe(t)

	// JSON with a charset, and the Connect headers a Connect client sends.
	code, h, body := e.post(t, emitPath, `{"event":"a","args":[{"binary":"AQID"}]}`,
		"Content-Type", "application/json; charset=utf-8", "Connect-Protocol-Version", "1", "Connect-Timeout-Ms", "5000")
	if code != 200 || body != "{}" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON Emit: %d %q %v", code, body, h)
	}
	if got, want := sub.next(1)[0], msg(must(e.em.EmitMessage("a", []byte{1, 2, 3}))); got != want {
		t.Fatalf("published %q, want %q", got, want)
	}

	// Binary protobuf both ways.
	req, _ := proto.Marshal(&siorelayv1.EmitBatchRequest{Events: []*siorelayv1.EmitRequest{{Event: "b"}, {Event: "c"}}})
	code, h, body = e.post(t, "/siorelay.v1.EmitterService/EmitBatch", string(req), "Content-Type", "application/proto")
	var resp siorelayv1.EmitBatchResponse
	if code != 200 || h.Get("Content-Type") != "application/proto" || proto.Unmarshal([]byte(body), &resp) != nil || resp.GetCount() != 2 {
		t.Fatalf("proto EmitBatch: %d %q %v", code, body, h)
	}
	if got, want := sub.next(2), []published{msg(must(e.em.EmitMessage("b"))), msg(must(e.em.EmitMessage("c")))}; got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("published %q, want %q", got, want)
	}

	// A uint64 answer is a JSON string, as protobuf JSON has it.
	code, _, body = e.post(t, "/siorelay.v1.EmitterService/EmitBatch", `{"events":[{"event":"d"}]}`, "Content-Type", "application/json")
	if code != 200 || body != `{"count":"1"}` {
		t.Fatalf("JSON EmitBatch: %d %q", code, body)
	}
	sub.next(1)
	e.expectNothingBefore(t, sub)
}

// TestHTTPAuth: the token is checked before anything else, /healthz and
// the health service need none.
func TestHTTPAuth(t *testing.T) {
	must := mustMessage(t)
	e := startEnv(t, func(c *emittergrpc.Config) { c.Token = "s3cret" })
	sub := e.subscribe(t)
	ct := []string{"Content-Type", "application/json"}
	for _, tt := range []struct {
		name, auth, body, msg string
	}{
		{"missing", "", `{"event":"e"}`, "missing token"},
		{"wrong", "Bearer s3cre", `{"event":"e"}`, "wrong token"},
		{"not bearer", "Basic s3cret", `{"event":"e"}`, "Bearer <token>"},
		{"missing, bad JSON", "", `{"event":`, "missing token"},
		{"wrong, reserved event", "Bearer nope", `{"event":"connect"}`, "wrong token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := ct
			if tt.auth != "" {
				h = append(h, "Authorization", tt.auth)
			}
			code, hdr, body := e.post(t, emitPath, tt.body, h...)
			wantError(t, code, hdr, body, 401, "unauthenticated", tt.msg)
		})
	}
	// The generated client over HTTP sees Unauthenticated, like over gRPC.
	_, err := e.http.Emit(ctxT(t), &siorelayv1.EmitRequest{Event: "e"})
	wantCode(t, err, codes.Unauthenticated)

	if code, _, body := e.do(t, "GET", "/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("/healthz without token: %d %q", code, body)
	}
	if code, _, body := e.post(t, "/grpc.health.v1.Health/Check", `{}`, ct...); code != 200 || body != `{"status":"SERVING"}` {
		t.Errorf("Health/Check without token: %d %q", code, body)
	}
	code, _, body := e.post(t, emitPath, `{"event":"secured"}`, "Content-Type", "application/json", "Authorization", "Bearer s3cret")
	if code != 200 || body != "{}" {
		t.Fatalf("Emit with the token: %d %q", code, body)
	}
	if got, want := sub.next(1)[0], msg(must(e.em.EmitMessage("secured"))); got != want {
		t.Fatalf("published %q, want %q", got, want)
	}
	e.client = siorelayv1.NewEmitterServiceClient(authConn{e.conn, "Bearer s3cret"})
	e.expectNothingBefore(t, sub)
}

// TestHTTPDeadline: Connect-Timeout-Ms bounds the call on the server,
// which answers 504 deadline_exceeded while Redis hangs.
func TestHTTPDeadline(t *testing.T) {
	e := startEnv(t)
	e.redis.Pause()
	defer e.redis.Resume()
	start := time.Now()
	code, h, body := e.post(t, emitPath, `{"event":"slow"}`, "Content-Type", "application/json", "Connect-Timeout-Ms", "200")
	wantError(t, code, h, body, 504, "deadline_exceeded", "Emit: deadline exceeded")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %v", d)
	}
}

// TestHTTPHealthz follows /healthz with a real redis-server stopped and
// restarted.
func TestHTTPHealthz(t *testing.T) {
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	e := startEnvOn(t, rs, rdb, func(c *emittergrpc.Config) {
		c.PingInterval = 50 * time.Millisecond
		c.Ping = func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
	})
	healthz := func() int {
		code, h, _ := e.do(t, "GET", "/healthz", "")
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("/healthz Cache-Control %q", h.Get("Cache-Control"))
		}
		return code
	}
	waitFor(t, func() bool { return healthz() == 200 })
	e.redis.Stop()
	waitFor(t, func() bool { return healthz() == 503 })
	code, _, body := e.post(t, "/grpc.health.v1.Health/Check", `{"service":"siorelay.v1.EmitterService"}`, "Content-Type", "application/json")
	if code != 200 || body != `{"status":"NOT_SERVING"}` {
		t.Errorf("Health/Check while Redis is down: %d %q", code, body)
	}
	e.redis.Restart()
	waitFor(t, func() bool { return healthz() == 200 })
}

// TestHTTPConnectClient calls the HTTP API with connect-go, the Connect
// protocol's reference client, in both of its encodings: the API is the
// unary Connect protocol, errors and all.
func TestHTTPConnectClient(t *testing.T) {
	must := mustMessage(t)
	e := startEnv(t, func(c *emittergrpc.Config) { c.Token = "tok" })
	sub := e.subscribe(t)
	auth := connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, r connect.AnyRequest) (connect.AnyResponse, error) {
			r.Header().Set("Authorization", "Bearer tok")
			return next(ctx, r)
		}
	}))
	var emits []*connect.Client[siorelayv1.EmitRequest, siorelayv1.EmitResponse]
	for _, enc := range []struct {
		name string
		opts []connect.ClientOption
	}{{"json", []connect.ClientOption{connect.WithProtoJSON()}}, {"proto", nil}} {
		t.Run(enc.name, func(t *testing.T) {
			emit := connect.NewClient[siorelayv1.EmitRequest, siorelayv1.EmitResponse](http.DefaultClient, e.httpURL+emitPath, append(enc.opts, auth)...)
			batch := connect.NewClient[siorelayv1.EmitBatchRequest, siorelayv1.EmitBatchResponse](http.DefaultClient,
				e.httpURL+"/siorelay.v1.EmitterService/EmitBatch", append(enc.opts, auth)...)
			noAuth := connect.NewClient[siorelayv1.EmitRequest, siorelayv1.EmitResponse](http.DefaultClient, e.httpURL+emitPath, enc.opts...)
			health := connect.NewClient[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse](http.DefaultClient,
				e.httpURL+"/grpc.health.v1.Health/Check", enc.opts...)

			if _, err := emit.CallUnary(ctxT(t), connect.NewRequest(&siorelayv1.EmitRequest{Event: "c-" + enc.name, Args: []*siorelayv1.Arg{jsonArg(`{"a":1}`)}})); err != nil {
				t.Fatalf("Emit: %v", err)
			}
			if got, want := sub.next(1)[0], msg(must(e.em.EmitMessage("c-"+enc.name, raw(`{"a":1}`)))); got != want {
				t.Fatalf("published %q, want %q", got, want)
			}
			r, err := batch.CallUnary(ctxT(t), connect.NewRequest(&siorelayv1.EmitBatchRequest{Events: []*siorelayv1.EmitRequest{{Event: "x"}}}))
			if err != nil || r.Msg.GetCount() != 1 {
				t.Fatalf("EmitBatch: %v, %v", r, err)
			}
			sub.next(1)

			_, err = emit.CallUnary(ctxT(t), connect.NewRequest(&siorelayv1.EmitRequest{Event: "disconnect"}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "reserved") {
				t.Errorf("reserved event: %v, want invalid_argument", err)
			}
			_, err = noAuth.CallUnary(ctxT(t), connect.NewRequest(&siorelayv1.EmitRequest{Event: "e"}))
			if connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Errorf("no token: %v, want unauthenticated", err)
			}
			h, err := health.CallUnary(ctxT(t), connect.NewRequest(&healthpb.HealthCheckRequest{}))
			if err != nil || h.Msg.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("Health/Check: %v, %v", h, err)
			}
			emits = append(emits, emit)
		})
	}
	e.client = siorelayv1.NewEmitterServiceClient(authConn{e.conn, "Bearer tok"})
	e.expectNothingBefore(t, sub)

	// A deadline travels as Connect-Timeout-Ms: Redis hangs, the server
	// gives up in time. (The event may be published once Redis resumes.)
	e.redis.Pause()
	defer e.redis.Resume()
	for _, emit := range emits {
		ctx, cancel := context.WithTimeout(ctxT(t), 300*time.Millisecond)
		_, err := emit.CallUnary(ctx, connect.NewRequest(&siorelayv1.EmitRequest{Event: "late"}))
		cancel()
		if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
			t.Errorf("with a deadline while Redis hangs: %v, want deadline_exceeded", err)
		}
	}
}
