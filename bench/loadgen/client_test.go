package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// fakeServer speaks just enough Engine.IO/Socket.IO over WebSocket to check
// the client end to end: OPEN, CONNECT reply, a ping that needs a pong, then
// measured events split across TCP writes and one fragmented message.
func fakeServer(t *testing.T, events int, pongs chan<- string) *httptest.Server {
	t.Helper()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		defer conn.Close()
		bw := bufio.NewWriter(conn)
		send := func(s string) { _ = wsutil.WriteServerText(bw, []byte(s)); _ = bw.Flush() }
		send(`0{"sid":"eio","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
		msg, err := wsutil.ReadClientText(conn)
		if err != nil || string(msg) != "40" {
			t.Errorf("CONNECT: %q %v", msg, err)
			return
		}
		send(`40{"sid":"sock-1"}`)
		send("2")
		msg, err = wsutil.ReadClientText(conn)
		if err != nil {
			t.Errorf("pong: %v", err)
			return
		}
		pongs <- string(msg)
		// An event asking for an ack (id 17): the client acks at once.
		send(`4217["q",{"a":[1]}]`)
		msg, err = wsutil.ReadClientText(conn)
		if err != nil {
			t.Errorf("ack: %v", err)
			return
		}
		pongs <- string(msg)
		// All events in one buffer, written in odd-sized pieces so frames
		// straddle reads.
		var all []byte
		for i := range events {
			payload := fmt.Sprintf(`42["b","%d %d","pad"]`, time.Now().UnixNano(), i)
			f := ws.NewTextFrame([]byte(payload))
			var sb strings.Builder
			_ = ws.WriteFrame(&sb, f)
			all = append(all, sb.String()...)
		}
		for len(all) > 0 {
			n := min(7, len(all))
			_, _ = conn.Write(all[:n])
			all = all[n:]
			time.Sleep(time.Microsecond)
		}
		// A fragmented message: probe event in two frames.
		payload := []byte(fmt.Sprintf(`42["p","%d 0"]`, time.Now().UnixNano()))
		_ = ws.WriteFrame(conn, ws.NewFrame(ws.OpText, false, payload[:5]))
		_ = ws.WriteFrame(conn, ws.NewFrame(ws.OpContinuation, true, payload[5:]))
		// Hold until the client goes away.
		_, _ = conn.Read(make([]byte, 1))
	}))
}

func TestWorkerAgainstFakeServer(t *testing.T) {
	const clients, events = 5, 300
	pongs := make(chan string, clients)
	srv := fakeServer(t, events, pongs)
	defer srv.Close()
	w, err := newWorker(2, 100*time.Microsecond)
	if err != nil {
		t.Fatal(err)
	}
	defer close(w.stop)
	url := "ws://" + strings.TrimPrefix(srv.URL, "http://") + "/socket.io/?EIO=4&transport=websocket"
	rep := w.connect(workerRequest{URL: url, N: clients, Conc: 2})
	if rep.Connected != clients || rep.Failed != 0 {
		t.Fatalf("connected %d failed %d: %s", rep.Connected, rep.Failed, rep.FirstErr)
	}
	for _, sid := range rep.SIDs {
		if sid != "sock-1" {
			t.Errorf("sid = %q, want %q", sid, "sock-1")
		}
	}
	got := map[string]int{}
	for range 2 * clients {
		select {
		case p := <-pongs:
			got[p]++
		case <-time.After(10 * time.Second):
			t.Fatal("no pong or ack")
		}
	}
	if got["3"] != clients || got[`4317[1]`] != clients {
		t.Errorf("pongs and acks: %v; want %d of 3 and of 4317[1]", got, clients)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := w.stats(events)
		if s.Complete == clients && s.Probed == clients {
			if s.Count != clients*events || s.Reorder != 0 || s.Hist.N != clients*events || s.Open != clients {
				t.Errorf("stats: %+v", s)
			}
			if s.Pings != clients {
				t.Errorf("pings = %d, want %d", s.Pings, clients)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("incomplete: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.reset()
	if s := w.stats(0); s.Count != 0 || s.Hist.N != 0 || s.Complete != clients {
		t.Errorf("after reset: %+v", s)
	}
}

func TestDialClientRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := dialClient(t.Context(), "ws://"+addr+"/socket.io/?EIO=4&transport=websocket", nil, [4]byte{}); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
}
