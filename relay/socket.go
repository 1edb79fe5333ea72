package relay

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/siorelay/siorelay/internal/socketio"
)

// Handshake describes how a client connected, like socket.handshake in
// socket.io: the Engine.IO request and the auth payload of the namespace
// CONNECT. It must not be modified.
type Handshake struct {
	Namespace string          // namespace being joined
	SocketID  string          // the socket's id (in OnConnect: the id it gets if accepted)
	Header    http.Header     // headers of the request that opened the connection
	Query     url.Values      // its query parameters
	Address   string          // remote address, host:port
	Time      time.Time       // when the connection was opened
	URL       string          // request URI
	Secure    bool            // the request came over TLS
	XDomain   bool            // the request had an Origin header
	Auth      json.RawMessage // the CONNECT payload; {} when the client sent none
	// Recovered is set when the CONNECT restores a disconnected socket
	// (its pid and offset were accepted; see [Config.Recovery]): SocketID
	// is then the socket's old id, and Data its data when it left (socket.data
	// in a Node middleware). ConnectResult.Rooms are joined in addition to
	// its kept rooms, and a non-nil ConnectResult.Data replaces its data.
	// If OnConnect refuses, the client gets connect_error and the socket
	// stays kept until it expires.
	Recovered bool
	Data      any
}

// Event is an event emitted by a client.
type Event struct {
	Name string
	// Args holds the JSON text of each argument after the name. A binary
	// argument appears as {"_placeholder":true,"num":N}, standing for
	// Attachments[N].
	Args        []json.RawMessage
	Attachments [][]byte
}

// AckFunc sends the acknowledgement a client asked for. args follow the
// rules of [Operator.Emit]. Only the first call sends; later ones return
// [ErrAckCalledTwice].
type AckFunc func(args ...any) error

// Socket is one client's membership in one namespace (socket.io's Socket).
// Its methods are safe for concurrent use.
//
// [Config.OnDisconnect] receives socket.io's reasons: "client namespace
// disconnect", "server namespace disconnect", "transport close", "transport
// error", "ping timeout", "parse error", "forced close", "server shutting
// down".
type Socket struct {
	id        string
	pid       string        // private session id, with connection state recovery
	left      chan struct{} // with a pid: closed once the socket has left (see recovery.arrive)
	nsp       *namespace
	sess      *session
	auth      []byte // the CONNECT payload
	recovered bool

	rooms []string // guarded by nsp.mu; explicitly joined rooms

	mu      sync.Mutex
	data    any                  // guarded by mu
	closed  bool                 // guarded by mu
	done    chan struct{}        // guarded by mu; made on demand by Context().Done()
	nextAck int64                // guarded by mu
	acks    map[int64]ackHandler // guarded by mu; nil until the first ack is awaited
}

// ackHandler receives a client's acknowledgement (ok) or learns that the
// socket closed first (!ok). It is called at most once, without locks held.
type ackHandler func(a ackData, ok bool)

type ackData struct {
	args []json.RawMessage
	atts [][]byte
	sid  string // the socket that acked
}

func newSocket(s *session, ns *namespace, id string, auth []byte, data any) *Socket {
	return &Socket{id: id, nsp: ns, sess: s, auth: auth, data: data}
}

// ID returns the socket id, a 20-character base64id distinct from the
// Engine.IO session id. It is also the name of the socket's own room.
func (sk *Socket) ID() string { return sk.id }

// Recovered reports whether the socket is a disconnected one restored by
// connection state recovery (socket.recovered in socket.io): same id,
// rooms and data, and the packets it missed were sent before its CONNECT
// reply. See [Config.Recovery].
func (sk *Socket) Recovered() bool { return sk.recovered }

// connectPacket is the socket's CONNECT reply.
func (sk *Socket) connectPacket() socketio.Packet {
	return socketio.Packet{Type: socketio.Connect, Namespace: sk.nsp.name,
		Data: socketio.AppendConnect(nil, "/", sk.id, sk.pid)[1:]}
}

// Namespace returns the name of the socket's namespace.
func (sk *Socket) Namespace() string { return sk.nsp.name }

// Handshake returns the connection details. Each call builds a new
// Handshake (the relay keeps the request compactly, not as maps).
func (sk *Socket) Handshake() *Handshake { return sk.sess.req.handshake(sk.nsp.name, sk.id, sk.auth) }

// Context returns a context cancelled when the socket disconnects. Its
// values are those of no parent (context.Background).
func (sk *Socket) Context() context.Context { return (*socketContext)(sk) }

// socketContext is a Socket seen as a context.Context, so that a socket
// needs no context allocation of its own.
type socketContext Socket

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *socketContext) Deadline() (time.Time, bool) { return time.Time{}, false }

func (c *socketContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.closed {
			c.done = closedChan
		} else {
			c.done = make(chan struct{})
		}
	}
	return c.done
}

func (c *socketContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return context.Canceled
	}
	return nil
}

func (c *socketContext) Value(key any) any { return nil }

// Data returns the value from [ConnectResult.Data] or [Socket.SetData].
func (sk *Socket) Data() any {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return sk.data
}

// SetData replaces the socket's data.
func (sk *Socket) SetData(v any) {
	sk.mu.Lock()
	sk.data = v
	sk.mu.Unlock()
}

// Rooms returns the rooms the socket is in, its own id room first. Once
// the socket has left its namespace (in [Config.OnDisconnect] and later),
// it returns the rooms the socket was in when it left.
func (sk *Socket) Rooms() []string {
	sk.nsp.mu.RLock()
	defer sk.nsp.mu.RUnlock()
	return append([]string{sk.id}, sk.rooms...)
}

// Join adds the socket to rooms.
func (sk *Socket) Join(rooms ...string) { sk.nsp.join(sk, rooms) }

// Leave removes the socket from rooms.
func (sk *Socket) Leave(rooms ...string) { sk.nsp.leave(sk, rooms) }

// Emit sends an event to this socket only. args follow the rules of
// [Operator.Emit]. It does not wait for the network. With
// [Config.Recovery] the event is logged and carries an offset, like a
// broadcast (as socket.emit does in socket.io with recovery on).
func (sk *Socket) Emit(ctx context.Context, event string, args ...any) error {
	p, err := eventPacket(sk.nsp.name, event, args)
	if err != nil {
		return err
	}
	if sk.isClosed() {
		return ErrSocketClosed
	}
	if r := sk.sess.srv.recovery; r != nil {
		return r.emitTo(sk, p)
	}
	return sk.sess.sendPacket(p)
}

// EmitWithAck sends an event asking the client for an acknowledgement and
// waits for it until ctx ends ([ErrAckTimeout]) or the socket disconnects
// ([ErrSocketClosed]). It returns the arguments of the client's reply.
func (sk *Socket) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, [][]byte, error) {
	p, err := eventPacket(sk.nsp.name, event, args)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan ackData, 1)
	sk.mu.Lock()
	if sk.closed {
		sk.mu.Unlock()
		return nil, nil, ErrSocketClosed
	}
	id := sk.nextAck
	sk.nextAck++
	if sk.acks == nil {
		sk.acks = make(map[int64]ackHandler)
	}
	sk.acks[id] = func(a ackData, ok bool) {
		if ok {
			ch <- a
		} else {
			close(ch)
		}
	}
	sk.mu.Unlock()
	p.ID, p.HasID = id, true
	if err := sk.sess.sendPacket(p); err != nil {
		sk.dropAck(id)
		return nil, nil, err
	}
	select {
	case a, ok := <-ch:
		if !ok {
			return nil, nil, ErrSocketClosed
		}
		return a.args, a.atts, nil
	case <-ctx.Done():
		sk.dropAck(id)
		return nil, nil, ErrAckTimeout
	}
}

func (sk *Socket) dropAck(id int64) {
	sk.mu.Lock()
	delete(sk.acks, id)
	sk.mu.Unlock()
}

// Disconnect makes the socket leave its namespace: the client gets a
// DISCONNECT packet and the reason is "server namespace disconnect". With
// close, the whole connection (every namespace) is closed.
func (sk *Socket) Disconnect(close bool) {
	if close {
		s := sk.sess
		s.mu.Lock()
		sockets := slices.Clone(s.sockets)
		s.mu.Unlock()
		for _, x := range sockets {
			x.disconnect()
		}
		s.close(reasonServerDisconnect)
		return
	}
	sk.disconnect()
}

func (sk *Socket) disconnect() {
	if sk.isClosed() {
		return
	}
	_ = sk.sess.sendPacket(socketio.Packet{Type: socketio.Disconnect, Namespace: sk.nsp.name})
	sk.onClose(reasonServerDisconnect, true)
}

func (sk *Socket) isClosed() bool {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return sk.closed
}

// onClose removes the socket from its namespace (socket.io _onclose).
// detach says whether it must also be removed from its session's list.
func (sk *Socket) onClose(reason string, detach bool) {
	sk.mu.Lock()
	if sk.closed {
		sk.mu.Unlock()
		return
	}
	sk.closed = true
	acks := sk.acks
	sk.acks = nil
	if sk.done != nil {
		close(sk.done)
	}
	sk.mu.Unlock()
	for _, h := range acks {
		h(ackData{}, false)
	}
	if detach {
		sk.sess.removeSocket(sk)
	}
	// A socket kept for recovery holds its rooms from before it leaves
	// them, so that no broadcast to them is missed in between.
	r := sk.sess.srv.recovery
	var rooms []string
	keep := r != nil && sk.pid != "" && recoverable(reason)
	if keep {
		rooms = sk.nsp.hold(sk)
	}
	sk.nsp.remove(sk)
	sk.nsp.disconnects.add(reason)
	if f := sk.sess.srv.cfg.OnDisconnect; f != nil {
		f(sk, reason)
	}
	// Kept only now, so that OnDisconnect has been called before a
	// returning client can restore the socket.
	if keep {
		r.keep(sk, rooms)
	}
	if sk.left != nil {
		r.left(sk.pid, sk.left)
	}
}

// onPacket handles a packet for this socket's namespace (socket.io
// Socket._onpacket).
func (sk *Socket) onPacket(p socketio.Packet) {
	switch p.Type {
	case socketio.Event, socketio.BinaryEvent:
		sk.onEvent(p)
	case socketio.Ack, socketio.BinaryAck:
		sk.onAck(p)
	case socketio.Disconnect:
		sk.onClose(reasonClientDisconnect, true)
	}
}

func (sk *Socket) onEvent(p socketio.Packet) {
	f := sk.sess.srv.cfg.OnEvent
	if f == nil || p.Data == nil {
		return
	}
	var all []json.RawMessage
	if err := json.Unmarshal(p.Data, &all); err != nil || len(all) == 0 {
		return
	}
	name, _, err := socketio.EventName(p.Data)
	if err != nil {
		return
	}
	ev := Event{Name: string(name), Args: all[1:], Attachments: p.Attachments}
	var ack AckFunc
	if p.HasID {
		id := p.ID
		ack = ackOnce(func(args []any) error {
			pk, err := ackPacket(sk.nsp.name, id, args)
			if err != nil {
				return err
			}
			return sk.sess.sendPacket(pk)
		})
	}
	f(sk.Context(), sk, ev, ack)
}

func (sk *Socket) onAck(p socketio.Packet) {
	if !p.HasID {
		return
	}
	sk.mu.Lock()
	h, ok := sk.acks[p.ID]
	delete(sk.acks, p.ID)
	sk.mu.Unlock()
	if !ok {
		return
	}
	var args []json.RawMessage
	if p.Data != nil {
		_ = json.Unmarshal(p.Data, &args)
	}
	h(ackData{args: args, atts: p.Attachments, sid: sk.id}, true)
}
