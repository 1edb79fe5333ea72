package emittergrpc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

func TestConnectCode(t *testing.T) {
	want := []string{"ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
		"permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented",
		"internal", "unavailable", "data_loss", "unauthenticated"}
	for c, w := range want {
		if got := connectCode(codes.Code(c)); got != w {
			t.Errorf("connectCode(%v) = %q, want %q", codes.Code(c), got, w)
		}
	}
}

// headerService is a one-method service that sets response metadata the
// way a gRPC method does, with grpc.SetHeader and grpc.SetTrailer.
var headerService = grpc.ServiceDesc{
	ServiceName: "test.Headers",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Set",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(emptypb.Empty)); err != nil {
				return nil, err
			}
			if grpc.ServerTransportStreamFromContext(ctx).Method() != "/test.Headers/Set" {
				return nil, status.Error(codes.Internal, "wrong method name")
			}
			md, _ := metadata.FromIncomingContext(ctx)
			if err := grpc.SetHeader(ctx, metadata.Pairs("x-echo", md.Get("x-request-id")[0], "x-data-bin", "\x01\x02")); err != nil {
				return nil, err
			}
			if err := grpc.SetTrailer(ctx, metadata.Pairs("x-done", "yes")); err != nil {
				return nil, err
			}
			if md.Get("x-fail") != nil {
				st, err := status.New(codes.DeadlineExceeded, "partial").WithDetails(&siorelayv1.AllRoomsResponse{Rooms: []string{"a"}})
				if err != nil {
					return nil, err
				}
				return nil, st.Err()
			}
			return &emptypb.Empty{}, nil
		},
	}},
}

// TestHTTPMetadata: request headers reach the method as incoming metadata,
// and what it sets comes back as headers, on success and on error; an
// error's details come as Connect details with their JSON.
func TestHTTPMetadata(t *testing.T) {
	api := newHTTPAPI(nil, 1024, nil, func() bool { return true })
	api.register(&headerService, nil)
	for _, fail := range []bool{false, true} {
		req := httptest.NewRequest("POST", "/test.Headers/Set", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", "abc")
		if fail {
			req.Header.Set("X-Fail", "1")
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		wantCode, wantBody := 200, "{}"
		if fail {
			wantCode = 504
			wantBody = `{"code":"deadline_exceeded","message":"partial","details":[{"type":"siorelay.v1.AllRoomsResponse","value":"CgFh","debug":{"rooms":["a"]}}]}`
		}
		h := rec.Result().Header
		if rec.Code != wantCode || rec.Body.String() != wantBody || h.Get("X-Echo") != "abc" || h.Get("X-Data-Bin") != "AQI" || h.Get("Trailer-X-Done") != "yes" {
			t.Errorf("fail=%v: %d %s, headers %v", fail, rec.Code, rec.Body.String(), h)
		}
	}
}

// FuzzHTTPAPI sends arbitrary bodies, content types and paths to the HTTP
// API over a backend that accepts everything: every answer is 200 with a
// response, or a known error status with a Connect error body; nothing
// panics or hangs.
func FuzzHTTPAPI(f *testing.F) {
	api := newHTTPAPI(newBearer("tok"), 4096, nil, func() bool { return true })
	api.register(&siorelayv1.EmitterService_ServiceDesc, NewService(nopBackend{}))
	for _, s := range []struct{ path, ct, body string }{
		{"/siorelay.v1.EmitterService/Emit", "application/json", `{"event":"e","args":[{"json":"1"},{"binary":"AQID"}]}`},
		{"/siorelay.v1.EmitterService/EmitBatch", "application/json", `{"events":[{"event":"a","target":{"namespace":"/x","rooms":["r"]}}]}`},
		{"/siorelay.v1.EmitterService/SocketsJoin", "application/json; charset=utf-8", `{"target":{"rooms":["a"]},"rooms":["b"]}`},
		{"/siorelay.v1.EmitterService/ServerSideEmit", "application/proto", "\x12\x01e"},
		{"/siorelay.v1.EmitterService/EmitStream", "application/json", `{}`},
		{"/siorelay.v1.EmitterService/Emit", "text/plain", `{`},
		{"/x", "application/json", `{"event":"\ud800"}`},
	} {
		f.Add(s.path, s.ct, s.body)
	}
	known := map[int]bool{200: true, 400: true, 401: true, 404: true, 413: true, 415: true, 501: true}
	f.Fuzz(func(t *testing.T, path, contentType, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.URL.Path = path
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if !known[rec.Code] {
			t.Fatalf("status %d for %q %q %q: %s", rec.Code, path, contentType, body, rec.Body.String())
		}
		if rec.Code == 200 {
			return
		}
		var e struct{ Code, Message string }
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
			t.Fatalf("error %d with body %q", rec.Code, rec.Body.String())
		}
	})
}

// nopBackend accepts everything and delivers nothing. The embedded
// (nil) Backend only makes it compile while Backend grows: a method not
// overridden here panics, so override each one the fuzz target reaches.
type nopBackend struct{ Backend }

func (nopBackend) Emit(context.Context, Event) error                           { return nil }
func (nopBackend) EmitBatch(context.Context, []Event) error                    { return nil }
func (nopBackend) SocketsJoin(context.Context, Target, []string) error         { return nil }
func (nopBackend) SocketsLeave(context.Context, Target, []string) error        { return nil }
func (nopBackend) DisconnectSockets(context.Context, Target, bool) error       { return nil }
func (nopBackend) ServerSideEmit(context.Context, string, string, []any) error { return nil }

var _ http.Handler = (*httpAPI)(nil)
