package netpoll

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gobwas/ws"
)

// TestHelperClient is not a test: BenchmarkIdleConns runs the test binary
// again with NETPOLL_HELPER_CLIENT=<url> <n> so that the client sockets live
// in another process. It dials n WebSocket connections, prints "ready" and
// holds them until stdin is closed.
func TestHelperClient(t *testing.T) {
	spec := os.Getenv("NETPOLL_HELPER_CLIENT")
	if spec == "" {
		return
	}
	url, nstr, _ := strings.Cut(spec, " ")
	n, _ := strconv.Atoi(nstr)
	ctx := context.Background()
	for i := 0; i < n; i++ {
		c, _, _, err := ws.Dial(ctx, url)
		if err != nil {
			fmt.Printf("dial %d: %v\n", i, err)
			os.Exit(1)
		}
		defer c.Close()
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

// RSS returns the resident set size of this process in bytes.
func rss(tb testing.TB) int64 {
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

func settle() {
	for range 3 {
		runtime.GC()
	}
	debug.FreeOSMemory()
}

// BenchmarkIdleConns measures the server-side memory of idle WebSocket
// connections held by a Poller: NETPOLL_CONNS (default 10000) connections
// from a client in a separate process. Run with
//
//	go test -run '^$' -bench IdleConns -benchtime 1x ./relay/internal/netpoll/
func BenchmarkIdleConns(b *testing.B) {
	n := 10000
	if v := os.Getenv("NETPOLL_CONNS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for range b.N {
		p, err := NewPoller(Config{})
		if err != nil {
			b.Fatal(err)
		}
		s := &sink{conns: make(chan *Conn, n), close: make(chan error, n)}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nc, _, _, err := ws.HTTPUpgrader{}.Upgrade(r, w)
			if err != nil {
				return
			}
			_, _ = p.Add(nc, nil, s)
		})}
		ln, url := listen(b)
		go srv.Serve(ln)

		settle()
		before, g0 := rss(b), runtime.NumGoroutine()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperClient$")
		cmd.Env = append(os.Environ(), "NETPOLL_HELPER_CLIENT="+url+" "+strconv.Itoa(n))
		stdin, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "ready\n" {
			b.Fatalf("client: %q", line)
		}
		deadline := time.Now().Add(30 * time.Second)
		for p.Stats().Conns != int64(n) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := p.Stats().Conns; got != int64(n) {
			b.Fatalf("%d conns registered, want %d", got, n)
		}
		srv.SetKeepAlivesEnabled(false)
		settle()
		time.Sleep(500 * time.Millisecond)
		settle()
		after, g1 := rss(b), runtime.NumGoroutine()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(after-before)/float64(n)/1024, "KB/conn")
		b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/conn")
		b.Logf("conns=%d rss before=%d MB after=%d MB delta/conn=%.2f KB goroutines %d→%d heapInuse=%d MB stackInuse=%d MB",
			n, before>>20, after>>20, float64(after-before)/float64(n)/1024, g0, g1, ms.HeapInuse>>20, ms.StackInuse>>20)
		stdin.Close()
		cmd.Wait()
		srv.Close()
		p.Close()
	}
}

// TestConnSize keeps a Conn, which every idle connection holds, in the
// 144-byte size class: adding a field costs 16 bytes per connection (and
// about twice that in a process's RSS once the GC's headroom is counted).
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 144 {
		t.Fatalf("Conn is %d bytes, over the 144-byte size class", n)
	}
}
