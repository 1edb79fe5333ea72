package relay

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siorelay/siorelay/internal/socketio"
)

// Connection state recovery (socket.io's connectionStateRecovery, as
// socket.io-adapter's SessionAwareAdapter does it for one server).
//
// The packet log: every broadcast EVENT without ack id and not volatile
// (including, as in socket.io, an emit to one socket) gets the next offset
// appended as its last argument and is kept in one server-wide log, in the
// order it was delivered. The log's lock is held while a packet is appended
// and queued to its recipients, and while a socket is restored, so that
// every socket receives packets in log order and a restored socket gets
// exactly the packets after its offset: those in the log when it is
// restored as its replay, every later one live. The log is trimmed from
// its oldest end to stay within Recovery.MaxDisconnection and
// Recovery.MaxBytes; floor remembers the last trimmed offset, so that a
// client whose offset is floor itself (nothing after it was trimmed) can
// still be restored.
//
// Kept sockets: a socket that leaves for a reason socket.io deems
// recoverable is kept by its pid (its private session id) for
// MaxDisconnection. A CONNECT with that pid and a held offset takes it
// (once: a pid cannot be restored twice) and gets the same socket id, its
// rooms and data, its missed packets, then its CONNECT reply, in that order
// (as socket.io sends them). Anything else is an ordinary new socket.
//
// Live sockets: the reads of different connections are handled
// concurrently, so a returning client's CONNECT can be handled before this
// server has handled the end of its old connection (the old socket still
// open, or leaving but not kept yet). Every socket with a pid is therefore
// registered as live until it has left, and a take waits for a live socket
// with its pid to leave, up to leaveWait (an old connection the server
// has not seen end, e.g. half-open, gets a new socket after that wait).

// Recovery configures connection state recovery: see [Config.Recovery].
type Recovery struct {
	// MaxDisconnection is how long a disconnected socket's id, rooms and
	// data are kept, and how long packets stay in the log (socket.io's
	// maxDisconnectionDuration). Zero means 2 minutes.
	MaxDisconnection time.Duration
	// MaxBytes bounds the packet log's memory: the encoded packets plus
	// about 225 bytes of bookkeeping each. When it is reached the oldest
	// packets are dropped, and clients that missed them get a new socket
	// instead. Zero means 64 MiB.
	MaxBytes int64
	// SkipOnConnect restores sockets without calling [Config.OnConnect]
	// (socket.io's skipMiddlewares). By default OnConnect runs again, with
	// [Handshake.Recovered] set, and may refuse.
	SkipOnConnect bool
}

func (r Recovery) withDefaults() Recovery {
	if r.MaxDisconnection <= 0 {
		r.MaxDisconnection = 2 * time.Minute
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = 64 << 20
	}
	return r
}

// recoverableReasons are the disconnect reasons after which socket.io
// 4.8.4 keeps a socket's state (socket.js RECOVERABLE_DISCONNECT_REASONS).
// "forced server close" is a reason the relay never gives.
func recoverable(reason string) bool {
	switch reason {
	case reasonTransportError, reasonTransportClose, reasonForcedClose, reasonPingTimeout, reasonServerShutdown:
		return true
	}
	return false
}

// keptSocket is the state of a disconnected socket awaiting its client.
// Its rooms are held in its namespace (namespace.hold) until it is
// released: restored, expired or found unusable.
type keptSocket struct {
	sid   string
	pid   string
	ns    *namespace
	rooms []string // explicit rooms (the id room is implied)
	data  any
	at    time.Duration // since recovery.start
	held  bool          // its rooms are held in ns
}

func (k *keptSocket) release() {
	if k.held {
		k.held = false
		k.ns.release(k.sid, k.rooms)
	}
}

// sessionStore keeps disconnected sockets and finds older packets outside
// the server: in a Redis streams cluster, sessions are stored and taken as
// @socket.io/redis-streams-adapter does, so that a client recovers on any
// server, and the packets are the stream's entries.
type sessionStore interface {
	// keepSession stores k for Recovery.MaxDisconnection. It must not
	// block for long (it runs when a socket leaves).
	keepSession(k *keptSocket)
	// takeSession removes and returns the session of pid, for namespace
	// ns; nil when there is none.
	takeSession(ctx context.Context, pid string, ns *namespace) (*keptSocket, error)
	// streamOf is the stream of namespace nsp's packets.
	streamOf(nsp string) string
	// packetsAfter returns the logged packets of stream after offset o,
	// oldest first, with the offset of the stream's last entry it read;
	// ok is false when o is not an entry of the stream.
	packetsAfter(ctx context.Context, stream string, o offset) (ps []storedPacket, last offset, ok bool, err error)
}

// storedPacket is a packet read back from a stream for a replay.
type storedPacket struct {
	off  offset
	nsp  string
	p    socketio.Packet
	opts broadcastOpts
}

// recovery holds the packet logs and the kept sockets of a Server.
type recovery struct {
	srv   *Server
	cfg   Recovery
	start time.Time
	stop  chan struct{} // closed by close: ends the sweeper
	done  chan struct{} // closed when the sweeper has returned
	store sessionStore  // nil: sockets are kept here, and the server's own log is the only one

	mu    sync.Mutex            // the logs; see above. Held while queueing to sessions.
	logs  map[string]*packetLog // guarded by mu; by stream, "" for the server's own log
	bytes int64                 // guarded by mu; of all logs
	seq   uint64                // guarded by mu; the own log's last offset

	keptMu sync.Mutex
	kept   map[string]*keptSocket   // guarded by keptMu; by pid (without a store)
	live   map[string]chan struct{} // guarded by keptMu; by pid: sockets here that have not left (see above)

	// Counters for Stats.
	recovered atomic.Int64 // sockets restored
	replayed  atomic.Int64 // packets replayed to them
	failed    reasonCountsOf
	trimmed   atomic.Int64 // log entries dropped by MaxBytes before their time
}

// Reasons a CONNECT with a pid gets a new socket, for Stats.
const (
	recoveryUnknown = "unknown" // no kept socket with that pid (or another namespace)
	recoveryExpired = "expired" // kept longer than MaxDisconnection
	recoveryOffset  = "offset"  // the offset is not (or no longer) in the log
	recoveryRefused = "refused" // OnConnect refused the restored socket
)

var recoveryFailures = [...]string{recoveryUnknown, recoveryExpired, recoveryOffset, recoveryRefused}

// reasonCountsOf counts recovery failures by reason.
type reasonCountsOf [len(recoveryFailures)]atomic.Int64

func (rc *reasonCountsOf) add(reason string) {
	if i := slices.Index(recoveryFailures[:], reason); i >= 0 {
		rc[i].Add(1)
	}
}

func newRecovery(srv *Server, cfg Recovery) *recovery {
	r := &recovery{
		srv:   srv,
		cfg:   cfg,
		start: time.Now(),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		logs:  map[string]*packetLog{"": {}},
		kept:  make(map[string]*keptSocket),
		live:  make(map[string]chan struct{}),
	}
	go r.sweepLoop()
	return r
}

func (r *recovery) now() time.Duration { return time.Since(r.start) }

// sweepLoop drops expired sockets and packets. Runs in its own goroutine
// until close.
func (r *recovery) sweepLoop() {
	defer close(r.done)
	period := min(max(r.cfg.MaxDisconnection/8, 50*time.Millisecond), 5*time.Second)
	tk := time.NewTicker(period)
	defer tk.Stop()
	for {
		select {
		case <-tk.C:
			r.sweep()
		case <-r.stop:
			return
		}
	}
}

func (r *recovery) sweep() {
	now := r.now()
	r.mu.Lock()
	r.trimLocked(now)
	r.mu.Unlock()
	var expired []*keptSocket
	r.keptMu.Lock()
	for pid, k := range r.kept {
		if now-k.at > r.cfg.MaxDisconnection {
			delete(r.kept, pid)
			expired = append(expired, k)
		}
	}
	r.keptMu.Unlock()
	for _, k := range expired {
		k.release()
	}
}

func (r *recovery) close() {
	close(r.stop)
	<-r.done
}

// appendOffset returns data, a JSON array, with the offset o appended as
// its last element (a string). data is not modified.
func appendOffset(data []byte, o offset, stream bool) []byte {
	n := len(data)
	for n > 0 && data[n-1] != ']' {
		n--
	}
	if n == 0 {
		return data
	}
	out := make([]byte, 0, n+24)
	out = append(out, data[:n-1]...)
	if n > 2 || data[0] != '[' {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = o.appendTo(out, stream)
	return append(out, '"', ']')
}

// logs reports whether p, broadcast with opts, goes into the log.
func logs(p socketio.Packet, opts broadcastOpts) bool {
	return !opts.Volatile && !p.HasID && (p.Type == socketio.Event || p.Type == socketio.BinaryEvent)
}

// deliver appends p to the server's own log with the next offset and
// queues it to the sockets of ns that opts select. It returns how many it
// was queued to.
func (r *recovery) deliver(ns *namespace, p socketio.Packet, opts broadcastOpts) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	m := r.appendLocked(r.logs[""], offset{seq: r.seq}, ns, p, opts.Rooms, opts.Except)
	return ns.queue(m, opts)
}

// deliverAt is deliver for a packet read from stream at offset o (streams
// clusters: the stream's entries are delivered in stream order).
func (r *recovery) deliverAt(stream string, o offset, ns *namespace, p socketio.Packet, opts broadcastOpts) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.streamLogLocked(stream)
	l.read = o
	m := r.appendLocked(l, o, ns, p, opts.Rooms, opts.Except)
	return ns.queue(m, opts)
}

// readTo records that stream's reader has handled the entry at offset o
// (one that is not logged), or, at start, that it reads from o on.
func (r *recovery) readTo(stream string, o offset) {
	r.mu.Lock()
	r.streamLogLocked(stream).read = o
	r.mu.Unlock()
}

func (r *recovery) streamLogLocked(stream string) *packetLog {
	l := r.logs[stream]
	if l == nil {
		l = &packetLog{stream: stream}
		r.logs[stream] = l
	}
	return l
}

// emitTo sends p, an event for socket sk alone, as socket.io does with
// recovery on (through the adapter, as a broadcast to the socket's id
// room): in the server's own log and queued to sk, or in a streams cluster
// added to the stream (and delivered when read back).
func (r *recovery) emitTo(sk *Socket, p socketio.Packet) error {
	if r.store != nil {
		return sk.sess.srv.broker.broadcast(context.Background(), p, broadcastOpts{Rooms: []string{sk.id}})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	m := r.appendLocked(r.logs[""], offset{seq: r.seq}, sk.nsp, p, []string{sk.id}, nil)
	if sk.isClosed() {
		return ErrSocketClosed
	}
	queued, err := sk.sess.sendMessage(m, false, true)
	if queued {
		sk.sess.countOut(m.size())
	}
	return err
}

func (r *recovery) appendLocked(l *packetLog, o offset, ns *namespace, p socketio.Packet, rooms, except []string) *message {
	p.Namespace = ns.name
	p.Data = appendOffset(p.Data, o, l.stream != "")
	m := newMessage(p)
	e := logEntry{
		off:    o,
		at:     r.now(),
		ns:     ns,
		rooms:  slices.Clip(rooms),
		except: slices.Clip(except),
		msg:    m,
		size:   int64(len(m.frames)) + logEntryOverhead,
	}
	for _, s := range rooms {
		e.size += int64(len(s)) + 16
	}
	for _, s := range except {
		e.size += int64(len(s)) + 16
	}
	l.entries = append(l.entries, e)
	r.bytes += e.size
	r.trimLocked(e.at)
	return m
}

// trimLocked drops the entries older than MaxDisconnection, then the
// oldest ones (across logs) while the logs are over MaxBytes.
func (r *recovery) trimLocked(now time.Duration) {
	for _, l := range r.logs {
		for len(l.live()) > 0 && now-l.live()[0].at > r.cfg.MaxDisconnection {
			r.bytes -= l.trimOne()
		}
	}
	for r.bytes > r.cfg.MaxBytes {
		var oldest *packetLog
		for _, l := range r.logs {
			if len(l.live()) > 0 && (oldest == nil || l.live()[0].at < oldest.live()[0].at) {
				oldest = l
			}
		}
		if oldest == nil {
			return
		}
		r.bytes -= oldest.trimOne()
		r.trimmed.Add(1)
	}
}

// keep stores the state of sk, which left for a recoverable reason
// holding rooms (namespace.hold).
func (r *recovery) keep(sk *Socket, rooms []string) {
	k := &keptSocket{sid: sk.id, pid: sk.pid, ns: sk.nsp, rooms: rooms, data: sk.Data(), at: r.now(), held: true}
	if r.store != nil {
		// The stream carries everything: nothing to hold.
		k.release()
		r.store.keepSession(k)
		return
	}
	r.keptMu.Lock()
	old := r.kept[k.pid]
	r.kept[k.pid] = k
	r.keptMu.Unlock()
	if old != nil {
		old.release()
	}
}

// leaveWait bounds how long a take waits for a live socket with its pid
// to leave (see above).
const leaveWait = time.Second

// arrive registers a socket with pid as live; the socket calls left with
// the returned channel once it has left (kept or not).
func (r *recovery) arrive(pid string) chan struct{} {
	ch := make(chan struct{})
	r.keptMu.Lock()
	r.live[pid] = ch
	r.keptMu.Unlock()
	return ch
}

func (r *recovery) left(pid string, ch chan struct{}) {
	r.keptMu.Lock()
	if r.live[pid] == ch {
		delete(r.live, pid)
	}
	r.keptMu.Unlock()
	close(ch)
}

// awaitLeft waits until no socket with pid is live here, up to leaveWait.
func (r *recovery) awaitLeft(ctx context.Context, pid string) {
	r.keptMu.Lock()
	ch := r.live[pid]
	r.keptMu.Unlock()
	if ch == nil {
		return
	}
	t := time.NewTimer(leaveWait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// take removes and returns the kept socket of pid in namespace ns, with
// the client's offset; the caller restores it (or puts it back) and then
// releases it. why says what failed. It first waits for a socket with
// that pid still live here to leave (see above).
func (r *recovery) take(ctx context.Context, pid string, ns *namespace, off string) (k *keptSocket, o offset, why string) {
	r.awaitLeft(ctx, pid)
	if r.store != nil {
		o, ok := parseStreamOffset(off)
		if !ok {
			return nil, o, recoveryOffset
		}
		k, err := r.store.takeSession(ctx, pid, ns)
		if err != nil || k == nil {
			if err != nil {
				r.srv.log.Warn("recovery: reading a session failed", "err", err)
			}
			return nil, o, recoveryUnknown
		}
		return k, o, ""
	}
	r.keptMu.Lock()
	k = r.kept[pid]
	if k == nil || k.ns != ns {
		r.keptMu.Unlock()
		return nil, o, recoveryUnknown
	}
	delete(r.kept, pid)
	r.keptMu.Unlock()
	if r.now()-k.at > r.cfg.MaxDisconnection {
		k.release()
		return nil, o, recoveryExpired
	}
	o, ok := parseLocalOffset(off)
	if ok {
		r.mu.Lock()
		_, ok = r.logs[""].after(o)
		r.mu.Unlock()
	}
	if !ok {
		k.release()
		return nil, o, recoveryOffset
	}
	return k, o, ""
}

// putBack returns k, taken by take, to the kept sockets (OnConnect refused
// it: the client may try again within the same window).
func (r *recovery) putBack(k *keptSocket) {
	if r.store != nil {
		r.store.keepSession(k)
		return
	}
	r.keptMu.Lock()
	if r.kept[k.pid] == nil {
		r.kept[k.pid] = k
		k = nil
	}
	r.keptMu.Unlock()
	if k != nil {
		k.release()
	}
}

// restore makes sk, a new Socket with the id, pid and data of a kept
// socket, a member of its namespace and its rooms, and queues to its
// session every logged packet after offset o that the socket would have
// received, then its CONNECT reply. It returns false, doing nothing, when
// it cannot know every packet after o.
func (r *recovery) restore(ctx context.Context, sk *Socket, rooms []string, o offset) bool {
	if r.store != nil {
		return r.restoreStream(ctx, sk, rooms, o)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.logs[""].after(o)
	if !ok {
		return false
	}
	r.replayLocked(sk, rooms, nil, r.logs[""].entries[i:])
	return true
}

// replayLocked adds sk to its namespace and rooms and queues the packets
// of older (read back from a stream) and of entries it would have got,
// then its CONNECT reply.
func (r *recovery) replayLocked(sk *Socket, rooms []string, older []storedPacket, entries []logEntry) {
	sk.nsp.add(sk, rooms)
	all := append([]string{sk.id}, rooms...)
	var n int64
	for _, sp := range older {
		if sp.nsp != sk.nsp.name || !selects(all, sp.opts.Rooms, sp.opts.Except) {
			continue
		}
		p := sp.p
		p.Namespace = sp.nsp
		p.Data = appendOffset(p.Data, sp.off, true)
		if queued, err := sk.sess.sendReplay(newMessage(p)); queued && err == nil {
			n++
		}
	}
	for _, e := range entries {
		if e.ns != sk.nsp || !selects(all, e.rooms, e.except) {
			continue
		}
		if queued, err := sk.sess.sendReplay(e.msg); queued && err == nil {
			n++
		}
	}
	r.recovered.Add(1)
	r.replayed.Add(n)
	_ = sk.sess.sendPacket(sk.connectPacket())
}

// restoreStream restores sk in a streams cluster: from the copy of the
// stream the server has read, or, for an offset older than that copy, from
// the stream itself and then the copy.
func (r *recovery) restoreStream(ctx context.Context, sk *Socket, rooms []string, o offset) bool {
	stream := r.store.streamOf(sk.nsp.name)
	for attempt := 0; attempt < 50; attempt++ {
		r.mu.Lock()
		l := r.streamLogLocked(stream)
		if i, ok := l.after(o); ok {
			r.replayLocked(sk, rooms, nil, l.entries[i:])
			r.mu.Unlock()
			return true
		}
		ahead := l.read.less(o)
		r.mu.Unlock()
		if ahead {
			// The client saw an entry this server's reader has not
			// reached yet (another server read it first): wait a little.
			select {
			case <-time.After(10 * time.Millisecond):
				continue
			case <-ctx.Done():
				return false
			}
		}
		// Older than the copy: from the stream itself, then the copy.
		older, last, ok, err := r.store.packetsAfter(ctx, stream, o)
		if err != nil || !ok {
			return false
		}
		r.mu.Lock()
		if !l.floor.isZero() && last.less(l.floor) {
			// The copy lost entries after those the stream read gave.
			r.mu.Unlock()
			continue
		}
		// Entries past the reader's position come live: not from the
		// stream read; the copy's entries after that read complete it.
		n := len(older)
		for n > 0 && l.read.less(older[n-1].off) {
			n--
		}
		r.replayLocked(sk, rooms, older[:n], l.entries[l.firstAfter(last):])
		r.mu.Unlock()
		return true
	}
	return false
}

// selects reports whether a socket in rooms (its id room included) is
// selected by a broadcast to to (all when empty) except except, as
// socket.io-adapter's shouldIncludePacket decides.
func selects(rooms, to, except []string) bool {
	if len(to) > 0 && !slices.ContainsFunc(rooms, func(r string) bool { return slices.Contains(to, r) }) {
		return false
	}
	return !slices.ContainsFunc(rooms, func(r string) bool { return slices.Contains(except, r) })
}

// recoveryAuth reads the pid and offset a reconnecting client adds to its
// CONNECT payload; ok is false unless both are strings (socket.io ignores
// anything else).
func recoveryAuth(auth []byte) (pid, offset string, ok bool) {
	var a struct {
		PID    *string `json:"pid"`
		Offset *string `json:"offset"`
	}
	if json.Unmarshal(auth, &a) != nil || a.PID == nil || a.Offset == nil {
		return "", "", false
	}
	return *a.PID, *a.Offset, true
}

// RecoveryStats are the counters and gauges of connection state recovery.
type RecoveryStats struct {
	Kept      int              // disconnected sockets kept now
	Recovered int64            // sockets restored
	Replayed  int64            // packets replayed to restored sockets
	Failed    map[string]int64 // CONNECTs with a pid that got a new socket: "unknown", "expired", "offset", "refused"
	Packets   int              // packets in the log now
	Bytes     int64            // the log's size now, as counted against Recovery.MaxBytes
	Trimmed   int64            // packets dropped from the log by Recovery.MaxBytes before MaxDisconnection
}

func (r *recovery) stats() *RecoveryStats {
	st := &RecoveryStats{
		Recovered: r.recovered.Load(),
		Replayed:  r.replayed.Load(),
		Failed:    make(map[string]int64, len(recoveryFailures)),
		Trimmed:   r.trimmed.Load(),
	}
	for i, k := range recoveryFailures {
		st.Failed[k] = r.failed[i].Load()
	}
	r.keptMu.Lock()
	st.Kept = len(r.kept)
	r.keptMu.Unlock()
	r.mu.Lock()
	for _, l := range r.logs {
		st.Packets += len(l.live())
	}
	st.Bytes = r.bytes
	r.mu.Unlock()
	return st
}
