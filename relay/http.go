package relay

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/siorelay/siorelay/internal/engineio"
)

// ServeHTTP implements http.Handler for the Engine.IO endpoint at
// Config.Path (other paths get 404). WebSocket upgrades are hijacked and
// served without a goroutine of their own; polling requests are answered on
// the calling goroutine (a GET blocks until there is data).
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, srv.cfg.Path) {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if isUpgrade(r) {
		srv.serveUpgrade(w, r, q)
		return
	}
	if srv.cfg.CORS != nil && srv.applyCORS(w, r) {
		return
	}
	if code, msg, ok := srv.verify(r, q, false); !ok {
		writeError(w, code, msg)
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		srv.handshakePolling(w, r, q)
		return
	}
	s := srv.lookup(sid)
	if s == nil {
		writeError(w, engineio.UnknownSID, "")
		return
	}
	s.servePolling(w, r)
}

// isUpgrade reports whether Node's http server would emit "upgrade" for r.
func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") == "" {
		return false
	}
	for _, v := range r.Header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// verify applies engine.io's Server.verify checks and, for handshakes, the
// protocol version and AllowRequest.
func (srv *Server) verify(r *http.Request, q url.Values, upgrade bool) (engineio.ErrorCode, string, bool) {
	transport := q.Get("transport")
	if !srv.cfg.allows(transport) {
		return engineio.TransportUnknown, "", false
	}
	if sid := q.Get("sid"); sid != "" {
		s := srv.lookup(sid)
		if s == nil {
			return engineio.UnknownSID, "", false
		}
		if !upgrade && s.transportName() != transport {
			return engineio.BadRequest, "", false
		}
		return 0, "", true
	}
	if r.Method != http.MethodGet {
		return engineio.BadHandshakeMethod, "", false
	}
	if transport == "websocket" && !upgrade {
		return engineio.BadRequest, "", false
	}
	if q.Get("EIO") != "4" {
		return engineio.UnsupportedProtocolVersion, "", false
	}
	if f := srv.cfg.AllowRequest; f != nil {
		if err := f(r); err != nil {
			return engineio.Forbidden, err.Error(), false
		}
	}
	if srv.isClosed() {
		return engineio.BadRequest, "", false
	}
	return 0, "", true
}

// writeError writes engine.io's polling error response (abortRequest).
func writeError(w http.ResponseWriter, code engineio.ErrorCode, msg string) {
	body := engineio.AppendErrorJSON(nil, code, msg)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code.HTTPStatus())
	_, _ = w.Write(body)
}

// applyCORS sets the headers of the npm cors package and answers a
// preflight request. It reports whether the request was answered.
func (srv *Server) applyCORS(w http.ResponseWriter, r *http.Request) bool {
	c := srv.cfg.CORS
	h := w.Header()
	origin := r.Header.Get("Origin")
	switch {
	case slices.Contains(c.Origins, "*"):
		h.Set("Access-Control-Allow-Origin", "*")
	case origin != "" && slices.Contains(c.Origins, origin):
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	default:
		h.Add("Vary", "Origin")
	}
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
	h.Add("Vary", "Access-Control-Request-Headers")
	if reqHeaders := r.Header.Get("Access-Control-Request-Headers"); reqHeaders != "" {
		h.Set("Access-Control-Allow-Headers", reqHeaders)
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// handshakePolling opens a polling session and answers with its open
// packet.
func (srv *Server) handshakePolling(w http.ResponseWriter, r *http.Request, q url.Values) {
	s := newSession(srv, r, q)
	s.poll = &pollState{}
	var upgrades []string
	if srv.cfg.allows("websocket") {
		upgrades = []string{"websocket"}
	}
	open := s.openPacket(upgrades)
	if !srv.addSession(s) {
		writeError(w, engineio.BadRequest, "")
		return
	}
	srv.openedPolling.Add(1)
	s.start()
	writePayload(w, r, engineio.AppendPayload(nil, open))
}

func (s *session) transportName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ws != nil {
		return "websocket"
	}
	return "polling"
}
