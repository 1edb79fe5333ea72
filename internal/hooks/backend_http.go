package hooks

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// httpBackend calls a BackendService over HTTP: protobuf JSON POSTed to
// <base>/connect, /event and /disconnect.
type httpBackend struct {
	base   string
	auth   string // Authorization header value, or ""
	client *http.Client
}

var (
	marshalJSON   = protojson.MarshalOptions{EmitUnpopulated: true}
	unmarshalJSON = protojson.UnmarshalOptions{DiscardUnknown: true}
)

func newHTTPBackend(t target, cfg *Config) *httpBackend {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          cfg.MaxInFlight,
		MaxIdleConnsPerHost:   cfg.MaxInFlight,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	if t.tls {
		if cfg.TLS != nil {
			tr.TLSClientConfig = cfg.TLS.Clone()
		} else {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	b := &httpBackend{base: t.base, client: &http.Client{
		Transport: tr,
		// A backend answers; it does not send the relay elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	if cfg.Token != "" {
		b.auth = "Bearer " + cfg.Token
	}
	return b
}

func (b *httpBackend) Connect(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
	out := new(siorelayv1.ConnectResponse)
	return out, b.call(ctx, "/connect", r, out)
}

func (b *httpBackend) Event(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
	out := new(siorelayv1.EventResponse)
	return out, b.call(ctx, "/event", r, out)
}

func (b *httpBackend) Disconnect(ctx context.Context, r *siorelayv1.DisconnectRequest) error {
	return b.call(ctx, "/disconnect", r, nil)
}

func (b *httpBackend) Close() error {
	b.client.CloseIdleConnections()
	return nil
}

// statusError is an HTTP answer whose status is not 2xx.
type statusError struct {
	code int
	body string // the start of the body, for the log
}

func (e *statusError) Error() string {
	return fmt.Sprintf("hooks: backend answered HTTP %d: %q", e.code, e.body)
}

// call POSTs in as JSON to path and decodes the answer into out (nil:
// the body is ignored). A connection that could not be made is tried once
// more: the request was not sent.
func (b *httpBackend) call(ctx context.Context, path string, in, out proto.Message) error {
	body, err := marshalJSON.Marshal(in)
	if err != nil {
		return err
	}
	err = b.post(ctx, path, body, out)
	if err != nil && notSent(err) && sleepCtx(ctx, 50*time.Millisecond) {
		err = b.post(ctx, path, body, out)
	}
	return err
}

func (b *httpBackend) post(ctx context.Context, path string, body []byte, out proto.Message) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if b.auth != "" {
		req.Header.Set("Authorization", b.auth)
	}
	res, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes+1))
	if err != nil {
		return err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return &statusError{code: res.StatusCode, body: string(data[:min(len(data), 200)])}
	}
	if len(data) > maxAnswerBytes {
		return badAnswerf("answer over %d bytes", maxAnswerBytes)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := unmarshalJSON.Unmarshal(data, out); err != nil {
		return badAnswerf("%s: %v (body %q)", path, err, data[:min(len(data), 200)])
	}
	return nil
}
