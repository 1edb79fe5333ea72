package emitter

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps enforces the dependency rules of STYLE.md §2.2: the emitter is a
// small library embedded in users' backends, so it pulls in no server.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/siorelay/siorelay/emitter").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	bad := map[string]string{
		"github.com/siorelay/siorelay/relay":             "relay and emitter are independent halves",
		"github.com/siorelay/siorelay/internal/engineio": "the emitter holds no connections",
		"github.com/gobwas/ws":                           "the emitter holds no connections",
		"net/http":                                       "the emitter serves nothing",
		"google.golang.org/grpc":                         "gRPC belongs to cmd and emittergrpc",
	}
	for _, dep := range strings.Fields(string(out)) {
		for prefix, why := range bad {
			if dep == prefix || strings.HasPrefix(dep, prefix+"/") {
				t.Errorf("emitter depends on %s: %s", dep, why)
			}
		}
	}
}
