package relay

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gobwas/ws"
	"github.com/siorelay/siorelay/internal/engineio"
	"github.com/siorelay/siorelay/relay/internal/netpoll"
)

// serveUpgrade handles an HTTP upgrade request: a WebSocket-first
// handshake, or the WebSocket side of a polling → WebSocket upgrade.
func (srv *Server) serveUpgrade(w http.ResponseWriter, r *http.Request, q url.Values) {
	code, msg, ok := srv.verify(r, q, true)
	if !ok {
		abortUpgrade(w, code, msg)
		return
	}
	if q.Get("transport") != "websocket" {
		abortUpgrade(w, engineio.BadRequest, "")
		return
	}
	nc, rw, _, err := ws.HTTPUpgrader{Timeout: 10 * time.Second}.Upgrade(r, w)
	if err != nil {
		if nc != nil {
			nc.Close()
		}
		srv.log.Debug("websocket upgrade failed", "err", err)
		return
	}
	var buffered []byte
	if rw != nil {
		if n := rw.Reader.Buffered(); n > 0 {
			buffered, _ = rw.Reader.Peek(n)
		}
	}
	sid := q.Get("sid")
	if sid == "" {
		srv.openWebSocket(nc, buffered, r, q)
		return
	}
	s := srv.lookup(sid)
	if s == nil {
		nc.Close()
		return
	}
	s.startProbe(nc, buffered)
}

// openWebSocket starts a WebSocket-first session.
func (srv *Server) openWebSocket(nc net.Conn, buffered []byte, r *http.Request, q url.Values) {
	s := newSession(srv, r, q)
	c, err := srv.poller.Prepare(nc, buffered, s)
	if err != nil {
		srv.log.Debug("websocket: prepare", "err", err)
		return
	}
	s.ws = c
	srv.openedWebSocket.Add(1)
	open := s.openPacket(nil)
	_ = c.Send(frameFor(open, !s.b64), false)
	if !srv.addSession(s) {
		c.Close(ErrServerClosed)
		return
	}
	s.start()
	if err := c.Start(); err != nil {
		srv.log.Debug("websocket: start", "err", err)
	}
}

// frameFor encodes one Engine.IO packet as a WebSocket frame.
func frameFor(p engineio.Packet, supportsBinary bool) []byte {
	data := engineio.AppendPacket(nil, p, supportsBinary)
	op := ws.OpText
	if p.IsBinaryFrame(supportsBinary) {
		op = ws.OpBinary
	}
	return netpoll.AppendFrame(make([]byte, 0, netpoll.HeaderLen(len(data))+len(data)), op, data)
}

// startProbe serves a WebSocket that wants to take over a polling session.
func (s *session) startProbe(nc net.Conn, buffered []byte) {
	c, err := s.srv.poller.Prepare(nc, buffered, s)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.state != stateOpen || s.poll == nil || s.probe != nil {
		// Already upgraded, upgrading, or closed: engine.io closes the new
		// WebSocket.
		s.mu.Unlock()
		c.Close(nil)
		return
	}
	s.probe = c
	s.mu.Unlock()
	time.AfterFunc(s.srv.cfg.UpgradeTimeout, func() {
		s.mu.Lock()
		timedOut := s.probe == c
		s.mu.Unlock()
		if timedOut {
			c.Close(fmt.Errorf("relay: upgrade timeout"))
		}
	})
	if err := c.Start(); err != nil {
		s.srv.log.Debug("websocket probe: start", "err", err)
	}
}

// handleProbe handles a packet on a WebSocket being probed (engine.io
// Socket._maybeUpgrade): "2probe" is answered with "3probe" and the pending
// GET is released with a noop; "5" switches the session to this WebSocket;
// anything else closes the probe.
func (s *session) handleProbe(c *netpoll.Conn, p engineio.Packet, err error) {
	switch {
	case err == nil && p.Type == engineio.Ping && string(p.Data) == "probe":
		_ = c.Send(probeFrame, false)
		s.mu.Lock()
		if s.poll != nil {
			s.poll.upgrading = true
			if s.poll.get != nil && len(s.poll.queue) == 0 {
				// Release the GET waiting since before the probe.
				s.poll.queue = append(s.poll.queue, engineio.Packet{Type: engineio.Noop})
				s.poll.wakeLocked()
			}
		}
		s.mu.Unlock()
	case err == nil && p.Type == engineio.Upgrade:
		s.mu.Lock()
		if s.state != stateOpen || s.probe != c || s.poll == nil {
			s.mu.Unlock()
			c.Close(nil)
			return
		}
		poll := s.poll
		pending := poll.queue
		poll.queue = nil
		poll.upgraded = true
		s.srv.upgrades.Add(1)
		poll.wakeLocked()
		s.poll = nil
		s.probe = nil
		s.ws = c
		// Flush what polling had queued, in order, before anything else
		// can be sent on the WebSocket (s.mu is held).
		for _, pk := range pending {
			_ = c.Send(frameFor(pk, !s.b64), false)
		}
		s.mu.Unlock()
	default:
		s.mu.Lock()
		if s.probe == c {
			s.probe = nil
			if s.poll != nil {
				s.poll.upgrading = false
			}
		}
		s.mu.Unlock()
		c.Close(nil)
	}
}

// abortUpgrade answers a refused upgrade like engine.io's abortUpgrade: raw
// HTTP 400 with the error message as text/html body, whatever the code.
func abortUpgrade(w http.ResponseWriter, code engineio.ErrorCode, msg string) {
	if msg == "" {
		msg = code.Message()
	}
	nc, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	defer nc.Close()
	writeRaw(rw, msg)
}

func writeRaw(rw *bufio.ReadWriter, msg string) {
	fmt.Fprintf(rw, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
	_ = rw.Flush()
}
