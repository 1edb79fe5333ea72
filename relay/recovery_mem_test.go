package relay

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What connection state recovery costs in memory: the live heap
// (runtime.MemStats.HeapAlloc after collecting) and the process RSS per
// packet retained in the log and per disconnected socket kept for its
// client. Run with
//
//	go test -run '^$' -bench RecoveryMemory -benchtime 1x ./relay/
//
// RELAY_RECOVERY_PACKETS (default 100000) and RELAY_RECOVERY_KEPT (default
// 10000) set the counts. The packets are the recovery benchmark's
// (bench/loadgen recovery): 42["b","<ts> <seq>","<pad>","<offset>"], about
// 110 bytes on the wire.

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// liveHeap collects and returns the bytes of live heap objects.
func liveHeap() uint64 {
	settleMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// benchPad is the padding argument of the load generator's 100-byte packets.
var benchPad = strings.Repeat("x", 58)

func BenchmarkRecoveryMemory(b *testing.B) {
	b.Run("packet", func(b *testing.B) {
		n := envInt("RELAY_RECOVERY_PACKETS", 100000)
		for range b.N {
			srv, err := NewServer(Config{Recovery: &Recovery{MaxDisconnection: time.Hour, MaxBytes: 1 << 40}})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			// The namespace and its first log entry exist before the baseline.
			if err := srv.Of("/").Emit(ctx, "b", "1764000000000000000 0", benchPad); err != nil {
				b.Fatal(err)
			}
			h0, rss0 := liveHeap(), readRSS(b)
			for i := 1; i <= n; i++ {
				arg := fmt.Sprintf("%d %d", 1764000000000000000+int64(i), i)
				if err := srv.Of("/").Emit(ctx, "b", arg, benchPad); err != nil {
					b.Fatal(err)
				}
			}
			h1, rss1 := liveHeap(), readRSS(b)
			st := srv.Stats().Recovery
			if st == nil || st.Packets != n+1 || st.Trimmed != 0 {
				b.Fatalf("log: %+v, want %d packets, none trimmed", st, n+1)
			}
			heap := float64(h1-h0) / float64(n)
			b.ReportMetric(heap, "heapB/packet")
			b.ReportMetric(float64(rss1-rss0)/float64(n), "rssB/packet")
			b.ReportMetric(float64(st.Bytes)/float64(st.Packets), "countedB/packet")
			b.Logf("%d packets: live heap +%.1f MB (%.0f B/packet), RSS +%.1f MB; the log counts %.0f B/packet against MaxBytes",
				n, float64(h1-h0)/(1<<20), heap, float64(rss1-rss0)/(1<<20), float64(st.Bytes)/float64(st.Packets))
			shutdownNow(b, srv)
		}
	})
	for _, rooms := range []int{0, 2} {
		b.Run(fmt.Sprintf("kept-session/rooms=%d", rooms), func(b *testing.B) {
			benchKeptSessions(b, rooms)
		})
	}
}

// benchKeptSessions connects clients in batches (the process's open-file
// limit), drops their connections, and measures the sockets the relay keeps
// for them. Each socket joins rooms rooms besides its own and holds a small
// Data, as an application's would.
func benchKeptSessions(b *testing.B, rooms int) {
	n := envInt("RELAY_RECOVERY_KEPT", 10000)
	const batch = 1000
	for range b.N {
		// Short timers: a closed session stays reachable from the timer
		// wheel until its timers' slots come round (up to ConnectTimeout),
		// and what is measured is the kept socket alone, after that.
		cfg := Config{Recovery: &Recovery{MaxDisconnection: time.Hour},
			PingInterval: time.Second, PingTimeout: time.Second, ConnectTimeout: time.Second}
		if rooms > 0 {
			cfg.OnConnect = func(_ context.Context, h *Handshake) (ConnectResult, error) {
				r := make([]string, rooms)
				for i := range r {
					r[i] = fmt.Sprintf("room-%d-%s", i, h.SocketID[:8])
				}
				return ConnectResult{Rooms: r, Data: map[string]any{"user": h.SocketID}}, nil
			}
		}
		srv, err := NewServer(cfg)
		if err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
		// One client connected and dropped before the baseline, so that
		// the maps and pools of the first one are not counted.
		dropClients(b, srv, url, 1, 1)
		time.Sleep(wheelLetGo)
		h0, rss0 := liveHeap(), readRSS(b)
		for kept := 1; kept < n+1; kept += batch {
			dropClients(b, srv, url, min(batch, n+1-kept), kept+min(batch, n+1-kept))
		}
		time.Sleep(wheelLetGo)
		h1, rss1 := liveHeap(), readRSS(b)
		if f := os.Getenv("RELAY_HEAPPROFILE"); f != "" {
			w, _ := os.Create(f)
			pprof.Lookup("heap").WriteTo(w, 0)
			w.Close()
		}
		if st := srv.Stats(); st.Recovery.Kept != n+1 || st.WebSocket != 0 {
			b.Fatalf("%d kept, %d connections; want %d kept, none connected", st.Recovery.Kept, st.WebSocket, n+1)
		}
		heap := float64(h1-h0) / float64(n)
		b.ReportMetric(heap, "heapB/session")
		b.ReportMetric(float64(rss1-rss0)/float64(n), "rssB/session")
		b.Logf("%d kept sessions with %d rooms: live heap +%.1f MB (%.0f B/session), RSS +%.1f MB",
			n, rooms, float64(h1-h0)/(1<<20), heap, float64(rss1-rss0)/(1<<20))
		shutdownNow(b, srv)
		hs.Close()
	}
}

// wheelLetGo is how long after its close a session of benchKeptSessions'
// server may still be referenced by the timer wheel.
const wheelLetGo = 3 * time.Second

// dropClients connects k clients to url, closes their connections, and
// waits until the relay keeps want sockets in all.
func dropClients(b *testing.B, srv *Server, url string, k, want int) {
	b.Helper()
	conns := make([]net.Conn, 0, k)
	for range k {
		c, err := helperClient(url)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	waitUntil(b, 30*time.Second, fmt.Sprintf("%d kept sockets", want), func() bool { return srv.Stats().Recovery.Kept == want })
}
