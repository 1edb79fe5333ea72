package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/redistest"
)

// waitStatus polls url until it answers want, for up to 15 s.
func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	waitStatusWithin(t, url, want, 15*time.Second)
}

// waitStatusWithin polls url until it answers want, for up to d.
func waitStatusWithin(t *testing.T, url string, want int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		code, _ := get(t, url)
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %d; want %d", url, code, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeRedis: `serve --redis` joins the adapter cluster: /readyz says
// ready once subscribed, not ready while Redis is down, ready again after
// it returns; a Go emitter's broadcast reaches a connected client.
func TestServeRedis(t *testing.T) {
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	url, cancel, done := startServe(t, "--addr", "127.0.0.1:0", "--redis", "redis://"+rs.Addr(), "--key", key, "--demo=false", "--log-level", "error")
	base := strings.TrimSuffix(url, "/socket.io/")
	waitStatus(t, base+"/readyz", http.StatusOK)

	conn, rd := dialSocketIO(t, url)
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	expect := func(want string) {
		t.Helper()
		msg, err := readText(rd)
		if err != nil || string(msg) != want {
			t.Fatalf("got %q, %v; want %q", msg, err, want)
		}
	}
	em, err := emitter.New(rs.Client(t), emitter.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancelCtx := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelCtx()
	if err := em.Emit(ctx, "hello", "redis"); err != nil {
		t.Fatal(err)
	}
	expect(`42["hello","redis"]`)

	rs.Stop()
	waitStatus(t, base+"/readyz", http.StatusServiceUnavailable)
	rs.Restart()
	waitStatus(t, base+"/readyz", http.StatusOK)
	if err := em.Emit(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	expect(`42["again"]`)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
