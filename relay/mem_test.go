package relay

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// TestHelperSocketIOClients is not a test: BenchmarkIdleSockets runs the
// test binary again with RELAY_HELPER_CLIENTS="<ws url> <n>" so that the
// clients live in another process. Each client opens a WebSocket session,
// joins "/" and then stays idle. It prints "ready" and holds the
// connections until stdin is closed.
func TestHelperSocketIOClients(t *testing.T) {
	spec := os.Getenv("RELAY_HELPER_CLIENTS")
	if spec == "" {
		return
	}
	url, nstr, _ := strings.Cut(spec, " ")
	n, _ := strconv.Atoi(nstr)
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := helperClient(url)
		if err != nil {
			fmt.Printf("client %d: %v\n", i, err)
			os.Exit(1)
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	if want, _ := strconv.Atoi(os.Getenv("RELAY_HELPER_EXPECT")); want > 0 {
		// Count broadcast frames on every connection and report when each
		// got want of them.
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := bufio.NewReaderSize(c, 4096)
				for got := 0; got < want; {
					h, err := ws.ReadHeader(r)
					if err != nil {
						fmt.Printf("read: %v\n", err)
						os.Exit(1)
					}
					p := make([]byte, h.Length)
					if _, err := io.ReadFull(r, p); err != nil {
						fmt.Printf("read: %v\n", err)
						os.Exit(1)
					}
					if len(p) > 2 && p[0] == '4' && p[1] == '2' {
						got++
					}
				}
			}()
		}
		wg.Wait()
		fmt.Println("done")
	}
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		c.Close()
	}
	os.Exit(0)
}

func helperClient(url string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	var rw io.ReadWriter = c
	if br != nil {
		rw = struct {
			io.Reader
			io.Writer
		}{br, c}
	}
	if msg, err := wsutil.ReadServerText(rw); err != nil || msg[0] != '0' {
		return nil, fmt.Errorf("open: %q %v", msg, err)
	}
	if err := wsutil.WriteClientText(c, []byte("40")); err != nil {
		return nil, err
	}
	if msg, err := wsutil.ReadServerText(rw); err != nil || !strings.HasPrefix(string(msg), "40{") {
		return nil, fmt.Errorf("connect: %q %v", msg, err)
	}
	return c, nil
}

func readRSS(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

func settleMemory() {
	for range 3 {
		runtime.GC()
	}
	debug.FreeOSMemory()
}

// BenchmarkIdleSockets measures the relay's memory per idle Socket.IO client
// (WebSocket, joined to "/"): RELAY_CONNS (default 10000) clients in a
// separate process. Run with
//
//	go test -run '^$' -bench IdleSockets -benchtime 1x ./relay/
func BenchmarkIdleSockets(b *testing.B) {
	n := 10000
	if v := os.Getenv("RELAY_CONNS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for range b.N {
		srv, err := NewServer(Config{})
		if err != nil {
			b.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		hs := &http.Server{Handler: srv}
		go hs.Serve(ln)
		url := "ws://" + ln.Addr().String() + "/socket.io/?EIO=4&transport=websocket"

		settleMemory()
		before, g0 := readRSS(b), runtime.NumGoroutine()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSocketIOClients$")
		cmd.Env = append(os.Environ(), "RELAY_HELPER_CLIENTS="+url+" "+strconv.Itoa(n))
		stdin, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "ready\n" {
			b.Fatalf("clients: %q", line)
		}
		if got := len(srv.Of("/").Sockets()); got != n {
			b.Fatalf("%d sockets, want %d", got, n)
		}
		settleMemory()
		time.Sleep(300 * time.Millisecond)
		settleMemory()
		after, g1 := readRSS(b), runtime.NumGoroutine()
		if f := os.Getenv("RELAY_HEAPPROFILE"); f != "" {
			w, _ := os.Create(f)
			pprof.Lookup("heap").WriteTo(w, 0)
			w.Close()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		per := float64(after-before) / float64(n) / 1024
		b.ReportMetric(per, "KB/conn")
		b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/conn")
		// What a /metrics scrape costs the relay with n connections.
		t0 := time.Now()
		const scrapes = 20
		for range scrapes {
			if st := srv.Stats(); st.WebSocket != n {
				b.Fatalf("Stats: %d WebSocket connections, want %d", st.WebSocket, n)
			}
		}
		b.ReportMetric(float64(time.Since(t0).Microseconds())/scrapes, "µs/Stats")
		b.Logf("clients=%d rss before=%.1f MB after=%.1f MB → %.2f KB/conn; goroutines %d→%d; HeapInuse=%.1f MB StackInuse=%.1f MB",
			n, float64(before)/(1<<20), float64(after)/(1<<20), per, g0, g1, float64(ms.HeapInuse)/(1<<20), float64(ms.StackInuse)/(1<<20))
		stdin.Close()
		cmd.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		srv.Shutdown(ctx)
		cancel()
		hs.Close()
	}
}

// BenchmarkBroadcast measures deliveries per second of broadcasts to
// RELAY_CONNS (default 10000) WebSocket clients in another process, which
// read and count every frame. Each iteration emits RELAY_BROADCASTS
// (default 50) events with a ~100-byte payload to all clients as fast as
// Emit returns, and ends when every client has received all of them. Run
// with
//
//	go test -run '^$' -bench Broadcast -benchtime 1x ./relay/
func BenchmarkBroadcast(b *testing.B) {
	n, m := 10000, 50
	if v := os.Getenv("RELAY_CONNS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("RELAY_BROADCASTS"); v != "" {
		m, _ = strconv.Atoi(v)
	}
	srv, err := NewServer(Config{})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()
	url := "ws://" + ln.Addr().String() + "/socket.io/?EIO=4&transport=websocket"
	payload := strings.Repeat("x", 80)
	for range b.N {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSocketIOClients$")
		cmd.Env = append(os.Environ(), "RELAY_HELPER_CLIENTS="+url+" "+strconv.Itoa(n), "RELAY_HELPER_EXPECT="+strconv.Itoa(m))
		stdin, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		rd := bufio.NewReader(out)
		if line, _ := rd.ReadString('\n'); line != "ready\n" {
			b.Fatalf("clients: %q", line)
		}
		ctx := context.Background()
		var interval time.Duration
		if v := os.Getenv("RELAY_RATE"); v != "" {
			// Paced: RELAY_RATE broadcasts per second.
			r, _ := strconv.Atoi(v)
			interval = time.Second / time.Duration(r)
		}
		var ru0 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		start := time.Now()
		d0 := srv.Stats().Deliveries
		for i := range m {
			if interval > 0 {
				time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			}
			if err := srv.Of("/").Emit(ctx, "b", i, payload); err != nil {
				b.Fatal(err)
			}
		}
		emitted := time.Since(start)
		if line, _ := rd.ReadString('\n'); line != "done\n" {
			b.Fatalf("clients: %q", line)
		}
		el := time.Since(start)
		var ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
		if got := srv.Stats().Deliveries - d0; got != int64(n*m) {
			b.Fatalf("%d deliveries queued, want %d", got, n*m)
		}
		b.ReportMetric(float64(n*m)/el.Seconds(), "deliveries/s")
		b.ReportMetric(float64(n*m)/cpu.Seconds(), "deliveries/CPU-s")
		b.Logf("%d clients × %d broadcasts: all received in %v (Emit calls took %v) → %.0f deliveries/s; dropped %d, slow %d",
			n, m, el, emitted, float64(n*m)/el.Seconds(), srv.Stats().DroppedVolatile, srv.Stats().SlowConsumers)
		stdin.Close()
		cmd.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}
