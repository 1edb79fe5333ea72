package proctest

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Buffer collects output written by one goroutine (a process's output
// copier, a command run in-process) while others read it. The zero value
// is ready to use. Buffers must not be copied after first use.
type Buffer struct {
	// Max, when > 0, bounds memory: only about the last Max bytes are kept.
	// Set it before the first Write.
	Max int

	mu      sync.Mutex
	b       []byte        // guarded by mu
	changed chan struct{} // guarded by mu: closed and replaced by each Write; nil until a reader waits
}

// Write appends p (or keeps its tail, with Max). It never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	if b.Max > 0 && len(b.b) > 2*b.Max {
		b.b = append(b.b[:0], b.b[len(b.b)-b.Max:]...)
	}
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return len(p), nil
}

// String returns everything kept so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.b
	if b.Max > 0 && len(s) > b.Max {
		s = s[len(s)-b.Max:]
	}
	return string(s)
}

// Tail returns the last n bytes kept.
func (b *Buffer) Tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// snapshot returns the content and a channel closed by the next Write.
func (b *Buffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return string(b.b), b.changed
}

// WaitLine waits until the buffer holds marker and, after it, the end of
// its line, and returns the text between them. It gives up when ctx ends
// or stop is closed (the writer is gone: a process exited, a function
// returned) without the line having come; stop may be nil.
func (b *Buffer) WaitLine(ctx context.Context, marker string, stop <-chan struct{}) (string, error) {
	stopped := false
	for {
		s, changed := b.snapshot()
		if _, rest, ok := strings.Cut(s, marker); ok {
			if line, _, ok := strings.Cut(rest, "\n"); ok {
				return line, nil
			}
		}
		if stopped {
			return "", fmt.Errorf("output ended without a line containing %q", marker)
		}
		select {
		case <-changed:
		case <-stop:
			// Look once more: the line may have come just before.
			stopped, stop = true, nil
		case <-ctx.Done():
			return "", fmt.Errorf("no line containing %q: %w", marker, ctx.Err())
		}
	}
}
