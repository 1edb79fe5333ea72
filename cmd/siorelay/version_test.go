package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/siorelay/siorelay/internal/proctest"
)

func TestVersionText(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: vcs("vcs", "git", "vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.time", "2026-12-06T15:04:05+01:00", "vcs.modified", "false")},
			"siorelay v1.2.3 (commit 0123456789abcdef0123456789abcdef01234567, 2026-12-06T14:04:05Z) go1.26.8 linux/amd64"},
		{"dirty checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261206140405-0123456789ab+dirty"},
			Settings: vcs("vcs.revision", "0123456789ab", "vcs.modified", "true")},
			"siorelay v0.0.0-20261206140405-0123456789ab+dirty (commit 0123456789ab, modified) go1.26.8 linux/amd64"},
		{"no vcs", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"siorelay (devel) (commit unknown) go1.26.8 linux/amd64"},
		{"no build info", nil, "siorelay (devel) (commit unknown) " + runtime.Version() + " linux/amd64"},
	}
	for _, tt := range tests {
		if got := versionText(tt.bi, "linux/amd64"); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, stdout, stderr := runCmd(t, args...)
		want := " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
		if code != 0 || !strings.HasPrefix(stdout, "siorelay ") || !strings.HasSuffix(stdout, want) || stderr != "" {
			t.Errorf("siorelay %v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	if code, _, stderr := runCmd(t, "version", "extra"); code != 2 || !strings.Contains(stderr, "unexpected arguments") {
		t.Errorf("version extra: exit %d, %q", code, stderr)
	}
}

// TestVersionOfBuiltBinary builds the binary as `make install` does and
// checks that `siorelay version` reports what `go version -m` reads from
// it, and, when this checkout is a git repository Go can stamp (a .git
// directory: Go does not stamp builds in a `git worktree`), the commit
// checked out.
func TestVersionOfBuiltBinary(t *testing.T) {
	bin := proctest.Build(t, "github.com/siorelay/siorelay/cmd/siorelay", "-buildvcs=auto")
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(out))
	meta, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	info := map[string]string{}
	for _, line := range strings.Split(string(meta), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "mod":
			info["version"] = f[2]
		case len(f) >= 2 && f[0] == "build":
			k, v, _ := strings.Cut(f[1], "=")
			info[k] = v
		}
	}
	for _, want := range []string{"siorelay " + info["version"] + " (", runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH} {
		if !strings.Contains(got, want) {
			t.Errorf("version %q lacks %q (go version -m: %v)", got, want, info)
		}
	}
	if rev := info["vcs.revision"]; rev != "" && !strings.Contains(got, "commit "+rev) {
		t.Errorf("version %q lacks the stamped commit %s", got, rev)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(root, ".git")); err == nil && fi.IsDir() {
		head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		if want := "commit " + strings.TrimSpace(string(head)); !strings.Contains(got, want) {
			t.Errorf("version %q: want %s, the checked-out commit", got, want)
		}
	}
}
