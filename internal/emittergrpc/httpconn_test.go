package emittergrpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

// connectCodes is the Connect protocol's table of error codes: the name in
// the JSON error body and the HTTP status, for each gRPC code.
var connectCodes = map[string]struct {
	code codes.Code
	http int
}{
	"canceled":            {codes.Canceled, 499},
	"unknown":             {codes.Unknown, 500},
	"invalid_argument":    {codes.InvalidArgument, 400},
	"deadline_exceeded":   {codes.DeadlineExceeded, 504},
	"not_found":           {codes.NotFound, 404},
	"already_exists":      {codes.AlreadyExists, 409},
	"permission_denied":   {codes.PermissionDenied, 403},
	"resource_exhausted":  {codes.ResourceExhausted, 429},
	"failed_precondition": {codes.FailedPrecondition, 400},
	"aborted":             {codes.Aborted, 409},
	"out_of_range":        {codes.OutOfRange, 400},
	"unimplemented":       {codes.Unimplemented, 501},
	"internal":            {codes.Internal, 500},
	"unavailable":         {codes.Unavailable, 503},
	"data_loss":           {codes.DataLoss, 500},
	"unauthenticated":     {codes.Unauthenticated, 401},
}

// httpConn is a grpc.ClientConnInterface that makes unary calls over the
// HTTP API with protobuf JSON, as curl would, so that the generated client
// (and every table test written for it) runs over HTTP too. An error
// answer becomes the status its JSON body names, after checking that the
// HTTP status is the one the Connect protocol gives that code.
type httpConn struct {
	base string // http://host:port
	auth string // Authorization header; empty sends none
}

var _ grpc.ClientConnInterface = (*httpConn)(nil)

func (c *httpConn) Invoke(ctx context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
	body, err := protojson.Marshal(args.(proto.Message))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("httpConn: %w", err) // codes.Unknown: no answer from the server
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("httpConn: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			return fmt.Errorf("httpConn: 200 with Content-Type %q", ct)
		}
		return protojson.Unmarshal(b, reply.(proto.Message))
	}
	return wireStatus(resp.StatusCode, resp.Header.Get("Content-Type"), b)
}

// wireStatus turns an error answer into its status, or into a plain error
// if the answer is not the Connect error it must be.
func wireStatus(httpCode int, contentType string, body []byte) error {
	if contentType != "application/json" {
		return fmt.Errorf("httpConn: error %d with Content-Type %q: %s", httpCode, contentType, body)
	}
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return fmt.Errorf("httpConn: error %d with a body that is not JSON: %q", httpCode, body)
	}
	c, ok := connectCodes[e.Code]
	if !ok {
		return fmt.Errorf("httpConn: error %d with unknown code %q", httpCode, e.Code)
	}
	if c.http != httpCode {
		return fmt.Errorf("httpConn: code %q came with HTTP %d, want %d", e.Code, httpCode, c.http)
	}
	return status.Error(c.code, e.Message)
}

func (c *httpConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unimplemented, "httpConn: no streams over the HTTP API")
}

// transport is one way of calling the service.
type transport struct {
	name   string
	client siorelayv1.EmitterServiceClient
	http   bool
}

// transports are the env's service over gRPC and over the HTTP API.
func (e *env) transports() []transport {
	return []transport{{"grpc", e.client, false}, {"http", e.http, true}}
}

// post sends body to the HTTP API's path with the given headers (name,
// value pairs) and returns the answer's status, headers and body.
func (e *env) post(t *testing.T, path, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	return e.do(t, http.MethodPost, path, body, headers...)
}

func (e *env) do(t *testing.T, method, path, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, e.httpURL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}
