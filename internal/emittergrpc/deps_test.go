package emittergrpc

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps enforces STYLE.md §2.2 for this package: it serves the gRPC API
// over the emitter (or any Backend) and never depends on the relay, so that
// the relay can implement Backend without an import cycle.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/siorelay/siorelay/internal/emittergrpc").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	bad := map[string]string{
		"github.com/siorelay/siorelay/relay": "a relay in the same process implements Backend; emittergrpc must not know it",
		"github.com/siorelay/siorelay/cmd":   "cmd wires packages together, never the reverse",
		"github.com/gobwas/ws":               "no transport code here",
		"connectrpc.com/connect":             "tests only: the HTTP API is a handler over the ServiceDesc; connect-go is the reference client that checks it",
	}
	for _, dep := range strings.Fields(string(out)) {
		for prefix, why := range bad {
			if dep == prefix || strings.HasPrefix(dep, prefix+"/") {
				t.Errorf("emittergrpc depends on %s: %s", dep, why)
			}
		}
	}
}
