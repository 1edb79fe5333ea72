package netpoll

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// Handler receives the events of one [Conn].
type Handler interface {
	// HandleMessage is called for each complete data message. payload is
	// unmasked and valid only during the call. Calls for one Conn never
	// overlap; they run on a shared worker, so they should not block long.
	HandleMessage(c *Conn, binary bool, payload []byte)
	// HandleClose is called exactly once, after the connection is closed.
	// err says why: io.EOF when the peer went away, a *[CloseError] when it
	// sent a close frame, [ErrSlowConsumer], or the error given to Close.
	HandleClose(c *Conn, err error)
}

// Conn is a server-side WebSocket connection served by a [Poller].
type Conn struct {
	// The fields are ordered and sized so that a Conn fits the 144-byte
	// size class (it was 208): every idle connection holds one.
	p *Poller
	h Handler
	// stalledSince is p.now() when the socket became unwritable with data
	// queued, or 0.
	stalledSince atomic.Int64

	// Owned by the reading worker.
	partial []byte    // bytes of an incomplete frame
	frag    *fragment // an incomplete fragmented message; nil when none

	queue    [][]byte // guarded by mu; frames not yet fully written
	closeErr error    // guarded by mu

	fd int32 // the Conn's own descriptor (see fdAcquire)
	// fdref counts the system calls using fd, plus fdClosing once Close
	// has begun; see fdAcquire.
	fdref atomic.Int32
	// readEvents counts readiness notifications not yet consumed by a
	// reader; the worker that moves it from 0 to 1 reads.
	readEvents atomic.Int32

	mu         sync.Mutex
	qhead      int32 // guarded by mu; index of the first unwritten frame
	off        int32 // guarded by mu; bytes of queue[qhead] already written
	queued     int32 // guarded by mu; bytes queued and not written (≤ MaxQueueBytes ≤ 1 GiB, plus control frames)
	writing    bool  // guarded by mu; a writer owns the socket
	waitOut    bool  // guarded by mu; waiting for EPOLLOUT
	outReady   bool  // guarded by mu; EPOLLOUT seen while writing
	closing    bool  // guarded by mu; close once the queue is written
	closed     bool  // guarded by mu
	prepared   bool  // guarded by mu; between Prepare and Start
	registered bool  // guarded by mu; Start registered it with the poller
}

// fragment is the part of a fragmented data message received so far.
type fragment struct {
	op   ws.OpCode
	data []byte
}

// fdClosing is the bit of Conn.fdref set by Close.
const fdClosing = 1 << 30

// fdAcquire reserves c.fd for one system call (a read, a write, an
// epoll_ctl) and reports false once the Conn is closing. The descriptor
// is closed by whichever of Close (fdClose) and the last fdRelease comes
// last, so its number is never reused by a new connection while a call
// meant for this one could still run: the rule Go's own poll.FD keeps,
// which this Conn has to keep itself because its descriptor is not the
// runtime's.
func (c *Conn) fdAcquire() bool {
	for {
		v := c.fdref.Load()
		if v&fdClosing != 0 {
			return false
		}
		if c.fdref.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

// fdRelease ends a call begun with fdAcquire.
func (c *Conn) fdRelease() {
	if c.fdref.Add(-1) == fdClosing {
		unix.Close(int(c.fd))
	}
}

// fdClose closes c.fd now, or lets the last fdRelease close it.
func (c *Conn) fdClose() {
	if c.fdref.Or(fdClosing) == 0 {
		unix.Close(int(c.fd))
	}
}

// Send queues frame (as built by [AppendFrame]) for writing and returns
// without blocking on the network. frame must not be modified afterwards; it
// may be shared between connections. A volatile frame is dropped (with
// [ErrDropped]) when the queue holds more than Config.VolatileQueueBytes. If
// the queue would exceed Config.MaxQueueBytes the connection is closed with
// [ErrSlowConsumer] (asynchronously: Send never calls the Handler) and that
// error is returned.
func (c *Conn) Send(frame []byte, volatile bool) error {
	return c.send(frame, volatile, false)
}

// SendNow is Send for a frame addressed to this connection alone (a reply,
// not a broadcast): when nothing else is queued or being written, it writes
// the frame from the calling goroutine right away (one non-blocking write;
// whatever the socket does not take is left to the writers), so that
// replies go out in their own write, in order, with no hand-off. Otherwise
// it queues like Send.
func (c *Conn) SendNow(frame []byte) error {
	c.mu.Lock()
	if c.closed || c.closing || c.writing || c.waitOut || int(c.qhead) != len(c.queue) ||
		len(frame) > c.p.cfg.MaxQueueBytes {
		c.mu.Unlock()
		return c.send(frame, false, false)
	}
	c.queue = append(c.queue, frame)
	c.queued += int32(len(frame))
	c.writing = true
	c.mu.Unlock()
	c.flush()
	return nil
}

// SendUnbounded is Send without the Config.MaxQueueBytes check, for a burst
// whose size the caller bounds itself (a recovered client's missed
// packets, shared with the caller's log). The write timeout still applies.
func (c *Conn) SendUnbounded(frame []byte) error {
	return c.send(frame, false, true)
}

func (c *Conn) send(frame []byte, volatile, control bool) error {
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	if volatile && int(c.queued) > c.p.cfg.VolatileQueueBytes {
		c.mu.Unlock()
		c.p.dropped.Add(1)
		return ErrDropped
	}
	if !control && int(c.queued)+len(frame) > c.p.cfg.MaxQueueBytes {
		// Stop taking frames now, and close on another goroutine: Send
		// never calls back into the Handler, so callers may hold their
		// own locks.
		c.closing = true
		c.closeErr = ErrSlowConsumer
		c.mu.Unlock()
		c.p.slow.Add(1)
		c.p.wg.Add(1)
		go func() {
			defer c.p.wg.Done()
			c.Close(ErrSlowConsumer)
		}()
		return ErrSlowConsumer
	}
	c.queue = append(c.queue, frame)
	c.queued += int32(len(frame))
	start := !c.writing && !c.waitOut
	if start {
		c.writing = true
	}
	c.mu.Unlock()
	if start {
		c.p.scheduleWrite(c)
	}
	return nil
}

// CloseWith queues frame (typically a close frame), stops delivering
// messages, and closes the connection with err once everything queued is
// written (or the write timeout expires). A nil frame just flushes and
// closes.
func (c *Conn) CloseWith(frame []byte, err error) {
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return
	}
	if frame != nil {
		c.queue = append(c.queue, frame)
		c.queued += int32(len(frame))
	}
	c.closing = true
	c.closeErr = err
	start := !c.writing && !c.waitOut
	if start {
		c.writing = true
	}
	c.mu.Unlock()
	if start {
		c.p.scheduleWrite(c)
	}
}

// Close closes the connection now, dropping anything queued, and calls
// HandleClose with err. Closing a closed Conn does nothing.
func (c *Conn) Close(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.queue, c.qhead, c.off, c.queued = nil, 0, 0, 0
	c.mu.Unlock()
	c.stalledSince.Store(0)
	c.p.remove(c)
	c.fdClose()
	c.h.HandleClose(c, err)
}

// Closed reports whether the connection is closed or closing.
func (c *Conn) Closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed || c.closing
}

// QueuedBytes returns the bytes queued and not yet written.
func (c *Conn) QueuedBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int(c.queued)
}

// writable handles an EPOLLOUT notification.
func (c *Conn) writable() {
	c.mu.Lock()
	if c.writing {
		c.outReady = true
		c.mu.Unlock()
		return
	}
	if !c.waitOut || c.closed {
		c.mu.Unlock()
		return
	}
	c.waitOut = false
	c.writing = true
	c.mu.Unlock()
	c.stalledSince.Store(0)
	c.p.scheduleWrite(c)
}

// flush writes queued frames until the queue is empty or the socket is full.
// Runs on a writer goroutine that owns the socket (c.writing).
func (c *Conn) flush() {
	bp := c.p.wbufs.Get().(*[]byte)
	defer c.p.wbufs.Put(bp)
	buf := *bp
	for {
		c.mu.Lock()
		if c.closed {
			c.writing = false
			c.mu.Unlock()
			return
		}
		if int(c.qhead) == len(c.queue) {
			c.writing = false
			c.resetQueueLocked()
			if c.closing {
				err := c.closeErr
				c.mu.Unlock()
				c.Close(err)
				return
			}
			c.mu.Unlock()
			return
		}
		var out []byte
		if first := c.queue[c.qhead][c.off:]; len(first) >= len(buf) {
			out = first
		} else {
			out = buf[:0]
			for i := int(c.qhead); i < len(c.queue); i++ {
				seg := c.queue[i]
				if i == int(c.qhead) {
					seg = seg[c.off:]
				}
				if len(out)+len(seg) > len(buf) {
					break
				}
				out = append(out, seg...)
			}
		}
		c.outReady = false
		c.mu.Unlock()

		n, err := c.write(out)

		c.mu.Lock()
		c.advanceLocked(n)
		if errors.Is(err, unix.EAGAIN) {
			if c.outReady {
				c.mu.Unlock()
				continue
			}
			c.waitOut = true
			c.writing = false
			c.mu.Unlock()
			c.stalledSince.CompareAndSwap(0, c.p.now())
			return
		}
		c.mu.Unlock()
		if err != nil {
			c.Close(err)
			return
		}
	}
}

func (c *Conn) write(b []byte) (int, error) { return c.rw(unix.Write, b) }

// read reads into b; it returns ErrClosed once the Conn is closing.
func (c *Conn) read(b []byte) (int, error) { return c.rw(unix.Read, b) }

// rw runs f (unix.Read or unix.Write) on c.fd, retrying on EINTR, within
// fdAcquire and fdRelease.
func (c *Conn) rw(f func(int, []byte) (int, error), b []byte) (int, error) {
	if !c.fdAcquire() {
		return 0, ErrClosed
	}
	defer c.fdRelease()
	for {
		n, err := f(int(c.fd), b)
		if err != unix.EINTR {
			return max(n, 0), err
		}
	}
}

func (c *Conn) advanceLocked(n int) {
	c.queued -= int32(n)
	for n > 0 && int(c.qhead) < len(c.queue) {
		rem := len(c.queue[c.qhead]) - int(c.off)
		if n < rem {
			c.off += int32(n)
			return
		}
		n -= rem
		c.queue[c.qhead] = nil
		c.qhead++
		c.off = 0
	}
}

func (c *Conn) resetQueueLocked() {
	if cap(c.queue) > 16 {
		c.queue = nil
	} else {
		clear(c.queue)
		c.queue = c.queue[:0]
	}
	c.qhead, c.off, c.queued = 0, 0, 0
}

// serveRead reads until the socket is drained and no notification is
// pending. Runs on a worker.
//
// A connection that keeps sending gets readBudget reads or readSlice of
// time per turn, whichever ends first; then it goes to the back of the read
// queue (its readEvents stays non-zero, so no other worker takes it
// meanwhile) and the worker serves others.
func (c *Conn) serveRead() {
	budget := readBudget
	turnEnd := c.p.now() + int64(readSlice)
	for {
		n0 := c.readEvents.Load()
		if !c.readAvailable(&budget, turnEnd) {
			return
		}
		if budget <= 0 {
			c.p.requeueRead(c)
			return
		}
		if c.readEvents.CompareAndSwap(n0, 0) {
			return
		}
	}
}

// readBudget is the number of reads (of up to readBufSize) one turn of
// serveRead may do, and readSlice the time it may take.
const (
	readBudget = 32
	readSlice  = 2 * time.Millisecond
)

// readAvailable reads what the socket holds, or until *budget reads were
// done or turnEnd (Poller.now time) has passed, and handles it. It reports
// false when the connection is closed.
func (c *Conn) readAvailable(budget *int, turnEnd int64) bool {
	bp := c.p.rbufs.Get().(*[]byte)
	defer c.p.rbufs.Put(bp)
	buf := *bp
	if len(c.partial) > 0 && c.readEvents.Load() > 0 {
		// Bytes handed over by Add (or left by a previous read).
		if !c.consume(nil) {
			return false
		}
	}
	for {
		n, err := c.read(buf)
		if errors.Is(err, unix.EAGAIN) {
			return true
		}
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return false
			}
			c.Close(err)
			return false
		}
		if n == 0 {
			c.Close(io.EOF)
			return false
		}
		*budget--
		if !c.consume(buf[:n]) {
			return false
		}
		if n < len(buf) {
			return true // a short read means the receive queue is empty
		}
		if *budget <= 0 || c.p.now() > turnEnd {
			*budget = 0
			return true
		}
	}
}

// consume appends data to any partial frame and handles complete frames.
func (c *Conn) consume(data []byte) bool {
	if len(c.partial) > 0 {
		c.partial = append(c.partial, data...)
		data = c.partial
	}
	off := 0
	for {
		h, rsv, ok := parseHeader(data[off:])
		if !ok {
			break
		}
		if code := c.check(h, rsv); code != 0 {
			c.fail(code)
			return false
		}
		if int64(len(data)-off-h.size) < h.length {
			break
		}
		payload := data[off+h.size : off+h.size+int(h.length)]
		ws.Cipher(payload, h.mask, 0)
		off += h.size + len(payload)
		if !c.handleFrame(h, payload) {
			return false
		}
	}
	rem := data[off:]
	switch {
	case len(rem) == 0:
		c.partial = nil
	case len(c.partial) > 0:
		n := copy(c.partial, rem)
		c.partial = c.partial[:n]
	default:
		c.partial = append([]byte(nil), rem...)
	}
	return true
}

// check validates a client frame header and returns a close code, or 0.
func (c *Conn) check(h frameHeader, rsv byte) ws.StatusCode {
	switch {
	case rsv != 0, !h.masked, h.op.IsReserved():
		return ws.StatusProtocolError
	case h.op.IsControl() && (!h.fin || h.length > 125):
		return ws.StatusProtocolError
	case h.op.IsData() && h.length > c.p.cfg.MaxMessageSize:
		return ws.StatusMessageTooBig
	case h.op == ws.OpContinuation && c.frag != nil && int64(len(c.frag.data))+h.length > c.p.cfg.MaxMessageSize:
		return ws.StatusMessageTooBig
	}
	return 0
}

// fail closes the connection with a close frame carrying code.
func (c *Conn) fail(code ws.StatusCode) {
	c.partial, c.frag = nil, nil
	c.CloseWith(AppendFrame(nil, ws.OpClose, ws.NewCloseFrameBody(code, "")), &CloseError{Code: code})
}

func (c *Conn) handleFrame(h frameHeader, payload []byte) bool {
	switch h.op {
	case ws.OpText, ws.OpBinary:
		if c.frag != nil {
			c.fail(ws.StatusProtocolError)
			return false
		}
		if !h.fin {
			c.frag = &fragment{op: h.op, data: append([]byte(nil), payload...)}
			return true
		}
		return c.deliver(h.op, payload)
	case ws.OpContinuation:
		if c.frag == nil {
			c.fail(ws.StatusProtocolError)
			return false
		}
		c.frag.data = append(c.frag.data, payload...)
		if !h.fin {
			return true
		}
		f := c.frag
		c.frag = nil
		return c.deliver(f.op, f.data)
	case ws.OpPing:
		_ = c.send(AppendFrame(nil, ws.OpPong, payload), false, true)
		return true
	case ws.OpPong:
		return true
	case ws.OpClose:
		code, _ := ws.ParseCloseFrameDataUnsafe(payload)
		var body []byte
		if len(payload) >= 2 {
			body = ws.NewCloseFrameBody(code, "")
		}
		if code.Empty() {
			code = ws.StatusNoStatusRcvd
		}
		c.partial, c.frag = nil, nil
		c.CloseWith(AppendFrame(nil, ws.OpClose, body), &CloseError{Code: code, Remote: true})
		return false
	}
	c.fail(ws.StatusProtocolError)
	return false
}

func (c *Conn) deliver(op ws.OpCode, payload []byte) bool {
	if op == ws.OpText && !utf8.Valid(payload) {
		c.fail(ws.StatusInvalidFramePayloadData)
		return false
	}
	c.mu.Lock()
	stop := c.closed || c.closing
	c.mu.Unlock()
	if stop {
		return false
	}
	c.h.HandleMessage(c, op == ws.OpBinary, payload)
	return true
}
