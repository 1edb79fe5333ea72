package relay

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/siorelay/siorelay/internal/engineio"
)

// testServer starts srv behind an httptest server and shuts both down at
// the end of the test.
func testServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	serversMu.Lock()
	servers[hs.URL] = srv
	serversMu.Unlock()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs.URL
}

var (
	serversMu sync.Mutex
	// servers maps a test server's base URL to its Server.
	servers = map[string]*Server{}
)

func serverFor(base string) *Server {
	serversMu.Lock()
	defer serversMu.Unlock()
	return servers[base]
}

// wsClient is a raw Engine.IO WebSocket client for tests.
type wsClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	sid  string
}

type frame struct {
	binary bool
	data   string
}

func dialWS(t *testing.T, base, query string) *wsClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket" + query
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	r := br
	if r == nil {
		r = bufio.NewReader(conn)
	}
	return &wsClient{t: t, conn: conn, r: r}
}

// openWS dials and reads the open packet.
func openWS(t *testing.T, base string) *wsClient {
	t.Helper()
	c := dialWS(t, base, "")
	f := c.read()
	if !strings.HasPrefix(f.data, "0{") {
		t.Fatalf("first frame %q, want open packet", f.data)
	}
	h, err := engineio.ParseOpen([]byte(f.data[1:]))
	if err != nil {
		t.Fatal(err)
	}
	c.sid = h.SID
	return c
}

func (c *wsClient) send(s string) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.conn, []byte(s)); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

func (c *wsClient) sendBinary(b []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientBinary(c.conn, b); err != nil {
		c.t.Fatalf("send binary: %v", err)
	}
}

// read returns the next data frame, answering nothing. It fails the test
// after 5s.
func (c *wsClient) read() frame {
	c.t.Helper()
	f, err := c.readErr(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *wsClient) readErr(d time.Duration) (frame, error) {
	c.conn.SetReadDeadline(time.Now().Add(d))
	for {
		h, err := ws.ReadHeader(c.r)
		if err != nil {
			return frame{}, err
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return frame{}, err
		}
		switch h.OpCode {
		case ws.OpText:
			return frame{data: string(payload)}, nil
		case ws.OpBinary:
			return frame{binary: true, data: string(payload)}, nil
		case ws.OpClose:
			return frame{}, errClosedByServer
		}
	}
}

var errClosedByServer = io.ErrUnexpectedEOF

// expectClosed waits until the server closes the connection.
func (c *wsClient) expectClosed() {
	c.t.Helper()
	for {
		f, err := c.readErr(5 * time.Second)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.t.Fatal("connection not closed by the server")
			}
			return
		}
		if f.data == "2" { // a ping may come first
			continue
		}
		c.t.Fatalf("got %q, want the connection closed", f.data)
	}
}

// expect reads the next frame, skipping pings, and compares it.
func (c *wsClient) expect(want string) {
	c.t.Helper()
	for {
		f := c.read()
		if f.data == "2" && want != "2" {
			continue
		}
		if f.data != want {
			c.t.Fatalf("got %q, want %q", f.data, want)
		}
		return
	}
}

// connect joins namespace nsp ("/" or "/x") and returns the socket id.
func (c *wsClient) connect(nsp string) string {
	c.t.Helper()
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	c.send(prefix)
	f := c.read()
	if !strings.HasPrefix(f.data, prefix+"{") {
		c.t.Fatalf("CONNECT reply %q", f.data)
	}
	var body struct{ SID string }
	if err := json.Unmarshal([]byte(f.data[len(prefix):]), &body); err != nil || len(body.SID) != 20 {
		c.t.Fatalf("CONNECT reply %q: sid %q %v", f.data, body.SID, err)
	}
	return body.SID
}

// poll helpers

func pollURL(base, query string) string {
	return base + "/socket.io/?EIO=4&transport=polling" + query
}

type httpResult struct {
	status int
	body   string
	header http.Header
}

func do(t *testing.T, method, url, body string, hdr ...string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{resp.StatusCode, string(b), resp.Header}
}

// openPolling performs a polling handshake and returns the sid.
func openPolling(t *testing.T, base string) string {
	t.Helper()
	res := do(t, "GET", pollURL(base, ""), "")
	if res.status != 200 || !strings.HasPrefix(res.body, "0{") {
		t.Fatalf("handshake: %d %q", res.status, res.body)
	}
	h, err := engineio.ParseOpen([]byte(res.body[1:]))
	if err != nil {
		t.Fatal(err)
	}
	return h.SID
}
