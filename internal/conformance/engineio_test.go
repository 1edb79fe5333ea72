package conformance

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Ported from engine.io-protocol's test-suite.js (and the first half of
// socket.io-protocol's, which repeats it on /socket.io/). Where the suite
// echoes raw Engine.IO messages, these tests send Socket.IO packets that the
// reference handlers echo, since the relay has no Engine.IO-level hook.

var sidRE = regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)

// checkOpen checks an open packet byte for byte: the five keys in
// engine.io's order, with the reference settings.
func checkOpen(t *testing.T, open, upgrades string) string {
	t.Helper()
	var v struct{ SID string }
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &v) != nil {
		t.Fatalf("open packet %q", open)
	}
	if !sidRE.MatchString(v.SID) {
		t.Errorf("sid %q is not 20 base64url characters", v.SID)
	}
	want := fmt.Sprintf(`0{"sid":%q,"upgrades":%s,"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`, v.SID, upgrades)
	if open != want {
		t.Errorf("open packet\n got %s\nwant %s", open, want)
	}
	return v.SID
}

func TestHandshakePolling(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	r := s.get(t, "EIO=4&transport=polling")
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200", r.status)
	}
	checkOpen(t, r.body, `["websocket"]`)
	if got := r.header.Get("Content-Type"); got != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type %q", got)
	}
}

func TestHandshakePollingErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	const (
		badVersion   = `{"code":5,"message":"Unsupported protocol version"}`
		badTransport = `{"code":0,"message":"Transport unknown"}`
		badMethod    = `{"code":2,"message":"Bad handshake method"}`
	)
	for _, tc := range []struct{ method, query, body string }{
		{"GET", "transport=polling", badVersion},
		{"GET", "EIO=abc&transport=polling", badVersion},
		{"GET", "EIO=4", badTransport},
		{"GET", "EIO=4&transport=abc", badTransport},
		{"POST", "EIO=4&transport=polling", badMethod},
		{"PUT", "EIO=4&transport=polling", badMethod},
	} {
		r := s.do(t, tc.method, tc.query, "")
		if r.err != nil {
			t.Fatalf("%s ?%s: %v", tc.method, tc.query, r.err)
		}
		if r.status != http.StatusBadRequest || r.body != tc.body {
			t.Errorf("%s ?%s: %d %s, want 400 %s", tc.method, tc.query, r.status, r.body, tc.body)
		}
	}
}

func TestHandshakeWebSocket(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	_, open := s.openWS(t)
	checkOpen(t, open, `[]`)
}

// rawUpgrade sends a WebSocket upgrade request over a plain TCP connection
// and returns the server's whole response.
func rawUpgrade(t *testing.T, s *server, query string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.url, "http://"), ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(ioTimeout))
	fmt.Fprintf(conn, "GET %s?%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, query)
	b, err := io.ReadAll(bufio.NewReader(conn))
	if err != nil {
		t.Fatalf("reading the upgrade response: %v", err)
	}
	return string(b)
}

func TestHandshakeWebSocketErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	abort := func(msg string) string {
		return fmt.Sprintf("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
	}
	for _, tc := range []struct{ query, want string }{
		{"transport=websocket", abort("Unsupported protocol version")},
		{"EIO=abc&transport=websocket", abort("Unsupported protocol version")},
		{"EIO=4", abort("Transport unknown")},
		{"EIO=4&transport=abc", abort("Transport unknown")},
	} {
		if got := rawUpgrade(t, s, tc.query); got != tc.want {
			t.Errorf("upgrade ?%s:\n got %q\nwant %q", tc.query, got, tc.want)
		}
	}
}

// connectPolling opens a polling session joined to the main namespace and
// reads the CONNECT reply and the "auth" event.
func connectPolling(t *testing.T, s *server) string {
	t.Helper()
	sid := s.openPolling(t)
	q := "EIO=4&transport=polling&sid=" + sid
	if r := s.post(t, q, "40"); r.status != http.StatusOK || r.body != "ok" {
		t.Fatalf("POST 40: %d %q", r.status, r.body)
	}
	r := s.get(t, q)
	connect, auth, _ := strings.Cut(r.body, "\x1e")
	if !strings.HasPrefix(connect, `40{"sid":"`) || auth != `42["auth",{}]` {
		t.Fatalf("GET after 40: %d %q", r.status, r.body)
	}
	return sid
}

func TestPollingMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, post, want string }{
		{"one plain text packet",
			`42["message","hello"]`,
			`42["message-back","hello"]`},
		{"several plain text packets",
			"42[\"message\",\"test1\"]\x1e42[\"message\",\"test2\"]\x1e42[\"message\",\"test3\"]",
			"42[\"message-back\",\"test1\"]\x1e42[\"message-back\",\"test2\"]\x1e42[\"message-back\",\"test3\"]"},
		{"plain text and binary packets",
			"451-[\"message\",\"hello\",{\"_placeholder\":true,\"num\":0}]\x1ebAQIDBA==",
			"451-[\"message-back\",\"hello\",{\"_placeholder\":true,\"num\":0}]\x1ebAQIDBA=="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, true)
			q := "EIO=4&transport=polling&sid=" + connectPolling(t, s)
			r := s.post(t, q, tc.post)
			if r.status != http.StatusOK || r.body != "ok" {
				t.Fatalf("POST: %d %q, want 200 ok", r.status, r.body)
			}
			if got := r.header.Get("Content-Type"); got != "text/html" {
				t.Errorf("POST Content-Type %q, want text/html", got)
			}
			if r := s.get(t, q); r.status != http.StatusOK || r.body != tc.want {
				t.Errorf("GET: %d %q, want 200 %q", r.status, r.body, tc.want)
			}
		})
	}
}

const unknownSID = `{"code":1,"message":"Session ID unknown"}`

func TestPollingInvalidPacketClosesSession(t *testing.T) {
	t.Parallel()
	s := newServer(t, true)
	q := "EIO=4&transport=polling&sid=" + s.openPolling(t)
	// The suite accepts any answer to this POST; engine.io 6.6.12 gives
	// 200 "ok" (it closes the session with "parse error" after decoding).
	if r := s.do(t, http.MethodPost, q, "abc"); r.err != nil || r.status != http.StatusOK || r.body != "ok" {
		t.Errorf("POST abc: %d %q %v, want 200 ok", r.status, r.body, r.err)
	}
	if r := s.get(t, q); r.status != http.StatusBadRequest || r.body != unknownSID {
		t.Errorf("GET after abc: %d %q, want 400 %s", r.status, r.body, unknownSID)
	}
}

func TestPollingDuplicateGetClosesSession(t *testing.T) {
	t.Parallel()
	s := newServer(t, true)
	q := "EIO=4&transport=polling&sid=" + s.openPolling(t)
	var wg sync.WaitGroup
	res := make([]httpResult, 2)
	for i := range res {
		wg.Go(func() { res[i] = s.do(t, http.MethodGet, q+fmt.Sprintf("&t=%d", i), "") })
	}
	wg.Wait()
	// Whichever arrived first is the held request, answered with a close
	// packet; the other is refused (Node: 500, the suite allows 400 too).
	first, second := res[0], res[1]
	if first.body != "1" {
		first, second = second, first
	}
	if first.err != nil || first.status != http.StatusOK || first.body != "1" {
		t.Errorf("held GET: %d %q %v, want 200 \"1\"", first.status, first.body, first.err)
	}
	if second.err != nil || (second.status != http.StatusBadRequest && second.status != http.StatusInternalServerError) {
		t.Errorf("overlapping GET: %d %q %v, want 400 or 500", second.status, second.body, second.err)
	}
	if r := s.get(t, q); r.status != http.StatusBadRequest || r.body != unknownSID {
		t.Errorf("GET afterwards: %d %q, want 400 %s", r.status, r.body, unknownSID)
	}
}

// connectWS opens a WebSocket session joined to the main namespace (the
// suite's initSocketIOConnection): handshake, CONNECT reply, "auth".
func connectWS(t *testing.T, s *server) *wsConn {
	t.Helper()
	c, _ := s.openWS(t)
	c.send("40")
	got := c.readNonPing(2)
	if got[0].binary || !strings.HasPrefix(got[0].data, `40{"sid":"`) || got[1] != text(`42["auth",{}]`) {
		t.Fatalf("after 40: %v", got)
	}
	return c
}

func TestWebSocketMessages(t *testing.T) {
	t.Parallel()
	t.Run("plain text packet", func(t *testing.T) {
		t.Parallel()
		c := connectWS(t, newServer(t, false))
		c.send(`42["message","hello"]`)
		if got := c.readNonPing(1); !cmp.Equal(got, []frame{text(`42["message-back","hello"]`)}, cmp.AllowUnexported(frame{})) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("binary packet", func(t *testing.T) {
		t.Parallel()
		c := connectWS(t, newServer(t, false))
		c.send(`451-["message",{"_placeholder":true,"num":0}]`)
		c.sendBinary(1, 2, 3, 4)
		want := []frame{text(`451-["message-back",{"_placeholder":true,"num":0}]`), binary(1, 2, 3, 4)}
		if got := c.readNonPing(2); !cmp.Equal(got, want, cmp.AllowUnexported(frame{})) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestWebSocketInvalidPacketCloses(t *testing.T) {
	t.Parallel()
	c, _ := newServer(t, true).openWS(t)
	c.send("abc")
	if _, seen := c.waitClose(2 * time.Second); len(seen) != 0 {
		t.Errorf("messages before the close: %v", seen)
	}
}

// The heartbeat tests join the main namespace first: three ping rounds
// take about the 1s connect timeout, after which a session in no namespace
// is closed (by Node as well).

func TestHeartbeatPolling(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	q := "EIO=4&transport=polling&sid=" + connectPolling(t, s)
	for i := range 3 {
		if r := s.get(t, q); r.status != http.StatusOK || r.body != "2" {
			t.Fatalf("GET %d: %d %q, want 200 \"2\"", i, r.status, r.body)
		}
		if r := s.post(t, q, "3"); r.status != http.StatusOK || r.body != "ok" {
			t.Fatalf("POST 3 #%d: %d %q, want 200 ok", i, r.status, r.body)
		}
	}
}

func TestPingTimeoutPolling(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	q := "EIO=4&transport=polling&sid=" + s.openPolling(t)
	// The session's lifetime without a pong is the subject: wait it out.
	time.Sleep(pingInterval + pingTimeout + 100*time.Millisecond)
	if r := s.get(t, q); r.status != http.StatusBadRequest || r.body != unknownSID {
		t.Errorf("GET after the ping timeout: %d %q, want 400 %s", r.status, r.body, unknownSID)
	}
}

func TestHeartbeatWebSocket(t *testing.T) {
	t.Parallel()
	c := connectWS(t, newServer(t, false))
	for i := range 3 {
		if got := c.readText(); got != "2" {
			t.Fatalf("message %d: %q, want ping", i, got)
		}
		c.send("3")
	}
}

func TestPingTimeoutWebSocket(t *testing.T) {
	t.Parallel()
	c, _ := newServer(t, false).openWS(t)
	took, seen := c.waitClose(3 * time.Second)
	if want := []frame{text("2")}; !cmp.Equal(seen, want, cmp.AllowUnexported(frame{})) {
		t.Errorf("messages before the close: %v, want one ping", seen)
	}
	if min := pingInterval + pingTimeout - 50*time.Millisecond; took < min {
		t.Errorf("closed after %v, before the ping timeout (%v)", took, min)
	}
}

func TestClosePolling(t *testing.T) {
	t.Parallel()
	s := newServer(t, true)
	q := "EIO=4&transport=polling&sid=" + s.openPolling(t)
	held := make(chan httpResult, 1)
	go func() { held <- s.do(t, http.MethodGet, q, "") }()
	<-s.polls // the GET reached the relay
	if r := s.post(t, q, "1"); r.status != http.StatusOK || r.body != "ok" {
		t.Errorf("POST 1: %d %q, want 200 ok", r.status, r.body)
	}
	if r := <-held; r.err != nil || r.status != http.StatusOK || r.body != "6" {
		t.Errorf("held GET: %d %q %v, want 200 \"6\"", r.status, r.body, r.err)
	}
	if r := s.get(t, q); r.status != http.StatusBadRequest || r.body != unknownSID {
		t.Errorf("GET afterwards: %d %q, want 400 %s", r.status, r.body, unknownSID)
	}
}

func TestCloseWebSocket(t *testing.T) {
	t.Parallel()
	// Node ignores a close packet on WebSocket; the session ends at the
	// latest with the ping timeout, which the suite waits for.
	c, _ := newServer(t, false).openWS(t)
	c.send("1")
	c.waitClose(2 * time.Second)
}

// upgrade upgrades a polling session joined to the main namespace to
// WebSocket and proves the upgrade complete with an echo over the new
// transport.
func upgrade(t *testing.T, s *server) (*wsConn, string) {
	t.Helper()
	sid := connectPolling(t, s)
	q := "EIO=4&transport=polling&sid=" + sid
	c := s.mustDialWS(t, "EIO=4&transport=websocket&sid="+sid)
	c.send("2probe")
	if got := c.readText(); got != "3probe" {
		t.Fatalf("probe answer %q, want 3probe", got)
	}
	// The held polling request is released with a noop.
	if r := s.get(t, q); r.status != http.StatusOK || r.body != "6" {
		t.Fatalf("GET during the upgrade: %d %q, want 200 \"6\"", r.status, r.body)
	}
	c.send("5")
	c.send(`42["message","hello"]`)
	if got := c.readNonPing(1); got[0] != text(`42["message-back","hello"]`) {
		t.Fatalf("after the upgrade: %v", got)
	}
	return c, sid
}

func TestUpgrade(t *testing.T) {
	t.Parallel()
	upgrade(t, newServer(t, false))
}

func TestUpgradeThenPollingRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	c, sid := upgrade(t, s)
	const badRequest = `{"code":3,"message":"Bad request"}`
	if r := s.get(t, "EIO=4&transport=polling&sid="+sid); r.status != http.StatusBadRequest || r.body != badRequest {
		t.Errorf("GET after the upgrade: %d %q, want 400 %s", r.status, r.body, badRequest)
	}
	c.send(`42["message","again"]`)
	if got := c.readNonPing(1); got[0] != text(`42["message-back","again"]`) {
		t.Errorf("WebSocket after the refused GET: %v", got)
	}
}

func TestUpgradeThenSecondWebSocketRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	c, sid := upgrade(t, s)
	// engine.io closes a second WebSocket for the sid; refusing the upgrade
	// outright is as good.
	if c2, err := s.dialWS(t, "EIO=4&transport=websocket&sid="+sid); err == nil {
		c2.waitClose(2 * time.Second)
	}
	c.send(`42["message","again"]`)
	if got := c.readNonPing(1); got[0] != text(`42["message-back","again"]`) {
		t.Errorf("first WebSocket after the second was refused: %v", got)
	}
}
