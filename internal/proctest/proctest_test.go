//go:build unix

package proctest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/proctest"
)

// The test binary is also the program the tests start: with
// PROCTEST_HELPER set, TestMain runs helper instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("PROCTEST_HELPER"); mode != "" {
		helper(mode)
		return
	}
	os.Exit(proctest.Main(m))
}

// helper is the child process: "serve" prints a line and waits for
// SIGTERM; "stubborn" ignores SIGTERM and starts a "sleeper" child that
// shares its output; "quit" prints and exits 0.
func helper(mode string) {
	switch mode {
	case "serve":
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		fmt.Println("listening on 127.0.0.1:1234 (pid", os.Getpid(), ")")
		<-sig
		fmt.Println("bye")
		os.Exit(3)
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), "PROCTEST_HELPER=sleeper")
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		if err := child.Start(); err != nil {
			fmt.Println("cannot start sleeper:", err)
			os.Exit(1)
		}
		fmt.Println("sleeper", child.Process.Pid)
		select {}
	case "sleeper":
		signal.Ignore(syscall.SIGTERM)
		select {}
	case "quit":
		fmt.Println("nothing to see")
		os.Exit(0)
	}
	os.Exit(2)
}

func helperCmd(mode string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PROCTEST_HELPER="+mode)
	return cmd
}

func TestBufferWaitLine(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b proctest.Buffer
	got := make(chan string, 1)
	go func() {
		line, err := b.WaitLine(ctx, "serving on ", nil)
		if err != nil {
			line = "error: " + err.Error()
		}
		got <- line
	}()
	// A line in pieces: nothing until its end has come.
	b.Write([]byte("starting\nserving on http://x"))
	b.Write([]byte(":1/"))
	select {
	case l := <-got:
		t.Fatalf("WaitLine returned %q before the end of the line", l)
	default:
	}
	b.Write([]byte("\nmore\n"))
	if l := <-got; l != "http://x:1/" {
		t.Errorf("WaitLine = %q, want %q", l, "http://x:1/")
	}
}

func TestBufferWaitLineStops(t *testing.T) {
	t.Parallel()
	var b proctest.Buffer
	stop := make(chan struct{})
	b.Write([]byte("ready\n"))
	close(stop)
	// What came before stop is still found...
	if l, err := b.WaitLine(context.Background(), "rea", stop); err != nil || l != "dy" {
		t.Errorf("WaitLine after stop = %q, %v; want the line written before", l, err)
	}
	// ...and a line that never comes is an error, not a hang.
	if _, err := b.WaitLine(context.Background(), "never", stop); err == nil || !strings.Contains(err.Error(), `"never"`) {
		t.Errorf("WaitLine for a missing line after stop: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.WaitLine(ctx, "never", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitLine past its deadline: %v", err)
	}
}

func TestBufferMax(t *testing.T) {
	t.Parallel()
	b := proctest.Buffer{Max: 4}
	for _, s := range []string{"abc", "defgh", "ij", "k"} {
		b.Write([]byte(s))
	}
	if s := b.String(); s != "hijk" {
		t.Errorf("String = %q, want the last 4 bytes %q", s, "hijk")
	}
	if s := b.Tail(2); s != "jk" {
		t.Errorf("Tail(2) = %q", s)
	}
}

func TestStartLineStop(t *testing.T) {
	t.Parallel()
	p := proctest.Start(t, "serve", helperCmd("serve"))
	if l := p.Line(t, "listening on "); !strings.HasPrefix(l, "127.0.0.1:1234 (pid ") {
		t.Errorf("Line = %q", l)
	}
	if p.Exited() || p.Err() != nil {
		t.Fatalf("exited early: %v", p.Err())
	}
	p.Stop() // SIGTERM: the helper says bye and exits 3
	var ee *exec.ExitError
	if !errors.As(p.Err(), &ee) || ee.ExitCode() != 3 {
		t.Errorf("exit status %v, want 3 (a clean SIGTERM exit)", p.Err())
	}
	if !strings.HasSuffix(p.Out.String(), "bye\n") {
		t.Errorf("output %q", p.Out.String())
	}
	p.Stop() // again: harmless
}

// TestStopKillsGroup stops a process that ignores SIGTERM and whose child
// holds its output open: the whole group must go, within the grace period
// and not by exec's WaitDelay.
func TestStopKillsGroup(t *testing.T) {
	t.Parallel()
	p := proctest.Start(t, "stubborn", helperCmd("stubborn"))
	p.Grace = 100 * time.Millisecond
	pid, err := strconv.Atoi(p.Line(t, "sleeper "))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.Stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %v", d)
	}
	if errors.Is(p.Err(), exec.ErrWaitDelay) {
		t.Fatalf("the child kept the output open: %v", p.Err())
	}
	// The child's end closed the shared pipe (cmd.Wait returned without
	// WaitDelay), which a dying process does before it turns into a
	// zombie: within moments it is gone or a zombie about to be reaped by
	// init.
	deadline := time.Now().Add(2 * time.Second)
	for {
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if syscall.Kill(pid, 0) != nil || len(st) == 0 || strings.Contains(string(st), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d still running: %s", pid, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWaitLineProcessExits(t *testing.T) {
	t.Parallel()
	p := proctest.Start(t, "quit", helperCmd("quit"))
	_, err := p.WaitLine(context.Background(), "listening on ")
	if err == nil || !strings.Contains(err.Error(), "quit exited") {
		t.Errorf("WaitLine on a process that exits: %v", err)
	}
	if err := p.Wait(context.Background()); err != nil {
		t.Errorf("Wait = %v, want nil (exit 0)", err)
	}
}

func TestRunMissingBinary(t *testing.T) {
	t.Parallel()
	if _, err := proctest.Run("nothing", exec.Command("/nonexistent/proctest-binary")); err == nil {
		t.Fatal("Run of a missing binary succeeded")
	}
}

func TestPorts(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for range 20 {
		p := proctest.Port(t)
		if p < 20000 || p >= 32000 || seen[p] {
			t.Fatalf("port %d: outside [20000, 32000) or handed out twice", p)
		}
		seen[p] = true
	}
	addr := proctest.Addr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	ln.Close()
	// Without a release, FreePort does not hand a port out again.
	p, err := proctest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		q, err := proctest.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if q == p {
			t.Fatalf("port %d handed out twice", p)
		}
		defer proctest.ReleasePort(q)
	}
	proctest.ReleasePort(p)
}

func TestBuild(t *testing.T) {
	t.Parallel()
	bin := proctest.Build(t, "./testdata/hello")
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if again := proctest.Build(t, "./testdata/hello"); again != bin {
		t.Errorf("second Build = %s, want the first one's %s", again, bin)
	} else if fi2, _ := os.Stat(again); !fi2.ModTime().Equal(fi.ModTime()) {
		t.Error("second Build built again")
	}
	p := proctest.Start(t, "hello", exec.Command(bin, "a", "b"))
	if err := p.Wait(context.Background()); err != nil || p.Out.String() != "hello a b\n" {
		t.Errorf("hello: %v %q", err, p.Out.String())
	}
}
