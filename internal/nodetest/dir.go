package nodetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// modulePath is the module whose root holds clients/compat.
const modulePath = "github.com/siorelay/siorelay"

// pinned are the packages (and exact versions) the scripts rely on; Require
// checks the installed ones so a stale node_modules is reported, not used.
var pinned = map[string]string{
	"socket.io":                        "4.8.4",
	"socket.io-client":                 "4.8.4",
	"@socket.io/redis-adapter":         "8.3.0",
	"@socket.io/redis-emitter":         "5.1.0",
	"@socket.io/redis-streams-adapter": "0.3.1",
	"@msgpack/msgpack":                 "2.8.0",
	"redis":                            "4.7.1",
}

var dir = sync.OnceValue(func() string {
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if isModuleRoot(d) {
				return filepath.Join(d, "clients", "compat")
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	// Outside the module's tree (a test binary run elsewhere): use this file's
	// location, internal/nodetest/dir.go.
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "clients", "compat")
})

func isModuleRoot(d string) bool {
	b, err := os.ReadFile(filepath.Join(d, "go.mod"))
	return err == nil && bytes.Contains(b, []byte("module "+modulePath+"\n"))
}

// Dir returns the absolute path of clients/compat, found from the module root
// above the working directory.
func Dir() string { return dir() }

// Require fails the test (it never skips) when node is not in PATH or the
// pinned packages are not installed in clients/compat/node_modules at their
// pinned versions.
func Require(t testing.TB) {
	t.Helper()
	if err := check(); err != nil {
		t.Fatalf("nodetest: %v", err)
	}
}

var check = sync.OnceValue(func() error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node is not in PATH: install Node.js 18 or newer (Debian: apt-get install -y nodejs npm)")
	}
	for name, want := range pinned {
		b, err := os.ReadFile(filepath.Join(Dir(), "node_modules", name, "package.json"))
		if err != nil {
			return errors.New(name + " is not installed in " + Dir() + "/node_modules: run `make deps-compat` or `npm ci --prefix clients/compat`")
		}
		var pkg struct{ Version string }
		if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version != want {
			return errors.New(name + " in " + Dir() + "/node_modules is " + pkg.Version + ", want " + want + ": run `npm ci --prefix clients/compat`")
		}
	}
	return nil
})
