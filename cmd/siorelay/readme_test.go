//go:build readme

package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/proctest"
)

// TestREADMEQuickstart runs the README's quickstart as a newcomer does,
// with the lines read from README.md, so that it breaks when the README
// changes without it: the first shell block in one terminal (make run),
// the second at once in another, while the first still compiles. Its
// environment is a fresh machine's as far as the lines can tell: a GOPATH
// of its own (so make install puts siorelay where the README's export
// line looks, and nowhere else), no GOBIN, no siorelay or grpcurl on the
// PATH. It needs 127.0.0.1:3000 and :50051 free, as make run does, and
// runs under `make test-readme` (build tag readme), not inside go test
// ./..., whose packages run in parallel.
func TestREADMEQuickstart(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	blocks := quickstartBlocks(t)
	for _, addr := range []string{"127.0.0.1:3000", "127.0.0.1:50051"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s is taken (%v): the quickstart's make run needs it", addr, err)
		}
		ln.Close()
	}
	env := freshEnv(t)

	term1 := exec.Command("bash", "-euo", "pipefail", "-c", blocks[0])
	term1.Dir, term1.Env = root, env
	run := proctest.Start(t, "terminal 1", term1)
	run.Grace = 15 * time.Second

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	term2 := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", blocks[1])
	term2.Dir, term2.Env = root, env
	out, err := term2.CombinedOutput()
	if err != nil {
		t.Fatalf("terminal 2: %v\n%s\nterminal 1:\n%s", err, out, run.Out.Tail(4<<10))
	}
	t.Logf("terminal 2:\n%s", out)
	if !strings.Contains(string(out), `sent "chat" to the EmitterService on 127.0.0.1:50051`) {
		t.Errorf("terminal 2 printed:\n%s", out)
	}
	if run.Exited() {
		t.Fatalf("make run exited (%v):\n%s", run.Err(), run.Out.Tail(4<<10))
	}

	// The relay took the event, and serves the page the text speaks of.
	expectMetrics(t, "http://127.0.0.1:3000/metrics",
		m("siorelay_grpc_calls_total", 1, "method", "/siorelay.v1.EmitterService/Emit", "code", "OK"))
	code, page := get(t, "http://127.0.0.1:3000/")
	if code != http.StatusOK || !strings.Contains(page, "siorelay demo chat") {
		t.Errorf("GET http://127.0.0.1:3000/: %d %.200q, want the demo chat page", code, page)
	}

	// A page connected now gets the event when the lines that send it run
	// again (make install done, they are the rest of the block).
	_, r := dialSocketIO(t, "http://127.0.0.1:3000/socket.io/")
	again := blocks[1][strings.Index(blocks[1], "\n")+1:]
	term2 = exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", again)
	term2.Dir, term2.Env = root, env
	if out, err := term2.CombinedOutput(); err != nil {
		t.Fatalf("terminal 2 again: %v\n%s", err, out)
	}
	readEvent(t, r, `42["chat","hello from siorelay emit"]`)
}

// quickstartBlocks returns the shell blocks of the README's "## Quickstart"
// section: what the two terminals run.
func quickstartBlocks(t *testing.T) []string {
	t.Helper()
	blocks := shBlocks(t, readmeSection(t, "## Quickstart\n"))
	if len(blocks) != 2 {
		t.Fatalf("the quickstart has %d shell blocks, want 2 (first terminal, second terminal)", len(blocks))
	}
	return blocks
}

// freshEnv is this process's environment with its own GOPATH (the module
// and build caches kept, so nothing is downloaded again), no GOBIN, and a
// PATH without any directory that holds a siorelay or grpcurl.
func freshEnv(t *testing.T) []string {
	t.Helper()
	var keep []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOPATH", "GOBIN", "GOMODCACHE", "GOCACHE", "PATH":
			continue
		}
		keep = append(keep, kv)
	}
	goenv := func(name string) string {
		out, err := exec.Command("go", "env", name).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	var path []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if isFile(filepath.Join(dir, "siorelay")) || isFile(filepath.Join(dir, "grpcurl")) {
			continue
		}
		path = append(path, dir)
	}
	return append(keep,
		"GOPATH="+t.TempDir(),
		"GOMODCACHE="+goenv("GOMODCACHE"),
		"GOCACHE="+goenv("GOCACHE"),
		"PATH="+strings.Join(path, string(filepath.ListSeparator)))
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
