package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/proctest"
	"github.com/siorelay/siorelay/internal/redistest"
)

// runEmitAsync runs `siorelay emit args...` in-process in a goroutine.
func runEmitAsync(args ...string) (stdout, stderr *proctest.Buffer, code <-chan int) {
	stdout, stderr = &proctest.Buffer{}, &proctest.Buffer{}
	c := make(chan int, 1)
	go func() { c <- run(context.Background(), append([]string{"emit"}, args...), stdout, stderr) }()
	return stdout, stderr, c
}

func readEvent(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	msg, err := readText(r)
	if err != nil || string(msg) != want {
		t.Fatalf("client got %q %v, want %q", msg, err, want)
	}
}

// TestEmitGRPCToRelay sends through a relay's EmitterService (serve
// --grpc-addr, as make run starts it) to a connected Socket.IO client.
func TestEmitGRPCToRelay(t *testing.T) {
	url, stdout, _, _ := startServeOut(t, "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--namespaces", "/,/admin", "--log-level", "error")
	grpcAddr := afterLine(t, stdout, "serving gRPC EmitterService on ")
	_, r := dialSocketIO(t, url)

	code, out, errOut := runCmd(t, "emit", "--grpc", grpcAddr, "chat", `"hello"`, `{"n":1}`, "42")
	if code != 0 || out != `sent "chat" to the EmitterService on `+grpcAddr+"\n" || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	readEvent(t, r, `42["chat","hello",{"n":1},42]`)

	// A room the client is not in, then its own id as a room, with an
	// exception that does not match it.
	if code, _, errOut := runCmd(t, "emit", "--grpc", grpcAddr, "--to", "nobody", "x"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, "emit", "--grpc", grpcAddr, "--nsp", "admin", "y"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, "emit", "--grpc", grpcAddr, "--except", "nobody", "--volatile", "z", "null"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	readEvent(t, r, `42["z",null]`) // neither x (room) nor y (/admin) came first
}

// TestEmitGRPCToSidecar goes through the sidecar with TLS and a token, as
// the sidecar has them, into Redis; a wrong token is one line and exit 1.
func TestEmitGRPCToSidecar(t *testing.T) {
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	msgs := subscribe(t, rs.Client(t), "*")
	dir := t.TempDir()
	writeSelfSigned(t, dir)
	sc := startSidecar(t, "--grpc-addr", "127.0.0.1:0", "--redis", rs.URL(), "--key", key, "--token", "s3cret", "--log-level", "error",
		"--tls-cert", filepath.Join(dir, "cert.pem"), "--tls-key", filepath.Join(dir, "key.pem"))
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t, "emit", "--grpc", sc.addr, "--tls-ca", filepath.Join(dir, "cert.pem"), "--token-file", tokenFile, "--to", "r1", "hello", `"world"`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	select {
	case m := <-msgs:
		if m.Channel != key+"#/#r1#" || !strings.Contains(m.Payload, "hello") || !strings.Contains(m.Payload, "world") {
			t.Errorf("published %s %q", m.Channel, m.Payload)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing published")
	}

	t.Setenv("SIORELAY_TOKEN", "wrong")
	code, _, errOut = runCmd(t, "emit", "--grpc", sc.addr, "--tls-ca", filepath.Join(dir, "cert.pem"), "hello")
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "Unauthenticated") {
		t.Errorf("wrong token: exit %d, stderr %q; want one line saying Unauthenticated", code, errOut)
	}
	// Plaintext to a TLS server: it is reached, so --wait does not wait.
	start := time.Now()
	code, _, errOut = runCmd(t, "emit", "--grpc", sc.addr, "--wait", "30s", "--timeout", "3s", "hello")
	if code != 1 || strings.Count(errOut, "\n") != 1 || time.Since(start) > 10*time.Second {
		t.Errorf("plaintext to TLS: exit %d after %v, stderr %q", code, time.Since(start), errOut)
	}
	noMessage(t, msgs, rs)
}

// TestEmitWaitsForRelay starts emit --wait before the relay, as the
// README's quickstart does while the first `make run` compiles: emit says
// it waits, and delivers once the relay listens.
func TestEmitWaitsForRelay(t *testing.T) {
	addr := proctest.Addr(t)
	_, errOut, code := runEmitAsync("--grpc", addr, "--wait", "1m", "late", `"but there"`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := errOut.WaitLine(ctx, "is not up yet; waiting up to 1m0s", nil); err != nil {
		t.Fatal(err)
	}
	startServe(t, "--addr", "127.0.0.1:0", "--grpc-addr", addr, "--log-level", "error")
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d: %s", c, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("emit still waiting 30s after the relay started")
	}
	if n := strings.Count(errOut.String(), "\n"); n != 1 {
		t.Errorf("stderr %q: want the one waiting line", errOut.String())
	}
}

// TestEmitWaitGivesUp: with nothing coming up, --wait ends in one error
// line after the waiting line, naming the refused connection; without
// --wait, at once.
func TestEmitWaitGivesUp(t *testing.T) {
	closed := proctest.Addr(t)
	for _, tt := range []struct {
		args     []string
		min, max time.Duration
		want     string
	}{
		{[]string{"--grpc", closed}, 0, 5 * time.Second, "siorelay emit: " + closed + ": cannot connect: dial tcp " + closed + ": connect: connection refused\n"},
		{[]string{"--grpc", closed, "--wait", "700ms"}, 700 * time.Millisecond, 10 * time.Second, "siorelay emit: " + closed + ": cannot connect after waiting 700ms: dial tcp " + closed + ": connect: connection refused\n"},
		{[]string{"--redis", "redis://" + closed, "--wait", "700ms"}, 700 * time.Millisecond, 10 * time.Second, "connect: connection refused (still down after waiting 700ms)\n"},
	} {
		start := time.Now()
		code, _, errOut := runCmd(t, append(append([]string{"emit"}, tt.args...), "ev")...)
		d := time.Since(start)
		lines := strings.SplitAfter(errOut, "\n")
		last := lines[len(lines)-2]
		if code != 1 || !strings.HasSuffix(last, tt.want) || d < tt.min || d > tt.max {
			t.Errorf("%v: exit %d after %v, stderr %q; want exit 1 within [%v, %v] ending %q", tt.args, code, d, errOut, tt.min, tt.max, tt.want)
		}
		// Before the error, at most the one line saying it waits (not
		// when the first attempt outlasted --wait: go-redis retries).
		if n := len(lines) - 1; n > 2 || (n == 2 && !strings.Contains(lines[0], "is not up yet; waiting up to ")) || (tt.min == 0 && n != 1) {
			t.Errorf("%v: stderr %q, want the error after at most one waiting line", tt.args, errOut)
		}
	}
}

// TestEmitWaitsForRedis: emit --redis --wait outlasts a Redis that is
// down, and publishes once it is back.
func TestEmitWaitsForRedis(t *testing.T) {
	rs := redistest.Start(t)
	rs.Stop()
	out, errOut, code := runEmitAsync("--redis", rs.URL(), "--wait", "1m", "ev", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := errOut.WaitLine(ctx, "siorelay emit: Redis is not up yet; waiting up to 1m0s", nil); err != nil {
		t.Fatal(err)
	}
	rs.Restart()
	select {
	case c := <-code:
		if c != 0 || out.String() != "published \"ev\" to socket.io#/#\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", c, out.String(), errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("emit still waiting 30s after Redis came back")
	}
}

func TestEmitGRPCUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--grpc", "127.0.0.1:1", "--redis", "redis://127.0.0.1:1", "ev"}, 2, "--redis and --grpc: use one of them"},
		{[]string{"--grpc", "127.0.0.1:1", "--key", "k", "ev"}, 2, "--key (or SIORELAY_KEY) is for --redis"},
		{[]string{"--grpc", "127.0.0.1:1", "--sharded", "ev"}, 2, "--sharded (or SIORELAY_SHARDED) is for --redis"},
		{[]string{"--grpc", "127.0.0.1:1", "--adapter", "streams", "ev"}, 2, "--adapter (or SIORELAY_ADAPTER) is for --redis"},
		{[]string{"--grpc", "127.0.0.1:1", "--tls-ca", "/nonexistent/ca.pem", "ev"}, 2, "--tls-ca"},
		{[]string{"--grpc", "127.0.0.1:1", "--token", "a", "--token-file", "f", "ev"}, 2, "mutually exclusive"},
		{[]string{"--grpc", "127.0.0.1:1", "ev", "not json"}, 2, "argument 1 is not a JSON value"},
		{[]string{"--grpc", "127.0.0.1:1", "disconnect"}, 1, `reserved event name: "disconnect"`},
	} {
		code, _, stderr := runCmd(t, append([]string{"emit"}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("emit %q: exit %d, stderr %q; want exit %d and one line with %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}
