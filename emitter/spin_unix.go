//go:build unix

package emitter

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// Adaptation of a spinConn: after missesToBackOff reads in a row that
// spun for the whole budget without a reply, it skips spinning for a run
// of reads that doubles each time (up to maxSkip) and probes again after
// it. A read that gets its reply while spinning resets both.
const (
	missesToBackOff = 4
	maxSkip         = 1024
)

// maxSpinAfter is the most bytes written since the previous read for which
// a read spins: a larger write is a pipeline of many commands, whose
// replies take Redis longer, and whose writer is busy enough that the CPU
// a spin would take is better left to Redis and to the other goroutines.
const maxSpinAfter = 2048

// spinConn is a net.Conn whose Read polls the socket without blocking for
// up to spin before falling back to the connection's own (parking) Read,
// unless the writes since the previous read were larger than maxSpinAfter.
// It reads straight into the caller's buffer and keeps nothing, so the
// socket seen through SyscallConn is the whole truth (go-redis's
// connection health check relies on that). written is shared with
// writers; the fields after it are used by the reading goroutine only.
type spinConn struct {
	net.Conn
	raw     syscall.RawConn
	spin    time.Duration
	network string // as dialled, for errors

	written atomic.Int64 // bytes written since the last read

	misses int // reads in a row that spun without a reply
	skip   int // reads left to do without spinning
	span   int // the next skip run
}

// beforePark runs when a read has spun for its whole budget and is about
// to park; tests replace it to act at that moment.
var beforePark = func() {}

func newSpinConn(c net.Conn, network string, spin time.Duration) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	return &spinConn{Conn: c, raw: raw, spin: spin, network: network, span: 1}
}

// SyscallConn exposes the socket, as *net.TCPConn does.
func (c *spinConn) SyscallConn() (syscall.RawConn, error) { return c.raw, nil }

func (c *spinConn) Write(b []byte) (int, error) {
	c.written.Add(int64(len(b)))
	return c.Conn.Write(b)
}

func (c *spinConn) Read(b []byte) (int, error) {
	written := c.written.Swap(0)
	if len(b) == 0 || c.skip > 0 || written > maxSpinAfter {
		c.skip = max(c.skip-1, 0)
		return c.Conn.Read(b)
	}
	var end time.Time
	for {
		n, err, ok := c.tryRead(b)
		if ok {
			c.misses, c.span = 0, 1
			return n, err
		}
		now := time.Now()
		if end.IsZero() {
			end = now.Add(c.spin)
		} else if now.After(end) {
			break
		}
		runtime.Gosched()
	}
	if c.misses++; c.misses >= missesToBackOff {
		c.misses, c.skip, c.span = 0, c.span, min(2*c.span, maxSkip)
	}
	beforePark()
	return c.Conn.Read(b)
}

// tryRead reads once without waiting. ok is false when nothing was there
// to read; then the caller may try again. Errors come back as the
// connection's own Read would give them.
func (c *spinConn) tryRead(b []byte) (n int, err error, ok bool) {
	var errno error
	rerr := c.raw.Read(func(fd uintptr) bool {
		n, errno = syscall.Read(int(fd), b)
		return true // never wait here
	})
	switch {
	case rerr != nil: // closed, or the read deadline has passed
		n, err = c.Conn.Read(b)
		return n, err, true
	case errors.Is(errno, syscall.EAGAIN), errors.Is(errno, syscall.EINTR):
		return 0, nil, false
	case errno != nil:
		return 0, &net.OpError{Op: "read", Net: c.network, Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", errno)}, true
	case n == 0:
		return 0, io.EOF, true
	}
	return n, nil, true
}
