package nodetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// PeerConfig configures peer.js: a Node socket.io 4.8.4 server with
// @socket.io/redis-adapter 8.3.0 (classic or sharded), with mode "memory"
// socket.io's own in-memory adapter, or with mode "streams"
// @socket.io/redis-streams-adapter 0.3.1.
type PeerConfig struct {
	// Redis is the standalone Redis URL ("redis://127.0.0.1:port"). Ignored
	// when Cluster is set.
	Redis string
	// Cluster lists Redis Cluster nodes ("127.0.0.1:port"); set it to use a
	// node-redis cluster client.
	Cluster []string
	// Key is the adapter's key (classic) or channelPrefix (sharded,
	// streams). Zero means "socket.io".
	Key string
	// Mode is "classic" (createAdapter), "sharded" (createShardedAdapter,
	// Redis 7+), "memory" (no Redis: socket.io's in-memory adapter, or
	// SessionAwareAdapter with Recovery) or "streams"
	// (@socket.io/redis-streams-adapter's createAdapter, options in
	// Streams). Zero means classic.
	Mode string
	// Recovery turns on connectionStateRecovery.
	Recovery *PeerRecovery
	// Streams are the streams adapter's options (Mode "streams").
	Streams StreamsOptions
	// SubscriptionMode is the sharded adapter's "static", "dynamic" or
	// "dynamic-private". Zero means the adapter's default, dynamic.
	SubscriptionMode string
	// Namespaces are created (with their adapters) at start. Zero means
	// just "/". Commands for other namespaces fail.
	Namespaces []string
	// ServerEvents are server-side-emit event names listened for on every
	// namespace; each arrival prints a "serverSideEmit" line and is acked with
	// {"ok":true,"peer":Name}.
	ServerEvents []string
	// Port is the HTTP port on 127.0.0.1. Zero picks a free one.
	Port int
	// Name identifies the peer in ack replies. Zero means "peer".
	Name string
	// UID replaces each adapter's random uid after construction (for golden
	// byte captures); the peer's response subscription follows it. Two peers
	// with the same UID ignore each other's messages as their own.
	UID string
	// RequestsTimeout is the classic adapter's requestsTimeout. Zero means
	// the adapter's default, 5s.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel is the classic adapter option.
	PublishOnSpecificResponseChannel bool
}

// PeerRecovery is socket.io's connectionStateRecovery option.
type PeerRecovery struct {
	MaxDisconnection time.Duration // maxDisconnectionDuration; zero means socket.io's 2 minutes
	SkipMiddlewares  *bool         // nil means socket.io's default, true
}

func (r *PeerRecovery) wire() map[string]any {
	m := map[string]any{}
	if r.MaxDisconnection > 0 {
		m["maxDisconnectionDuration"] = r.MaxDisconnection.Milliseconds()
	}
	if r.SkipMiddlewares != nil {
		m["skipMiddlewares"] = *r.SkipMiddlewares
	}
	return m
}

func (c PeerConfig) wire() map[string]any {
	m := map[string]any{}
	set := func(k string, v any, ok bool) {
		if ok {
			m[k] = v
		}
	}
	set("redis", c.Redis, c.Redis != "")
	set("cluster", c.Cluster, len(c.Cluster) > 0)
	set("key", c.Key, c.Key != "")
	set("mode", c.Mode, c.Mode != "")
	set("subscriptionMode", c.SubscriptionMode, c.SubscriptionMode != "")
	set("namespaces", c.Namespaces, len(c.Namespaces) > 0)
	set("serverEvents", c.ServerEvents, len(c.ServerEvents) > 0)
	set("port", c.Port, c.Port != 0)
	set("name", c.Name, c.Name != "")
	set("uid", c.UID, c.UID != "")
	set("requestsTimeout", c.RequestsTimeout.Milliseconds(), c.RequestsTimeout > 0)
	set("publishOnSpecificResponseChannel", true, c.PublishOnSpecificResponseChannel)
	if c.Recovery != nil {
		m["recovery"] = c.Recovery.wire()
	}
	set("streams", c.Streams.wire(), c.Mode == "streams")
	return m
}

// Peer is a running peer.js. Its embedded [Proc] sees the lines it prints
// besides command results: "connection" {nsp,id,recovered} and
// "disconnection" {nsp,id,reason},
// "clientEvent" {nsp,id,event,args,ack} and "serverSideEmit"
// {nsp,event,args,ack}.
type Peer struct {
	*Proc
	port    int
	uids    map[string]string
	streams map[string]string
}

// startTimeout bounds how long StartPeer and StartClients wait for readiness.
const startTimeout = 30 * time.Second

// StartPeer starts peer.js and returns once it listens and its adapters'
// Redis subscriptions are confirmed. It calls t.Fatal on failure.
func StartPeer(t testing.TB, cfg PeerConfig) *Peer {
	t.Helper()
	p := StartProc(t, "peer.js", cfg.wire())
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	l, err := p.WaitFor(ctx, func(l Line) bool { return l.Type == "listening" })
	if err != nil {
		t.Fatalf("nodetest: StartPeer: %v", err)
	}
	var ready struct {
		Port    int               `json:"port"`
		UIDs    map[string]string `json:"uids"`
		Streams map[string]string `json:"streams"`
	}
	if err := l.Decode(&ready); err != nil {
		t.Fatalf("nodetest: StartPeer: %s: %v", l, err)
	}
	return &Peer{Proc: p, port: ready.Port, uids: ready.UIDs, streams: ready.Streams}
}

// Port returns the peer's HTTP port.
func (p *Peer) Port() int { return p.port }

// URL returns "http://127.0.0.1:<port>", the URL clients connect to.
func (p *Peer) URL() string { return "http://127.0.0.1:" + strconv.Itoa(p.port) }

// UID returns the adapter uid of a namespace ("" is "/").
func (p *Peer) UID(nsp string) string { return p.uids[nspOrRoot(nsp)] }

// Target selects the sockets of a broadcast-style command, like
// io.of(Nsp).to(To).except(Except) with the volatile, compress and local flags
// (set in that order, which shows in the published bytes).
type Target struct {
	Nsp      string // zero means "/"
	To       []string
	Except   []string
	Volatile bool
	Compress *bool // nil leaves the flag unset
	Local    bool
}

func (tg Target) command(cmd string) map[string]any {
	m := map[string]any{"cmd": cmd, "nsp": nspOrRoot(tg.Nsp)}
	if len(tg.To) > 0 {
		m["to"] = tg.To
	}
	if len(tg.Except) > 0 {
		m["except"] = tg.Except
	}
	if tg.Volatile {
		m["volatile"] = true
	}
	if tg.Compress != nil {
		m["compress"] = *tg.Compress
	}
	if tg.Local {
		m["local"] = true
	}
	return m
}

func nspOrRoot(nsp string) string {
	if nsp == "" {
		return "/"
	}
	return nsp
}

// Emit broadcasts an event: io.of(nsp).to(...).except(...).emit(event, args...).
// []byte arguments are sent as binary.
func (p *Peer) Emit(ctx context.Context, tg Target, event string, args ...any) error {
	cmd := tg.command("emit")
	cmd["event"], cmd["args"] = event, markArgs(args)
	_, err := p.Call(ctx, cmd)
	return err
}

// EmitWithAck broadcasts with io.timeout(timeout).emit(event, args..., cb) and
// returns every client's first ack argument, from all peers. On timeout the
// error is a *CallError whose Partial holds the acks that arrived.
func (p *Peer) EmitWithAck(ctx context.Context, tg Target, timeout time.Duration, event string, args ...any) ([]json.RawMessage, error) {
	cmd := tg.command("emitWithAck")
	cmd["event"], cmd["args"], cmd["timeout"] = event, markArgs(args), timeout.Milliseconds()
	return callList(ctx, p.Proc, cmd)
}

// RemoteSocket is one entry of fetchSockets.
type RemoteSocket struct {
	ID        string          `json:"id"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data"`
	Handshake Handshake       `json:"handshake"`
}

// Handshake is a socket's handshake as fetchSockets returns it. Raw holds the
// whole object (headers, time, address, xdomain, secure, issued, url, query,
// auth).
type Handshake struct {
	Auth    json.RawMessage `json:"auth"`
	Query   map[string]any  `json:"query"`
	Address string          `json:"address"`
	Raw     json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps the raw object besides the decoded fields.
func (h *Handshake) UnmarshalJSON(b []byte) error {
	type plain Handshake
	if err := json.Unmarshal(b, (*plain)(h)); err != nil {
		return err
	}
	h.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// FetchSockets returns the sockets matching tg across all peers
// (io.in(...).fetchSockets()).
func (p *Peer) FetchSockets(ctx context.Context, tg Target) ([]RemoteSocket, error) {
	raw, err := p.Call(ctx, tg.command("fetchSockets"))
	if err != nil {
		return nil, err
	}
	var out []RemoteSocket
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("nodetest: fetchSockets: %s: %w", raw, err)
	}
	return out, nil
}

// SocketEmit calls socket.emit(event, args...) on the peer's socket id of
// namespace nsp.
func (p *Peer) SocketEmit(ctx context.Context, nsp, id, event string, args ...any) error {
	_, err := p.Call(ctx, map[string]any{"cmd": "socketEmit", "nsp": nspOrRoot(nsp), "sid": id, "event": event, "args": markArgs(args)})
	return err
}

// SocketDisconnect calls socket.disconnect(close) on the peer's socket id
// of namespace nsp.
func (p *Peer) SocketDisconnect(ctx context.Context, nsp, id string, close bool) error {
	_, err := p.Call(ctx, map[string]any{"cmd": "socketDisconnect", "nsp": nspOrRoot(nsp), "sid": id, "close": close})
	return err
}

// ServerCount returns adapter.serverCount() (PUBSUB NUMSUB or SHARDNUMSUB).
func (p *Peer) ServerCount(ctx context.Context, nsp string) (int, error) {
	raw, err := p.Call(ctx, map[string]any{"cmd": "serverCount", "nsp": nspOrRoot(nsp)})
	if err != nil {
		return 0, err
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("nodetest: serverCount: %s: %w", raw, err)
	}
	return n, nil
}

// AllRooms returns adapter.allRooms() across all peers (classic adapter only).
func (p *Peer) AllRooms(ctx context.Context, nsp string) ([]string, error) {
	raw, err := p.Call(ctx, map[string]any{"cmd": "allRooms", "nsp": nspOrRoot(nsp)})
	if err != nil {
		return nil, err
	}
	var rooms []string
	if err := json.Unmarshal(raw, &rooms); err != nil {
		return nil, fmt.Errorf("nodetest: allRooms: %s: %w", raw, err)
	}
	return rooms, nil
}

// SocketsJoin makes the sockets matching tg join rooms, on all peers.
func (p *Peer) SocketsJoin(ctx context.Context, tg Target, rooms ...string) error {
	cmd := tg.command("socketsJoin")
	cmd["rooms"] = rooms
	_, err := p.Call(ctx, cmd)
	return err
}

// SocketsLeave makes the sockets matching tg leave rooms, on all peers.
func (p *Peer) SocketsLeave(ctx context.Context, tg Target, rooms ...string) error {
	cmd := tg.command("socketsLeave")
	cmd["rooms"] = rooms
	_, err := p.Call(ctx, cmd)
	return err
}

// DisconnectSockets disconnects the sockets matching tg, on all peers; close
// also closes their Engine.IO connections.
func (p *Peer) DisconnectSockets(ctx context.Context, tg Target, close bool) error {
	cmd := tg.command("disconnectSockets")
	cmd["close"] = close
	_, err := p.Call(ctx, cmd)
	return err
}

// ServerSideEmit sends io.of(nsp).serverSideEmit(event, args...) to the other peers.
func (p *Peer) ServerSideEmit(ctx context.Context, nsp, event string, args ...any) error {
	_, err := p.Call(ctx, map[string]any{"cmd": "serverSideEmit", "nsp": nspOrRoot(nsp), "event": event, "args": markArgs(args)})
	return err
}

// ServerSideEmitWithAck sends a server-side emit with an ack and returns each
// other peer's first ack argument.
func (p *Peer) ServerSideEmitWithAck(ctx context.Context, nsp, event string, args ...any) ([]json.RawMessage, error) {
	return callList(ctx, p.Proc, map[string]any{"cmd": "serverSideEmitWithAck", "nsp": nspOrRoot(nsp), "event": event, "args": markArgs(args)})
}

// ServerSideEvent is a server-side emit the peer received.
type ServerSideEvent struct {
	Nsp   string            `json:"nsp"`
	Event string            `json:"event"`
	Args  []json.RawMessage `json:"args"`
	Ack   bool              `json:"ack"`
}

// WaitServerSideEmit waits for the peer to receive a server-side emit of
// event on nsp (the event must be in PeerConfig.ServerEvents).
func (p *Peer) WaitServerSideEmit(ctx context.Context, nsp, event string) (ServerSideEvent, error) {
	nsp = nspOrRoot(nsp)
	l, err := p.WaitFor(ctx, func(l Line) bool {
		return l.Type == "serverSideEmit" && l.Str("nsp") == nsp && l.Str("event") == event
	})
	if err != nil {
		return ServerSideEvent{}, err
	}
	var ev ServerSideEvent
	return ev, l.Decode(&ev)
}

// Close closes the Socket.IO server (io.close(): sockets, adapters and their
// subscriptions) and waits for the process to exit.
func (p *Peer) Close(ctx context.Context) error {
	if _, err := p.Call(ctx, map[string]any{"cmd": "close"}); err != nil {
		return err
	}
	return p.Wait(ctx)
}

func callList(ctx context.Context, p *Proc, cmd map[string]any) ([]json.RawMessage, error) {
	raw, err := p.Call(ctx, cmd)
	if err != nil {
		return nil, err
	}
	var out []json.RawMessage
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("nodetest: %v: %s: %w", cmd["cmd"], raw, err)
	}
	return out, nil
}
