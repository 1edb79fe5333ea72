package proctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	binMu    sync.Mutex
	binDir   string                 // guarded by binMu: made by the first BinDir, removed by Main
	binBuilt = map[string]*binary{} // guarded by binMu: by package and flags
)

// binary is one Build result, made once.
type binary struct {
	once sync.Once
	path string
	err  error
}

// BinDir returns a directory for the binaries this test binary's tests
// build. It is made at the first call and removed by [Main].
func BinDir(t testing.TB) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if binDir == "" {
		dir, err := os.MkdirTemp("", "proctest-bin-")
		if err != nil {
			t.Fatal(err)
		}
		binDir = dir
	}
	return binDir
}

// Build builds the main package pkg (an import path, or a directory
// relative to the test's package) with `go build` and flags into
// [BinDir], once per test binary for each pkg and flags, and returns the
// binary's path. A failed build fails t with the compiler's output.
func Build(t testing.TB, pkg string, flags ...string) string {
	t.Helper()
	dir := BinDir(t)
	key := pkg + "\x00" + strings.Join(flags, "\x00")
	binMu.Lock()
	b := binBuilt[key]
	if b == nil {
		b = &binary{path: filepath.Join(dir, fmt.Sprintf("%s-%d", filepath.Base(pkg), len(binBuilt)))}
		binBuilt[key] = b
	}
	binMu.Unlock()
	b.once.Do(func() {
		args := append(append([]string{"build", "-o", b.path}, flags...), pkg)
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("proctest: go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Main runs the tests, then removes [BinDir], and returns the exit code:
//
//	func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	binMu.Lock()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	binMu.Unlock()
	return code
}
