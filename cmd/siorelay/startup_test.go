package main

import (
	"strings"
	"testing"

	"github.com/siorelay/siorelay/internal/redistest"
)

// TestStartupLinesOnce: each address serve and the sidecar listen on is
// announced once, on stdout, and not repeated in the log at the default
// level.
func TestStartupLinesOnce(t *testing.T) {
	srv := startCmd(t, "runServe", runServe, "serving Socket.IO on ",
		"--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	grpcAddr := afterLine(t, srv.stdout, "serving gRPC EmitterService on ")
	afterLine(t, srv.stdout, "serving metrics on ")
	rs := redistest.Start(t)
	sc := startSidecar(t, "--grpc-addr", "127.0.0.1:0", "--redis", rs.URL(), "--metrics-addr", "127.0.0.1:0")
	afterLine(t, sc.stdout, "serving metrics on ")
	for _, c := range []struct {
		name           string
		stdout, stderr string
		addrs          []string
	}{
		{"serve", srv.stdout.String(), srv.stderr.String(), []string{strings.TrimPrefix(strings.TrimSuffix(srv.line, "/socket.io/"), "http://"), grpcAddr}},
		{"emitter", sc.stdout.String(), sc.stderr.String(), []string{sc.addr}},
	} {
		for _, l := range strings.Split(strings.TrimSpace(c.stdout), "\n") {
			if strings.Count(c.stdout, l) != 1 || !strings.HasPrefix(l, "siorelay: serving ") {
				t.Errorf("%s: stdout line %q (stdout %q)", c.name, l, c.stdout)
			}
		}
		for _, a := range c.addrs {
			if strings.Contains(c.stderr, a) {
				t.Errorf("%s: the log repeats %s:\n%s", c.name, a, c.stderr)
			}
		}
		if strings.Contains(c.stderr, "msg=serving") {
			t.Errorf("%s: the log announces serving again:\n%s", c.name, c.stderr)
		}
	}
}
