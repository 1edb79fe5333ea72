package relay

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"
)

func TestShutdown(t *testing.T) {
	reasons := make(chan string, 4)
	srv, err := NewServer(Config{OnDisconnect: func(s *Socket, reason string) { reasons <- reason }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	base := hs.URL

	wsc := openWS(t, base)
	wsc.connect("/")
	sid := openPolling(t, base)
	do(t, "POST", pollURL(base, "&sid="+sid), "40")
	do(t, "GET", pollURL(base, "&sid="+sid), "")
	serversMu.Lock()
	servers[base] = srv
	serversMu.Unlock()
	pending := pendingGet(t, base, sid)
	waitPending(t, base, sid)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// The WebSocket client gets a close frame, the polling one engine.io's
	// close packet: both reconnect elsewhere.
	if _, err := wsc.readErr(5 * time.Second); err != errClosedByServer {
		t.Fatalf("websocket: %v, want a close frame", err)
	}
	if r := waitResult(t, pending); r.body != "1" {
		t.Fatalf("pending GET: %d %q", r.status, r.body)
	}
	for range 2 {
		if r := <-reasons; r != "server shutting down" {
			t.Errorf("reason %q", r)
		}
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if srv.Ready() {
		t.Error("Ready after Shutdown")
	}
	if r := do(t, "GET", pollURL(base, ""), ""); r.status != 400 {
		t.Errorf("handshake after Shutdown: %d %q", r.status, r.body)
	}
	if err := srv.Of("/").Emit(ctx, "x"); err != ErrServerClosed {
		t.Errorf("Emit after Shutdown: %v", err)
	}
}
