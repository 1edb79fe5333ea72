package deploy

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/proctest"
)

// flagInfo is one flag of a siorelay subcommand, as its --help lists it.
type flagInfo struct {
	Env string // the environment variable that also sets it
	Def string // its default ("" when none is shown)
}

var (
	helpMu    sync.Mutex
	helpCache = map[string]map[string]flagInfo{}
)

var helpLine = regexp.MustCompile(`(?m)^  --([a-z0-9-]+)  \[([A-Z0-9_]+)\](?: \(default "([^"]*)"\))?$`)

// flagsOf returns the flags of `siorelay <sub>`, read from its --help.
func flagsOf(t *testing.T, bin, sub string) map[string]flagInfo {
	t.Helper()
	helpMu.Lock()
	defer helpMu.Unlock()
	if f, ok := helpCache[sub]; ok {
		return f
	}
	// --help exits non-zero by convention; only its text matters.
	out, _ := exec.Command(bin, sub, "--help").CombinedOutput()
	flags := map[string]flagInfo{}
	for _, m := range helpLine.FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = flagInfo{Env: m[2], Def: m[3]}
	}
	if len(flags) < 5 {
		t.Fatalf("siorelay %s --help lists %d flags:\n%s", sub, len(flags), out)
	}
	helpCache[sub] = flags
	return flags
}

// parsedArgs are a subcommand's flags as given on a command line.
type parsedArgs struct {
	sub   string
	flags map[string]flagInfo
	given map[string]string // flag → value ("true" for a bare boolean)
}

// value returns a flag's value: as given, or its default.
func (p parsedArgs) value(name string) string {
	if v, ok := p.given[name]; ok {
		return v
	}
	return p.flags[name].Def
}

// parseArgs checks args (subcommand first) against the binary's flags:
// every flag must exist; values come as --name=value or --name value.
func parseArgs(t *testing.T, bin string, args []string) parsedArgs {
	t.Helper()
	if len(args) == 0 {
		t.Fatal("no subcommand")
	}
	p := parsedArgs{sub: args[0], flags: flagsOf(t, bin, args[0]), given: map[string]string{}}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			t.Fatalf("argument %q of %v is not a --flag", a, args)
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if _, ok := p.flags[name]; !ok {
			t.Fatalf("siorelay %s has no flag --%s (args %v)", p.sub, name, args)
		}
		if !hasVal {
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				i++
				val = args[i]
			} else {
				val = "true"
			}
		}
		p.given[name] = val
	}
	return p
}

// withAddr returns args with flag set to addr (appended: the last one wins).
func withAddr(args []string, flag, addr string) []string {
	return append(append([]string(nil), args...), "--"+flag+"="+addr)
}

func portOf(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("address %q: %v", hostport, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("address %q: %v", hostport, err)
	}
	return n
}

// startProcess runs bin with args and env (nil: the test's own), killed
// at cleanup.
func startProcess(t *testing.T, bin string, args, env []string) *proctest.Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	p := proctest.Start(t, "siorelay "+strings.Join(args, " "), cmd)
	p.Grace = 0 // nothing to learn from a graceful stop here
	return p
}

// startServe runs `siorelay serve` (args from the subcommand on) and
// returns its base URL.
func startServe(t *testing.T, bin string, args, env []string) string {
	t.Helper()
	line := startProcess(t, bin, args, env).Line(t, "serving Socket.IO on http://")
	addr, _, _ := strings.Cut(line, "/")
	return "http://" + addr
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// checkNoDemo fails the test if the relay at base publishes the demo chat
// page at / (serve --demo is for trying siorelay out, not for production);
// the socket.io-client bundle is served, as Node serves it.
func checkNoDemo(t *testing.T, base string) {
	t.Helper()
	if code := httpStatus(t, base+"/"); code != http.StatusNotFound {
		t.Errorf("GET /: %d, want 404 (no demo page in production)", code)
	}
	if code := httpStatus(t, base+"/socket.io/socket.io.min.js"); code != http.StatusOK {
		t.Errorf("GET /socket.io/socket.io.min.js: %d, want 200 (the client bundle, as Node's serveClient)", code)
	}
}
