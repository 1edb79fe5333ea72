package relay

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/siorelay/siorelay/internal/engineio"
)

// pollCloseTimeout is how long a session closed by the server waits for the
// GET that tells the client (engine.io closeTimeout).
const pollCloseTimeout = 30 * time.Second

// pollState is the HTTP long-polling side of a session. All fields are
// guarded by the session's mu.
type pollState struct {
	queue          []engineio.Packet
	get            chan struct{} // closed to wake the waiting GET; nil when none waits
	getActive      bool          // a GET is being served
	posting        bool          // a POST is being served
	upgrading      bool          // a WebSocket answered the probe
	upgraded       bool          // the session moved to the WebSocket
	drainThenClose bool          // closed by the server with packets queued: they go first, the close on the next GET
	closed         bool          // the queue ends with the session's last packets
}

// pushPollLocked queues packets for the next GET and wakes a waiting one. It
// reports whether the queue went over its limit.
func (s *session) pushPollLocked(pkts ...engineio.Packet) (over bool) {
	p := s.poll
	if p == nil || p.closed {
		return false
	}
	p.queue = append(p.queue, pkts...)
	p.wakeLocked()
	return len(p.queue) > s.srv.cfg.MaxPollingQueue
}

func (p *pollState) wakeLocked() {
	if p.get != nil {
		close(p.get)
		p.get = nil
	}
}

// closeLocked queues the last packets of a closed session, as engine.io's
// polling transport does: a noop for a client that closed the session
// itself; otherwise the close packet for a waiting GET. A close decided by
// the server (deferred, engine.io's Socket.close) first lets queued packets
// drain and then gives the next GET "6␞1" (engine.io holds the session until
// then); the client's noop is kept likewise (its GET may be racing its POST,
// which engine.io, on one thread, usually sees in order); after an error the
// session is simply gone. It reports whether the session must stay findable
// until a GET collects its packets.
func (p *pollState) closeLocked(byClient, deferred bool) (keep bool) {
	p.closed = true
	switch {
	case byClient:
		p.queue = []engineio.Packet{{Type: engineio.Noop}}
		keep = !p.getActive
	case deferred && len(p.queue) > 0:
		// engine.io's Socket.close waits for the write buffer to drain:
		// the queued packets are answered alone, the close packet goes to
		// the GET after that ("6␞1").
		p.drainThenClose = true
		keep = true
	case p.getActive:
		p.queue = append(p.queue, engineio.Packet{Type: engineio.Close})
	case deferred:
		p.queue = append(p.queue, engineio.Packet{Type: engineio.Noop}, engineio.Packet{Type: engineio.Close})
		keep = true
	}
	p.wakeLocked()
	return keep
}

// servePolling handles a GET or POST for an existing polling session.
func (s *session) servePolling(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.handleGet(w, r)
	case http.MethodPost:
		s.handlePost(w, r)
	default:
		w.WriteHeader(http.StatusInternalServerError)
	}
}

func (s *session) handleGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.poll
	if p == nil {
		s.mu.Unlock()
		writeError(w, engineio.BadRequest, "")
		return
	}
	if p.getActive {
		s.mu.Unlock()
		// "overlap from client": engine.io errors the session.
		w.WriteHeader(http.StatusBadRequest)
		s.close(reasonTransportError)
		return
	}
	p.getActive = true
	for len(p.queue) == 0 && !p.closed && !p.upgraded {
		ch := make(chan struct{})
		p.get = ch
		var tick <-chan time.Time
		if p.upgrading {
			// engine.io answers a GET with a noop every 100ms while an
			// upgrade is under way (Socket._maybeUpgrade's check).
			t := time.NewTimer(100 * time.Millisecond)
			defer t.Stop()
			tick = t.C
		}
		s.mu.Unlock()
		select {
		case <-ch:
		case <-tick:
			s.mu.Lock()
			if p.get == ch {
				p.get = nil
			}
			if len(p.queue) == 0 && !p.closed && !p.upgraded {
				p.queue = append(p.queue, engineio.Packet{Type: engineio.Noop})
			}
			continue
		case <-r.Context().Done():
			s.mu.Lock()
			p.getActive = false
			if p.get == ch {
				p.get = nil
			}
			s.mu.Unlock()
			// "poll connection closed prematurely"
			s.close(reasonTransportError)
			return
		}
		s.mu.Lock()
	}
	if p.upgraded && len(p.queue) == 0 {
		// The upgrade finished while this GET waited: it is now a request
		// for the wrong transport.
		p.getActive = false
		s.mu.Unlock()
		writeError(w, engineio.BadRequest, "")
		return
	}
	pkts := p.queue
	p.queue = nil
	p.getActive = false
	last := p.closed
	if p.drainThenClose {
		p.drainThenClose = false
		p.queue = []engineio.Packet{{Type: engineio.Noop}, {Type: engineio.Close}}
		last = false
	}
	s.mu.Unlock()
	writePayload(w, r, engineio.AppendPayload(nil, pkts...))
	if last {
		s.srv.removeSession(s)
	}
}

// compressThreshold is engine.io's httpCompression.threshold: smaller
// polling responses are sent as they are.
const compressThreshold = 1024

// writePayload answers a polling GET with body, compressed with gzip or
// deflate (zlib) when the client accepts it and body is at least
// compressThreshold bytes, as engine.io's polling transport does.
func writePayload(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	if len(body) >= compressThreshold && r != nil {
		if enc := acceptedEncoding(r.Header.Get("Accept-Encoding")); enc != "" {
			var buf bytes.Buffer
			var zw io.WriteCloser
			if enc == "gzip" {
				zw = gzip.NewWriter(&buf)
			} else {
				zw = zlib.NewWriter(&buf)
			}
			zw.Write(body)
			zw.Close()
			body = buf.Bytes()
			h.Set("Content-Encoding", enc)
		}
	}
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (s *session) handlePost(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.poll
	if p == nil || s.state != stateOpen {
		s.mu.Unlock()
		writeError(w, engineio.BadRequest, "")
		return
	}
	if p.posting {
		s.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		s.close(reasonTransportError)
		return
	}
	p.posting = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		p.posting = false
		s.mu.Unlock()
	}()

	if r.Header.Get("Content-Type") == "application/octet-stream" {
		// engine.io: "invalid content" for binary POSTs in v4.
		w.WriteHeader(http.StatusBadRequest)
		s.close(reasonTransportError)
		return
	}
	max := s.srv.cfg.MaxHTTPBufferSize
	if r.ContentLength > max {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.close(reasonTransportError)
		return
	}
	if int64(len(body)) > max {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	var closed bool
	err = engineio.DecodePayload(body, func(pk engineio.Packet) error {
		if pk.Type == engineio.Close {
			closed = true
			return errStopPayload
		}
		s.inMu.Lock()
		s.handlePacket(pk)
		s.inMu.Unlock()
		return nil
	})
	if closed {
		s.close(reasonTransportClose)
	} else if err != nil {
		// engine.io decodes an invalid packet as an "error" packet, closes
		// the session with "parse error" and still answers the POST with
		// 200 "ok".
		s.close(reasonParseError)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

var errStopPayload = errors.New("relay: stop payload")

// acceptedEncoding picks gzip or deflate from an Accept-Encoding header, in
// that order of preference, honouring q=0; "" when neither is acceptable.
func acceptedEncoding(header string) string {
	q := map[string]bool{}
	star := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		ok := true
		if v, found := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); found {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				ok = false
			}
		}
		if name == "*" {
			star = ok
			continue
		}
		q[name] = ok
	}
	for _, enc := range []string{"gzip", "deflate"} {
		if ok, listed := q[enc]; (listed && ok) || (!listed && star) {
			return enc
		}
	}
	return ""
}
