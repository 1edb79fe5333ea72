package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStart(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	s := Start(t)
	t.Logf("standalone start took %v", time.Since(begin))

	if want := "redis://" + s.Addr(); s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("Addr() = %q, want a 127.0.0.1 address", s.Addr())
	}
	ctx := context.Background()
	c := s.Client(t)
	key := UniquePrefix(t) + ":k"
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := c.Get(ctx, key).Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v; want \"v\", nil", got, err)
	}
	// No persistence: the defaults must hold.
	for param, want := range map[string]string{"save": "", "appendonly": "no"} {
		got, err := c.ConfigGet(ctx, param).Result()
		if err != nil {
			t.Fatalf("CONFIG GET %s: %v", param, err)
		}
		if got[param] != want {
			t.Errorf("CONFIG GET %s = %q, want %q", param, got[param], want)
		}
	}
}

func TestConfigOption(t *testing.T) {
	t.Parallel()
	s := Start(t, Config("client-output-buffer-limit pubsub 64kb 0 0", "hz 50"))
	c := s.Client(t)
	ctx := context.Background()
	got, err := c.ConfigGet(ctx, "client-output-buffer-limit").Result()
	if err != nil {
		t.Fatal(err)
	}
	if v := got["client-output-buffer-limit"]; !strings.Contains(v, "pubsub 65536 0 0") {
		t.Errorf("client-output-buffer-limit = %q, want it to contain %q", v, "pubsub 65536 0 0")
	}
	got, err = c.ConfigGet(ctx, "hz").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got["hz"] != "50" {
		t.Errorf("hz = %q, want 50", got["hz"])
	}
}

func TestStopRestartResubscribe(t *testing.T) {
	t.Parallel()
	s := Start(t)
	ctx := context.Background()
	c := s.Client(t)
	ch := UniquePrefix(t)

	sub := c.Subscribe(ctx, ch)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // subscription confirmation
		t.Fatalf("subscribe: %v", err)
	}
	msgs := sub.Channel()

	addr := s.Addr()
	s.Stop()
	if s.Running() {
		t.Fatal("Running() = true after Stop")
	}
	if err := ping(addr); err == nil {
		t.Fatal("PING succeeded after Stop")
	}
	s.Stop() // idempotent

	begin := time.Now()
	s.Restart()
	t.Logf("restart took %v", time.Since(begin))
	if s.Addr() != addr {
		t.Fatalf("Addr() changed across Restart: %q -> %q", addr, s.Addr())
	}
	if err := ping(addr); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}

	// go-redis resubscribes on its own; publish until the message arrives.
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case m := <-msgs:
			if m.Payload != "after-restart" {
				t.Fatalf("payload = %q, want %q", m.Payload, "after-restart")
			}
			return
		case <-tick.C:
			_ = c.Publish(ctx, ch, "after-restart").Err()
		case <-deadline:
			t.Fatal("no message received after Restart within 10s")
		}
	}
}

func TestPauseResume(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), ReadTimeout: 150 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	s.Pause()
	err := c.Ping(ctx).Err()
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("PING while paused: err = %v, want a timeout", err)
	}
	s.Resume()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}
}

func TestPausedServerIsCleanedUp(t *testing.T) {
	var pid int
	t.Run("inner", func(t *testing.T) {
		s := Start(t)
		pid = s.PID()
		s.Pause()
	})
	assertGone(t, pid)
}

func TestCleanupKillsServer(t *testing.T) {
	var pid int
	var addr string
	t.Run("inner", func(t *testing.T) {
		s := Start(t)
		pid, addr = s.PID(), s.Addr()
	})
	assertGone(t, pid)
	if err := ping(addr); err == nil {
		t.Fatalf("server on %s still answers after its test ended", addr)
	}
}

// assertGone fails if a process with pid still exists (reaped processes
// disappear from the process table).
func assertGone(t *testing.T, pid int) {
	t.Helper()
	if pid <= 0 {
		t.Fatal("no pid recorded")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("process %d still exists after cleanup (kill 0: %v)", pid, err)
	}
}

// TestParallelStarts starts servers in parallel subtests and checks that
// no two live servers share an address and that each answers as the
// process that was started (not a server of another test binary that took
// the port first). A port may be handed out again once its server stopped.
func TestParallelStarts(t *testing.T) {
	t.Parallel()
	const n = 8
	var mu sync.Mutex
	live := map[string]bool{}
	started := 0
	t.Run("group", func(t *testing.T) {
		for range n {
			t.Run("server", func(t *testing.T) {
				t.Parallel()
				s := Start(t)
				if err := s.Client(t).Ping(context.Background()).Err(); err != nil {
					t.Fatal(err)
				}
				if pid, err := serverPID(s.Addr()); err != nil || pid != s.PID() {
					t.Errorf("%s answers as pid %d (%v), started as %d", s.Addr(), pid, err, s.PID())
				}
				mu.Lock()
				defer mu.Unlock()
				if live[s.Addr()] {
					t.Errorf("address %s handed to two live servers", s.Addr())
				}
				live[s.Addr()] = true
				started++
				addr := s.Addr()
				// Runs before Start's own cleanup stops the server.
				t.Cleanup(func() { mu.Lock(); delete(live, addr); mu.Unlock() })
			})
		}
	})
	if started != n {
		t.Errorf("started %d servers, want %d", started, n)
	}
}

func TestUniquePrefix(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	seen := map[string]bool{}
	for range 1000 {
		p := UniquePrefix(t)
		if !valid.MatchString(p) {
			t.Fatalf("UniquePrefix = %q, has characters outside [A-Za-z0-9_.-]", p)
		}
		if !strings.HasPrefix(p, "TestUniquePrefix-") {
			t.Fatalf("UniquePrefix = %q, want it to start with the test name", p)
		}
		if seen[p] {
			t.Fatalf("UniquePrefix returned %q twice", p)
		}
		seen[p] = true
	}
	t.Run("sub/with spaces {and} #tags", func(t *testing.T) {
		p := UniquePrefix(t)
		if !valid.MatchString(p) {
			t.Fatalf("UniquePrefix = %q, has characters outside [A-Za-z0-9_.-]", p)
		}
	})
}

// fatalTB records Fatal calls instead of failing the real test. Fatal ends
// the calling goroutine, as testing.T does, so run code under it with run.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.record(strings.TrimSuffix(fmt.Sprintln(args...), "\n"))
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.record(fmt.Sprintf(format, args...))
}

func (f *fatalTB) record(msg string) {
	f.mu.Lock()
	f.msg = msg
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls fn in a new goroutine and returns the Fatal message, if any.
func (f *fatalTB) run(fn func(testing.TB)) string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

func TestMissingBinaryIsFatal(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	f := &fatalTB{TB: t}
	msg := f.run(func(tb testing.TB) { Start(tb) })
	if msg != missingBinary {
		t.Fatalf("Fatal message = %q, want %q", msg, missingBinary)
	}
	if !strings.Contains(msg, "apt-get install redis-server") {
		t.Fatalf("message %q does not say how to install redis-server", msg)
	}
}

func TestStartupFailureShowsLog(t *testing.T) {
	t.Parallel()
	f := &fatalTB{TB: t}
	msg := f.run(func(tb testing.TB) { Start(tb, Config("no-such-directive yes")) })
	if !strings.Contains(msg, "redistest: start redis") {
		t.Fatalf("Fatal message = %q, want it to name the failed start", msg)
	}
	if !strings.Contains(msg, "no-such-directive") {
		t.Fatalf("Fatal message does not include the server's complaint:\n%s", msg)
	}
}

func TestRestartOnTakenPortFails(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.Stop()
	ln, err := net.Listen("tcp", s.Addr())
	if err != nil {
		t.Fatalf("take the stopped server's port: %v", err)
	}
	defer ln.Close()
	f := &fatalTB{TB: t}
	s.t = f // Restart reports through the Server's TB
	msg := f.run(func(testing.TB) { s.Restart() })
	for _, want := range []string{"redistest: restart redis on " + s.Addr(), "Address already in use"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Fatal message does not contain %q:\n%s", want, msg)
		}
	}
}

// TestStartOnTakenPort starts a redis-server on a port another server
// already serves: readiness must not take the other server's PONG for its
// own, and must report the exit that the retry in startServer looks for.
func TestStartOnTakenPort(t *testing.T) {
	t.Parallel()
	other := Start(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "redis.conf")
	stderr := filepath.Join(dir, "stderr.log")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("bind 127.0.0.1\nport %d\nsave \"\"\ndir %s\n", other.Port(), quote(dir))), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := spawn(conf, stderr, false, "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	err = waitReady(p, other.Addr(), time.Now().Add(startTimeout))
	if !errors.Is(err, errExited) {
		t.Fatalf("waitReady on a taken port: %v, want errExited", err)
	}
	if logs := tail(30, stderr); !strings.Contains(logs, "Address already in use") {
		t.Fatalf("the exit does not say why:%s", logs)
	}
}
