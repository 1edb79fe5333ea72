package emittergrpc

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// DefaultHTTPMaxBodySize is the largest HTTP API request body accepted
// when [Config.HTTPMaxBodySize] is zero: gRPC's default largest message.
const DefaultHTTPMaxBodySize = 4 << 20

// httpAPI serves the unary methods of gRPC services over HTTP/1.1 and
// HTTP/2, in the unary form of the Connect protocol: POST
// /<package.Service>/<Method> with the request message as protobuf JSON
// (Content-Type application/json) or binary protobuf (application/proto),
// answered by 200 and the response message in the same encoding, or by an
// error status and a JSON body {"code","message","details"}.
//
// It dispatches through the services' grpc.ServiceDesc: every unary method
// of a registered service is served as it is added to the .proto, with no
// code of its own; streaming methods are not (they answer Unimplemented).
//
// It is immutable once built; ServeHTTP is safe for concurrent use.
type httpAPI struct {
	methods map[string]httpMethod // by path, "/siorelay.v1.EmitterService/Emit"
	streams map[string]bool       // paths of streaming methods
	auth    *bearer               // nil: no token required
	maxBody int64
	healthy func() bool                                           // the health service's overall status is SERVING
	observe func(method string, code codes.Code, d time.Duration) // nil: none
}

// httpMethod is one unary method and the implementation that serves it.
type httpMethod struct {
	impl    any
	handler grpc.MethodHandler
}

func newHTTPAPI(auth *bearer, maxBody int64, observe func(string, codes.Code, time.Duration), healthy func() bool) *httpAPI {
	return &httpAPI{methods: map[string]httpMethod{}, streams: map[string]bool{}, auth: auth, maxBody: maxBody, observe: observe, healthy: healthy}
}

// register serves desc's unary methods with impl, as
// grpc.Server.RegisterService does for gRPC.
func (a *httpAPI) register(desc *grpc.ServiceDesc, impl any) {
	for _, m := range desc.Methods {
		a.methods["/"+desc.ServiceName+"/"+m.MethodName] = httpMethod{impl: impl, handler: m.Handler}
	}
	for _, s := range desc.Streams {
		a.streams["/"+desc.ServiceName+"/"+s.StreamName] = true
	}
}

// ServeHTTP implements http.Handler.
func (a *httpAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		a.serveHealth(w)
		return
	}
	if a.observe == nil {
		a.serveCall(w, r)
		return
	}
	start := time.Now()
	code := a.serveCall(w, r)
	method := r.URL.Path
	if _, ok := a.methods[method]; !ok && !a.streams[method] {
		method = "unknown" // the label stays bounded by the registered methods
	}
	a.observe(method, code, time.Since(start))
}

// serveCall serves one call of a method and returns its status code.
func (a *httpAPI) serveCall(w http.ResponseWriter, r *http.Request) codes.Code {
	m, ok := a.methods[r.URL.Path]
	if !ok {
		if a.streams[r.URL.Path] {
			return writeError(w, http.StatusNotImplemented, status.Newf(codes.Unimplemented,
				"%s is a streaming method, served over gRPC only (the unary methods are served over HTTP)", r.URL.Path))
		}
		return writeError(w, http.StatusNotFound, status.Newf(codes.Unimplemented, "unknown method %q: POST /siorelay.v1.EmitterService/<Method>", r.URL.Path))
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return writeError(w, http.StatusMethodNotAllowed, status.Newf(codes.Unimplemented, "method %s not allowed: use POST", r.Method))
	}
	c, err := codecFor(r.Header.Get("Content-Type"))
	if err != nil {
		w.Header().Set("Accept-Post", "application/json, application/proto")
		return writeError(w, http.StatusUnsupportedMediaType, status.New(codes.InvalidArgument, err.Error()))
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		w.Header().Set("Accept-Encoding", "identity")
		return writeStatus(w, status.Newf(codes.Unimplemented, "Content-Encoding %q is not supported: send the body uncompressed", enc))
	}
	if v := r.Header.Get("Connect-Protocol-Version"); v != "" && v != "1" {
		return writeStatus(w, status.Newf(codes.InvalidArgument, "Connect-Protocol-Version %q is not supported (want 1)", v))
	}
	ctx := r.Context()
	if t := r.Header.Get("Connect-Timeout-Ms"); t != "" {
		ms, err := strconv.ParseUint(t, 10, 64)
		if err != nil || len(t) > 10 {
			return writeStatus(w, status.Newf(codes.InvalidArgument, "Connect-Timeout-Ms %q: want a positive integer of at most 10 digits", t))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
		defer cancel()
	}
	ctx = metadata.NewIncomingContext(ctx, incomingMetadata(r.Header))
	// The token is checked before the body is read: an unauthenticated
	// caller learns nothing about its request.
	if a.auth != nil {
		if err := a.auth.check(ctx, r.URL.Path); err != nil {
			return writeStatus(w, status.Convert(err))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	if err != nil {
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return writeError(w, http.StatusRequestEntityTooLarge, status.Newf(codes.ResourceExhausted, "request body larger than %d bytes", mbe.Limit))
		}
		return writeStatus(w, status.Newf(codes.InvalidArgument, "reading the request body: %v", err))
	}
	st := &httpStream{method: r.URL.Path}
	ctx = grpc.NewContextWithServerTransportStream(ctx, st)
	dec := func(v any) error {
		msg, ok := v.(proto.Message)
		if !ok {
			return status.Errorf(codes.Internal, "request type %T is not a protobuf message", v)
		}
		if err := c.unmarshal(body, msg); err != nil {
			return status.Errorf(codes.InvalidArgument, "%s request body: %v", c.name, err)
		}
		return nil
	}
	resp, err := m.handler(m.impl, ctx, dec, nil)
	st.writeHeaders(w.Header())
	if err != nil {
		return writeStatus(w, status.Convert(err))
	}
	msg, ok := resp.(proto.Message)
	if !ok {
		return writeStatus(w, status.Newf(codes.Internal, "response type %T is not a protobuf message", resp))
	}
	out, err := c.marshal(msg)
	if err != nil {
		return writeStatus(w, status.Newf(codes.Internal, "encoding the response: %v", err))
	}
	w.Header().Set("Content-Type", c.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return codes.OK
}

// serveHealth answers GET /healthz for probes that speak plain HTTP: 200
// while the health service says SERVING, 503 otherwise. It needs no token.
func (a *httpAPI) serveHealth(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !a.healthy() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "not serving\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// codecFor returns the codec of a request's Content-Type.
func codecFor(contentType string) (*codec, error) {
	if contentType == "" {
		return nil, errors.New("missing Content-Type: send application/json (or application/proto)")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, errors.New("invalid Content-Type " + strconv.Quote(contentType))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, errors.New("Content-Type charset " + strconv.Quote(cs) + " is not supported (want utf-8)")
	}
	switch mt {
	case "application/json":
		return &jsonCodec, nil
	case "application/proto":
		return &protoCodec, nil
	}
	return nil, errors.New("unsupported Content-Type " + strconv.Quote(mt) + ": send application/json (or application/proto)")
}

// incomingMetadata is the gRPC metadata a call over HTTP carries: its
// headers, with lower-case names, as gRPC passes its own.
func incomingMetadata(h http.Header) metadata.MD {
	md := make(metadata.MD, len(h))
	for k, v := range h {
		md[strings.ToLower(k)] = v
	}
	return md
}
