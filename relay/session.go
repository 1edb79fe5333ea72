package relay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/siorelay/siorelay/internal/engineio"
	"github.com/siorelay/siorelay/internal/socketio"
	"github.com/siorelay/siorelay/relay/internal/netpoll"
)

// Engine.IO close reasons, as engine.io and socket.io report them.
const (
	reasonTransportClose   = "transport close"
	reasonTransportError   = "transport error"
	reasonPingTimeout      = "ping timeout"
	reasonParseError       = "parse error"
	reasonForcedClose      = "forced close"
	reasonServerShutdown   = "server shutting down"
	reasonServerDisconnect = "server namespace disconnect"
	reasonClientDisconnect = "client namespace disconnect"
)

type sessionState uint8

const (
	stateOpen sessionState = iota
	stateClosed
)

// reqInfo is what a session keeps of the request that opened it, for
// [Handshake]. The remote address, the request URI and the header lines
// share one string, parsed on demand: ~200 bytes per connection, where
// separate strings cost 270 and parsed maps several times more.
type reqInfo struct {
	raw      string // address "\n" request URI "\n" "Key: value\r\n" lines
	unixNano int64  // when the connection was opened
	secure   bool
	xdomain  bool
}

func newReqInfo(r *http.Request) *reqInfo {
	// net/http moves the Host header out of r.Header; Node's req.headers
	// (and so socket.handshake.headers) keeps it.
	uri := r.URL.RequestURI()
	n := len(r.RemoteAddr) + 1 + len(uri) + 1 + len("Host: \r\n") + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(r.RemoteAddr)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	if r.Host != "" {
		b.WriteString("Host: ")
		b.WriteString(r.Host)
		b.WriteString("\r\n")
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\r\n")
		}
	}
	return &reqInfo{
		raw:      b.String(),
		unixNano: time.Now().UnixNano(),
		secure:   r.TLS != nil,
		xdomain:  r.Header.Get("Origin") != "",
	}
}

// handshake builds the Handshake of socket id joining nsp with auth.
func (ri *reqInfo) handshake(nsp, id string, auth []byte) *Handshake {
	address, rest, _ := strings.Cut(ri.raw, "\n")
	uri, header, _ := strings.Cut(rest, "\n")
	h := &Handshake{
		Namespace: nsp,
		SocketID:  id,
		Address:   address,
		Time:      time.Unix(0, ri.unixNano),
		URL:       uri,
		Secure:    ri.secure,
		XDomain:   ri.xdomain,
		Auth:      json.RawMessage(auth),
	}
	h.Header = parseHeaderLines(header)
	if u, err := url.ParseRequestURI(uri); err == nil {
		h.Query = u.Query()
	} else {
		h.Query = url.Values{}
	}
	return h
}

// parseHeaderLines reads back the "Key: value\r\n" lines newReqInfo wrote
// from an http.Header, whose keys are canonical already and whose values
// hold no line breaks. It allocates the map and its slices only: fetches of
// many sockets call it once per socket.
func parseHeaderLines(lines string) http.Header {
	h := make(http.Header, strings.Count(lines, "\r\n"))
	for lines != "" {
		var line string
		line, lines, _ = strings.Cut(lines, "\r\n")
		if k, v, ok := strings.Cut(line, ": "); ok {
			h[k] = append(h[k], v)
		}
	}
	return h
}

// session is one Engine.IO connection and the Socket.IO client on top of it
// (socket.io's Client). It is the netpoll.Handler of its WebSocket conns.
type session struct {
	srv   *Server
	id    string
	req   *reqInfo
	timer netpoll.Timer // heartbeat: next ping or pong deadline
	ctmr  netpoll.Timer // connectTimeout

	inMu sync.Mutex       // serializes input across transports
	dec  socketio.Decoder // guarded by inMu

	mu sync.Mutex
	// The small fields packed together next to mu, which every send
	// takes anyway: a session stays in the 208-byte size class.
	b64           bool         // the client cannot receive binary frames
	state         sessionState // guarded by mu
	waitingPong   bool         // guarded by mu
	pongRefreshed bool         // guarded by mu
	traffic       sessionTraffic
	ws            *netpoll.Conn // guarded by mu; the WebSocket in use, nil while polling
	probe         *netpoll.Conn // guarded by mu; a WebSocket being probed for upgrade
	poll          *pollState    // guarded by mu; nil once on WebSocket
	sockets       []*Socket     // guarded by mu; joined namespaces
}

var (
	pingFrame      = netpoll.AppendFrame(nil, ws.OpText, []byte{byte(engineio.Ping)})
	probeFrame     = netpoll.AppendFrame(nil, ws.OpText, []byte("3probe"))
	closeFrameBare = netpoll.AppendFrame(nil, ws.OpClose, nil)
)

func newSession(srv *Server, r *http.Request, q url.Values) *session {
	s := &session{
		srv: srv,
		id:  engineio.NewSID(),
		b64: q.Get("b64") != "",
		req: newReqInfo(r),
	}
	s.timer.F = s.onHeartbeat
	s.ctmr.F = s.onConnectTimeout
	return s
}

// start begins the heartbeat and the connect timeout.
func (s *session) start() {
	s.srv.wheel.Schedule(&s.timer, s.srv.cfg.PingInterval)
	s.srv.wheel.Schedule(&s.ctmr, s.srv.cfg.ConnectTimeout)
}

func (s *session) openPacket(upgrades []string) engineio.Packet {
	cfg := &s.srv.cfg
	data := engineio.AppendOpen(nil, engineio.Handshake{
		SID:          s.id,
		Upgrades:     upgrades,
		PingInterval: cfg.PingInterval,
		PingTimeout:  cfg.PingTimeout,
		MaxPayload:   int(cfg.MaxHTTPBufferSize),
	})
	return engineio.Packet{Type: engineio.Open, Data: data[1:]}
}

func (s *session) onHeartbeat() {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	if s.waitingPong {
		s.mu.Unlock()
		s.close(reasonPingTimeout)
		return
	}
	s.waitingPong, s.pongRefreshed = true, false
	s.srv.wheel.ScheduleFromDue(&s.timer, s.srv.cfg.PingTimeout)
	c := s.ws
	if c == nil {
		s.pushPollLocked(engineio.Packet{Type: engineio.Ping})
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	_ = c.Send(pingFrame, false)
}

// pongOverdue reports whether a pong was due and its deadline has passed,
// even if the timer wheel has not fired yet: a request that comes after
// the deadline must find the session closed, as with engine.io.
func (s *session) pongOverdue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	// While a pong is awaited, s.timer is due at the ping timeout.
	return s.state == stateOpen && s.waitingPong && s.srv.wheel.Passed(&s.timer)
}

func (s *session) onConnectTimeout() {
	s.mu.Lock()
	idle := s.state == stateOpen && len(s.sockets) == 0
	s.mu.Unlock()
	if idle {
		s.close(reasonForcedClose)
	}
}

// handlePacket handles one Engine.IO packet from the active transport.
// Called with inMu held.
func (s *session) handlePacket(p engineio.Packet) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	if p.Type == engineio.Pong {
		s.waitingPong = false
		s.srv.wheel.Schedule(&s.timer, s.srv.cfg.PingInterval)
		s.mu.Unlock()
		return
	}
	if s.waitingPong && !s.pongRefreshed {
		// engine.io 6.6: the first packet while a pong is due refreshes the
		// ping timeout once.
		s.pongRefreshed = true
		s.srv.wheel.Schedule(&s.timer, s.srv.cfg.PingTimeout)
	}
	s.mu.Unlock()
	switch p.Type {
	case engineio.Ping:
		// v4 clients never ping: "invalid heartbeat direction".
		s.close(reasonTransportError)
	case engineio.Message:
		s.onMessage(p.Data, p.Binary)
	}
}

// sendMessage queues m; direct marks a packet for this session alone,
// written at once when nothing else is pending (see netpoll.Conn.SendNow).
// queued is false when a volatile packet was dropped (err is nil then).
func (s *session) sendMessage(m *message, volatile, direct bool) (queued bool, err error) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return false, ErrSocketClosed
	}
	if c := s.ws; c != nil {
		s.mu.Unlock()
		if direct {
			err = c.SendNow(m.framesFor(s.b64))
		} else {
			err = c.Send(m.framesFor(s.b64), volatile)
		}
		if errors.Is(err, netpoll.ErrDropped) {
			// Counted by the poller.
			return false, nil
		}
		return err == nil, err
	}
	if volatile && s.poll.get == nil {
		// socket.io drops volatile packets when the transport is not writable.
		s.mu.Unlock()
		s.srv.droppedVolatile.Add(1)
		return false, nil
	}
	over := s.pushPollLocked(m.packets()...)
	s.mu.Unlock()
	if over {
		s.srv.slowConsumers.Add(1)
		// On another goroutine: callers (a fan-out, the recovery log) may
		// hold locks that Config.OnDisconnect, run by close, could need.
		go s.close(reasonTransportError)
		return false, ErrSocketClosed
	}
	return true, nil
}

// sendReplay queues m, a packet a restored socket missed, outside the
// queue limits (the replay is bounded by the recovery log's size, and its
// frames are shared with the log).
func (s *session) sendReplay(m *message) (queued bool, err error) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return false, ErrSocketClosed
	}
	if c := s.ws; c != nil {
		s.mu.Unlock()
		err = c.SendUnbounded(m.framesFor(s.b64))
	} else {
		p := s.poll
		if p != nil && !p.closed {
			p.queue = append(p.queue, m.packets()...)
			p.wakeLocked()
		}
		s.mu.Unlock()
	}
	if err == nil {
		s.countOut(m.size())
	}
	return err == nil, err
}

// sendPacket queues an Engine.IO message with the Socket.IO packet p, for
// packets addressed to this session only.
func (s *session) sendPacket(p socketio.Packet) error {
	m := newMessage(p)
	queued, err := s.sendMessage(m, false, true)
	if queued {
		s.countOut(m.size())
	}
	return err
}

// close ends the session: the transport is closed, every socket leaves its
// namespace with reason. Idempotent.
func (s *session) close(reason string) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	s.state = stateClosed
	c, probe, poll := s.ws, s.probe, s.poll
	s.probe = nil
	keep := false
	if poll != nil {
		// socket.close() in engine.io waits for the transport; errors
		// end the session at once.
		deferred := reason == reasonForcedClose || reason == reasonServerDisconnect
		keep = poll.closeLocked(reason == reasonTransportClose, deferred)
	}
	sockets := s.sockets
	s.sockets = nil
	s.mu.Unlock()

	s.srv.closes.add(reason)
	s.foldTraffic()
	s.srv.wheel.Stop(&s.timer)
	s.srv.wheel.Stop(&s.ctmr)
	if !keep {
		s.srv.removeSession(s)
	} else {
		time.AfterFunc(pollCloseTimeout, func() { s.srv.removeSession(s) })
	}
	if c != nil {
		// Like Node: a bare close frame, no status code.
		c.CloseWith(closeFrameBare, nil)
	}
	if probe != nil {
		probe.Close(nil)
	}
	for _, sk := range sockets {
		sk.onClose(reason, false)
	}
	if log := s.srv.log; log.Enabled(context.Background(), slog.LevelDebug) {
		log.Debug("session closed", "sid", s.id, "reason", reason)
	}
}

// HandleMessage implements netpoll.Handler for the session's WebSocket
// conns (the active one and a probe).
func (s *session) HandleMessage(c *netpoll.Conn, binary bool, payload []byte) {
	s.mu.Lock()
	probe := c == s.probe
	s.mu.Unlock()
	p, err := engineio.DecodePacket(payload, binary)
	if probe {
		s.handleProbe(c, p, err)
		return
	}
	if err != nil {
		s.close(reasonParseError)
		return
	}
	s.inMu.Lock()
	s.handlePacket(p)
	s.inMu.Unlock()
}

// HandleClose implements netpoll.Handler.
func (s *session) HandleClose(c *netpoll.Conn, err error) {
	s.mu.Lock()
	if c == s.probe {
		s.probe = nil
		if s.poll != nil {
			s.poll.upgrading = false
		}
		s.mu.Unlock()
		return
	}
	active := c == s.ws
	s.mu.Unlock()
	if !active {
		return
	}
	reason := reasonTransportClose
	if err != nil && !errors.Is(err, io.EOF) {
		var ce *netpoll.CloseError
		if !errors.As(err, &ce) || !ce.Remote {
			reason = reasonTransportError
		}
	}
	if errors.Is(err, netpoll.ErrSlowConsumer) {
		s.srv.slowConsumers.Add(1)
		if errors.Is(err, netpoll.ErrWriteTimeout) {
			s.srv.writeTimeouts.Add(1)
		}
	}
	s.close(reason)
}

// onMessage handles the data of an Engine.IO message: a Socket.IO packet or
// one of its attachments. Called with inMu held.
func (s *session) onMessage(data []byte, binary bool) {
	if binary || s.dec.Pending() > 0 || (len(data) > 0 && (data[0] == '5' || data[0] == '6')) {
		// The decoder keeps references until the packet is complete; the
		// transport's buffer is only ours during this call.
		data = append([]byte(nil), data...)
	}
	p, done, err := s.dec.Add(data, binary)
	s.countIn(len(data), done && err == nil)
	if err != nil {
		s.srv.log.Debug("invalid socket.io packet", "sid", s.id, "err", err)
		s.close(reasonForcedClose)
		return
	}
	if done {
		s.onPacket(p)
	}
}

func (s *session) socket(nsp string) *Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sk := range s.sockets {
		if sk.nsp.name == nsp {
			return sk
		}
	}
	return nil
}

// onPacket dispatches a decoded Socket.IO packet (socket.io Client.ondecoded).
func (s *session) onPacket(p socketio.Packet) {
	sk := s.socket(p.Namespace)
	switch {
	case sk == nil && p.Type == socketio.Connect:
		s.connect(p.Namespace, p.Data)
	case sk != nil && p.Type != socketio.Connect && p.Type != socketio.ConnectError:
		sk.onPacket(p)
	default:
		// Invalid state: socket.io closes the whole connection.
		s.close(reasonForcedClose)
	}
}

// connect handles CONNECT for namespace name (socket.io Client.connect and
// Namespace._add). With connection state recovery, a CONNECT whose auth
// carries the pid of a kept socket and an offset still in the log restores
// that socket; anything else gets a new one.
func (s *session) connect(name string, auth []byte) {
	ns := s.srv.namespace(name, true)
	if ns == nil {
		s.srv.invalidNsp.Add(1)
		_ = s.sendPacket(socketio.Packet{Type: socketio.ConnectError, Namespace: name,
			Data: []byte(`{"message":"Invalid namespace"}`)})
		return
	}
	if auth == nil {
		auth = []byte("{}")
	} else {
		auth = append([]byte(nil), auth...)
	}
	r := s.srv.recovery
	var kept *keptSocket
	var off offset
	if r != nil {
		if pid, o, ok := recoveryAuth(auth); ok {
			var why string
			if kept, off, why = r.take(s.srv.ctx, pid, ns, o); kept == nil {
				r.failed.add(why)
			}
		}
	}
	for {
		id, pid := newSocketID(), ""
		if kept != nil {
			id, pid = kept.sid, kept.pid
		} else if r != nil {
			pid = newSocketID()
		}
		var res ConnectResult
		if f := s.srv.cfg.OnConnect; f != nil && (kept == nil || !r.cfg.SkipOnConnect) {
			h := s.req.handshake(name, id, auth)
			if kept != nil {
				h.Recovered, h.Data = true, kept.data
			}
			var err error
			if res, err = f(s.srv.ctx, h); err != nil {
				if kept != nil {
					r.putBack(kept)
					r.failed.add(recoveryRefused)
				}
				ns.refused.Add(1)
				s.refuse(name, err)
				return
			}
		}
		rooms, data := res.Rooms, res.Data
		if kept != nil {
			rooms = append(slices.Clip(kept.rooms), res.Rooms...)
			if data == nil {
				data = kept.data
			}
		}
		sk := newSocket(s, ns, id, auth, data)
		sk.pid, sk.recovered = pid, kept != nil
		if pid != "" {
			sk.left = r.arrive(pid)
		}
		s.mu.Lock()
		if s.state != stateOpen {
			s.mu.Unlock()
			if sk.left != nil {
				r.left(pid, sk.left)
			}
			if kept != nil {
				r.putBack(kept)
			}
			return
		}
		s.sockets = append(s.sockets, sk)
		s.mu.Unlock()
		if kept != nil {
			ok := r.restore(s.srv.ctx, sk, rooms, off)
			kept.release()
			if !ok {
				// Packets after the offset left the log while OnConnect
				// ran: a new socket after all (OnConnect is asked again).
				s.removeSocket(sk)
				r.left(pid, sk.left)
				r.failed.add(recoveryOffset)
				kept = nil
				continue
			}
		}
		s.srv.wheel.Stop(&s.ctmr)
		ns.connects.Add(1)
		if kept == nil {
			ns.add(sk, rooms)
			_ = s.sendPacket(sk.connectPacket())
		}
		if f := s.srv.cfg.OnConnection; f != nil {
			f(sk.Context(), sk)
		}
		return
	}
}

// refuse sends CONNECT_ERROR for err.
func (s *session) refuse(nsp string, err error) {
	msg := err.Error()
	var data []byte
	var ce *ConnectError
	if errors.As(err, &ce) {
		msg = ce.Message
		if ce.Data != nil {
			texts, _, encErr := encodeArgs([]any{ce.Data})
			if encErr == nil {
				data = texts[0]
			}
		}
	}
	_ = s.sendPacket(socketio.Packet{Type: socketio.ConnectError, Namespace: nsp,
		Data: socketio.AppendConnectError(nil, "/", msg, data)[1:]})
}

// removeSocket drops sk from the session's namespaces.
func (s *session) removeSocket(sk *Socket) {
	s.mu.Lock()
	for i, x := range s.sockets {
		if x == sk {
			s.sockets = append(s.sockets[:i], s.sockets[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
}
