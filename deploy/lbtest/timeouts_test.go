//go:build linux

package lbtest

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTimeoutsOutlastHeartbeat checks, in the committed configurations,
// that every timeout an idle Socket.IO connection can run into is longer
// than the relay's default pingInterval + pingTimeout: a long-polling GET
// is held up to pingInterval, and a client answers a ping within
// pingTimeout, so a shorter timeout would cut healthy idle clients. (The
// end-to-end tests are too short to run into them.)
func TestTimeoutsOutlastHeartbeat(t *testing.T) {
	t.Parallel()
	heartbeat := relayDefault(t, "ping-interval") + relayDefault(t, "ping-timeout")
	checks := []struct {
		file string
		re   string // its first group is the value
		unit string // appended to a bare number
	}{
		{"haproxy/haproxy.cfg", `(?m)^\s*timeout client\s+(\S+)`, "ms"},
		{"haproxy/haproxy.cfg", `(?m)^\s*timeout server\s+(\S+)`, "ms"},
		{"haproxy/haproxy.cfg", `(?m)^\s*timeout tunnel\s+(\S+)`, "ms"},
		{"nginx/nginx.conf", `(?m)^\s*proxy_read_timeout\s+([^;]+);`, "s"},
		{"nginx/nginx.conf", `(?m)^\s*proxy_send_timeout\s+([^;]+);`, "s"},
	}
	for _, c := range checks {
		m := regexp.MustCompile(c.re).FindAllStringSubmatch(readConfig(t, c.file), -1)
		if len(m) != 1 {
			t.Errorf("%s: %d matches of %s, want 1", c.file, len(m), c.re)
			continue
		}
		v := m[0][1]
		if _, err := strconv.Atoi(v); err == nil {
			v += c.unit
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Errorf("%s: %s: %v", c.file, m[0][0], err)
			continue
		}
		if d <= heartbeat {
			t.Errorf("%s: %q is not longer than pingInterval + pingTimeout (%s)", c.file, strings.TrimSpace(m[0][0]), heartbeat)
		}
	}
}

// relayDefault returns the default of a duration flag of `siorelay serve`,
// from its --help.
func relayDefault(t *testing.T, flag string) time.Duration {
	t.Helper()
	out, _ := exec.Command(siorelayBin(t), "serve", "--help").CombinedOutput()
	m := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(flag) + `  \[\w+\] \(default "([^"]+)"\)$`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("siorelay serve --help shows no default for --%s:\n%s", flag, out)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return d
}
