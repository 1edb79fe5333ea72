package nodetest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/proctest"
	"github.com/siorelay/siorelay/internal/redistest"
)

// TestProcErrors checks that failures of the Node side surface as errors
// with the script's own message instead of hanging.
func TestProcErrors(t *testing.T) {
	t.Parallel()

	// A port nobody listens on.
	err := nodetest.RunEmitter(t, nodetest.EmitterConfig{Redis: "redis://" + proctest.Addr(t), Ops: []nodetest.EmitterOp{{Op: "emit", Event: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "ECONNREFUSED") {
		t.Errorf("RunEmitter with no Redis: err = %v, want ECONNREFUSED", err)
	}

	srv := redistest.Start(t)
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL()})
	ctx := testContext(t)
	_, err = peer.Call(ctx, map[string]any{"cmd": "nope"})
	var ce *nodetest.CallError
	if !errors.As(err, &ce) || ce.Cmd != "nope" || ce.Message != "unknown command nope" {
		t.Errorf("unknown command: err = %v, want CallError \"unknown command nope\"", err)
	}
	if err := peer.Emit(ctx, nodetest.Target{Nsp: "/missing"}, "x"); err == nil {
		t.Error("emit to a namespace the peer does not have succeeded")
	}

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := peer.WaitFor(short, func(l nodetest.Line) bool { return l.Type == "never" }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor on expiry: err = %v, want DeadlineExceeded", err)
	}

	if err := peer.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.ServerCount(ctx, "/"); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("command after close: err = %v, want a process-exited error", err)
	}
	if _, err := peer.Next(ctx); err == nil {
		t.Error("Next after exit with no lines left succeeded")
	}
}
