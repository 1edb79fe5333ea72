package relay

import (
	"encoding/json"
	"slices"
	"strconv"
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

// Recovery configures connection state recovery: see [Config.Recovery].
type Recovery struct {
	// MaxDisconnection is how long a disconnected socket's id, rooms and
	// data are kept, and how long packets stay in the log (socket.io's
	// maxDisconnectionDuration). Zero means 2 minutes.
	MaxDisconnection time.Duration
	// MaxBytes bounds the packet log's memory: the encoded packets plus
	// about 160 bytes of bookkeeping each. When it is reached the oldest
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

// logEntryOverhead approximates the memory of a log entry besides its
// packet bytes: the entry, the message struct and the slice headers.
const logEntryOverhead = 160

// logEntry is one packet of the log.
type logEntry struct {
	seq    uint64
	at     time.Duration // since recovery.start
	ns     *namespace
	rooms  []string
	except []string
	msg    *message
	size   int64
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
}

func (k *keptSocket) release() { k.ns.release(k.sid, k.rooms) }

// recovery holds the packet log and the kept sockets of a Server.
type recovery struct {
	srv   *Server
	cfg   Recovery
	start time.Time
	stop  chan struct{} // closed by close: ends the sweeper
	done  chan struct{} // closed when the sweeper has returned

	mu      sync.Mutex // the log; see above. Held while queueing to sessions.
	entries []logEntry // guarded by mu; entries[head:] are live, oldest first
	head    int        // guarded by mu
	bytes   int64      // guarded by mu
	seq     uint64     // guarded by mu; the last offset given
	floor   uint64     // guarded by mu; the last offset trimmed, 0 when none

	keptMu sync.Mutex
	kept   map[string]*keptSocket // guarded by keptMu; by pid

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
		kept:  make(map[string]*keptSocket),
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

// appendOffset returns data, a JSON array, with offset appended as its last
// element. data is not modified.
func appendOffset(data []byte, seq uint64) []byte {
	n := len(data)
	for n > 0 && data[n-1] != ']' {
		n--
	}
	if n == 0 {
		return data
	}
	out := make([]byte, 0, n+16)
	out = append(out, data[:n-1]...)
	out = append(out, ',', '"')
	out = strconv.AppendUint(out, seq, 36)
	return append(out, '"', ']')
}

// parseOffset reads an offset of this log.
func parseOffset(s string) (uint64, bool) {
	if s == "" || len(s) > 13 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 36, 64)
	// Only the form appendOffset writes (lower case, no leading zeros).
	return v, err == nil && v > 0 && strconv.FormatUint(v, 36) == s
}

// logs reports whether p, broadcast with opts, goes into the log.
func logs(p socketio.Packet, opts broadcastOpts) bool {
	return !opts.Volatile && !p.HasID && (p.Type == socketio.Event || p.Type == socketio.BinaryEvent)
}

// deliver appends p to the log with its offset and queues it to the
// sockets of ns that opts select. It returns how many it was queued to.
func (r *recovery) deliver(ns *namespace, p socketio.Packet, opts broadcastOpts) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.appendLocked(ns, p, opts.Rooms, opts.Except)
	return ns.queue(m, opts)
}

// emitTo appends p, an event for socket sk alone, to the log and queues it
// to sk (socket.io routes socket.emit through the adapter with recovery on).
func (r *recovery) emitTo(sk *Socket, p socketio.Packet) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.appendLocked(sk.nsp, p, []string{sk.id}, nil)
	if sk.isClosed() {
		return ErrSocketClosed
	}
	queued, err := sk.sess.sendMessage(m, false, true)
	if queued {
		sk.sess.countOut(m.size())
	}
	return err
}

func (r *recovery) appendLocked(ns *namespace, p socketio.Packet, rooms, except []string) *message {
	r.seq++
	p.Namespace = ns.name
	p.Data = appendOffset(p.Data, r.seq)
	m := newMessage(p)
	e := logEntry{
		seq:    r.seq,
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
	r.entries = append(r.entries, e)
	r.bytes += e.size
	r.trimLocked(e.at)
	return m
}

// trimLocked drops the entries older than MaxDisconnection, then the
// oldest ones while the log is over MaxBytes.
func (r *recovery) trimLocked(now time.Duration) {
	for r.head < len(r.entries) {
		e := &r.entries[r.head]
		if now-e.at <= r.cfg.MaxDisconnection && r.bytes <= r.cfg.MaxBytes {
			break
		}
		if now-e.at <= r.cfg.MaxDisconnection {
			r.trimmed.Add(1)
		}
		r.floor = e.seq
		r.bytes -= e.size
		*e = logEntry{}
		r.head++
	}
	if r.head > 64 && r.head*2 >= len(r.entries) {
		n := copy(r.entries, r.entries[r.head:])
		clear(r.entries[n:])
		r.entries = r.entries[:n]
		r.head = 0
	}
}

// indexLocked returns the index in entries of the first entry after
// offset seq, and whether every packet after seq is still in the log. The
// live entries hold the offsets floor+1 … seq, in order.
func (r *recovery) indexLocked(seq uint64) (int, bool) {
	if seq == 0 || seq < r.floor || seq > r.seq {
		return 0, false
	}
	return r.head + int(seq-r.floor), true
}

// keep stores the state of sk, which left for a recoverable reason
// holding rooms (namespace.hold).
func (r *recovery) keep(sk *Socket, rooms []string) {
	k := &keptSocket{sid: sk.id, pid: sk.pid, ns: sk.nsp, rooms: rooms, data: sk.Data(), at: r.now()}
	r.keptMu.Lock()
	old := r.kept[k.pid]
	r.kept[k.pid] = k
	r.keptMu.Unlock()
	if old != nil {
		old.release()
	}
}

// take removes and returns the kept socket of pid in namespace nsp, if it
// has not expired and the offset is still in the log; the caller restores
// it and then releases it. why says what failed.
func (r *recovery) take(pid, nsp, offset string) (k *keptSocket, seq uint64, why string) {
	r.keptMu.Lock()
	k = r.kept[pid]
	if k == nil || k.ns.name != nsp {
		r.keptMu.Unlock()
		return nil, 0, recoveryUnknown
	}
	delete(r.kept, pid)
	r.keptMu.Unlock()
	if r.now()-k.at > r.cfg.MaxDisconnection {
		k.release()
		return nil, 0, recoveryExpired
	}
	seq, ok := parseOffset(offset)
	if ok {
		r.mu.Lock()
		_, ok = r.indexLocked(seq)
		r.mu.Unlock()
	}
	if !ok {
		k.release()
		return nil, 0, recoveryOffset
	}
	return k, seq, ""
}

// putBack returns k, taken by take, to the kept sockets (OnConnect refused
// it: the client may try again within the same window).
func (r *recovery) putBack(k *keptSocket) {
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
// session every packet of the log after offset seq that the socket would
// have received, then its CONNECT reply. It returns false, doing nothing,
// when packets after seq have left the log meanwhile.
func (r *recovery) restore(sk *Socket, rooms []string, seq uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.indexLocked(seq)
	if !ok {
		return false
	}
	sk.nsp.add(sk, rooms)
	all := append([]string{sk.id}, rooms...)
	var n int64
	for _, e := range r.entries[i:] {
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
	return true
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
	st.Packets = len(r.entries) - r.head
	st.Bytes = r.bytes
	r.mu.Unlock()
	return st
}
