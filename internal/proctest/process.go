package proctest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// LineTimeout bounds [Process.Line].
const LineTimeout = 30 * time.Second

// DefaultGrace is the [Process.Grace] that [Run] sets.
const DefaultGrace = 5 * time.Second

// Process is a program started by [Run] or [Start].
type Process struct {
	Name string    // for messages
	Cmd  *exec.Cmd // started; do not call its Wait
	// Out receives the process's stdout and stderr, unless Cmd came with
	// its own Stdout or Stderr.
	Out *Buffer
	// Grace is how long [Process.Stop] waits after SIGTERM before it
	// kills the process group; 0 kills at once.
	Grace time.Duration

	done chan struct{} // closed once the process has exited
	err  error         // Cmd.Wait's result; read only after done is closed
}

// Run starts cmd in its own process group (on Linux also killed if the
// test binary dies) and returns at once. Stopping it is the caller's job:
// [Process.Stop] or [Process.Kill]. Output goes to [Process.Out] for each
// of Stdout and Stderr that cmd does not set.
func Run(name string, cmd *exec.Cmd) (*Process, error) {
	p := &Process{Name: name, Cmd: cmd, Out: &Buffer{}, Grace: DefaultGrace, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.Out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.Out
	}
	setProcAttr(cmd)
	if cmd.WaitDelay == 0 {
		// A child that left the process group and kept the output pipe
		// open must not block the wait forever.
		cmd.WaitDelay = 10 * time.Second
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("proctest: start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Start is [Run] for a test: a failure to start fails t, and the process
// is stopped ([Process.Stop]) when the test ends; if the test failed, the
// last 8 KiB of its output are logged.
func Start(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	p, err := Run(name, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s (%v) output, last 8 KiB:\n%s", name, p.Err(), p.Out.Tail(8<<10))
		}
	})
	return p
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err returns the process's exit status ([exec.Cmd.Wait]'s error), or nil
// while it runs.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Signal sends sig to the process (not to its group).
func (p *Process) Signal(sig os.Signal) error { return p.Cmd.Process.Signal(sig) }

// Wait waits for the process to exit on its own and returns its exit
// status, or an error when ctx ends first.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("%s still running: %w", p.Name, ctx.Err())
	}
}

// Stop sends SIGTERM (where there is one), waits up to Grace for the
// process to exit, then kills its whole process group and waits for the
// process. Stopping an exited process only kills what is left of its
// group.
func (p *Process) Stop() {
	if !p.Exited() && p.Grace > 0 {
		if terminate(p.Cmd.Process) == nil {
			select {
			case <-p.done:
			case <-time.After(p.Grace):
			}
		}
	}
	p.Kill()
}

// Kill kills the process group at once (SIGKILL) and waits for the
// process to be reaped.
func (p *Process) Kill() {
	killGroup(p.Cmd.Process)
	<-p.done
}

// WaitLine waits until the output holds marker and the end of its line,
// and returns the text between them. It fails when ctx ends or the process
// exits without printing it.
func (p *Process) WaitLine(ctx context.Context, marker string) (string, error) {
	line, err := p.Out.WaitLine(ctx, marker, p.done)
	if err != nil {
		if p.Exited() {
			return "", fmt.Errorf("%s exited (%v): %w", p.Name, p.err, err)
		}
		return "", fmt.Errorf("%s: %w", p.Name, err)
	}
	return line, nil
}

// Line is [Process.WaitLine] for a test, bounded by [LineTimeout]: a
// failure fails t with the process's output.
func (p *Process) Line(t testing.TB, marker string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), LineTimeout)
	defer cancel()
	line, err := p.WaitLine(ctx, marker)
	if err != nil {
		t.Fatalf("%v; output:\n%s", err, p.Out.Tail(8<<10))
	}
	return line
}
