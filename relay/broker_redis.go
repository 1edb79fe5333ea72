package relay

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"
	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/socketio"
)

// The classic broker (@socket.io/redis-adapter 8.3.0 createAdapter).
//
// Subscriptions: one go-redis PubSub connection for all namespaces. For each
// namespace it holds PSUBSCRIBE <key>#<nsp>#* and SUBSCRIBE of the request,
// shared response and own response channels, so PUBSUB NUMSUB of a request
// channel counts this server exactly once.
//
// Reading: the reader goroutine only receives from Redis and hands each
// message to a bounded queue without ever blocking (a full queue drops the
// message, counts and logs it), so Redis never finds this subscriber's
// output buffer growing. One dispatcher goroutine drains the queue in
// order: messages are handled in the order Redis delivered them, as a Node
// server does (an emit to a room published after a join reaches the new
// member). Work that may wait (hooks, ack collection) leaves the dispatcher.
//
// Own operations: broadcasts are delivered locally and published; joins,
// leaves and disconnects are applied locally and published, and their echo
// (own uid) is ignored. A Node sender instead applies its own request when
// it comes back from Redis; the end state is the same, and this way local
// sockets are affected at once and even while Redis is down.

const (
	redisQueueLen    = 1 << 17
	redisRecvTimeout = 5 * time.Second
)

// Request kinds of classic channels (besides the broadcast pattern).
const (
	chanRequest = iota + 1
	chanResponse
)

type chanInfo struct {
	nsp  string
	kind int
}

// redisBroker is the classic Redis adapter broker.
type redisBroker struct {
	srv     *Server
	rdb     redis.UniversalClient
	key     string
	uid     string
	log     *slog.Logger
	timeout time.Duration

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	wg     sync.WaitGroup // reader, dispatcher and helper goroutines
	ps     *redis.PubSub
	queue  chan *redis.Message
	kick   chan struct{} // wakes the subscriber after addNamespace
	active chan struct{} // closed after the first subscription was sent

	mu        sync.RWMutex
	pending   []string            // guarded by mu; namespaces to subscribe
	nsps      map[string]bool     // guarded by mu; namespaces subscribed (or being)
	patterns  map[string]string   // guarded by mu; pattern → namespace
	channels  map[string]chanInfo // guarded by mu; channel → namespace and kind
	confirmed map[string]bool     // guarded by mu; channels and patterns Redis confirmed on the current connection
	down      time.Time           // guarded by mu; when the subscription was lost (zero: up)
	closed    bool                // guarded by mu

	reqMu    sync.Mutex
	requests map[string]*clusterRequest // guarded by reqMu; own requests awaiting answers
	ackReqs  map[string]*ackCollector   // guarded by reqMu; own broadcasts with ack

	cnt       brokerCounters
	published atomic.Int64
}

var _ broker = (*redisBroker)(nil)

// newRedisBroker starts the reader and dispatcher of a classic broker.
func newRedisBroker(srv *Server) *redisBroker {
	b := &redisBroker{
		srv:       srv,
		rdb:       srv.cfg.Redis,
		key:       srv.cfg.Key,
		uid:       randomUID(6),
		log:       srv.log.With("component", "redis"),
		timeout:   srv.cfg.RequestsTimeout,
		queue:     make(chan *redis.Message, redisQueueLen),
		kick:      make(chan struct{}, 1),
		active:    make(chan struct{}),
		nsps:      make(map[string]bool),
		patterns:  make(map[string]string),
		channels:  make(map[string]chanInfo),
		confirmed: make(map[string]bool),
		requests:  make(map[string]*clusterRequest),
		ackReqs:   make(map[string]*ackCollector),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	// Subscribe with no channel opens no connection yet; the first
	// namespace does.
	b.ps = b.rdb.Subscribe(b.ctx)
	b.wg.Add(3)
	go b.subscribeLoop()
	go b.readLoop()
	go b.dispatchLoop()
	return b
}

const uidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// randomUID returns n characters of [A-Za-z0-9_-], like uid2(n).
func randomUID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = uidAlphabet[b[i]&63]
	}
	return string(b)
}

// addNamespace subscribes the channels of namespace nsp. It does not block
// (it may be called with Server.mu held); the subscriber goroutine does the
// network work.
func (b *redisBroker) addNamespace(nsp string) {
	b.mu.Lock()
	if b.closed || b.nsps[nsp] {
		b.mu.Unlock()
		return
	}
	b.nsps[nsp] = true
	b.patterns[adapter.BroadcastPattern(b.key, nsp)] = nsp
	b.channels[adapter.RequestChannel(b.key, nsp)] = chanInfo{nsp, chanRequest}
	b.channels[adapter.ResponseChannel(b.key, nsp)] = chanInfo{nsp, chanResponse}
	b.channels[adapter.SpecificResponseChannel(b.key, nsp, b.uid)] = chanInfo{nsp, chanResponse}
	b.pending = append(b.pending, nsp)
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// subscribePending sends the (P)SUBSCRIBE commands of namespaces added
// since the last call. go-redis remembers them and subscribes again after
// a reconnect, so a failure here (Redis down) is only logged.
func (b *redisBroker) subscribePending() {
	b.mu.Lock()
	nsps := b.pending
	b.pending = nil
	b.mu.Unlock()
	for _, nsp := range nsps {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		// Channels first: on a Redis Cluster, go-redis opens the
		// connection on the master of the first channel's slot (with only
		// a pattern it would pick any node, maybe a replica, which the
		// masters' NUMSUB sums of serverCount do not see).
		err := b.ps.Subscribe(ctx, adapter.RequestChannel(b.key, nsp), adapter.ResponseChannel(b.key, nsp),
			adapter.SpecificResponseChannel(b.key, nsp, b.uid))
		if err == nil {
			err = b.ps.PSubscribe(ctx, adapter.BroadcastPattern(b.key, nsp))
		}
		cancel()
		if err != nil && b.ctx.Err() == nil {
			b.cnt.subscribeErrors.Add(1)
			b.log.Warn("subscribe failed; retried when Redis is back", "nsp", nsp, "err", err)
		}
	}
}

// ready reports whether every subscription is confirmed by Redis on a live
// connection.
func (b *redisBroker) ready() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed || !b.down.IsZero() || len(b.pending) > 0 {
		return false
	}
	for p := range b.patterns {
		if !b.confirmed[p] {
			return false
		}
	}
	for c := range b.channels {
		if !b.confirmed[c] {
			return false
		}
	}
	return true
}

// subscribeLoop sends the subscriptions of new namespaces. Runs in its own
// goroutine, so that a namespace is subscribed at once even while the
// reader waits for a message (go-redis lets the two run concurrently).
func (b *redisBroker) subscribeLoop() {
	defer b.wg.Done()
	activated := false
	for {
		select {
		case <-b.kick:
			b.subscribePending()
			if !activated {
				activated = true
				close(b.active)
			}
		case <-b.ctx.Done():
			return
		}
	}
}

// readLoop receives from Redis until close. Runs in its own goroutine.
func (b *redisBroker) readLoop() {
	defer b.wg.Done()
	// Before the first subscription go-redis has no connection to read.
	select {
	case <-b.active:
	case <-b.ctx.Done():
		return
	}
	backoff := 50 * time.Millisecond
	pinged := false
	for {
		msg, err := b.ps.ReceiveTimeout(b.ctx, redisRecvTimeout)
		if err != nil {
			if b.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if pinged {
					// No answer to the last ping within a whole period.
					b.lost(errors.New("no answer to PING"), false)
				}
				pinged = b.ps.Ping(b.ctx) == nil
				continue
			}
			b.lost(err, true)
			select {
			case <-time.After(backoff):
			case <-b.ctx.Done():
				return
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		pinged = false
		switch m := msg.(type) {
		case *redis.Message:
			b.cnt.received.Add(1)
			select {
			case b.queue <- m:
			default:
				b.cnt.drop(b.log, m.Channel)
			}
		case *redis.Subscription:
			b.confirm(m)
		case *redis.Pong:
			b.restored()
		}
	}
}

// lost records that the subscription connection failed (broken) or stopped
// answering (a hung server: the connection and its subscriptions may
// still be good when it answers again).
func (b *redisBroker) lost(err error, broken bool) {
	b.mu.Lock()
	first := b.down.IsZero()
	if first {
		b.down = time.Now()
	}
	if broken {
		clear(b.confirmed)
	}
	b.mu.Unlock()
	if first {
		b.cnt.outages.Add(1)
		b.log.Error("redis subscription lost; not ready, and broadcasts and requests published until it is restored are lost", "err", err)
	}
}

// confirm records a (p)subscribe confirmation.
func (b *redisBroker) confirm(m *redis.Subscription) {
	b.mu.Lock()
	switch m.Kind {
	case "subscribe", "psubscribe":
		b.confirmed[m.Channel] = true
	case "unsubscribe", "punsubscribe":
		delete(b.confirmed, m.Channel)
	}
	b.mu.Unlock()
	b.restored()
}

// restored records that the connection works again.
func (b *redisBroker) restored() {
	b.mu.Lock()
	since := b.down
	b.down = time.Time{}
	b.mu.Unlock()
	if !since.IsZero() {
		b.cnt.reconnects.Add(1)
		b.log.Warn("redis subscription restored", "down_for", time.Since(since).Round(time.Millisecond))
	}
}

// dispatchLoop handles received messages in order. Runs in its own
// goroutine.
func (b *redisBroker) dispatchLoop() {
	defer b.wg.Done()
	for {
		select {
		case m := <-b.queue:
			b.handle(m)
		case <-b.ctx.Done():
			return
		}
	}
}

// bytesOf returns the bytes of s without copying; they must not be
// modified.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func (b *redisBroker) handle(m *redis.Message) {
	b.mu.RLock()
	var ci chanInfo
	var ok bool
	if m.Pattern != "" {
		ci.nsp, ok = b.patterns[m.Pattern]
	} else {
		ci, ok = b.channels[m.Channel]
	}
	b.mu.RUnlock()
	if !ok {
		return
	}
	payload := bytesOf(m.Payload)
	switch {
	case m.Pattern != "":
		b.onBroadcast(ci.nsp, payload)
	case ci.kind == chanRequest:
		b.onRequest(ci.nsp, payload)
	case ci.kind == chanResponse:
		b.onResponse(payload)
	}
}

// onBroadcast delivers a broadcast from another server or an emitter.
func (b *redisBroker) onBroadcast(nsp string, payload []byte) {
	bc, err := adapter.DecodeBroadcast(payload)
	if err != nil {
		b.log.Debug("ignoring malformed broadcast", "nsp", nsp, "err", err)
		return
	}
	if bc.UID == b.uid || bc.Packet.Nsp != nsp {
		return
	}
	ns := b.srv.namespace(nsp, false)
	if ns == nil {
		return
	}
	p, ok := adapterPacket(nsp, bc.Packet)
	if !ok {
		return
	}
	b.cnt.broadcasts.Add(1)
	ns.deliver(p, broadcastOptsOf(bc.Opts))
}

// adapterPacket turns an adapter packet (msgpack data) into the Socket.IO
// packet clients get: JSON text, binary as placeholders and attachments.
func adapterPacket(nsp string, ap adapter.Packet) (socketio.Packet, bool) {
	if ap.Type != int(socketio.Event) && ap.Type != int(socketio.BinaryEvent) {
		return socketio.Packet{}, false
	}
	var bins [][]byte
	data, _, err := notepackToJSON(ap.Data, &bins)
	if err != nil {
		return socketio.Packet{}, false
	}
	return socketio.Packet{Type: socketio.Event, Namespace: nsp, Data: data, Attachments: bins}, true
}

// onRequest answers or applies a request of another server.
func (b *redisBroker) onRequest(nsp string, payload []byte) {
	req, err := adapter.DecodeRequest(payload)
	if err != nil {
		b.log.Debug("ignoring malformed request", "nsp", nsp, "err", err)
		return
	}
	ns := b.srv.namespace(nsp, false)
	switch req.Type {
	case adapter.Sockets:
		if b.ownRequest(req.RequestID) {
			return
		}
		var ids [][]byte
		if ns != nil {
			ns.forEach(broadcastOpts{Rooms: req.Rooms}, func(sk *Socket) {
				ids = append(ids, socketio.AppendJSONString(nil, sk.id))
			})
		}
		b.respond(nsp, req.UID, adapter.AppendSocketsResponse(nil, req.RequestID, ids))
	case adapter.AllRooms:
		if b.ownRequest(req.RequestID) {
			return
		}
		b.respond(nsp, req.UID, adapter.AppendRoomsResponse(nil, req.RequestID, localRooms(ns)))
	case adapter.RemoteJoin, adapter.RemoteLeave, adapter.RemoteDisconnect:
		if req.UID == b.uid || ns == nil {
			return // applied locally when published
		}
		if req.HasOpts {
			opts := broadcastOptsOf(req.Opts)
			switch req.Type {
			case adapter.RemoteJoin:
				ns.forEach(opts, func(sk *Socket) { ns.join(sk, req.Rooms) })
			case adapter.RemoteLeave:
				ns.forEach(opts, func(sk *Socket) { ns.leave(sk, req.Rooms) })
			default:
				b.disconnect(ns, opts, req.Close)
			}
			return
		}
		// Legacy single-socket form, answered when the socket is here.
		ns.mu.RLock()
		sk := ns.sockets[req.SID]
		ns.mu.RUnlock()
		if sk == nil {
			return
		}
		switch req.Type {
		case adapter.RemoteJoin:
			sk.Join(req.Room)
		case adapter.RemoteLeave:
			sk.Leave(req.Room)
		default:
			sk.Disconnect(req.Close)
		}
		b.respond(nsp, req.UID, adapter.AppendLegacyResponse(nil, req.RequestID))
	case adapter.RemoteFetch:
		if b.ownRequest(req.RequestID) {
			return
		}
		var socks [][]byte
		if ns != nil {
			ns.forEach(broadcastOptsOf(req.Opts), func(sk *Socket) {
				socks = append(socks, appendFetchedSocket(nil, sk))
			})
		}
		b.respond(nsp, req.UID, adapter.AppendSocketsResponse(nil, req.RequestID, socks))
	case adapter.ServerSideEmit:
		if req.UID == b.uid {
			return
		}
		b.onServerSideEmit(nsp, req)
	case adapter.BroadcastWithAck:
		if b.ownRequest(req.RequestID) {
			return
		}
		b.onBroadcastWithAck(ns, nsp, req)
	}
}

// disconnect disconnects the selected sockets (on the dispatcher, which
// therefore runs Config.OnDisconnect).
func (b *redisBroker) disconnect(ns *namespace, opts broadcastOpts, close bool) {
	ns.forEach(opts, func(sk *Socket) { sk.Disconnect(close) })
}

// localRooms lists the namespace's rooms as Node's adapter.rooms does: the
// explicit rooms and every socket's own id room.
func localRooms(ns *namespace) []string {
	if ns == nil {
		return []string{}
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	rooms := make([]string, 0, len(ns.rooms)+len(ns.sockets))
	for id := range ns.sockets {
		rooms = append(rooms, id)
	}
	for r := range ns.rooms {
		if _, isID := ns.sockets[r]; !isID {
			rooms = append(rooms, r)
		}
	}
	return rooms
}

// respond publishes an answer to a request of uid: on its own response
// channel, or on the shared one for senders without uid (legacy).
func (b *redisBroker) respond(nsp, uid string, msg []byte) {
	ch := adapter.ResponseChannel(b.key, nsp)
	if uid != "" {
		ch = adapter.SpecificResponseChannel(b.key, nsp, uid)
	}
	b.publishAsync(ch, msg)
}

// publishAsync publishes without holding up the dispatcher.
func (b *redisBroker) publishAsync(channel string, msg []byte) {
	if !b.track() {
		return
	}
	go func() {
		defer b.wg.Done()
		if err := b.publish(b.ctx, channel, msg); err != nil && b.ctx.Err() == nil {
			b.log.Warn("publish failed", "channel", channel, "err", err)
		}
	}()
}

// track registers one more goroutine with wg unless the broker is closed.
func (b *redisBroker) track() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return false
	}
	b.wg.Add(1)
	return true
}

// publish publishes msg, failing at once with ErrRedisUnavailable while the
// subscription is known to be down, so that callers (hooks emitting to the
// cluster) are not held up by connection retries.
func (b *redisBroker) publish(ctx context.Context, channel string, msg []byte) error {
	b.mu.RLock()
	down := !b.down.IsZero()
	b.mu.RUnlock()
	if down {
		b.cnt.publishErrors.Add(1)
		return ErrRedisUnavailable
	}
	b.published.Add(1)
	err := b.rdb.Publish(ctx, channel, msg).Err()
	if err != nil && b.ctx.Err() == nil {
		b.cnt.publishErrors.Add(1)
	}
	return err
}

// broadcast delivers locally and publishes.
func (b *redisBroker) broadcast(ctx context.Context, p socketio.Packet, opts broadcastOpts) error {
	if ns := b.srv.namespace(p.Namespace, false); ns != nil {
		ns.deliver(p, opts)
	}
	data, err := jsonToNotepack(nil, p.Data, p.Attachments)
	if err != nil {
		return fmt.Errorf("relay: encode broadcast: %w", err)
	}
	ao := adapterOpts(opts)
	msg := adapter.AppendBroadcast(nil, b.uid, p.Namespace, data, ao)
	if err := b.publish(ctx, adapter.BroadcastChannel(b.key, p.Namespace, ao.Rooms), msg); err != nil {
		return fmt.Errorf("relay: publish broadcast: %w", err)
	}
	return nil
}

func (b *redisBroker) socketsJoin(ctx context.Context, nsp string, opts broadcastOpts, rooms []string) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { ns.join(sk, rooms) })
	}
	msg := adapter.AppendSocketsRequest(nil, b.uid, adapter.RemoteJoin, adapterOpts(opts), adapter.Dedup(rooms))
	return b.publishRequest(ctx, nsp, msg)
}

func (b *redisBroker) socketsLeave(ctx context.Context, nsp string, opts broadcastOpts, rooms []string) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { ns.leave(sk, rooms) })
	}
	msg := adapter.AppendSocketsRequest(nil, b.uid, adapter.RemoteLeave, adapterOpts(opts), adapter.Dedup(rooms))
	return b.publishRequest(ctx, nsp, msg)
}

func (b *redisBroker) disconnectSockets(ctx context.Context, nsp string, opts broadcastOpts, close bool) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { sk.Disconnect(close) })
	}
	msg := adapter.AppendDisconnectRequest(nil, b.uid, adapterOpts(opts), close)
	return b.publishRequest(ctx, nsp, msg)
}

func (b *redisBroker) publishRequest(ctx context.Context, nsp string, msg []byte) error {
	if err := b.publish(ctx, adapter.RequestChannel(b.key, nsp), msg); err != nil {
		return fmt.Errorf("relay: publish request: %w", err)
	}
	return nil
}

// close unsubscribes, stops the goroutines and waits for them.
func (b *redisBroker) close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.failRequests()
	// Closing the PubSub ends the reader's receive; Redis drops the
	// connection's subscriptions with it.
	b.cancel()
	err := b.ps.Close()
	b.wg.Wait()
	if err != nil && !strings.Contains(err.Error(), "closed") {
		return err
	}
	return nil
}

// counters returns the broker's counters, for Stats.
func (b *redisBroker) counters() *brokerCounters { return &b.cnt }
