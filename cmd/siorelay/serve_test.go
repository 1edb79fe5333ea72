package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// lockedBuffer collects output written by runServe.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs runServe with args and returns the Socket.IO URL it
// prints, a cancel func and the channel of its result.
func startServe(t *testing.T, args ...string) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		done <- runServe(ctx, args, &stdout, &stderr)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("runServe did not return")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if out := stdout.String(); strings.Contains(out, "serving Socket.IO on ") {
			line := strings.SplitN(strings.SplitN(out, "serving Socket.IO on ", 2)[1], "\n", 2)[0]
			return line, cancel, done
		}
		select {
		case err := <-done:
			t.Fatalf("runServe returned %v; stderr: %s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no serving line; stderr: %s", stderr.String())
	return "", nil, nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeHealthAndGracefulShutdown(t *testing.T) {
	t.Setenv("SIORELAY_PING_INTERVAL", "1234ms")
	url, cancel, done := startServe(t, "--addr", "127.0.0.1:0", "--namespaces", "/,/chat", "--log-level", "error")
	base := strings.TrimSuffix(url, "/socket.io/")
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz: %d", code)
	}

	ctx, cancelDial := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelDial()
	conn, br, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var r io.Reader = conn
	if br != nil {
		r = br
	}
	rd := bufio.NewReader(r)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	open, err := readText(rd)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(open), `"pingInterval":1234,`) {
		t.Fatalf("open packet %s does not carry the interval from SIORELAY_PING_INTERVAL", open)
	}
	wsutil.WriteClientText(conn, []byte("40/chat,"))
	if msg, err := readText(rd); err != nil || !strings.HasPrefix(string(msg), `40/chat,{"sid":"`) {
		t.Fatalf("CONNECT reply %q %v", msg, err)
	}

	cancel()
	// The client sees a clean WebSocket close.
	for {
		h, err := ws.ReadHeader(rd)
		if err != nil {
			t.Fatalf("waiting for the close frame: %v", err)
		}
		if h.OpCode == ws.OpClose {
			break
		}
		io.CopyN(io.Discard, rd, h.Length)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runServe did not return after cancel")
	}
}

func TestServeBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--log-format", "xml"},
		{"--namespaces", "nope"},
		{"extra"},
	} {
		err := runServe(context.Background(), append([]string{"--addr", "127.0.0.1:0"}, args...), io.Discard, io.Discard)
		var ue usageError
		if err == nil || !errorsAs(err, &ue) {
			t.Errorf("%v: err %v, want usage error", args, err)
		}
	}
}

func errorsAs(err error, target *usageError) bool {
	ue, ok := err.(usageError)
	if ok {
		*target = ue
	}
	return ok
}

// readText reads the next text frame.
func readText(r *bufio.Reader) ([]byte, error) {
	for {
		h, err := ws.ReadHeader(r)
		if err != nil {
			return nil, err
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, err
		}
		if h.OpCode == ws.OpText {
			return p, nil
		}
	}
}
