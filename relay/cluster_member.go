package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/notepack"
	"github.com/siorelay/siorelay/internal/socketio"
)

// clusterMember is what the brokers of ClusterAdapter clusters share (the
// sharded Redis adapter and the Redis streams adapter, both built on
// socket.io-adapter 2.5's ClusterAdapter): how this server applies and
// answers the messages of the other servers, and how it asks them
// (fetchSockets, broadcasts with ack, server-side emits), whatever carries
// the messages. A broker gives it a wire (how messages are encoded on its
// transport) and a transport (where requests and answers are published),
// and feeds it the messages it receives.
//
// Its methods are safe for concurrent use. Work that may wait (hooks, ack
// collection, publishing answers) runs on goroutines started with spawn,
// which the broker's close waits for.
type clusterMember struct {
	srv     *Server
	uid     string
	log     *slog.Logger
	cnt     *brokerCounters
	dialect notepack.Dialect // of event data in messages
	wire    clusterWire
	tr      clusterTransport
	ctx     context.Context // the broker's: cancelled by its close
	// spawn runs f on a goroutine the broker's close waits for; false
	// (and f not run) once the broker is closed.
	spawn func(f func()) bool

	reqMu   sync.Mutex
	ackReqs map[string]*ackCollector               // guarded by reqMu; own broadcasts with ack
	fetches map[string]chan adapter.ClusterMessage // guarded by reqMu; own FETCH_SOCKETS requests
}

// clusterWire encodes the messages a member sends on one transport. Event
// data and ack arguments are msgpack in the member's dialect; sockets are
// the JSON of appendFetchedSocket.
type clusterWire interface {
	broadcastWithAck(uid, nsp, requestID string, data []byte, opts adapter.Opts) ([]byte, error)
	fetchSockets(uid, nsp, requestID string, opts adapter.Opts) []byte
	serverSideEmit(uid, nsp, requestID string, data []byte) ([]byte, error)
	clientCount(uid, nsp, requestID string, n int) []byte
	packetResponse(uid, nsp string, t adapter.MessageType, requestID string, packet []byte) ([]byte, error)
	fetchResponse(uid, nsp, requestID string, sockets [][]byte) ([]byte, error)
}

// clusterTransport is where a member's messages go.
type clusterTransport interface {
	// publishRequest sends msg to every server of namespace nsp (the
	// namespace's channel).
	publishRequest(ctx context.Context, nsp string, msg []byte) error
	// publishResponse sends msg to server uid (its response channel).
	publishResponse(ctx context.Context, nsp, uid string, msg []byte) error
	// serverCount counts the servers of namespace nsp, this one included.
	serverCount(ctx context.Context, nsp string) (int, error)
}

func newClusterMember(srv *Server, uid string, log *slog.Logger, cnt *brokerCounters, dialect notepack.Dialect, wire clusterWire, tr clusterTransport, ctx context.Context, spawn func(func()) bool) *clusterMember {
	return &clusterMember{
		srv: srv, uid: uid, log: log, cnt: cnt, dialect: dialect, wire: wire, tr: tr, ctx: ctx, spawn: spawn,
		ackReqs: make(map[string]*ackCollector),
		fetches: make(map[string]chan adapter.ClusterMessage),
	}
}

// adapterOpts turns broadcast options into the adapter's.
func adapterOpts(opts broadcastOpts) adapter.Opts {
	ao := adapter.Opts{Rooms: adapter.Dedup(opts.Rooms), Except: adapter.Dedup(opts.Except)}
	if ao.Rooms == nil {
		ao.Rooms = []string{}
	}
	if ao.Except == nil {
		ao.Except = []string{}
	}
	if opts.Volatile {
		ao.Flags = ao.Flags.WithVolatile()
	}
	return ao
}

// broadcastOptsOf turns the adapter's options into broadcast options:
// adapterOpts' inverse.
func broadcastOptsOf(ao adapter.Opts) broadcastOpts {
	return broadcastOpts{Rooms: ao.Rooms, Except: ao.Except, Volatile: ao.Flags.Volatile}
}

// eventData is the msgpack of an EVENT packet's data in the member's
// dialect.
func (m *clusterMember) eventData(p socketio.Packet) ([]byte, error) {
	return jsonToMsgpack(m.dialect, nil, p.Data, p.Attachments)
}

// onMessage applies or answers msg, a message of another server (or of an
// emitter) for namespace nsp. Answers leave the caller's goroutine.
func (m *clusterMember) onMessage(nsp string, msg adapter.ClusterMessage) {
	switch msg.Type {
	case adapter.ShardedBroadcastCount, adapter.ShardedBroadcastAck, adapter.FetchSocketsResponse, adapter.ServerSideEmitResponse:
		m.onResponse(msg)
		return
	}
	if msg.UID == m.uid || msg.Nsp != nsp {
		return
	}
	ns := m.srv.namespace(nsp, false)
	switch msg.Type {
	case adapter.ShardedBroadcast:
		if msg.RequestID != "" {
			m.onBroadcastWithAck(ns, nsp, msg)
			return
		}
		if ns == nil {
			return
		}
		p, ok := clusterPacket(nsp, msg)
		if !ok {
			return
		}
		m.cnt.broadcasts.Add(1)
		ns.deliver(p, broadcastOptsOf(msg.Opts))
	case adapter.SocketsJoin, adapter.SocketsLeave, adapter.DisconnectSockets:
		m.applySockets(ns, msg)
	case adapter.FetchSockets:
		var socks [][]byte
		if ns != nil {
			ns.forEach(broadcastOptsOf(msg.Opts), func(sk *Socket) {
				socks = append(socks, appendFetchedSocket(nil, sk))
			})
		}
		res, err := m.wire.fetchResponse(m.uid, nsp, msg.RequestID, socks)
		if err == nil {
			m.respond(nsp, msg.UID, res)
		}
	case adapter.ShardedServerSideEmit:
		m.onServerSideEmit(nsp, msg)
	}
}

// applySockets applies SOCKETS_JOIN, SOCKETS_LEAVE or DISCONNECT_SOCKETS.
func (m *clusterMember) applySockets(ns *namespace, msg adapter.ClusterMessage) {
	if ns == nil {
		return
	}
	opts := broadcastOptsOf(msg.Opts)
	switch msg.Type {
	case adapter.SocketsJoin:
		ns.forEach(opts, func(sk *Socket) { ns.join(sk, msg.Rooms) })
	case adapter.SocketsLeave:
		ns.forEach(opts, func(sk *Socket) { ns.leave(sk, msg.Rooms) })
	case adapter.DisconnectSockets:
		ns.forEach(opts, func(sk *Socket) { sk.Disconnect(msg.Close) })
	}
}

// clusterPacket turns a BROADCAST's packet into the Socket.IO packet
// clients get.
func clusterPacket(nsp string, msg adapter.ClusterMessage) (socketio.Packet, bool) {
	if msg.PacketType != int(socketio.Event) && msg.PacketType != int(socketio.BinaryEvent) {
		return socketio.Packet{}, false
	}
	var bins [][]byte
	data, err := msg.Packet.AppendJSON(nil, &bins)
	if err != nil {
		return socketio.Packet{}, false
	}
	return socketio.Packet{Type: socketio.Event, Namespace: nsp, Data: data, Attachments: bins}, true
}

// respond publishes an answer to requester without holding up the caller.
func (m *clusterMember) respond(nsp, requester string, msg []byte) {
	m.spawn(func() {
		if err := m.tr.publishResponse(m.ctx, nsp, requester, msg); err != nil && m.ctx.Err() == nil {
			m.log.Warn("publish failed", "nsp", nsp, "to", requester, "err", err)
		}
	})
}

func (m *clusterMember) onBroadcastWithAck(ns *namespace, nsp string, msg adapter.ClusterMessage) {
	timeout := 5 * time.Second
	if msg.Opts.Flags.Has(adapter.FlagTimeout) {
		timeout = time.Duration(msg.Opts.Flags.Timeout) * time.Millisecond
	}
	countSent := make(chan struct{})
	p, ok := clusterPacket(nsp, msg)
	n := localBroadcastWithAck(m.srv, ns, p, ok, msg.Opts, timeout, func(first []byte) {
		res, err := m.wire.packetResponse(m.uid, nsp, adapter.ShardedBroadcastAck, msg.RequestID, first)
		if err != nil {
			return
		}
		m.spawn(func() {
			select {
			case <-countSent:
			case <-m.ctx.Done():
				return
			}
			_ = m.tr.publishResponse(m.ctx, nsp, msg.UID, res)
		})
	})
	count := m.wire.clientCount(m.uid, nsp, msg.RequestID, n)
	m.spawn(func() {
		if err := m.tr.publishResponse(m.ctx, nsp, msg.UID, count); err != nil && m.ctx.Err() == nil {
			m.log.Warn("publish failed", "nsp", nsp, "to", msg.UID, "err", err)
		}
		close(countSent)
	})
}

func (m *clusterMember) onServerSideEmit(nsp string, msg adapter.ClusterMessage) {
	hook := m.srv.cfg.OnServerSideEmit
	if hook == nil {
		return
	}
	js, err := msg.Packet.AppendJSON(nil, nil)
	if err != nil {
		return
	}
	ev, ok := serverSideEvent(js)
	if !ok {
		return
	}
	var ack AckFunc
	if msg.RequestID != "" {
		ack = ackOnce(func(args []any) error {
			var packet []byte
			if len(args) > 0 {
				texts, atts, err := encodeArgs(args[:1])
				if err != nil {
					return err
				}
				if packet, err = jsonToMsgpack(m.dialect, nil, texts[0], atts); err != nil {
					return err
				}
			}
			res, err := m.wire.packetResponse(m.uid, nsp, adapter.ServerSideEmitResponse, msg.RequestID, packet)
			if err != nil {
				return err
			}
			return m.tr.publishResponse(m.ctx, nsp, msg.UID, res)
		})
	}
	m.spawn(func() { hook(m.ctx, nsp, ev, ack) })
}

// onResponse handles the answers to this server's requests.
func (m *clusterMember) onResponse(msg adapter.ClusterMessage) {
	m.reqMu.Lock()
	c := m.ackReqs[msg.RequestID]
	f := m.fetches[msg.RequestID]
	m.reqMu.Unlock()
	if f != nil && msg.Type == adapter.FetchSocketsResponse {
		select {
		case f <- msg:
		default:
		}
		return
	}
	if c == nil {
		return
	}
	switch msg.Type {
	case adapter.ShardedBroadcastCount:
		c.addServer(msg.ClientCount)
	case adapter.ShardedBroadcastAck:
		if msg.Packet.IsZero() {
			c.addAck("", json.RawMessage("null"))
			return
		}
		js, err := msg.Packet.AppendJSON(nil, nil)
		if err != nil {
			js = json.RawMessage("null")
		}
		c.addAck("", js)
	}
}

// fetch publishes FETCH_SOCKETS and collects the other servers' answers.
func (m *clusterMember) fetch(ctx context.Context, nsp string, opts adapter.Opts) ([]adapter.ClusterMessage, error) {
	n, err := m.tr.serverCount(ctx, nsp)
	if err != nil {
		return nil, fmt.Errorf("relay: count servers: %w", err)
	}
	want := n - 1
	if want <= 0 {
		return nil, nil
	}
	id := randomHex(8)
	ch := make(chan adapter.ClusterMessage, want)
	m.reqMu.Lock()
	m.fetches[id] = ch
	m.reqMu.Unlock()
	defer func() {
		m.reqMu.Lock()
		delete(m.fetches, id)
		m.reqMu.Unlock()
	}()
	if err := m.tr.publishRequest(ctx, nsp, m.wire.fetchSockets(m.uid, nsp, id, opts)); err != nil {
		return nil, err
	}
	return awaitAnswers(ctx, ch, want, m.srv.cfg.RequestsTimeout)
}

// emitWithAck asks the other servers of the cluster for a broadcast with
// ack, and collects their answers with the local ones (Operator.collect).
func (m *clusterMember) emitWithAck(ctx context.Context, o Operator, p socketio.Packet, timeoutMS int64) (Acks, error) {
	n, err := m.tr.serverCount(ctx, o.nsp)
	if err != nil {
		return Acks{}, fmt.Errorf("relay: count servers: %w", err)
	}
	if n <= 1 {
		return o.collect(ctx, p, newAckCollector(1), func() {}, func() error { return nil })
	}
	id := randomHex(8)
	ao := adapterOpts(o.opts)
	ao.Flags = ao.Flags.WithTimeout(timeoutMS)
	data, err := m.eventData(p)
	if err != nil {
		return Acks{}, err
	}
	msg, err := m.wire.broadcastWithAck(m.uid, o.nsp, id, data, ao)
	if err != nil {
		return Acks{}, err
	}
	c := newAckCollector(n) // the other servers and this one
	m.reqMu.Lock()
	m.ackReqs[id] = c
	m.reqMu.Unlock()
	unregister := func() { m.reqMu.Lock(); delete(m.ackReqs, id); m.reqMu.Unlock() }
	return o.collect(ctx, p, c, unregister, func() error { return m.tr.publishRequest(ctx, o.nsp, msg) })
}

// serverSideEmit publishes SERVER_SIDE_EMIT without ack.
func (m *clusterMember) serverSideEmit(ctx context.Context, nsp string, p socketio.Packet) error {
	data, err := m.eventData(p)
	if err != nil {
		return err
	}
	msg, err := m.wire.serverSideEmit(m.uid, nsp, "", data)
	if err != nil {
		return err
	}
	return m.tr.publishRequest(ctx, nsp, msg)
}

// clusterBroker is a broker built on a clusterMember.
type clusterBroker interface{ member() *clusterMember }

// shardedWire is the sharded adapter's encoding (JSON, or notepack
// msgpack when a message holds binary).
type shardedWire struct{}

func (shardedWire) broadcastWithAck(uid, nsp, requestID string, data []byte, opts adapter.Opts) ([]byte, error) {
	return adapter.AppendShardedBroadcast(nil, uid, nsp, data, opts, requestID)
}

func (shardedWire) fetchSockets(uid, nsp, requestID string, opts adapter.Opts) []byte {
	return adapter.AppendShardedFetchSockets(nil, uid, nsp, opts, requestID)
}

func (shardedWire) serverSideEmit(uid, nsp, requestID string, data []byte) ([]byte, error) {
	return adapter.AppendShardedServerSideEmit(nil, uid, nsp, data, requestID)
}

func (shardedWire) clientCount(uid, nsp, requestID string, n int) []byte {
	return adapter.AppendShardedClientCount(nil, uid, nsp, requestID, n)
}

func (shardedWire) packetResponse(uid, nsp string, t adapter.MessageType, requestID string, packet []byte) ([]byte, error) {
	return adapter.AppendShardedPacketResponse(nil, uid, nsp, t, requestID, packet)
}

func (shardedWire) fetchResponse(uid, nsp, requestID string, sockets [][]byte) ([]byte, error) {
	return adapter.AppendShardedFetchResponse(nil, uid, nsp, requestID, sockets), nil
}
