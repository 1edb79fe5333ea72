package conformance

import (
	"net/http"
	"strings"
	"testing"
)

// The "Socket.IO protocol" tests of socket.io-protocol's suite run over
// WebSocket only; these repeat their exchanges over HTTP long-polling, where
// packets travel as "␞"-separated payloads and binary attachments as
// base64 "b" packets. Expected bytes were checked against Node's socket.io
// 4.8.4 (scripts/protocol-suites/differential).

// pollSession is a polling session's query string plus its server.
type pollSession struct {
	s *server
	q string
}

func openPollSession(t *testing.T, s *server) pollSession {
	t.Helper()
	return pollSession{s: s, q: "EIO=4&transport=polling&sid=" + s.openPolling(t)}
}

func (p pollSession) post(t *testing.T, body string) {
	t.Helper()
	if r := p.s.post(t, p.q, body); r.status != http.StatusOK || r.body != "ok" {
		t.Fatalf("POST %q: %d %q, want 200 ok", body, r.status, r.body)
	}
}

// get returns the packets of one GET's payload.
func (p pollSession) get(t *testing.T) []string {
	t.Helper()
	r := p.s.get(t, p.q)
	if r.status != http.StatusOK {
		t.Fatalf("GET: %d %q", r.status, r.body)
	}
	return strings.Split(r.body, "\x1e")
}

func TestConnectPolling(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, send, prefix, auth string }{
		{"main namespace", "40", "", `42["auth",{}]`},
		{"main namespace with a payload", `40{"token":"123"}`, "", `42["auth",{"token":"123"}]`},
		{"custom namespace", "40/custom,", "/custom,", `42/custom,["auth",{}]`},
		{"custom namespace with a payload", `40/custom,{"token":"abc"}`, "/custom,", `42/custom,["auth",{"token":"abc"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := openPollSession(t, newServer(t, true))
			p.post(t, tc.send)
			got := p.get(t)
			if len(got) != 2 {
				t.Fatalf("GET payload %q, want the CONNECT reply and auth", got)
			}
			checkConnectReply(t, text(got[0]), tc.prefix)
			if got[1] != tc.auth {
				t.Errorf("after CONNECT: %q, want %s", got[1], tc.auth)
			}
		})
	}
}

func TestConnectUnknownNamespacePolling(t *testing.T) {
	t.Parallel()
	p := openPollSession(t, newServer(t, true))
	p.post(t, "40/random")
	if got, want := p.get(t), `44/random,{"message":"Invalid namespace"}`; len(got) != 1 || got[0] != want {
		t.Errorf("GET %q, want %s", got, want)
	}
}

func TestMessagePolling(t *testing.T) {
	t.Parallel()
	const twoPlaceholders = `{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}`
	for _, tc := range []struct{ name, send, want string }{
		{"plain-text packet",
			`42["message",1,"2",{"3":[true]}]`,
			`42["message-back",1,"2",{"3":[true]}]`},
		{"packet with binary attachments",
			"452-[\"message\"," + twoPlaceholders + "]\x1ebAQID\x1ebBAUG",
			"452-[\"message-back\"," + twoPlaceholders + "]\x1ebAQID\x1ebBAUG"},
		{"plain-text packet with an ack",
			`42456["message-with-ack",1,"2",{"3":[false]}]`,
			`43456[1,"2",{"3":[false]}]`},
		{"packet with binary attachments and an ack",
			"452-789[\"message-with-ack\"," + twoPlaceholders + "]\x1ebAQID\x1ebBAUG",
			"462-789[" + twoPlaceholders + "]\x1ebAQID\x1ebBAUG"},
		{"several packets in one payload",
			"42[\"message\",1]\x1e42[\"message\",2]",
			"42[\"message-back\",1]\x1e42[\"message-back\",2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, true)
			p := pollSession{s: s, q: "EIO=4&transport=polling&sid=" + connectPolling(t, s)}
			p.post(t, tc.send)
			if got := strings.Join(p.get(t), "\x1e"); got != tc.want {
				t.Errorf("GET %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestInvalidFormatClosesPolling(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, send string }{
		{"unknown packet type", "4abc"},
		{"invalid payload format", "42{}"},
		{"invalid ack id", `42abc["message-with-ack",1,"2",{"3":[false]}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, true)
			p := pollSession{s: s, q: "EIO=4&transport=polling&sid=" + connectPolling(t, s)}
			p.post(t, tc.send)
			// No GET was held: the close waits for the next one, which
			// gets a noop and the close packet; then the sid is gone.
			if got := p.s.get(t, p.q); got.status != http.StatusOK || got.body != "6\x1e1" {
				t.Errorf("GET after %q: %d %q, want 200 \"6\\x1e1\"", tc.send, got.status, got.body)
			}
			if r := p.s.get(t, p.q); r.status != http.StatusBadRequest || r.body != unknownSID {
				t.Errorf("GET afterwards: %d %q, want 400 %s", r.status, r.body, unknownSID)
			}
		})
	}
}
