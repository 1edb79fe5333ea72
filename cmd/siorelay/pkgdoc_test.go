package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPackageDocs keeps every package of the module documented (STYLE.md
// H8): a package comment that says what it is for. Generated code is exempt.
func TestPackageDocs(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Doc}}", "github.com/siorelay/siorelay/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, doc, _ := strings.Cut(line, "\t")
		if strings.Contains(path, "/internal/gen/") {
			continue
		}
		if len(strings.Fields(doc)) < 4 {
			t.Errorf("%s has no package documentation", path)
		}
	}
}
