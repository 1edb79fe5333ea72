package relay

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

func fastHeartbeat() Config {
	return Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}
}

func TestHeartbeatWebSocket(t *testing.T) {
	_, base := testServer(t, fastHeartbeat())
	c := openWS(t, base)
	for range 3 {
		if f := c.read(); f.data != "2" {
			t.Fatalf("got %q, want ping", f.data)
		}
		c.send("3")
	}
	// No pong: closed after the timeout.
	if f := c.read(); f.data != "2" {
		t.Fatalf("got %q, want ping", f.data)
	}
	start := time.Now()
	if _, err := c.readErr(2 * time.Second); err == nil || isTimeout(err) {
		t.Fatalf("connection not closed after a missed pong: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("closed after %v", d)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestHeartbeatPolling(t *testing.T) {
	_, base := testServer(t, fastHeartbeat())
	sid := openPolling(t, base)
	for range 3 {
		if r := do(t, "GET", pollURL(base, "&sid="+sid), ""); r.body != "2" {
			t.Fatalf("GET %d %q, want ping", r.status, r.body)
		}
		do(t, "POST", pollURL(base, "&sid="+sid), "3")
	}
	do(t, "GET", pollURL(base, "&sid="+sid), "")
	deadline := time.Now().Add(2 * time.Second)
	for {
		r := do(t, "GET", pollURL(base, "&sid="+sid), "")
		if r.status == 400 && r.body == `{"code":1,"message":"Session ID unknown"}` {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session alive without pongs: %d %q", r.status, r.body)
		}
	}
}

func TestClientPingClosesSession(t *testing.T) {
	_, base := testServer(t, Config{})
	c := openWS(t, base)
	c.send("2")
	c.expectClosed()
}

func TestNoHandshakeConnectTimeout(t *testing.T) {
	_, base := testServer(t, Config{ConnectTimeout: 100 * time.Millisecond})
	c := openWS(t, base)
	c.expectClosed()
}

// TestMalformedPackets checks that each invalid input closes only its own
// connection (the cases of socket.io-protocol's test suite and the 4.2.7
// decoder rules).
func TestMalformedPackets(t *testing.T) {
	_, base := testServer(t, Config{Namespaces: []string{"/", "/custom"}})
	bystander := openWS(t, base)
	bystander.connect("/")
	for _, in := range []string{
		"abc",               // engine.io parse error
		"4abc",              // unknown socket.io packet type
		"42{}",              // event payload not an array
		"42[]",              // no event name
		`42["disconnect"]`,  // reserved name
		`42abc["x"]`,        // bad ack id
		`40[]`,              // CONNECT payload not an object (second CONNECT anyway)
		`41{}`,              // DISCONNECT with payload
		`44{"message":"x"}`, // CONNECT_ERROR from a client
		`42/custom,["x"]`,   // namespace not joined
		"40",                // second CONNECT for "/"
		`451["x"]`,          // binary without attachments count
		`4511-["x"]`,        // too many attachments
		`43`,                // ack without id... accepted? no: ack unknown id is ignored
	} {
		t.Run(in, func(t *testing.T) {
			c := openWS(t, base)
			c.connect("/")
			c.send(in)
			if in == "43" {
				// An ack for nothing is ignored, the connection stays.
				c.send(`42["ok"]`)
				c.send("2") // then a client ping closes it
			}
			c.expectClosed()
		})
	}
	// The bystander is unaffected.
	bystander.send(`42["still here"]`)
	bystander.send("3")
	bystander.connect("/custom")
}

func TestBinaryWithoutPendingHeader(t *testing.T) {
	_, base := testServer(t, Config{})
	c := openWS(t, base)
	c.connect("/")
	c.sendBinary([]byte{1})
	c.expectClosed()
}

func TestClientNamespaceDisconnect(t *testing.T) {
	var mu sync.Mutex
	var reasons []string
	srv, base := testServer(t, Config{
		PingInterval: 200 * time.Millisecond, PingTimeout: 200 * time.Millisecond,
		Namespaces: []string{"/", "/custom"},
		OnDisconnect: func(s *Socket, reason string) {
			mu.Lock()
			reasons = append(reasons, s.Namespace()+" "+reason)
			mu.Unlock()
		},
	})
	c := openWS(t, base)
	c.connect("/")
	c.connect("/custom")
	c.send("41/custom,")
	// Silence until the next ping: the connection stays open.
	if f := c.read(); f.data != "2" {
		t.Fatalf("after 41/custom: %q, want ping", f.data)
	}
	c.send("3")
	srv.Of("/").Emit(context.Background(), "x")
	c.expect(`42["x"]`)
	c.send("41")
	c.send("3")
	c.conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := strings.Join(reasons, ",")
		mu.Unlock()
		if got == "/custom client namespace disconnect,/ client namespace disconnect" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reasons %q", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDisconnectReasons(t *testing.T) {
	reasons := make(chan string, 10)
	srv, base := testServer(t, Config{
		PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond,
		OnDisconnect: func(s *Socket, reason string) { reasons <- reason },
	})
	wait := func(want string) {
		t.Helper()
		select {
		case got := <-reasons:
			if got != want {
				t.Fatalf("reason %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no disconnect, want %q", want)
		}
	}
	c := openWS(t, base)
	id := c.connect("/")
	c.conn.Close()
	wait("transport close")

	c = openWS(t, base)
	c.connect("/")
	wait("ping timeout")

	c = openWS(t, base)
	id = c.connect("/")
	srv.Of("/").To(id).DisconnectSockets(context.Background(), false)
	c.expect("41")
	wait("server namespace disconnect")

	c = openWS(t, base)
	c.connect("/")
	c.send("4abc")
	wait("forced close")

	c = openWS(t, base)
	c.connect("/")
	c.send("abc")
	wait("parse error")
}

func TestMaxPayloadWebSocket(t *testing.T) {
	_, base := testServer(t, Config{MaxHTTPBufferSize: 100})
	c := openWS(t, base)
	if err := wsutil.WriteClientText(c.conn, []byte("4"+strings.Repeat("x", 100))); err != nil {
		t.Fatal(err)
	}
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		h, err := ws.ReadHeader(c.r)
		if err != nil {
			t.Fatal(err)
		}
		p := make([]byte, h.Length)
		c.r.Read(p)
		if h.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(p)
			if code != ws.StatusMessageTooBig {
				t.Fatalf("close code %d, want 1009", code)
			}
			return
		}
	}
}

func TestB64WebSocket(t *testing.T) {
	srv, base := testServer(t, Config{})
	c := dialWS(t, base, "&b64=1")
	c.read()
	id := c.connect("/")
	srv.Of("/").To(id).Emit(context.Background(), "bin", []byte{1, 2, 3})
	c.expect(`451-["bin",{"_placeholder":true,"num":0}]`)
	if f := c.read(); f.binary || f.data != "bAQID" {
		t.Fatalf("attachment %+v, want text bAQID", f)
	}
}
