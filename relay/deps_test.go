package relay

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps enforces the dependency rules of STYLE.md §2.2: the relay and
// the emitter share only internal/adapter (and the codecs).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/siorelay/siorelay/relay").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	bad := map[string]string{
		"github.com/siorelay/siorelay/emitter":              "relay and emitter are independent halves",
		"github.com/siorelay/siorelay/internal/emittergrpc": "gRPC belongs to cmd",
		"github.com/siorelay/siorelay/internal/gen":         "generated code is for emittergrpc and cmd only",
		"google.golang.org/grpc":                            "embedders need no gRPC",
		"google.golang.org/protobuf":                        "embedders need no protobuf",
		"github.com/prometheus":                             "metrics read Stats from outside (internal/metrics)",
		"github.com/siorelay/siorelay/internal/metrics":     "metrics read Stats from outside",
	}
	for _, dep := range strings.Fields(string(out)) {
		for prefix, why := range bad {
			if dep == prefix || strings.HasPrefix(dep, prefix+"/") {
				t.Errorf("relay depends on %s: %s", dep, why)
			}
		}
	}
}
