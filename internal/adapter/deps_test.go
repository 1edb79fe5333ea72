package adapter

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestCodecDeps enforces STYLE.md §2.2 rule 3: the wire-format packages do
// no I/O and depend on nothing but the standard library and each other, so
// they can be fuzzed and benchmarked alone.
func TestCodecDeps(t *testing.T) {
	const mod = "github.com/siorelay/siorelay/internal/"
	allowed := map[string][]string{
		"jsjson":   nil,
		"notepack": {"jsjson"},
		"engineio": {"jsjson"},
		"socketio": {"jsjson"},
		"adapter":  {"jsjson", "notepack"},
	}
	for pkg, ok := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", mod+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			name := strings.TrimPrefix(dep, mod)
			if name == pkg {
				continue
			}
			if !strings.HasPrefix(dep, mod) || !slices.Contains(ok, name) {
				t.Errorf("internal/%s depends on %s; it may use only the standard library and %v", pkg, dep, ok)
			}
		}
	}
}
