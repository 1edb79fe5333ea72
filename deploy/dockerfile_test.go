package deploy

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/siorelay/siorelay/internal/proctest"
)

// repoRoot is the Docker build context: the module root, above deploy/.
const repoRoot = ".."

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, ...
	Args string
	Line int
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start})
		cur.Reset()
	}
	return out
}

// finalStage returns the instructions after the last FROM.
func finalStage(ins []instruction) []instruction {
	last := 0
	for i, in := range ins {
		if in.Cmd == "FROM" {
			last = i
		}
	}
	return ins[last:]
}

func find(ins []instruction, cmd string) []instruction {
	var out []instruction
	for _, in := range ins {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// jsonArray parses an exec-form instruction argument (["a", "b"]).
func jsonArray(t *testing.T, in instruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.Args), &v); err != nil {
		t.Fatalf("Dockerfile:%d: %s must be in exec form (a JSON array): %v", in.Line, in.Cmd, err)
	}
	return v
}

// shellWords splits a simple shell command: blanks separate words, single
// and double quotes group (no escapes, expansions or operators, which the
// build command does not need and this test refuses).
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case strings.ContainsRune(`\;&|<>()`+"`", r):
			return nil, fmt.Errorf("unsupported shell syntax %q in %q", r, s)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// buildCommand is the Dockerfile's `go build` RUN: its environment
// assignments and go's arguments.
type buildCommand struct {
	Env  map[string]string
	Args []string // after "go"
	Out  string   // the -o path
	Line int
}

func dockerBuildCommand(t *testing.T, ins []instruction) buildCommand {
	t.Helper()
	var runs []instruction
	for _, in := range find(ins, "RUN") {
		if strings.Contains(in.Args, "go build") {
			runs = append(runs, in)
		}
	}
	if len(runs) != 1 {
		t.Fatalf("Dockerfile has %d RUN instructions with `go build`, want 1", len(runs))
	}
	words, err := shellWords(runs[0].Args)
	if err != nil {
		t.Fatalf("Dockerfile:%d: %v", runs[0].Line, err)
	}
	bc := buildCommand{Env: map[string]string{}, Line: runs[0].Line}
	i := 0
	for ; i < len(words) && strings.HasPrefix(words[i], "--mount="); i++ {
	}
	for ; i < len(words) && words[i] != "go"; i++ {
		k, v, ok := strings.Cut(words[i], "=")
		if !ok {
			t.Fatalf("Dockerfile:%d: %q before `go` is not a VAR=value assignment", bc.Line, words[i])
		}
		bc.Env[k] = v
	}
	if i == len(words) {
		t.Fatalf("Dockerfile:%d: no `go` command", bc.Line)
	}
	bc.Args = words[i+1:]
	if j := slices.Index(bc.Args, "-o"); j >= 0 && j+1 < len(bc.Args) {
		bc.Out = bc.Args[j+1]
	} else {
		t.Fatalf("Dockerfile:%d: go build has no -o", bc.Line)
	}
	return bc
}

// buildLikeDocker builds cmd/siorelay with the Dockerfile's own command,
// for this machine's platform, once per test binary.
func buildLikeDocker(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		bc := dockerBuildCommand(t, parseDockerfile(t))
		// The values buildx gives these build arguments.
		platform := map[string]string{"$TARGETOS": runtime.GOOS, "$TARGETARCH": runtime.GOARCH}
		env := os.Environ()
		for k, v := range bc.Env {
			if strings.HasPrefix(v, "$") {
				pv, ok := platform[v]
				if !ok {
					buildErr = fmt.Errorf("Dockerfile:%d: %s=%s: unknown variable", bc.Line, k, v)
					return
				}
				v = pv
			}
			env = append(env, k+"="+v)
		}
		buildBin = filepath.Join(proctest.BinDir(t), "siorelay-docker")
		args := slices.Clone(bc.Args)
		args[slices.Index(args, "-o")+1] = buildBin
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = repoRoot, env
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

func TestDockerfileBuild(t *testing.T) {
	t.Parallel()
	ins := parseDockerfile(t)
	froms := find(ins, "FROM")
	if len(froms) != 2 {
		t.Fatalf("Dockerfile has %d stages, want 2 (build, then a minimal runtime)", len(froms))
	}
	if !regexp.MustCompile(`(^|\s)golang:1\.26(\.\d+)?(-\S+)?\s+AS\s+build$`).MatchString(froms[0].Args) {
		t.Errorf("build stage is FROM %s, want golang:1.26 ... AS build (go.mod's Go)", froms[0].Args)
	}
	if img := froms[1].Args; img != "gcr.io/distroless/static-debian12:nonroot" && img != "scratch" {
		t.Errorf("runtime stage is FROM %s, want a static-only base (distroless static or scratch)", img)
	}

	bc := dockerBuildCommand(t, ins)
	if bc.Env["CGO_ENABLED"] != "0" {
		t.Errorf("go build runs with CGO_ENABLED=%q, want 0 (a static binary)", bc.Env["CGO_ENABLED"])
	}
	for _, want := range []string{"build", "-trimpath", "-ldflags=-s -w", "./cmd/siorelay"} {
		if !slices.Contains(bc.Args, want) {
			t.Errorf("go %s: missing %q", strings.Join(bc.Args, " "), want)
		}
	}

	bin := buildLikeDocker(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a PT_INTERP program header: it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v), want none", libs, err)
	}
	for _, s := range []string{".symtab", ".debug_info", ".zdebug_info"} {
		if f.Section(s) != nil {
			t.Errorf("the binary has a %s section; -ldflags='-s -w' should strip it", s)
		}
	}

	final := finalStage(ins)
	var copied string
	for _, c := range find(final, "COPY") {
		if w := strings.Fields(c.Args); len(w) == 3 && w[0] == "--from=build" && w[1] == bc.Out {
			copied = w[2]
		}
	}
	if copied == "" {
		t.Fatalf("the runtime stage does not COPY --from=build %s", bc.Out)
	}
	ep := find(final, "ENTRYPOINT")
	if len(ep) != 1 || !slices.Equal(jsonArray(t, ep[0]), []string{copied}) {
		t.Errorf("ENTRYPOINT %v, want [%q] (the copied binary)", ep, copied)
	}
	if uid := dockerUID(t); uid == 0 {
		t.Error("USER is root")
	}
}

// dockerUID returns the numeric uid of the runtime stage's USER (a name
// would keep Kubernetes' runAsNonRoot from verifying it).
func dockerUID(t *testing.T) int64 {
	t.Helper()
	users := find(finalStage(parseDockerfile(t)), "USER")
	if len(users) != 1 {
		t.Fatalf("the runtime stage has %d USER instructions, want 1", len(users))
	}
	u, _, _ := strings.Cut(users[0].Args, ":")
	uid, err := strconv.ParseInt(u, 10, 64)
	if err != nil {
		t.Fatalf("USER %s: not numeric", users[0].Args)
	}
	return uid
}

// dockerExposed returns the ports of EXPOSE.
func dockerExposed(t *testing.T) []int {
	t.Helper()
	var ports []int
	for _, e := range find(finalStage(parseDockerfile(t)), "EXPOSE") {
		for _, p := range strings.Fields(e.Args) {
			n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
			if err != nil {
				t.Fatalf("EXPOSE %s: %v", p, err)
			}
			ports = append(ports, n)
		}
	}
	return ports
}

// TestDockerfileCommand checks the image's default command against the
// binary, and runs it (on a free port instead of 3000).
func TestDockerfileCommand(t *testing.T) {
	t.Parallel()
	bin := buildLikeDocker(t)
	cmds := find(finalStage(parseDockerfile(t)), "CMD")
	if len(cmds) != 1 {
		t.Fatalf("%d CMD instructions, want 1", len(cmds))
	}
	args := jsonArray(t, cmds[0])
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("CMD %v, want serve ...", args)
	}
	fl := parseArgs(t, bin, args)
	port := portOf(t, fl.value("addr"))
	if !slices.Contains(dockerExposed(t), port) {
		t.Errorf("CMD serves on port %d, which is not EXPOSEd (%v)", port, dockerExposed(t))
	}
	if host := fl.value("addr"); !strings.HasPrefix(host, "0.0.0.0:") && !strings.HasPrefix(host, ":") {
		t.Errorf("CMD --addr %s: not reachable from outside the container", host)
	}
	base := startServe(t, bin, withAddr(args, "addr", "127.0.0.1:0"), nil)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code := httpStatus(t, base+p); code != 200 {
			t.Errorf("GET %s: %d, want 200", p, code)
		}
	}
	checkNoDemo(t, base)
}

// TestDockerignore checks that the build context keeps every file the
// build reads (go.mod, go.sum, and the Go and embedded files of every
// package of this module that cmd/siorelay is built from, for linux) and
// leaves out the bulky rest.
func TestDockerignore(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	rules := parseDockerignore(string(b))
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,Module,GoFiles,EmbedFiles,CgoFiles,SFiles", "./cmd/siorelay")
	cmd.Dir, cmd.Env = repoRoot, append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			Dir                                   string
			Module                                *struct{ Path string }
			GoFiles, EmbedFiles, CgoFiles, SFiles []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || p.Module.Path != "github.com/siorelay/siorelay" {
			continue
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range slices.Concat(p.GoFiles, p.EmbedFiles, p.CgoFiles, p.SFiles) {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(needed) < 20 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, f := range needed {
		if rules.ignored(f) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", f)
		}
	}
	for _, f := range []string{".git/HEAD", "clients/compat/node_modules/socket.io/package.json", "bench/README.md", ".tmp/bin/siorelay", "relay/relay_test.go", "internal/adapter/testdata/x"} {
		if !rules.ignored(f) {
			t.Errorf(".dockerignore sends %s, which the build does not need", f)
		}
	}
}

// dockerignore holds .dockerignore's rules in order.
type dockerignore []ignoreRule

type ignoreRule struct {
	re      *regexp.Regexp
	exclude bool // a "!" rule: send what matches after all
}

// parseDockerignore reads the patterns as Docker does: one per line, # for
// comments, leading "!" for exceptions; * and ? within a path element, **
// across any number of them.
func parseDockerignore(s string) dockerignore {
	var d dockerignore
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if strings.HasPrefix(line, "!") {
			r.exclude, line = true, line[1:]
		}
		line = strings.Trim(filepath.ToSlash(filepath.Clean(line)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case strings.HasPrefix(line[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(line[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		r.re = regexp.MustCompile(re.String())
		d = append(d, r)
	}
	return d
}

// ignored reports whether path (slash-separated, relative to the context)
// is left out: the last rule that matches it or one of its parent
// directories decides.
func (d dockerignore) ignored(path string) bool {
	ignored := false
	for _, r := range d {
		for p := path; p != "."; p = filepath.ToSlash(filepath.Dir(p)) {
			if r.re.MatchString(p) {
				ignored = !r.exclude
				break
			}
		}
	}
	return ignored
}
