package relay

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"

	"github.com/siorelay/siorelay/internal/engineio"
)

// FuzzSessionInput feeds arbitrary polling payloads (Engine.IO packets
// separated by 0x1E, Socket.IO packets inside) to a session, in two POSTs
// split at an arbitrary point, with hooks that exercise Event.Values and
// acks, and connection state recovery on. It checks that nothing panics and that the session's queue stays
// bounded.
func FuzzSessionInput(f *testing.F) {
	for _, seed := range []string{
		"40",
		"40\x1e42[\"a\",1]\x1e4212[\"b\",{\"x\":[1,2]}]",
		"40/custom,{\"token\":1}\x1e42/custom,[\"x\"]",
		"40\x1e451-[\"bin\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID",
		"40\x1e461-3[{\"_placeholder\":true,\"num\":0}]\x1eb",
		"40\x1e42{}\x1e4abc",
		"3\x1e2\x1e1",
		"40\x1e41\x1e40/x,",
		"40{\"pid\":\"AAAAAAAAAAAAAAAAAAAA\",\"offset\":\"1\"}",
		"40{\"pid\":1,\"offset\":[]}\x1e40/custom,{\"pid\":\"x\",\"offset\":\"zzzzzzzzzzzzzz\"}",
	} {
		f.Add([]byte(seed), len(seed)/2)
	}
	srv, err := NewServer(Config{
		Namespaces: []string{"/", "/custom"},
		// Recovery on: CONNECT payloads with pid and offset are looked
		// up, and every forced close keeps its sockets.
		Recovery: &Recovery{MaxBytes: 1 << 16},
		OnEvent: func(ctx context.Context, s *Socket, ev Event, ack AckFunc) {
			vals := ev.Values()
			if ack != nil {
				ack(vals...)
			}
			s.Join(ev.Name)
		},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Shutdown(context.Background()) })
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		if split < 0 || split > len(data) {
			split = len(data) / 2
		}
		r := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling", nil)
		s := newSession(srv, r, r.URL.Query())
		s.poll = &pollState{}
		srv.addSession(s)
		defer s.close(reasonForcedClose)
		for _, part := range [][]byte{data[:split], data[split:]} {
			if len(part) == 0 {
				continue
			}
			_ = engineio.DecodePayload(bytes.Clone(part), func(p engineio.Packet) error {
				s.inMu.Lock()
				s.handlePacket(p)
				s.inMu.Unlock()
				return nil
			})
		}
		s.mu.Lock()
		n := 0
		if s.poll != nil {
			n = len(s.poll.queue)
		}
		s.mu.Unlock()
		if n > srv.cfg.MaxPollingQueue+16 {
			t.Fatalf("queue grew to %d", n)
		}
	})
}
