package relay

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/siorelay/siorelay/internal/socketio"
)

// namespace holds the sockets and rooms of one namespace on this node.
type namespace struct {
	name    string
	srv     *Server
	dynamic bool // created on demand through the "*" option

	connects    atomic.Int64
	refused     atomic.Int64
	disconnects reasonCounts

	mu      sync.RWMutex
	sockets map[string]*Socket              // guarded by mu; by socket id
	rooms   map[string]map[*Socket]struct{} // guarded by mu; explicit rooms (a socket's id room is implicit)
	// held counts, per room, the kept sockets (connection state recovery)
	// that were in it: a held room stays created for the broker (the
	// sharded one keeps its subscription) while it has no live member,
	// so that what is broadcast to it meanwhile reaches the log.
	held map[string]int // guarded by mu
}

func newNamespace(srv *Server, name string, dynamic bool) *namespace {
	return &namespace{
		name:    name,
		srv:     srv,
		dynamic: dynamic,
		sockets: make(map[string]*Socket),
		rooms:   make(map[string]map[*Socket]struct{}),
	}
}

func (ns *namespace) add(sk *Socket, rooms []string) {
	ns.mu.Lock()
	ns.sockets[sk.id] = sk
	ns.srv.roomEvent(ns.name, sk.id, true, true)
	ns.joinLocked(sk, rooms)
	ns.mu.Unlock()
}

func (ns *namespace) remove(sk *Socket) {
	ns.mu.Lock()
	if ns.sockets[sk.id] == sk {
		delete(ns.sockets, sk.id)
		if ns.held[sk.id] == 0 {
			ns.srv.roomEvent(ns.name, sk.id, true, false)
		}
	}
	// The socket keeps its room list, so that Rooms() in OnDisconnect
	// tells which rooms it was in (socket.rooms in Node's "disconnecting").
	for _, r := range sk.rooms {
		ns.dropMemberLocked(sk, r)
	}
	ns.mu.Unlock()
}

func (ns *namespace) join(sk *Socket, rooms []string) {
	ns.mu.Lock()
	if ns.sockets[sk.id] == sk {
		ns.joinLocked(sk, rooms)
	}
	ns.mu.Unlock()
}

func (ns *namespace) joinLocked(sk *Socket, rooms []string) {
	for _, r := range rooms {
		if r == sk.id || slices.Contains(sk.rooms, r) {
			continue
		}
		m := ns.rooms[r]
		if m == nil {
			m = make(map[*Socket]struct{}, 1)
			ns.rooms[r] = m
			_, isID := ns.sockets[r]
			ns.srv.roomEvent(ns.name, r, isID, true)
		}
		m[sk] = struct{}{}
		sk.rooms = append(sk.rooms, r)
	}
}

func (ns *namespace) leave(sk *Socket, rooms []string) {
	ns.mu.Lock()
	ns.leaveLocked(sk, rooms)
	ns.mu.Unlock()
}

func (ns *namespace) leaveLocked(sk *Socket, rooms []string) {
	for _, r := range slices.Clone(rooms) {
		ns.dropMemberLocked(sk, r)
		if i := slices.Index(sk.rooms, r); i >= 0 {
			sk.rooms = slices.Delete(sk.rooms, i, i+1)
		}
	}
	if len(sk.rooms) == 0 {
		sk.rooms = nil
	}
}

// dropMemberLocked takes sk out of room r's members, deleting the room
// when it empties; sk.rooms is left as it is.
func (ns *namespace) dropMemberLocked(sk *Socket, r string) {
	if m := ns.rooms[r]; m != nil {
		delete(m, sk)
		if len(m) == 0 {
			delete(ns.rooms, r)
			if ns.held[r] == 0 {
				_, isID := ns.sockets[r]
				ns.srv.roomEvent(ns.name, r, isID, false)
			}
		}
	}
}

// hold marks the rooms of sk, its id room included, as held by a kept
// socket. Called before sk leaves, while the rooms exist.
func (ns *namespace) hold(sk *Socket) []string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.held == nil {
		ns.held = make(map[string]int)
	}
	ns.held[sk.id]++
	for _, r := range sk.rooms {
		ns.held[r]++
	}
	return slices.Clone(sk.rooms)
}

// release undoes hold for a kept socket with id and rooms: a room no live
// socket is in is deleted for the broker once no kept socket holds it.
func (ns *namespace) release(id string, rooms []string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	drop := func(r string, private bool) {
		if ns.held[r]--; ns.held[r] > 0 {
			return
		}
		delete(ns.held, r)
		_, live := ns.rooms[r]
		if private {
			_, live = ns.sockets[r]
		}
		if !live {
			ns.srv.roomEvent(ns.name, r, private, false)
		}
	}
	drop(id, true)
	for _, r := range rooms {
		drop(r, false)
	}
}

var targetPool = sync.Pool{New: func() any { s := make([]*Socket, 0, 1024); return &s }}

// targets appends to dst the sockets matching rooms (all when empty) minus
// those in except, each once, like socket.io's in-memory adapter.
func (ns *namespace) targets(dst []*Socket, rooms, except []string) []*Socket {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	var excluded map[*Socket]struct{}
	if len(except) > 0 {
		excluded = make(map[*Socket]struct{})
		for _, r := range except {
			if sk := ns.sockets[r]; sk != nil {
				excluded[sk] = struct{}{}
			}
			for sk := range ns.rooms[r] {
				excluded[sk] = struct{}{}
			}
		}
	}
	keep := func(sk *Socket) bool {
		_, ex := excluded[sk]
		return !ex
	}
	if len(rooms) == 0 {
		for _, sk := range ns.sockets {
			if keep(sk) {
				dst = append(dst, sk)
			}
		}
		return dst
	}
	var seen map[*Socket]struct{}
	if len(rooms) > 1 {
		seen = make(map[*Socket]struct{})
	}
	add := func(sk *Socket) {
		if !keep(sk) {
			return
		}
		if seen != nil {
			if _, dup := seen[sk]; dup {
				return
			}
			seen[sk] = struct{}{}
		}
		dst = append(dst, sk)
	}
	for _, r := range rooms {
		if sk := ns.sockets[r]; sk != nil {
			if _, in := ns.rooms[r][sk]; !in {
				add(sk)
			}
		}
		for sk := range ns.rooms[r] {
			add(sk)
		}
	}
	return dst
}

// forEach calls fn for every matching socket, without holding ns.mu.
func (ns *namespace) forEach(opts broadcastOpts, fn func(*Socket)) {
	tp := targetPool.Get().(*[]*Socket)
	ts := ns.targets((*tp)[:0], opts.Rooms, opts.Except)
	for _, sk := range ts {
		fn(sk)
	}
	clear(ts)
	if cap(ts) <= 64<<10 {
		*tp = ts[:0]
		targetPool.Put(tp)
	}
}

// deliver encodes p once and queues it to every matching local socket. It
// never blocks on a client. It returns the number of sockets it was queued
// to (volatile packets dropped for slow clients not included). With
// connection state recovery, a packet that goes into the log gets its
// offset there.
func (ns *namespace) deliver(p socketio.Packet, opts broadcastOpts) int {
	p.Namespace = ns.name
	if r := ns.srv.recovery; r != nil && logs(p, opts) {
		return r.deliver(ns, p, opts)
	}
	return ns.queue(newMessage(p), opts)
}

// queue queues m to every socket that opts select.
func (ns *namespace) queue(m *message, opts broadcastOpts) int {
	n := 0
	ns.forEach(opts, func(sk *Socket) {
		if queued, err := sk.sess.sendMessage(m, opts.Volatile, false); queued && err == nil {
			n++
		}
	})
	ns.srv.countDeliveries(m, n)
	return n
}
