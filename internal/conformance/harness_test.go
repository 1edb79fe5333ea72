package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/siorelay/siorelay/relay"
)

// The reference servers' settings (the suites' PING_INTERVAL, PING_TIMEOUT
// and maxPayload constants, connectTimeout from socket.io-protocol's Readme).
const (
	pingInterval   = 300 * time.Millisecond
	pingTimeout    = 200 * time.Millisecond
	connectTimeout = time.Second
	maxPayload     = 1000000
	path           = "/socket.io/"
	// ioTimeout bounds every single read; generous for -race on 2 cores.
	ioTimeout = 5 * time.Second
)

// server is a relay configured like the suites' reference server.
type server struct {
	url string // http://127.0.0.1:port
	// polls receives a value each time a polling GET with a sid reaches
	// the relay's handler (not blocking; extra values are dropped).
	polls chan struct{}
}

// longPing replaces the reference ping settings with long ones, for tests
// that must tell a close caused by their input from a ping timeout.
type longPing bool

// newServer starts a relay with the reference server's settings and
// Socket.IO handlers: "auth" with the handshake's auth on connection,
// "message" echoed as "message-back", "message-with-ack" acknowledged with
// its arguments.
func newServer(t *testing.T, long longPing) *server {
	t.Helper()
	pi, pt := pingInterval, pingTimeout
	if long {
		pi, pt = time.Minute, time.Minute
	}
	srv, err := relay.NewServer(relay.Config{
		Path:              path,
		Namespaces:        []string{"/", "/custom"},
		PingInterval:      pi,
		PingTimeout:       pt,
		ConnectTimeout:    connectTimeout,
		MaxHTTPBufferSize: maxPayload,
		CORS:              &relay.CORS{Origins: []string{"*"}},
		OnConnection: func(ctx context.Context, s *relay.Socket) {
			_ = s.Emit(ctx, "auth", json.RawMessage(s.Handshake().Auth))
		},
		OnEvent: func(ctx context.Context, s *relay.Socket, ev relay.Event, ack relay.AckFunc) {
			switch ev.Name {
			case "message":
				_ = s.Emit(ctx, "message-back", ev.Values()...)
			case "message-with-ack":
				if ack != nil {
					_ = ack(ev.Values()...)
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{polls: make(chan struct{}, 16)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Has("sid") && r.URL.Query().Get("transport") == "polling" {
			select {
			case s.polls <- struct{}{}:
			default:
			}
		}
		srv.ServeHTTP(w, r)
	}))
	s.url = hs.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("relay shutdown: %v", err)
		}
		hs.Close()
	})
	return s
}

// httpResult is a finished polling request.
type httpResult struct {
	status int
	body   string
	header http.Header
	err    error // transport error (the server may abort a request)
}

var httpClient = &http.Client{Timeout: ioTimeout, Transport: &http.Transport{DisableKeepAlives: true}}

func (s *server) do(t *testing.T, method, query, body string) httpResult {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path+"?"+query, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return httpResult{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, body: string(b), header: resp.Header, err: err}
}

// get performs a GET and fails the test on a transport error.
func (s *server) get(t *testing.T, query string) httpResult {
	t.Helper()
	r := s.do(t, http.MethodGet, query, "")
	if r.err != nil {
		t.Fatalf("GET ?%s: %v", query, r.err)
	}
	return r
}

// post performs a POST and fails the test on a transport error.
func (s *server) post(t *testing.T, query, body string) httpResult {
	t.Helper()
	r := s.do(t, http.MethodPost, query, body)
	if r.err != nil {
		t.Fatalf("POST ?%s: %v", query, r.err)
	}
	return r
}

// openPolling performs the polling handshake and returns the sid.
func (s *server) openPolling(t *testing.T) string {
	t.Helper()
	r := s.get(t, "EIO=4&transport=polling")
	if r.status != http.StatusOK || !strings.HasPrefix(r.body, "0") {
		t.Fatalf("polling handshake: %d %q", r.status, r.body)
	}
	var open struct{ SID string }
	if err := json.Unmarshal([]byte(r.body[1:]), &open); err != nil {
		t.Fatalf("polling handshake %q: %v", r.body, err)
	}
	return open.SID
}

// wsConn is a raw WebSocket client connection.
type wsConn struct {
	t    *testing.T
	conn net.Conn
	rw   io.ReadWriter // reads the bytes buffered by the handshake first
}

// dialWS opens a WebSocket to the relay with query; it returns the error
// of a refused upgrade.
func (s *server) dialWS(t *testing.T, query string) (*wsConn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	u := "ws" + strings.TrimPrefix(s.url, "http") + path + "?" + query
	conn, br, _, err := ws.Dial(ctx, u)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return &wsConn{t: t, conn: conn, rw: struct {
		io.Reader
		io.Writer
	}{r, conn}}, nil
}

// mustDialWS opens a WebSocket and fails the test if it is refused.
func (s *server) mustDialWS(t *testing.T, query string) *wsConn {
	t.Helper()
	c, err := s.dialWS(t, query)
	if err != nil {
		t.Fatalf("WebSocket ?%s: %v", query, err)
	}
	return c
}

// openWS opens a WebSocket-first session and returns it with its open
// packet's text.
func (s *server) openWS(t *testing.T) (*wsConn, string) {
	t.Helper()
	c := s.mustDialWS(t, "EIO=4&transport=websocket")
	open := c.readText()
	if !strings.HasPrefix(open, "0") {
		t.Fatalf("first WebSocket message %q, want the open packet", open)
	}
	return c, open
}

// frame is one WebSocket data message.
type frame struct {
	binary bool
	data   string
}

func text(s string) frame    { return frame{data: s} }
func binary(b ...byte) frame { return frame{binary: true, data: string(b)} }

// read returns the next data message; control frames are answered by
// wsutil. The error is the connection's end (a close frame or EOF).
func (c *wsConn) read() (frame, error) {
	c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	b, op, err := wsutil.ReadServerData(c.rw)
	if err != nil {
		return frame{}, err
	}
	return frame{binary: op == ws.OpBinary, data: string(b)}, nil
}

// readFrame reads the next data message and fails the test on error.
func (c *wsConn) readFrame() frame {
	c.t.Helper()
	f, err := c.read()
	if err != nil {
		c.t.Fatalf("WebSocket read: %v", err)
	}
	return f
}

// readText reads the next message, which must be text.
func (c *wsConn) readText() string {
	c.t.Helper()
	f := c.readFrame()
	if f.binary {
		c.t.Fatalf("got binary message %x, want text", f.data)
	}
	return f.data
}

// readNonPing reads n messages, skipping pings ("2") like the suite's
// waitForPackets, and answering them so that a slow run is not ended by a
// ping timeout.
func (c *wsConn) readNonPing(n int) []frame {
	c.t.Helper()
	var out []frame
	for len(out) < n {
		f := c.readFrame()
		if !f.binary && f.data == "2" {
			c.send("3")
			continue
		}
		out = append(out, f)
	}
	return out
}

func (c *wsConn) send(s string) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.conn, []byte(s)); err != nil {
		c.t.Fatalf("WebSocket send %q: %v", s, err)
	}
}

func (c *wsConn) sendBinary(b ...byte) {
	c.t.Helper()
	if err := wsutil.WriteClientBinary(c.conn, b); err != nil {
		c.t.Fatalf("WebSocket send %x: %v", b, err)
	}
}

// waitClose reads until the server ends the connection, failing if that
// takes longer than within; it returns how long it took and the data
// messages seen meanwhile.
func (c *wsConn) waitClose(within time.Duration) (time.Duration, []frame) {
	c.t.Helper()
	start := time.Now()
	var seen []frame
	for {
		c.conn.SetReadDeadline(start.Add(within))
		b, op, err := wsutil.ReadServerData(c.rw)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("connection still open after %v (saw %v)", within, seen)
			}
			return time.Since(start), seen
		}
		seen = append(seen, frame{binary: op == ws.OpBinary, data: string(b)})
	}
}
