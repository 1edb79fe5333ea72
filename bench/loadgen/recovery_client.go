package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/siorelay/siorelay/bench/internal/rawsock"
)

// The recovery scenario's clients (loadgen recovery): Socket.IO clients that
// keep their session across connections, as socket.io-client 4.8.4 does with
// connection state recovery. A recClient remembers its pid (from the CONNECT
// reply) and the offset of the last logged packet it processed (the last
// argument of every logged event); after a drop it reconnects with CONNECT
// auth {"pid":…,"offset":…}. It checks the numbered broadcasts ("b" events,
// seq 0, 1, 2, …) it receives across all its connections: every one exactly
// once and in order.

// recState is where a recClient is in the scenario.
type recState uint8

const (
	recConnected    recState = iota // first connection, live
	recDropped                      // connection shut down by the load generator
	recReconnecting                 // CONNECT with pid and offset sent
	recRecovered                    // the reply had the same sid and pid: recovered
	recFresh                        // the reply had another sid or pid: a new session (a failure)
	recFailed                       // the reconnect failed (dial, handshake, CONNECT error)
)

// recArgs is how many arguments after the event name the load generator's
// events carry: "<ts> <seq>" and the padding. A logged packet has one more,
// its offset.
const recArgs = 2

// recClient is one client of the recovery scenario. Its fields are guarded
// by mu: live events are handled by a poller goroutine, replayed ones by the
// reconnecting goroutine, and stats read them from the worker's request loop.
type recClient struct {
	mu     sync.Mutex
	conn   *client // current connection (nil while reconnecting)
	sid    string
	pid    string
	offset []byte // last offset processed; empty before the first logged packet
	state  recState
	err    string // why the reconnect failed

	next      int64  // next expected seq
	delivered uint64 // numbered broadcasts received, replays included
	gaps      uint64 // numbered broadcasts skipped over
	dups      uint64 // numbered broadcasts received again or out of order

	dropNext  int64  // next at the drop
	replayed  uint64 // numbered broadcasts received before the reconnect's CONNECT reply
	firstLive int64  // first seq received after that reply; -1 before one
	startAt   int64  // reconnect start, unix ns
	doneAt    int64  // reconnect end (CONNECT reply or failure), unix ns
}

// onEvent handles one event of the load generator (ev, seq) whose message
// is msg; replay is true for events received before the CONNECT reply of a
// reconnect.
func (rc *recClient) onEvent(ev byte, seq int64, msg []byte, replay bool) {
	off, hasOff := packetOffset(msg)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if hasOff {
		rc.offset = append(rc.offset[:0], off...)
	}
	if ev != 'b' {
		return
	}
	rc.delivered++
	if replay {
		rc.replayed++
	} else if rc.firstLive < 0 && rc.state >= recRecovered {
		rc.firstLive = seq
	}
	switch {
	case seq == rc.next:
		rc.next++
	case seq < rc.next:
		rc.dups++
	default:
		rc.gaps += uint64(seq - rc.next)
		rc.next = seq + 1
	}
}

// packetOffset returns the offset of a logged event packet: the last of its
// arguments when it has one more than the load generator sends, which must
// be a string. The load generator's own arguments hold no comma.
func packetOffset(msg []byte) ([]byte, bool) {
	if bytes.Count(msg, []byte{','}) != recArgs+1 || !bytes.HasSuffix(msg, []byte(`"]`)) {
		return nil, false
	}
	body := msg[:len(msg)-2]
	i := bytes.LastIndexByte(body, '"')
	if i < 1 || body[i-1] != ',' {
		return nil, false
	}
	return body[i+1:], true
}

// recoveryAuth is the CONNECT payload of a reconnect, as socket.io-client
// sends it: {"pid":…,"offset":…}.
func (rc *recClient) recoveryAuth() []byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	b := []byte(`{"pid":`)
	b = strconv.AppendQuote(b, rc.pid)
	b = append(b, `,"offset":`...)
	b = strconv.AppendQuote(b, string(rc.offset))
	return append(b, '}')
}

// connectReply is a CONNECT reply with connection state recovery.
type connectReply struct {
	SID string `json:"sid"`
	PID string `json:"pid"`
}

// recDial connects rc once: WebSocket, Engine.IO OPEN, CONNECT to "/" with
// auth (none if empty), then every message up to and including the CONNECT
// reply; events before the reply are replays. Whatever arrived with the
// reply is handled here too, so that nothing waits in a buffer once the
// socket is handed to a poller. It returns the new connection and the reply.
func recDial(ctx context.Context, url string, auth []byte, key [4]byte, timeout time.Duration, rc *recClient) (*client, connectReply, error) {
	var reply connectReply
	d := ws.Dialer{Timeout: timeout}
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, reply, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, reply, err
	}
	var src io.Reader = conn
	if br != nil {
		buffered, _ := br.Peek(br.Buffered())
		src = io.MultiReader(bytes.NewReader(append([]byte(nil), buffered...)), conn)
		ws.PutReader(br)
	}
	r := bufio.NewReaderSize(src, 64<<10)
	msg, err := readTextMessage(r)
	if err != nil {
		return nil, reply, fmt.Errorf("engine.io open: %w", err)
	}
	if len(msg) == 0 || msg[0] != '0' {
		return nil, reply, fmt.Errorf("engine.io open: unexpected %q", msg)
	}
	pong := appendClientFrame(nil, opText, []byte("3"), key)
	if _, err := conn.Write(appendClientFrame(nil, opText, append([]byte("40"), auth...), key)); err != nil {
		return nil, reply, err
	}
	connected := false
	for !connected || r.Buffered() > 0 {
		msg, err := readTextMessage(r)
		if err != nil {
			return nil, reply, fmt.Errorf("socket.io connect: %w", err)
		}
		switch {
		case string(msg) == "2":
			if _, err := conn.Write(pong); err != nil {
				return nil, reply, err
			}
		case bytes.HasPrefix(msg, []byte("40{")) && !connected:
			if err := json.Unmarshal(msg[2:], &reply); err != nil || reply.SID == "" {
				return nil, reply, fmt.Errorf("socket.io connect: bad reply %q", msg)
			}
			if reply.PID == "" {
				return nil, reply, fmt.Errorf("socket.io connect: reply %q has no pid: is connection state recovery on?", msg)
			}
			connected = true
			if rc != nil {
				rc.connected(reply)
			}
		case bytes.HasPrefix(msg, []byte("44")):
			return nil, reply, fmt.Errorf("socket.io connect: refused: %q", msg)
		default:
			ev, _, seq, ok := parseEvent(msg)
			if !ok {
				return nil, reply, fmt.Errorf("socket.io connect: unexpected %q", msg)
			}
			if rc != nil {
				rc.onEvent(ev, seq, msg, !connected)
			}
		}
	}
	fd, err := rawsock.Dup(conn)
	if err != nil {
		return nil, reply, err
	}
	return &client{fd: fd, sid: reply.SID, rec: rc}, reply, nil
}

// connected records the CONNECT reply of a reconnect: the same sid and pid
// mean the session was recovered.
func (rc *recClient) connected(reply connectReply) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.state != recReconnecting {
		rc.sid, rc.pid = reply.SID, reply.PID
		return
	}
	rc.doneAt = time.Now().UnixNano()
	if reply.SID == rc.sid && reply.PID == rc.pid {
		rc.state = recRecovered
	} else {
		rc.state = recFresh
		rc.sid, rc.pid = reply.SID, reply.PID
	}
}
