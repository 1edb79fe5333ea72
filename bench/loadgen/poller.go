package main

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// fdTable maps a file descriptor to its client so that epoll events (which
// carry the fd) find their client without a lock. Its size is the process's
// open-file limit, so every valid fd has a slot.
type fdTable []atomic.Pointer[client]

// poller waits for readable clients on one epoll set and handles every frame
// they receive in its own goroutine. Idle clients cost no goroutine.
type poller struct {
	epfd  int
	table fdTable
	pong  []byte // masked client frame carrying Engine.IO "3"
	key   [4]byte
	buf   []byte // read buffer; only the poller goroutine uses it

	batchDelay time.Duration // pause after a partial batch of events (see run)

	mu      sync.Mutex // guards the fields below
	h       hist       // latency of measured events, ns
	first   int64      // receive time of the first measured event, unix ns
	last    int64      // receive time of the last measured event, unix ns
	pings   uint64     // Engine.IO pings answered
	other   uint64     // messages that were not bench events
	reasons map[string]int
}

func newPoller(table fdTable, key [4]byte) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &poller{
		epfd:    epfd,
		table:   table,
		pong:    appendClientFrame(nil, opText, []byte("3"), key),
		key:     key,
		buf:     make([]byte, 256<<10),
		reasons: make(map[string]int),
	}, nil
}

// add registers c; its events are handled from then on.
func (p *poller) add(c *client) error {
	p.table[c.fd].Store(c)
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		p.table[c.fd].Store(nil)
		return err
	}
	return nil
}

// run handles events until stop is closed. It runs in its own goroutine.
func (p *poller) run(stop <-chan struct{}) {
	events := make([]unix.EpollEvent, 256)
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, err := unix.EpollWait(p.epfd, events, 100)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for i := range n {
			c := p.table[events[i].Fd].Load()
			if c == nil {
				continue
			}
			p.onReadable(c)
		}
		// Under load, let readiness accumulate so that one epoll_wait
		// returns many sockets instead of waking once per socket; this
		// trades at most batchDelay of added latency for far fewer
		// wake-ups. An idle poller blocks in epoll_wait and reacts at once.
		if p.batchDelay > 0 && n > 0 && n < len(events) {
			time.Sleep(p.batchDelay)
		}
	}
}

// onReadable reads once from c (epoll is level-triggered, so anything left
// is reported again) and handles every whole frame.
func (p *poller) onReadable(c *client) {
	if need := len(c.pending) + 64<<10; need > len(p.buf) {
		p.buf = make([]byte, 2*need)
	}
	off := copy(p.buf, c.pending)
	n, err := unix.Read(c.fd, p.buf[off:])
	if n <= 0 {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return
		}
		why := "eof"
		if err != nil {
			why = err.Error()
		}
		p.close(c, why)
		return
	}
	now := time.Now().UnixNano()
	data := p.buf[:off+n]
	for len(data) > 0 {
		f, used, err := parseFrame(data)
		if err != nil {
			p.close(c, err.Error())
			return
		}
		if used == 0 {
			break
		}
		data = data[used:]
		if !p.onFrame(c, f, now) {
			return
		}
	}
	switch {
	case len(data) == 0 && cap(c.pending) > 4<<10:
		c.pending = nil
	default:
		c.pending = append(c.pending[:0], data...)
	}
}

// onFrame handles one frame; it reports false if c was closed.
func (p *poller) onFrame(c *client, f frame, now int64) bool {
	switch f.op {
	case opText, opBinary, opContinuation:
		if !f.fin || len(c.frag) > 0 {
			c.frag = append(c.frag, f.payload...)
			if !f.fin {
				return true
			}
			msg := c.frag
			c.frag = nil
			return p.onMessage(c, msg, now)
		}
		return p.onMessage(c, f.payload, now)
	case opPing:
		if _, err := unix.Write(c.fd, appendClientFrame(nil, opPong, f.payload, [4]byte{})); err != nil {
			p.close(c, "write pong: "+err.Error())
			return false
		}
	case opClose:
		p.close(c, "websocket close")
		return false
	}
	return true
}

// onMessage handles one Engine.IO message.
func (p *poller) onMessage(c *client, msg []byte, now int64) bool {
	if len(msg) == 1 && msg[0] == '2' {
		if _, err := unix.Write(c.fd, p.pong); err != nil {
			p.close(c, "write pong: "+err.Error())
			return false
		}
		p.mu.Lock()
		p.pings++
		p.mu.Unlock()
		return true
	}
	if id, ok := ackID(msg); ok {
		// An event that asks for an ack (EmitWithAck): answer 43<id>[1].
		reply := append(append([]byte("43"), id...), "[1]"...)
		if _, err := unix.Write(c.fd, appendClientFrame(nil, opText, reply, p.key)); err != nil {
			p.close(c, "write ack: "+err.Error())
			return false
		}
		return true
	}
	ev, ts, seq, ok := parseEvent(msg)
	if !ok {
		if len(msg) > 0 && (msg[0] == '1' || string(msg) == "41") {
			p.close(c, "closed by server: "+string(msg))
			return false
		}
		p.mu.Lock()
		p.other++
		p.mu.Unlock()
		return true
	}
	if c.rec != nil {
		c.rec.onEvent(ev, seq, msg, false)
	}
	switch ev {
	case 'b':
		if c.count.Load() > 0 && seq <= c.lastSeq {
			c.reorder.Add(1)
		}
		c.lastSeq = seq
		c.count.Add(1)
		p.mu.Lock()
		p.h.record(now - ts)
		if p.first == 0 || now < p.first {
			p.first = now
		}
		p.last = max(p.last, now)
		p.mu.Unlock()
	case 'p':
		c.probes.Add(1)
	case 'w':
		c.warm.Add(1)
	default:
		p.mu.Lock()
		p.other++
		p.mu.Unlock()
	}
	return true
}

func (p *poller) close(c *client, why string) {
	if c.closed.Swap(true) {
		return
	}
	c.closeWhy.Store(why)
	p.table[c.fd].Store(nil)
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	_ = unix.Close(c.fd)
	c.pending, c.frag = nil, nil
	p.mu.Lock()
	if len(p.reasons) < 16 || p.reasons[why] > 0 {
		p.reasons[why]++
	}
	p.mu.Unlock()
}

// ackID returns the ack id of an event packet to "/" that asks for one,
// 42<id>[...].
func ackID(m []byte) ([]byte, bool) {
	if len(m) < 4 || m[0] != '4' || m[1] != '2' || m[2] < '0' || m[2] > '9' {
		return nil, false
	}
	i := 2
	for i < len(m) && m[i] >= '0' && m[i] <= '9' {
		i++
	}
	if i == len(m) || m[i] != '[' || i-2 > 19 {
		return nil, false
	}
	return m[2:i], true
}

// parseEvent recognises the load generator's own events,
//
//	42["<ev>","<ts> <seq>"...
//
// where ev is one byte, ts the intended send time in unix ns and seq a
// sequence number.
func parseEvent(m []byte) (ev byte, ts, seq int64, ok bool) {
	const head = len(`42["b","`)
	if len(m) < head+4 || m[0] != '4' || m[1] != '2' || m[2] != '[' || m[3] != '"' ||
		m[5] != '"' || m[6] != ',' || m[7] != '"' {
		return 0, 0, 0, false
	}
	ev = m[4]
	i := head
	ts, i, ok = parseDigits(m, i)
	if !ok || i >= len(m) || m[i] != ' ' {
		return 0, 0, 0, false
	}
	seq, i, ok = parseDigits(m, i+1)
	if !ok || i >= len(m) || m[i] != '"' {
		return 0, 0, 0, false
	}
	return ev, ts, seq, true
}

func parseDigits(m []byte, i int) (v int64, next int, ok bool) {
	start := i
	for i < len(m) && m[i] >= '0' && m[i] <= '9' && i-start < 19 {
		v = v*10 + int64(m[i]-'0')
		i++
	}
	return v, i, i > start
}
