package netpoll

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Config configures a [Poller]. The zero value is usable.
type Config struct {
	// Workers is the number of goroutines that read ready connections and
	// run Handler callbacks. When none is idle, a short-lived goroutine
	// serves the connection instead, so a Handler that blocks delays only
	// its own connection. Zero means max(4, GOMAXPROCS).
	Workers int
	// Writers is the number of goroutines that drain send queues. Writers
	// never block on a socket. Zero means GOMAXPROCS.
	Writers int
	// MaxMessageSize is the largest data message accepted; a larger one
	// closes the connection with status 1009. Zero means 1e6.
	MaxMessageSize int64
	// MaxQueueBytes bounds the bytes queued but not yet written per
	// connection; a Send beyond it closes the connection with
	// [ErrSlowConsumer]. Zero means 4 MiB; at most 1 GiB.
	MaxQueueBytes int
	// VolatileQueueBytes is the queue size above which volatile frames are
	// dropped. Zero means 64 KiB.
	VolatileQueueBytes int
	// WriteTimeout is how long a connection may stay unwritable with data
	// queued before it is closed with [ErrSlowConsumer]. Zero means 10s.
	WriteTimeout time.Duration
	// Logger receives debug logs. Nil means no logging.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = max(4, runtime.GOMAXPROCS(0))
	}
	if c.Writers <= 0 {
		c.Writers = runtime.GOMAXPROCS(0)
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 1e6
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = 4 << 20
	}
	c.MaxQueueBytes = min(c.MaxQueueBytes, 1<<30)
	if c.VolatileQueueBytes <= 0 {
		c.VolatileQueueBytes = 64 << 10
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Stats are cumulative counters of a Poller.
type Stats struct {
	Conns           int64 // currently registered connections
	DroppedVolatile int64 // volatile frames dropped because a queue was over its threshold
	SlowConsumers   int64 // connections closed by the queue limit or write timeout
}

// Poller owns an epoll instance and the worker goroutines serving its
// connections.
type Poller struct {
	cfg    Config
	epfd   int
	wakefd int
	start  time.Time

	mu     sync.RWMutex
	conns  []*Conn // indexed by fd; guarded by mu
	closed bool    // guarded by mu

	readq  chan *Conn
	writeq writeQueue
	done   chan struct{}
	wg     sync.WaitGroup

	nconns, dropped, slow atomic.Int64

	rbufs sync.Pool
	wbufs sync.Pool
}

const (
	readBufSize  = 16 << 10
	writeBufSize = 64 << 10
)

// NewPoller creates a Poller and starts its goroutines. Call [Poller.Close]
// to release them.
func NewPoller(cfg Config) (*Poller, error) {
	cfg = cfg.withDefaults()
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("netpoll: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, fmt.Errorf("netpoll: epoll_ctl: %w", err)
	}
	p := &Poller{
		cfg:    cfg,
		epfd:   epfd,
		wakefd: wakefd,
		start:  time.Now(),
		readq:  make(chan *Conn), // unbuffered: a connection never waits behind a blocked Handler
		done:   make(chan struct{}),
	}
	p.writeq.cond = sync.NewCond(&p.writeq.mu)
	p.rbufs.New = func() any { b := make([]byte, readBufSize); return &b }
	p.wbufs.New = func() any { b := make([]byte, writeBufSize); return &b }
	p.wg.Add(2 + cfg.Workers + cfg.Writers)
	go p.pollLoop()
	go p.janitor()
	for range cfg.Workers {
		go p.readWorker()
	}
	for range cfg.Writers {
		go p.writeWorker()
	}
	return p, nil
}

// Stats returns the Poller's counters.
func (p *Poller) Stats() Stats {
	return Stats{Conns: p.nconns.Load(), DroppedVolatile: p.dropped.Load(), SlowConsumers: p.slow.Load()}
}

func (p *Poller) now() int64 { return int64(time.Since(p.start)) }

// Add registers nc, an upgraded server-side WebSocket connection, and starts
// serving it with h; it is [Poller.Prepare] followed by [Conn.Start].
func (p *Poller) Add(nc net.Conn, buffered []byte, h Handler) (*Conn, error) {
	c, err := p.Prepare(nc, buffered, h)
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	return c, nil
}

// Prepare wraps nc, an upgraded server-side WebSocket connection, in a Conn
// served by h, without reading from it yet: frames can be queued with
// [Conn.Send] and the Conn stored where h expects it before [Conn.Start].
// buffered holds bytes already read from nc (for example what an http hijack
// left in its bufio.Reader); it may be nil. Prepare takes ownership of nc:
// it keeps a duplicate of nc's descriptor and closes nc itself (also on
// error), so the Go runtime neither polls the socket nor keeps a netFD,
// addresses and a poll descriptor for it; the Conn closes the duplicate. nc
// must implement syscall.Conn (a *net.TCPConn or *net.UnixConn does).
func (p *Poller) Prepare(nc net.Conn, buffered []byte, h Handler) (*Conn, error) {
	defer nc.Close()
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("netpoll: %T does not implement syscall.Conn", nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("netpoll: syscall conn: %w", err)
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(f uintptr) {
		// The duplicate shares the open file description, so it stays
		// non-blocking; close-on-exec is per descriptor, hence DUPFD_CLOEXEC.
		fd, derr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, fmt.Errorf("netpoll: control: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("netpoll: dup: %w", derr)
	}
	c := &Conn{p: p, h: h, fd: int32(fd)}
	if len(buffered) > 0 {
		c.partial = append([]byte(nil), buffered...)
	}
	// Until Start, writes are held back: the conn counts as being written.
	c.writing = true
	c.prepared = true
	return c, nil
}

// Start registers a Conn returned by [Poller.Prepare] with the poller: from
// now on its Handler gets messages and queued frames are written. On error
// the Conn is closed (HandleClose is called).
func (c *Conn) Start() error {
	p := c.p
	pending := len(c.partial) > 0
	fd := int(c.fd)
	// Registration and Close are serialized by p.mu: a Conn closed before
	// this point is never registered; one closed later is unregistered by
	// Close.
	p.mu.Lock()
	c.mu.Lock()
	closed := c.closed
	if !closed && !p.closed {
		c.registered = true
	}
	c.mu.Unlock()
	if closed || p.closed {
		p.mu.Unlock()
		if !closed {
			c.Close(ErrPollerClosed)
			return ErrPollerClosed
		}
		return ErrClosed
	}
	if fd >= len(p.conns) {
		n := max(fd+1, 2*len(p.conns), 1024)
		conns := make([]*Conn, n)
		copy(conns, p.conns)
		p.conns = conns
	}
	p.conns[fd] = c
	p.mu.Unlock()
	p.nconns.Add(1)
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	err := ErrClosed
	if c.fdAcquire() {
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
		c.fdRelease()
	}
	if err != nil {
		err = fmt.Errorf("netpoll: epoll_ctl add: %w", err)
		c.Close(err)
		return err
	}
	// Release the writes queued since Prepare.
	c.mu.Lock()
	c.prepared = false
	c.mu.Unlock()
	p.scheduleWrite(c)
	if pending {
		p.notifyRead(c)
	}
	return nil
}

// remove unregisters c; called once by Conn.Close before nc.Close.
func (p *Poller) remove(c *Conn) {
	p.mu.Lock()
	c.mu.Lock()
	registered := c.registered
	c.mu.Unlock()
	p.mu.Unlock()
	if !registered {
		return
	}
	if c.fdAcquire() {
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(c.fd), nil)
		c.fdRelease()
	}
	p.mu.Lock()
	if int(c.fd) < len(p.conns) && p.conns[c.fd] == c {
		p.conns[c.fd] = nil
	}
	p.mu.Unlock()
	p.nconns.Add(-1)
}

// Close closes every connection (each Handler gets HandleClose with
// [ErrPollerClosed]), stops the goroutines and waits for them. A second call
// returns nil.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var conns []*Conn
	for _, c := range p.conns {
		if c != nil {
			conns = append(conns, c)
		}
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.Close(ErrPollerClosed)
	}
	close(p.done)
	p.writeq.close()
	var one = [8]byte{7: 1}
	_, _ = unix.Write(p.wakefd, one[:])
	p.wg.Wait()
	unix.Close(p.epfd)
	unix.Close(p.wakefd)
	return nil
}

func (p *Poller) pollLoop() {
	defer p.wg.Done()
	events := make([]unix.EpollEvent, 256)
	ready := make([]readyConn, 0, len(events))
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			p.cfg.Logger.Error("netpoll: epoll_wait", "err", err)
			return
		}
		ready = ready[:0]
		p.mu.RLock()
		for i := range n {
			ev := &events[i]
			if int(ev.Fd) == p.wakefd {
				select {
				case <-p.done:
					p.mu.RUnlock()
					return
				default:
					continue
				}
			}
			if int(ev.Fd) < len(p.conns) {
				if c := p.conns[ev.Fd]; c != nil {
					ready = append(ready, readyConn{c, ev.Events})
				}
			}
		}
		p.mu.RUnlock()
		for i, r := range ready {
			if r.events&unix.EPOLLOUT != 0 {
				r.c.writable()
			}
			if r.events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				p.notifyRead(r.c)
			}
			ready[i].c = nil
		}
	}
}

type readyConn struct {
	c      *Conn
	events uint32
}

// notifyRead makes sure a worker reads c after this call.
func (p *Poller) notifyRead(c *Conn) {
	if c.readEvents.Add(1) != 1 {
		return // a worker is reading c and will look again
	}
	select {
	case p.readq <- c:
	default:
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			c.serveRead()
		}()
	}
}

// scheduleWrite hands c to a writer. It never blocks: the ready list is
// unbounded (each Conn is in it at most once, guarded by Conn.writing), so
// a burst of broadcasts is queued at memory speed and each writer drains
// many frames per connection in one write.
func (p *Poller) scheduleWrite(c *Conn) { p.writeq.push(c) }

// requeueRead puts c, whose reader used up its budget, back in the read
// queue. c.readEvents is non-zero, so c is not dispatched twice.
func (p *Poller) requeueRead(c *Conn) {
	select {
	case p.readq <- c:
	case <-p.done:
	default:
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			c.serveRead()
		}()
	}
}

// writeQueue is the list of connections with frames to write.
type writeQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	conns  []*Conn // guarded by mu
	head   int     // guarded by mu
	closed bool    // guarded by mu
}

func (q *writeQueue) push(c *Conn) {
	q.mu.Lock()
	wake := q.head == len(q.conns)
	q.conns = append(q.conns, c)
	q.mu.Unlock()
	if wake {
		// Only the transition from empty wakes a writer; a writer that
		// finds more than it takes wakes the next one (see pop).
		q.cond.Signal()
	}
}

// pop appends up to max ready connections to dst, waiting for one. It
// returns nil once the queue is closed.
func (q *writeQueue) pop(dst []*Conn, max int) []*Conn {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.conns) && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil
	}
	n := min(max, len(q.conns)-q.head)
	dst = append(dst, q.conns[q.head:q.head+n]...)
	clear(q.conns[q.head : q.head+n])
	q.head += n
	if q.head == len(q.conns) {
		q.conns, q.head = q.conns[:0], 0
		if cap(q.conns) > 1<<16 {
			q.conns = nil
		}
	}
	if q.head < len(q.conns) {
		q.cond.Signal() // more for another writer
	}
	return dst
}

func (q *writeQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (p *Poller) readWorker() {
	defer p.wg.Done()
	for {
		select {
		case c := <-p.readq:
			c.serveRead()
		case <-p.done:
			return
		}
	}
}

func (p *Poller) writeWorker() {
	defer p.wg.Done()
	batch := make([]*Conn, 0, 64)
	for {
		batch = p.writeq.pop(batch[:0], cap(batch))
		if batch == nil {
			return
		}
		for i, c := range batch {
			c.flush()
			batch[i] = nil
		}
	}
}

// janitor closes connections that stayed unwritable past WriteTimeout.
func (p *Poller) janitor() {
	defer p.wg.Done()
	period := min(p.cfg.WriteTimeout/4, time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	var stale []*Conn
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		now := p.now()
		limit := int64(p.cfg.WriteTimeout)
		stale = stale[:0]
		p.mu.RLock()
		for _, c := range p.conns {
			if c != nil && c.stalledSince.Load() != 0 && now-c.stalledSince.Load() > limit {
				stale = append(stale, c)
			}
		}
		p.mu.RUnlock()
		for i, c := range stale {
			p.slow.Add(1)
			c.Close(ErrWriteTimeout)
			stale[i] = nil
		}
	}
}
