//go:build linux

package lbtest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/proctest"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 20 * time.Second

// httpClient is for every HTTP request of the tests: none may hang.
var httpClient = &http.Client{Timeout: 10 * time.Second}

func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }

// siorelayBin builds cmd/siorelay once per test binary and returns its path.
func siorelayBin(t *testing.T) string {
	t.Helper()
	return proctest.Build(t, "github.com/siorelay/siorelay/cmd/siorelay")
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

// startProc starts bin with args in its own process group. At cleanup it
// gets SIGTERM, then SIGKILL for the whole group after a grace period
// (nginx workers included); if the test failed, its output is logged.
func startProc(t *testing.T, name, bin string, args ...string) *proctest.Process {
	t.Helper()
	return proctest.Start(t, name, exec.Command(bin, args...))
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
