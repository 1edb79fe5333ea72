package deploy

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLBTimeoutsOutlastHeartbeat checks, in the committed load-balancer
// configurations, that every timeout an idle Socket.IO connection can run
// into is longer than the relay's default pingInterval + pingTimeout: a
// long-polling GET is held up to pingInterval, and a client answers a ping
// within pingTimeout, so a shorter timeout would cut healthy idle clients.
// (deploy/lbtest runs these files end to end, but too briefly to run into
// them.)
func TestLBTimeoutsOutlastHeartbeat(t *testing.T) {
	t.Parallel()
	serve := flagsOf(t, buildLikeDocker(t), "serve")
	heartbeat := duration(t, serve["ping-interval"].Def) + duration(t, serve["ping-timeout"].Def)
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
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(c.re).FindAllStringSubmatch(string(b), -1)
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
