package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/siorelay/siorelay/relay"
)

func TestPacketOffset(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{`42["b","1764000000123456789 42","xxxx","2s"]`, "2s", true},
		{`42["b","5 0","xxxx","OyzC2hZ.12"]`, "OyzC2hZ.12", true},
		{`42["b","5 0","xxxx",""]`, "", true},
		{`42["b","5 0","xxxx"]`, "", false},         // not logged: no offset
		{`42["b","5 0","xxxx",17]`, "", false},      // not a string
		{`42["b","5 0","xxxx","a","b"]`, "", false}, // one argument too many
		{`42["b","5 0","xx",x"]`, "", false},
	} {
		got, ok := packetOffset([]byte(tt.in))
		if string(got) != tt.want || ok != tt.ok {
			t.Errorf("packetOffset(%s) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// A client's numbered broadcasts: gaps and duplicates are counted, replays
// are told apart from live packets, and the offset follows the last packet.
func TestRecClientSequence(t *testing.T) {
	rc := &recClient{firstLive: -1}
	ev := func(seq int64, replay bool) {
		msg := fmt.Sprintf(`42["b","1 %d","xx","o%d"]`, seq, seq)
		rc.onEvent('b', seq, []byte(msg), replay)
	}
	ev(0, false)
	ev(1, false)
	rc.state = recReconnecting
	ev(2, true)
	ev(3, true)
	rc.state = recRecovered
	ev(5, false) // 4 skipped
	ev(5, false) // again
	ev(3, false) // back in time
	ev(6, false)
	type view struct {
		Next                            int64
		Delivered, Replayed, Gaps, Dups uint64
		FirstLive                       int64
		Offset                          string
	}
	got := view{rc.next, rc.delivered, rc.replayed, rc.gaps, rc.dups, rc.firstLive, string(rc.offset)}
	want := view{Next: 7, Delivered: 8, Replayed: 2, Gaps: 1, Dups: 2, FirstLive: 5, Offset: "o6"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if a := string(rc.recoveryAuth()); a != `{"pid":"","offset":"o6"}` {
		t.Errorf("auth = %s", a)
	}
}

// The worker's recovery clients against the real relay with recovery on:
// connect, numbered broadcasts, drop every connection at once, reconnect
// with pid and offset (at once, or when told: "drop" without URL, then
// "reconnect"); every client is recovered and ends with every broadcast
// exactly once, in order, the missed ones replayed before its CONNECT
// reply.
func TestRecoveryWorkerAgainstRelay(t *testing.T) {
	for _, held := range []bool{false, true} {
		t.Run(map[bool]string{false: "at-once", true: "held"}[held], func(t *testing.T) { recoveryWorkerAgainstRelay(t, held) })
	}
}

func recoveryWorkerAgainstRelay(t *testing.T, held bool) {
	srv, err := relay.NewServer(relay.Config{Recovery: &relay.Recovery{MaxDisconnection: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	url := "ws://" + ln.Addr().String() + "/socket.io/?EIO=4&transport=websocket"

	w, err := newWorker(2, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer close(w.stop)
	const n = 40
	if rep := w.recoveryOp(workerRequest{Op: "rconnect", URL: url, N: n, Conc: 8}); rep.Connected != n || rep.Err != "" {
		t.Fatalf("rconnect: %+v", rep)
	}

	// Broadcast numbered events every 2 ms until stopped.
	var sent atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		for seq := int64(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			arg := fmt.Sprintf("%d %d", time.Now().UnixNano(), seq)
			if err := srv.Of("/").Emit(context.Background(), "b", arg, "pad"); err != nil {
				t.Error(err)
				return
			}
			sent.Store(seq + 1)
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()
	waitFor := func(what string, cond func(*recoveryStats) bool) *recoveryStats {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			st := w.recStats(sent.Load())
			if cond(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s", what, st.summary())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("every client has an offset", func(st *recoveryStats) bool { return st.NoOffset == 0 && sent.Load() > 20 })
	if !held {
		if rep := w.recoveryOp(workerRequest{Op: "drop", URL: url, Conc: 8}); rep.Err != "" {
			t.Fatalf("drop: %+v", rep)
		}
	} else {
		if rep := w.recoveryOp(workerRequest{Op: "drop", Conc: 8}); rep.Err != "" {
			t.Fatalf("drop: %+v", rep)
		}
		time.Sleep(20 * time.Millisecond) // the broadcasts go on meanwhile
		if st := w.recStats(0); st.Dropped != n || st.Reconnecting != 0 {
			t.Fatalf("before reconnect: %s; want all %d dropped, none reconnecting", st.summary(), n)
		}
		if rep := w.recoveryOp(workerRequest{Op: "reconnect", URL: url, Conc: 8}); rep.Err != "" {
			t.Fatalf("reconnect: %+v", rep)
		}
	}
	waitFor("reconnects", func(st *recoveryStats) bool { return st.pending() == 0 })
	time.Sleep(50 * time.Millisecond) // live packets after the seam
	close(stop)
	<-done
	st := waitFor("every broadcast", func(st *recoveryStats) bool { return st.Complete == n })
	if st.Recovered != n || st.Fresh != 0 || st.Failed != 0 || st.Open != n {
		t.Errorf("recovered %d, new sessions %d, failed %d (%s), open %d; want all %d recovered and open",
			st.Recovered, st.Fresh, st.Failed, st.FirstErr, st.Open, n)
	}
	if st.Gaps != 0 || st.Dups != 0 || st.Delivered != uint64(n)*uint64(sent.Load()) {
		t.Errorf("delivered %d, gaps %d, dups %d; want %d, 0, 0", st.Delivered, st.Gaps, st.Dups, n*sent.Load())
	}
	if st.Replayed == 0 || st.Replayed != st.Missed {
		t.Errorf("replayed %d, missed %d: want every missed packet replayed (and some missed)", st.Replayed, st.Missed)
	}
	if rs := srv.Stats().Recovery; rs == nil || rs.Recovered != n || rs.Replayed != int64(st.Replayed) {
		t.Errorf("relay stats %+v; want %d recovered, %d replayed", rs, n, st.Replayed)
	}
}
