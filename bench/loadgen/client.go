package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/siorelay/siorelay/bench/internal/rawsock"
)

// client is one Socket.IO connection after its handshake. It owns no
// goroutine: its file descriptor sits in a poller's epoll set, and only that
// poller's goroutine touches pending and frag. The counters are atomics so
// that a stats request can read them while the poller runs.
type client struct {
	fd  int
	sid string

	pending []byte // partial frame carried over between reads; poller-owned
	frag    []byte // fragmented message being assembled; poller-owned

	count    atomic.Uint32 // measured events ("b") received
	probes   atomic.Uint32 // probe events ("p") received
	warm     atomic.Uint32 // warm-up events ("w") received
	reorder  atomic.Uint32 // "b" events whose seq was not above the previous one
	lastSeq  int64         // poller-owned
	closed   atomic.Bool
	closeWhy atomic.Value // string

	rec *recClient // the recovery scenario's client this connection belongs to; nil otherwise
}

// handshakeTimeout bounds one client's WebSocket + Engine.IO + Socket.IO handshake.
const handshakeTimeout = 15 * time.Second

// dialClient connects one client: WebSocket upgrade, Engine.IO OPEN, Socket.IO
// CONNECT to "/" (with auth if non-empty) and the CONNECT reply carrying the
// socket id. It returns a client whose fd is a non-blocking duplicate of the
// connection; the Go net.Conn is closed so the runtime poller forgets it.
func dialClient(ctx context.Context, url string, auth []byte, key [4]byte) (*client, error) {
	d := ws.Dialer{Timeout: handshakeTimeout}
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return nil, err
	}
	var r io.Reader = conn
	if br != nil {
		// The server's first frames may have arrived with the 101 response.
		buffered, _ := br.Peek(br.Buffered())
		r = io.MultiReader(bytes.NewReader(append([]byte(nil), buffered...)), conn)
		ws.PutReader(br)
	}
	msg, err := readTextMessage(r)
	if err != nil {
		return nil, fmt.Errorf("engine.io open: %w", err)
	}
	if len(msg) == 0 || msg[0] != '0' {
		return nil, fmt.Errorf("engine.io open: unexpected %q", msg)
	}
	connect := append([]byte("40"), auth...)
	if _, err := conn.Write(appendClientFrame(nil, opText, connect, key)); err != nil {
		return nil, err
	}
	msg, err = readTextMessage(r)
	if err != nil {
		return nil, fmt.Errorf("socket.io connect: %w", err)
	}
	if !bytes.HasPrefix(msg, []byte("40{")) {
		return nil, fmt.Errorf("socket.io connect: unexpected %q", msg)
	}
	var reply struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(msg[2:], &reply); err != nil || reply.SID == "" {
		return nil, fmt.Errorf("socket.io connect: bad reply %q", msg)
	}
	fd, err := rawsock.Dup(conn)
	if err != nil {
		return nil, err
	}
	return &client{fd: fd, sid: reply.SID}, nil
}

// readTextMessage reads frames until one whole text message, answering nothing
// (the server sends no control frames during the handshake in practice; a ping
// here is skipped). It reads exactly the frames' bytes, never beyond.
func readTextMessage(r io.Reader) ([]byte, error) {
	var msg []byte
	for {
		h, err := ws.ReadHeader(r)
		if err != nil {
			return nil, err
		}
		if h.Length > maxFrame {
			return nil, errFrameTooLarge
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, err
		}
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpClose:
			return nil, fmt.Errorf("closed by server: %q", p)
		case ws.OpPing, ws.OpPong:
			continue
		}
		msg = append(msg, p...)
		if h.Fin {
			return msg, nil
		}
	}
}
