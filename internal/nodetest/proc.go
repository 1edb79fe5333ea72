package nodetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/siorelay/siorelay/internal/proctest"
	"io"
	"maps"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Line is one JSON object a script printed on stdout.
type Line struct {
	Type string          // the object's "type" field
	Raw  json.RawMessage // the whole line
}

// Field returns the raw value of one top-level field, or nil.
func (l Line) Field(name string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(l.Raw, &m) != nil {
		return nil
	}
	return m[name]
}

// Str returns a top-level string field, or "" if it is absent or not a string.
func (l Line) Str(name string) string {
	var s string
	if json.Unmarshal(l.Field(name), &s) != nil {
		return ""
	}
	return s
}

// Decode unmarshals the whole line into v.
func (l Line) Decode(v any) error { return json.Unmarshal(l.Raw, v) }

func (l Line) String() string { return string(l.Raw) }

// CallError is a command that the script answered with an error.
type CallError struct {
	Cmd     string          // the command's "cmd"
	Message string          // the script's error message
	Partial json.RawMessage // what was collected before the error (emitWithAck), if anything
}

func (e *CallError) Error() string {
	return fmt.Sprintf("nodetest: %s: %s", e.Cmd, e.Message)
}

// Proc is a running fixture script: JSON config in, JSON lines out, JSON
// commands in on stdin. Create one with [StartProc].
type Proc struct {
	name   string
	cmd    *exec.Cmd
	stderr *proctest.Buffer // the last stderrBytes
	nextID atomic.Int64
	done   chan struct{} // closed once the process exited and stdout is drained

	writeMu sync.Mutex
	stdin   io.WriteCloser // guarded by writeMu

	mu      sync.Mutex
	queue   []Line              // guarded by mu: lines not consumed yet
	recent  []Line              // guarded by mu: the last lines printed, for failure reports
	calls   map[int64]chan Line // guarded by mu: Call waiters by command id
	changed chan struct{}       // guarded by mu: closed and replaced when queue grows or the process exits
	exited  bool                // guarded by mu
	exitErr error               // guarded by mu
}

const (
	recentLines  = 30
	stderrBytes  = 16 << 10
	maxLineBytes = 64 << 20
	stopGrace    = 5 * time.Second
)

// StartProc starts `node <script> <config as JSON>` in [Dir] and stops it at
// t.Cleanup. It does not wait for any output.
func StartProc(t testing.TB, script string, config any) *Proc {
	t.Helper()
	Require(t)
	cfg, err := json.Marshal(config)
	if err != nil {
		t.Fatalf("nodetest: %s config: %v", script, err)
	}
	cmd := exec.Command("node", script, string(cfg))
	cmd.Dir = Dir()
	p := &Proc{
		name:    script,
		cmd:     cmd,
		stderr:  &proctest.Buffer{Max: stderrBytes},
		done:    make(chan struct{}),
		calls:   make(map[int64]chan Line),
		changed: make(chan struct{}),
	}
	cmd.Stderr = p.stderr
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatalf("nodetest: %s: %v", script, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("nodetest: %s: %v", script, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("nodetest: start %s: %v", script, err)
	}
	go p.readLoop(stdout)
	t.Cleanup(func() { p.stop(t) })
	return p
}

// readLoop runs in its own goroutine until the process has exited.
func (p *Proc) readLoop(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), maxLineBytes)
	for sc.Scan() {
		p.add(sc.Bytes())
	}
	if sc.Err() != nil {
		_, _ = io.Copy(io.Discard, stdout)
	}
	err := p.cmd.Wait()
	if err == nil && sc.Err() != nil {
		err = fmt.Errorf("reading stdout: %w", sc.Err())
	}
	p.mu.Lock()
	p.exited, p.exitErr = true, err
	close(p.changed)
	p.mu.Unlock()
	close(p.done)
}

func (p *Proc) add(b []byte) {
	var head struct {
		Type string          `json:"type"`
		ID   json.RawMessage `json:"id"` // a command id in results, a socket id elsewhere
	}
	var l Line
	if json.Unmarshal(b, &head) == nil {
		l = Line{Type: head.Type, Raw: json.RawMessage(string(b))}
	} else {
		// Not a JSON object (a script bug): keep it visible as a JSON string.
		raw, _ := json.Marshal(string(b))
		l = Line{Type: "text", Raw: raw}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recent = append(p.recent, l)
	if len(p.recent) > recentLines {
		p.recent = p.recent[len(p.recent)-recentLines:]
	}
	var id int64
	if head.Type == "result" && json.Unmarshal(head.ID, &id) == nil {
		if ch, ok := p.calls[id]; ok {
			delete(p.calls, id)
			ch <- l
			return
		}
	}
	p.queue = append(p.queue, l)
	close(p.changed)
	p.changed = make(chan struct{})
}

// Next removes and returns the oldest line nobody has consumed yet, waiting
// for one if needed.
func (p *Proc) Next(ctx context.Context) (Line, error) {
	return p.WaitFor(ctx, func(Line) bool { return true })
}

// WaitFor removes and returns the oldest unconsumed line for which match
// returns true, waiting for one if needed. Lines that do not match stay queued
// for other waits. It fails early when the script printed a "fatal" line or
// exited; on ctx expiry the error lists the lines still queued.
func (p *Proc) WaitFor(ctx context.Context, match func(Line) bool) (Line, error) {
	for {
		p.mu.Lock()
		for i, l := range p.queue {
			if match(l) {
				p.queue = append(p.queue[:i:i], p.queue[i+1:]...)
				p.mu.Unlock()
				return l, nil
			}
		}
		for _, l := range p.queue {
			if l.Type == "fatal" {
				p.mu.Unlock()
				return Line{}, fmt.Errorf("nodetest: %s failed: %s\nstderr:\n%s", p.name, l.Str("message"), p.stderr)
			}
		}
		if p.exited {
			err := p.exitErr
			p.mu.Unlock()
			return Line{}, fmt.Errorf("nodetest: %s exited (%v) before the awaited line; stderr:\n%s", p.name, err, p.stderr)
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Line{}, fmt.Errorf("nodetest: %s: waiting for a line: %w; unconsumed lines:\n%s", p.name, ctx.Err(), describe(p.Pending()))
		}
	}
}

// Pending returns a copy of the lines nobody has consumed yet, oldest first.
// A test can check that something did not happen by waiting for a later marker
// and then inspecting Pending.
func (p *Proc) Pending() []Line {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Line(nil), p.queue...)
}

// Call sends cmd (a JSON object with "cmd" and its fields; an "id" is added)
// on stdin and returns the "result" of the answer with that id. An answer with
// "error" is returned as a *CallError.
func (p *Proc) Call(ctx context.Context, cmd map[string]any) (json.RawMessage, error) {
	id := p.nextID.Add(1)
	msg := maps.Clone(cmd)
	msg["id"] = id
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("nodetest: %s: encode command: %w", p.name, err)
	}
	name, _ := cmd["cmd"].(string)

	ch := make(chan Line, 1)
	p.mu.Lock()
	if p.exited {
		p.mu.Unlock()
		return nil, fmt.Errorf("nodetest: %s: %s: process has exited (%v); stderr:\n%s", p.name, name, p.exitErr, p.stderr)
	}
	p.calls[id] = ch
	p.mu.Unlock()

	p.writeMu.Lock()
	_, err = p.stdin.Write(append(b, '\n'))
	p.writeMu.Unlock()
	if err != nil {
		p.forget(id)
		return nil, fmt.Errorf("nodetest: %s: %s: write command: %w", p.name, name, err)
	}

	var l Line
	select {
	case l = <-ch:
	case <-p.done:
		select {
		case l = <-ch:
		default:
			return nil, fmt.Errorf("nodetest: %s: %s: process exited before answering; stderr:\n%s", p.name, name, p.stderr)
		}
	case <-ctx.Done():
		p.forget(id)
		return nil, fmt.Errorf("nodetest: %s: %s: %w", p.name, name, ctx.Err())
	}
	var ans struct {
		Result  json.RawMessage `json:"result"`
		Error   *string         `json:"error"`
		Partial json.RawMessage `json:"partial"`
	}
	if err := json.Unmarshal(l.Raw, &ans); err != nil {
		return nil, fmt.Errorf("nodetest: %s: %s: bad answer %s: %w", p.name, name, l.Raw, err)
	}
	if ans.Error != nil {
		return nil, &CallError{Cmd: name, Message: *ans.Error, Partial: ans.Partial}
	}
	return ans.Result, nil
}

func (p *Proc) forget(id int64) {
	p.mu.Lock()
	delete(p.calls, id)
	p.mu.Unlock()
}

// Wait waits for the process to exit on its own and returns its exit error.
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		return fmt.Errorf("nodetest: %s: waiting for exit: %w", p.name, ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exitErr != nil {
		return fmt.Errorf("nodetest: %s: %w; stderr:\n%s", p.name, p.exitErr, p.stderr)
	}
	return nil
}

// Stderr returns the tail of what the script wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// stop closes stdin (the scripts exit on EOF), kills the process if it is
// still running after a grace period, and reports its output if t failed.
func (p *Proc) stop(t testing.TB) {
	p.writeMu.Lock()
	_ = p.stdin.Close()
	p.writeMu.Unlock()
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	if t.Failed() {
		p.mu.Lock()
		recent, exitErr := append([]Line(nil), p.recent...), p.exitErr
		p.mu.Unlock()
		t.Logf("nodetest: %s (exit: %v)\nlast stdout lines:\n%s\nstderr:\n%s", p.name, exitErr, describe(recent), p.stderr)
	}
}

func describe(lines []Line) string {
	if len(lines) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for i, l := range lines {
		if i == 20 {
			fmt.Fprintf(&b, "  ... %d more\n", len(lines)-i)
			break
		}
		s := l.String()
		if len(s) > 500 {
			s = s[:500] + "..."
		}
		fmt.Fprintf(&b, "  %s\n", s)
	}
	return b.String()
}
