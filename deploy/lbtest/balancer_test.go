//go:build linux

package lbtest

import (
	"context"
	"encoding/csv"
	"fmt"
	"github.com/siorelay/siorelay/internal/proctest"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// balancer is one of the committed load-balancer configurations.
type balancer struct {
	name string
	// start runs the committed configuration in front of the two relays
	// (host:port each) and returns the URL clients connect to, once it
	// serves.
	start func(t *testing.T, relays [2]string) *frontend
}

// frontend is a running balancer.
type frontend struct {
	url string
	// cookies: the balancer keeps sessions sticky with the SERVERID cookie,
	// whose value names the relay (HAProxy); otherwise by source address.
	cookies bool
	// serverState returns the balancer's own view of relay i (0 or 1):
	// "UP", "DOWN", ...; nil when the balancer has no such view (nginx).
	serverState func(i int) (string, error)
}

var haproxyLB = balancer{name: "haproxy", start: startHAProxy}
var nginxLB = balancer{name: "nginx", start: startNginx}

// render returns the committed configuration with each old string replaced
// by its new one. Every old string must occur exactly once, so an edit of
// the committed file that the test no longer matches fails loudly instead
// of testing something else.
func render(t *testing.T, src string, pairs ...string) string {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		old, repl := pairs[i], pairs[i+1]
		if n := strings.Count(src, old); n != 1 {
			t.Fatalf("render: %q occurs %d times in the committed configuration, want exactly 1", old, n)
		}
		src = strings.Replace(src, old, repl, 1)
	}
	return src
}

func readConfig(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The example addresses of the committed configurations.
const (
	exampleRelay1 = "10.0.0.11:3000"
	exampleRelay2 = "10.0.0.12:3000"
)

// startHAProxy runs deploy/haproxy/haproxy.cfg with the test's addresses
// and returns once HAProxy's health checks (GET /readyz) passed on both
// relays.
func startHAProxy(t *testing.T, relays [2]string) *frontend {
	t.Helper()
	bin := requireTool(t, "haproxy")
	port, statsPort := proctest.Port(t), proctest.Port(t)
	cfg := render(t, readConfig(t, "haproxy/haproxy.cfg"),
		"bind :8080", fmt.Sprintf("bind 127.0.0.1:%d", port),
		"bind 127.0.0.1:8404", fmt.Sprintf("bind 127.0.0.1:%d", statsPort),
		exampleRelay1, relays[0],
		exampleRelay2, relays[1],
	)
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	p := startProc(t, "haproxy", bin, "-db", "-f", path)
	statsURL := fmt.Sprintf("http://127.0.0.1:%d/stats;csv", statsPort)
	fe := &frontend{
		url:     fmt.Sprintf("http://127.0.0.1:%d", port),
		cookies: true,
		serverState: func(i int) (string, error) {
			if p.Exited() {
				return "", fmt.Errorf("haproxy exited: %v", p.Err())
			}
			st, err := haproxyStats(statsURL)
			if err != nil {
				return "", err
			}
			s := st["relays/relay"+strconv.Itoa(i+1)]
			return s["status"] + " " + s["check_status"], nil
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for i := range 2 {
		err := poll(ctx, func() error {
			s, err := fe.serverState(i)
			if err != nil {
				return err
			}
			// L7OK: the last check was an HTTP check that got the expected status.
			if s != "UP L7OK" {
				return fmt.Errorf("relay%d is %q in HAProxy's stats, want \"UP L7OK\"", i+1, s)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("haproxy: %v", err)
		}
	}
	return fe
}

// haproxyStats reads HAProxy's CSV statistics: "proxy/server" → column →
// value.
func haproxyStats(url string) (map[string]map[string]string, error) {
	res, err := httpClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "# "))).ReadAll()
	if err != nil || len(recs) < 2 {
		return nil, fmt.Errorf("stats CSV: %v (%d records)", err, len(recs))
	}
	out := map[string]map[string]string{}
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, col := range recs[0] {
			if i < len(r) {
				row[col] = r[i]
			}
		}
		out[row["pxname"]+"/"+row["svname"]] = row
	}
	return out, nil
}

// startNginx runs deploy/nginx/nginx.conf with the test's addresses, and
// its pid, logs and temporary files in a temporary directory, in the
// foreground; it returns once nginx answers.
func startNginx(t *testing.T, relays [2]string) *frontend {
	t.Helper()
	bin := requireTool(t, "nginx")
	dir := t.TempDir()
	port := proctest.Port(t)
	var temps strings.Builder
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temps, "    %s_temp_path %s;\n", d, filepath.Join(dir, d))
	}
	cfg := render(t, readConfig(t, "nginx/nginx.conf"),
		"listen 8080;", fmt.Sprintf("listen 127.0.0.1:%d;", port),
		exampleRelay1, relays[0],
		exampleRelay2, relays[1],
		"/var/log/nginx/siorelay.access.log", filepath.Join(dir, "access.log"),
		"http {\n", "http {\n"+temps.String(),
	)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	errorLog := filepath.Join(dir, "error.log")
	args := []string{"-p", dir, "-c", path, "-e", errorLog}
	global := "pid " + filepath.Join(dir, "nginx.pid") + ";"
	if out, err := exec.Command(bin, append(args, "-t", "-g", global)...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	p := startProc(t, "nginx", bin, append(args, "-g", "daemon off; "+global)...)
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{errorLog, filepath.Join(dir, "access.log")} {
				b, _ := os.ReadFile(f)
				t.Logf("%s:\n%s", f, b)
			}
		}
	})
	fe := &frontend{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	// The committed configuration answers 404 itself outside /socket.io/.
	err := poll(ctx, func() error {
		if p.Exited() {
			return fmt.Errorf("nginx exited: %v", p.Err())
		}
		res, err := httpClient.Get(fe.url + "/")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Server"), "nginx") {
			return fmt.Errorf("GET /: %s from %q, want 404 from nginx", res.Status, res.Header.Get("Server"))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("nginx: %v", err)
	}
	return fe
}
