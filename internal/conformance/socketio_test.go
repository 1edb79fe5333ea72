package conformance

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Ported from the "Socket.IO protocol" half of socket.io-protocol's
// test-suite.js.

var cmpFrames = cmp.AllowUnexported(frame{})

// checkConnectReply checks a CONNECT reply for namespace prefix ("" or
// "/custom,"): its payload has exactly the key sid (no CSR pid/offset).
func checkConnectReply(t *testing.T, got frame, prefix string) {
	t.Helper()
	head := "40" + prefix
	if got.binary || !strings.HasPrefix(got.data, head) {
		t.Fatalf("CONNECT reply %v, want %s{\"sid\":…}", got, head)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(got.data[len(head):]), &v); err != nil {
		t.Fatalf("CONNECT reply %q: %v", got.data, err)
	}
	sid, ok := v["sid"].(string)
	if len(v) != 1 || !ok || !sidRE.MatchString(sid) {
		t.Errorf("CONNECT reply %q: want only a 20-character sid", got.data)
	}
}

func TestConnect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, send, prefix, auth string }{
		{"main namespace", "40", "", `42["auth",{}]`},
		{"main namespace with a payload", `40{"token":"123"}`, "", `42["auth",{"token":"123"}]`},
		{"custom namespace", "40/custom,", "/custom,", `42/custom,["auth",{}]`},
		{"custom namespace with a payload", `40/custom,{"token":"abc"}`, "/custom,", `42/custom,["auth",{"token":"abc"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newServer(t, false).openWS(t)
			c.send(tc.send)
			got := c.readNonPing(2)
			checkConnectReply(t, got[0], tc.prefix)
			if got[1] != text(tc.auth) {
				t.Errorf("after CONNECT: %v, want %s", got[1], tc.auth)
			}
		})
	}
}

func TestConnectUnknownNamespace(t *testing.T) {
	t.Parallel()
	c, _ := newServer(t, false).openWS(t)
	c.send("40/random")
	want := text(`44/random,{"message":"Invalid namespace"}`)
	if got := c.readNonPing(1); got[0] != want {
		t.Errorf("got %v, want %v", got[0], want)
	}
}

func TestInvalidHandshakeCloses(t *testing.T) {
	t.Parallel()
	c, _ := newServer(t, true).openWS(t)
	c.send("4abc")
	if _, seen := c.waitClose(2 * time.Second); len(seen) != 0 {
		t.Errorf("messages before the close: %v", seen)
	}
}

func TestNoHandshakeCloses(t *testing.T) {
	t.Parallel()
	// Long pings: only the connect timeout can end the session.
	c, _ := newServer(t, true).openWS(t)
	took, seen := c.waitClose(connectTimeout + 2*time.Second)
	if len(seen) != 0 {
		t.Errorf("messages before the close: %v", seen)
	}
	if took < connectTimeout-100*time.Millisecond {
		t.Errorf("closed after %v, before the connect timeout %v", took, connectTimeout)
	}
}

func TestDisconnectMainNamespace(t *testing.T) {
	t.Parallel()
	c := connectWS(t, newServer(t, false))
	c.send("41")
	// The server stays silent and keeps the connection: the next message
	// is the ping.
	if got := c.readText(); got != "2" {
		t.Errorf("after 41: %q, want the ping", got)
	}
}

func TestConnectDisconnectCustomNamespace(t *testing.T) {
	t.Parallel()
	c := connectWS(t, newServer(t, false))
	c.send("40/custom")
	got := c.readNonPing(2)
	checkConnectReply(t, got[0], "/custom,")
	if got[1] != text(`42/custom,["auth",{}]`) {
		t.Fatalf("auth on /custom: %v", got[1])
	}
	c.send("41/custom")
	c.send(`42["message","message to main namespace"]`)
	want := text(`42["message-back","message to main namespace"]`)
	if got := c.readNonPing(1); got[0] != want {
		t.Errorf("got %v, want %v", got[0], want)
	}
}

func TestMessage(t *testing.T) {
	t.Parallel()
	const twoPlaceholders = `{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}`
	for _, tc := range []struct {
		name string
		send []frame
		want []frame
	}{
		{"plain-text packet",
			[]frame{text(`42["message",1,"2",{"3":[true]}]`)},
			[]frame{text(`42["message-back",1,"2",{"3":[true]}]`)}},
		{"packet with binary attachments",
			[]frame{text(`452-["message",` + twoPlaceholders + `]`), binary(1, 2, 3), binary(4, 5, 6)},
			[]frame{text(`452-["message-back",` + twoPlaceholders + `]`), binary(1, 2, 3), binary(4, 5, 6)}},
		{"plain-text packet with an ack",
			[]frame{text(`42456["message-with-ack",1,"2",{"3":[false]}]`)},
			[]frame{text(`43456[1,"2",{"3":[false]}]`)}},
		{"packet with binary attachments and an ack",
			[]frame{text(`452-789["message-with-ack",` + twoPlaceholders + `]`), binary(1, 2, 3), binary(4, 5, 6)},
			[]frame{text(`462-789[` + twoPlaceholders + `]`), binary(1, 2, 3), binary(4, 5, 6)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := connectWS(t, newServer(t, false))
			for _, f := range tc.send {
				if f.binary {
					c.sendBinary([]byte(f.data)...)
				} else {
					c.send(f.data)
				}
			}
			if got := c.readNonPing(len(tc.want)); !cmp.Equal(got, tc.want, cmpFrames) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestInvalidFormatCloses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, send string }{
		{"unknown packet type", "4abc"},
		{"invalid payload format", "42{}"},
		{"invalid ack id", `42abc["message-with-ack",1,"2",{"3":[false]}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := connectWS(t, newServer(t, true))
			c.send(tc.send)
			if _, seen := c.waitClose(2 * time.Second); len(seen) != 0 {
				t.Errorf("messages before the close: %v", seen)
			}
		})
	}
}
