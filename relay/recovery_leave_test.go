package relay

import (
	"sync"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/redistest"
)

// TestRecoveryBeforeLeaveHandled: a client whose connection ended comes
// back with its pid and offset before this server has finished handling
// the end of its old connection, and is recovered. The server handles the
// reads of different connections concurrently, so under a reconnect
// storm a CONNECT can be handled while the old socket is still open here
// (the server has not read the EOF yet) or still leaving (its OnDisconnect
// running, not kept yet): `loadgen recovery-streams` and `loadgen
// recovery` saw up to 148 of 1,000 clients that reconnected at once to the
// same relay get a new socket (recovery_failed_total reason="unknown"),
// the old socket's close having begun up to 70 ms before the take or
// after it. Node socket.io, whose single event loop handles the old
// connection's end first, recovered them all. Both cases, without Redis
// and in a streams cluster.
func TestRecoveryBeforeLeaveHandled(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"memory", "streams"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			for _, still := range []string{"open", "leaving"} {
				t.Run(still, func(t *testing.T) { recoveryBeforeLeaveHandled(t, mode, still) })
			}
		})
	}
}

func recoveryBeforeLeaveHandled(t *testing.T, mode, still string) {
	leaving := make(chan struct{}, 1)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	cfg := Config{
		Recovery: &Recovery{MaxDisconnection: time.Minute},
		OnDisconnect: func(sk *Socket, reason string) {
			if still == "leaving" {
				select {
				case leaving <- struct{}{}:
				default:
				}
				<-release
			}
		},
	}
	if mode == "streams" {
		rs := redistest.Start(t)
		cfg.Redis, cfg.Key, cfg.Streams = rs.Client(t), redistest.UniquePrefix(t), &Streams{}
	}
	srv, base := testServer(t, cfg)
	t.Cleanup(unblock) // before the server's shutdown (cleanups run last first), even when the test fails
	waitUntil(t, 10*time.Second, "ready", srv.Ready)

	c := openWS(t, base)
	first, offset := recoverableSocket(t, srv, c)

	if still == "leaving" {
		c.conn.Close()
		select {
		case <-leaving: // OnDisconnect holds the old socket's close
		case <-time.After(10 * time.Second):
			t.Fatal("the dropped socket never left")
		}
	}
	c2 := reconnect(t, base, first, offset)
	// The reply must not come while the old socket has not been kept: it
	// could only be a new socket.
	if f, err := c2.readErr(300 * time.Millisecond); err == nil {
		t.Fatalf("CONNECT answered %q while the old socket (%s) was %s; want it recovered once kept", f.data, first.SID, still)
	}
	if still == "leaving" {
		unblock()
	} else {
		c.conn.Close()
	}
	wantRecovered(t, srv, c2, first)
}
