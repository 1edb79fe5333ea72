package main

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/proctest"
)

// TestMain removes the binaries that tests built (proctest.Build).
func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }

// running is a subcommand run in-process by startCmd.
type running struct {
	line   string           // the rest of the awaited line
	stdout *proctest.Buffer // what it printed
	stderr *proctest.Buffer // its logs
	cancel context.CancelFunc
	done   <-chan error // its result, once it returned
}

// startCmd runs a subcommand's run function with args in a goroutine and
// waits until it prints marker on stdout; at cleanup it cancels the run
// and waits for it to return.
func startCmd(t *testing.T, name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error, marker string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &proctest.Buffer{}, stderr: &proctest.Buffer{}, cancel: cancel}
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		done <- run(ctx, args, r.stdout, r.stderr)
		close(finished)
	}()
	r.done = done
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(15 * time.Second):
			t.Errorf("%s did not return", name)
		}
	})
	r.line = waitLine(t, r.stdout, marker, finished)
	return r
}

// afterLine waits until out holds prefix and the end of its line, and
// returns what lies between them; it fails the test after 10s.
func afterLine(t *testing.T, out *proctest.Buffer, prefix string) string {
	t.Helper()
	return waitLine(t, out, prefix, nil)
}

// waitLine is afterLine that also fails once stop is closed (the command
// returned without printing the line).
func waitLine(t *testing.T, out *proctest.Buffer, prefix string, stop <-chan struct{}) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	line, err := out.WaitLine(ctx, prefix, stop)
	if err != nil {
		t.Fatalf("%v; output: %q", err, out.String())
	}
	return line
}
