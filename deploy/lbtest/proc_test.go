//go:build linux

package lbtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 20 * time.Second

// httpClient is for every HTTP request of the tests: none may hang.
var httpClient = &http.Client{Timeout: 10 * time.Second}

var (
	binDir string // made by TestMain, removed after the tests

	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lbtest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// siorelayBin builds cmd/siorelay once per test binary and returns its path.
func siorelayBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "siorelay")
	buildOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin, "github.com/siorelay/siorelay/cmd/siorelay").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/siorelay: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// requireTool fails the test, with the package to install, when name is
// not in PATH (Debian puts haproxy and nginx in /usr/sbin, which a normal
// user's PATH may lack, so that is tried too).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/sbin", name); isExecutable(p) {
		return p
	}
	t.Fatalf("%s not found in PATH or /usr/sbin: install it (Debian: apt-get install -y %s); these tests need the real %s", name, name, name)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// proc is a process started by a test, stopped at t.Cleanup.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer // stdout and stderr
	done chan struct{}
	err  error // exit status, set before done is closed
}

// startProc starts bin with args in its own process group. At cleanup it
// gets SIGTERM, then SIGKILL for the whole group after a grace period (nginx
// workers included); if the test failed, its output is logged.
func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Its own group, so that cleanup reaches its children; and killed with
	// the test binary if that dies first.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
			}
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("%s output (last 8 KiB):\n%s", name, p.out.tail(8<<10))
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitOutput waits for substr in the process's output and returns the rest
// of the line that follows it.
func (p *proc) waitOutput(ctx context.Context, substr string) (string, error) {
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	for {
		if _, rest, ok := strings.Cut(p.out.String(), substr); ok {
			if line, _, ok := strings.Cut(rest, "\n"); ok {
				return line, nil
			}
		}
		select {
		case <-p.done:
			return "", fmt.Errorf("%s exited (%v) before printing %q", p.name, p.err, substr)
		case <-ctx.Done():
			return "", fmt.Errorf("%s did not print %q: %w", p.name, substr, ctx.Err())
		case <-tk.C:
		}
	}
}

// wait waits for the process to exit and returns its exit status.
func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("%s still running: %w", p.name, ctx.Err())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer // guarded by mu
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// poll calls f every 20ms until it returns nil or ctx ends; then it
// returns f's last error.
func poll(ctx context.Context, f func() error) error {
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-tk.C:
		}
	}
}
