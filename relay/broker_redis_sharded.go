package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/notepack"
	"github.com/siorelay/siorelay/internal/servercount"
	"github.com/siorelay/siorelay/internal/socketio"
)

// The sharded broker (@socket.io/redis-adapter 8.3.0 createShardedAdapter,
// the ClusterAdapter of socket.io-adapter 2.5.8): SPUBLISH / SSUBSCRIBE.
//
// Per namespace it holds SSUBSCRIBE of the namespace channel <prefix>#<nsp>#
// (so SHARDNUMSUB counts this server once) and of its own response channel
// <prefix>#<nsp>#<uid>#; in the dynamic modes also of the channel of every
// room created here (dynamic: public rooms only; dynamic-private: socket id
// rooms too), dropped when the room empties.
//
// Shard channels live on the node that owns their slot, so on a Redis
// Cluster there is one subscription connection per node (a go-redis PubSub
// whose first channel picks the node), each with its reader goroutine; all
// readers feed one bounded queue and one dispatcher, as in the classic
// broker. Own operations are applied locally and own-uid messages ignored
// (ClusterAdapter semantics).

// shardSub is one SSUBSCRIBE connection and its reader.
type shardSub struct {
	ps   *redis.PubSub
	addr string
}

type shardedBroker struct {
	srv     *Server
	rdb     redis.UniversalClient
	cluster *redis.ClusterClient // nil unless rdb is a cluster client
	prefix  string
	uid     string
	mode    adapter.SubscriptionMode
	log     *slog.Logger
	// plain uses PUBLISH, SUBSCRIBE and NUMSUB instead of their sharded
	// forms (the pub/sub half of a streams cluster without
	// useShardedPubSub).
	plain  bool
	decode func([]byte) (adapter.ClusterMessage, error)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	queue  chan *redis.Message
	kick   chan struct{}

	mu        sync.RWMutex
	ops       []shardOp            // guarded by mu; (un)subscriptions to send, in order
	channels  map[string]chanInfo  // guarded by mu; wanted channels → namespace and kind
	subOf     map[string]*shardSub // guarded by mu; channel → its connection (subscriber goroutine only)
	subs      map[string]*shardSub // guarded by mu; node address → connection
	confirmed map[string]bool      // guarded by mu
	down      map[*shardSub]time.Time
	closed    bool

	m   *clusterMember // what the streams broker shares: applying and answering messages, requests
	cnt brokerCounters
}

type shardOp struct {
	channel string
	sub     bool
	// moved marks a channel subscribed again after its node failed over or
	// its slot moved: the node go-redis names must be checked to be a master.
	moved bool
}

var (
	_ broker           = (*shardedBroker)(nil)
	_ clusterTransport = (*shardedBroker)(nil)
)

// randomHex returns n random bytes in hex, like the ClusterAdapter's ids.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newShardedBroker(srv *Server) *shardedBroker {
	return newPubSubMember(srv, pubSubConfig{
		prefix:    srv.cfg.Key,
		mode:      adapter.SubscriptionMode(srv.cfg.SubscriptionMode),
		decode:    adapter.DecodeShardedMessage,
		wire:      shardedWire{},
		dialect:   notepack.Notepack,
		component: "redis-sharded",
	})
}

// pubSubConfig configures newPubSubMember.
type pubSubConfig struct {
	prefix    string
	mode      adapter.SubscriptionMode
	plain     bool
	decode    func([]byte) (adapter.ClusterMessage, error)
	wire      clusterWire
	dialect   notepack.Dialect
	component string
}

// newPubSubMember starts a ClusterAdapter member over (sharded) pub/sub:
// the sharded broker, or the pub/sub half of the streams broker.
func newPubSubMember(srv *Server, c pubSubConfig) *shardedBroker {
	b := &shardedBroker{
		srv:       srv,
		rdb:       srv.cfg.Redis,
		prefix:    c.prefix,
		uid:       randomHex(8),
		mode:      c.mode,
		plain:     c.plain,
		decode:    c.decode,
		log:       srv.log.With("component", c.component),
		queue:     make(chan *redis.Message, redisQueueLen),
		kick:      make(chan struct{}, 1),
		channels:  make(map[string]chanInfo),
		subOf:     make(map[string]*shardSub),
		subs:      make(map[string]*shardSub),
		confirmed: make(map[string]bool),
		down:      make(map[*shardSub]time.Time),
	}
	b.cluster, _ = b.rdb.(*redis.ClusterClient)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.m = newClusterMember(srv, b.uid, b.log, &b.cnt, c.dialect, c.wire, b, b.ctx, b.spawn)
	b.wg.Add(2)
	go b.subscribeLoop()
	go b.dispatchLoop()
	return b
}

// want queues a subscription change; it never blocks.
func (b *shardedBroker) wantLocked(channel string, ci chanInfo, sub bool) {
	if sub {
		if _, ok := b.channels[channel]; ok {
			return
		}
		b.channels[channel] = ci
	} else {
		if _, ok := b.channels[channel]; !ok {
			return
		}
		delete(b.channels, channel)
	}
	b.ops = append(b.ops, shardOp{channel: channel, sub: sub})
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *shardedBroker) addNamespace(nsp string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.wantLocked(adapter.ShardedChannel(b.prefix, nsp), chanInfo{nsp, chanRequest}, true)
	b.wantLocked(adapter.ShardedRoomChannel(b.prefix, nsp, b.uid), chanInfo{nsp, chanResponse}, true)
}

// roomEvent follows create-room / delete-room as the Node adapter does.
func (b *shardedBroker) roomEvent(nsp, room string, private, created bool) {
	switch b.mode {
	case adapter.DynamicPrivate:
	case adapter.Dynamic:
		if private {
			return
		}
	default:
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.wantLocked(adapter.ShardedRoomChannel(b.prefix, nsp, room), chanInfo{nsp, chanRequest}, created)
}

// subscribeLoop sends queued (un)subscriptions in order. Runs in its own
// goroutine.
func (b *shardedBroker) subscribeLoop() {
	defer b.wg.Done()
	for {
		select {
		case <-b.kick:
		case <-b.ctx.Done():
			return
		}
		for {
			b.mu.Lock()
			ops := b.ops
			b.ops = nil
			b.mu.Unlock()
			if len(ops) == 0 {
				break
			}
			for _, op := range ops {
				b.apply(op)
			}
		}
	}
}

func (b *shardedBroker) apply(op shardOp) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if !op.sub {
		b.mu.Lock()
		s := b.subOf[op.channel]
		delete(b.subOf, op.channel)
		delete(b.confirmed, op.channel)
		b.mu.Unlock()
		if s != nil {
			if err := b.unsubscribe(ctx, s.ps, op.channel); err != nil && b.ctx.Err() == nil {
				b.log.Warn("sunsubscribe failed", "channel", op.channel, "err", err)
			}
		}
		return
	}
	b.mu.RLock()
	_, done := b.subOf[op.channel]
	_, wanted := b.channels[op.channel]
	b.mu.RUnlock()
	if done || !wanted {
		return
	}
	addr := ""
	if b.cluster != nil {
		node, err := b.cluster.MasterForKey(ctx, op.channel)
		if err != nil {
			b.cnt.subscribeErrors.Add(1)
			b.log.Warn("no node for channel; retrying", "channel", op.channel, "err", err)
			b.retry(op)
			return
		}
		if op.moved && !isMaster(ctx, node) {
			// go-redis reloads its slot map lazily, so after a failover it
			// can still name the old master, now a replica. A replica takes
			// the SSUBSCRIBE and even delivers, but SHARDNUMSUB on the
			// masters would no longer count this server. Wait for the map.
			b.cluster.ReloadState(b.ctx)
			b.retry(op)
			return
		}
		addr = node.Options().Addr
	}
	b.mu.Lock()
	s := b.subs[addr]
	b.mu.Unlock()
	if s == nil {
		// The first channel of a connection picks its node.
		s = &shardSub{ps: b.newPubSub(ctx, op.channel), addr: addr}
		b.mu.Lock()
		b.subs[addr] = s
		b.subOf[op.channel] = s
		closed := b.closed
		if !closed {
			b.wg.Add(1)
		}
		b.mu.Unlock()
		if closed {
			s.ps.Close()
			return
		}
		go b.readLoop(s)
		return
	}
	b.mu.Lock()
	b.subOf[op.channel] = s
	b.mu.Unlock()
	if err := b.subscribe(ctx, s.ps, op.channel); err != nil && b.ctx.Err() == nil {
		// go-redis remembers the channel and subscribes it again on
		// reconnect.
		b.cnt.subscribeErrors.Add(1)
		b.log.Warn("ssubscribe failed", "channel", op.channel, "err", err)
	}
}

// retry requeues op after a pause.
func (b *shardedBroker) retry(op shardOp) {
	if !b.trackGo() {
		return
	}
	go func() {
		defer b.wg.Done()
		select {
		case <-time.After(500 * time.Millisecond):
		case <-b.ctx.Done():
			return
		}
		b.mu.Lock()
		if _, still := b.channels[op.channel]; still {
			b.ops = append(b.ops, op)
		}
		b.mu.Unlock()
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}()
}

func (b *shardedBroker) trackGo() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return false
	}
	b.wg.Add(1)
	return true
}

// readLoop receives from one connection. Runs in its own goroutine.
func (b *shardedBroker) readLoop(s *shardSub) {
	defer b.wg.Done()
	backoff := 50 * time.Millisecond
	pinged := false
	for {
		msg, err := s.ps.ReceiveTimeout(b.ctx, redisRecvTimeout)
		if err != nil {
			if b.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if pinged {
					b.lost(s, errors.New("no answer to PING"), false)
				}
				pinged = s.ps.Ping(b.ctx) == nil
				continue
			}
			if b.cluster != nil {
				// Slots may have moved (failover): subscribe this
				// connection's channels again on their current nodes.
				b.rehome(s, err)
				return
			}
			b.lost(s, err, true)
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
			b.mu.Lock()
			switch m.Kind {
			case "ssubscribe", "subscribe":
				b.confirmed[m.Channel] = true
			case "sunsubscribe", "unsubscribe":
				delete(b.confirmed, m.Channel)
				if _, wanted := b.channels[m.Channel]; wanted && b.subOf[m.Channel] == s {
					// Redis dropped it: its slot moved to another node.
					delete(b.subOf, m.Channel)
					b.mu.Unlock()
					b.log.Warn("shard channel moved; subscribing on its new node", "channel", m.Channel, "node", s.addr)
					b.resubscribe([]string{m.Channel})
					b.mu.Lock()
				}
			}
			b.mu.Unlock()
			b.restored(s)
		case *redis.Pong:
			b.restored(s)
		}
	}
}

// rehome drops a failed cluster connection and subscribes its channels
// again, each on the node that serves its slot now.
func (b *shardedBroker) rehome(s *shardSub, err error) {
	b.mu.Lock()
	if b.subs[s.addr] == s {
		delete(b.subs, s.addr)
	}
	var chans []string
	for ch, owner := range b.subOf {
		if owner == s {
			delete(b.subOf, ch)
			delete(b.confirmed, ch)
			chans = append(chans, ch)
		}
	}
	b.mu.Unlock()
	s.ps.Close()
	b.cnt.outages.Add(1)
	b.log.Error("redis shard connection lost; subscribing its channels again (messages published meanwhile are lost)", "node", s.addr, "channels", len(chans), "err", err)
	b.resubscribe(chans)
}

// resubscribe refreshes the cluster's slot map and queues subscriptions of
// channels (those still wanted) after a pause.
func (b *shardedBroker) resubscribe(chans []string) {
	if b.cluster != nil {
		b.cluster.ReloadState(b.ctx)
	}
	for _, ch := range chans {
		b.retry(shardOp{channel: ch, sub: true, moved: true})
	}
}

// isMaster asks a node for its role; an error counts as not a master.
func isMaster(ctx context.Context, node *redis.Client) bool {
	role, err := node.Do(ctx, "ROLE").Slice()
	return err == nil && len(role) > 0 && role[0] == "master"
}

func (b *shardedBroker) lost(s *shardSub, err error, broken bool) {
	b.mu.Lock()
	_, already := b.down[s]
	if !already {
		b.down[s] = time.Now()
	}
	for ch, owner := range b.subOf {
		if owner == s && broken {
			delete(b.confirmed, ch)
		}
	}
	b.mu.Unlock()
	if !already {
		b.cnt.outages.Add(1)
		b.log.Error("redis shard subscription lost; not ready, and messages published until it is restored are lost", "node", s.addr, "err", err)
	}
}

func (b *shardedBroker) restored(s *shardSub) {
	b.mu.Lock()
	since, was := b.down[s]
	delete(b.down, s)
	b.mu.Unlock()
	if was {
		b.cnt.reconnects.Add(1)
		b.log.Warn("redis shard subscription restored", "node", s.addr, "down_for", time.Since(since).Round(time.Millisecond))
	}
}

func (b *shardedBroker) ready() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed || len(b.down) > 0 || len(b.ops) > 0 {
		return false
	}
	for ch := range b.channels {
		if !b.confirmed[ch] {
			return false
		}
	}
	return true
}

func (b *shardedBroker) dispatchLoop() {
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

func (b *shardedBroker) handle(m *redis.Message) {
	b.mu.RLock()
	ci, ok := b.channels[m.Channel]
	b.mu.RUnlock()
	if !ok {
		return
	}
	msg, err := b.decode(bytesOf(m.Payload))
	if err != nil {
		return
	}
	if ci.kind == chanResponse {
		b.m.onResponse(msg)
		return
	}
	b.m.onMessage(ci.nsp, msg)
}

// spawn runs f on a goroutine close waits for, unless the broker is
// closed.
func (b *shardedBroker) spawn(f func()) bool {
	if !b.trackGo() {
		return false
	}
	go func() {
		defer b.wg.Done()
		f()
	}()
	return true
}

func (b *shardedBroker) member() *clusterMember { return b.m }

func (b *shardedBroker) broadcast(ctx context.Context, p socketio.Packet, opts broadcastOpts) error {
	if ns := b.srv.namespace(p.Namespace, false); ns != nil {
		ns.deliver(p, opts)
	}
	data, err := jsonToNotepack(nil, p.Data, p.Attachments)
	if err != nil {
		return fmt.Errorf("relay: encode broadcast: %w", err)
	}
	ao := adapterOpts(opts)
	msg, err := adapter.AppendShardedBroadcast(nil, b.uid, p.Namespace, data, ao, "")
	if err != nil {
		return fmt.Errorf("relay: encode broadcast: %w", err)
	}
	ch := adapter.ShardedBroadcastChannel(b.prefix, p.Namespace, ao.Rooms, b.mode, false)
	if b.isDown() {
		b.cnt.publishErrors.Add(1)
		return ErrRedisUnavailable
	}
	if err := b.spublish(ctx, ch, msg); err != nil {
		return fmt.Errorf("relay: publish broadcast: %w", err)
	}
	return nil
}

// spublish publishes msg on channel ch, counting failures.
func (b *shardedBroker) spublish(ctx context.Context, ch string, msg []byte) error {
	var err error
	if b.plain {
		err = b.rdb.Publish(ctx, ch, msg).Err()
	} else {
		err = b.rdb.SPublish(ctx, ch, msg).Err()
	}
	if err != nil && b.ctx.Err() == nil {
		b.cnt.publishErrors.Add(1)
	}
	return err
}

// The broker's pub/sub is sharded (SSUBSCRIBE, SPUBLISH) or, for the
// streams adapter's requests without useShardedPubSub (b.plain), plain.

// newPubSub opens a subscription connection with ch subscribed.
func (b *shardedBroker) newPubSub(ctx context.Context, ch string) *redis.PubSub {
	if b.plain {
		return b.rdb.Subscribe(ctx, ch)
	}
	return b.rdb.SSubscribe(ctx, ch)
}

func (b *shardedBroker) subscribe(ctx context.Context, ps *redis.PubSub, ch string) error {
	if b.plain {
		return ps.Subscribe(ctx, ch)
	}
	return ps.SSubscribe(ctx, ch)
}

func (b *shardedBroker) unsubscribe(ctx context.Context, ps *redis.PubSub, ch string) error {
	if b.plain {
		return ps.Unsubscribe(ctx, ch)
	}
	return ps.SUnsubscribe(ctx, ch)
}

// isDown reports whether a subscription connection is known to be down
// (then publishing fails at once with ErrRedisUnavailable).
func (b *shardedBroker) isDown() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.down) > 0
}

// publishRequest publishes msg on the namespace channel (clusterTransport).
func (b *shardedBroker) publishRequest(ctx context.Context, nsp string, msg []byte) error {
	return b.publishMain(ctx, nsp, msg)
}

// publishResponse publishes msg on server uid's response channel
// (clusterTransport).
func (b *shardedBroker) publishResponse(ctx context.Context, nsp, uid string, msg []byte) error {
	return b.spublish(ctx, adapter.ShardedRoomChannel(b.prefix, nsp, uid), msg)
}

func (b *shardedBroker) publishMain(ctx context.Context, nsp string, msg []byte) error {
	if b.isDown() {
		b.cnt.publishErrors.Add(1)
		return ErrRedisUnavailable
	}
	if err := b.spublish(ctx, adapter.ShardedChannel(b.prefix, nsp), msg); err != nil {
		return fmt.Errorf("relay: publish request: %w", err)
	}
	return nil
}

func (b *shardedBroker) socketsJoin(ctx context.Context, nsp string, opts broadcastOpts, rooms []string) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { ns.join(sk, rooms) })
	}
	return b.publishMain(ctx, nsp, adapter.AppendShardedSocketsRequest(nil, b.uid, nsp, adapter.SocketsJoin, adapterOpts(opts), adapter.Dedup(rooms)))
}

func (b *shardedBroker) socketsLeave(ctx context.Context, nsp string, opts broadcastOpts, rooms []string) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { ns.leave(sk, rooms) })
	}
	return b.publishMain(ctx, nsp, adapter.AppendShardedSocketsRequest(nil, b.uid, nsp, adapter.SocketsLeave, adapterOpts(opts), adapter.Dedup(rooms)))
}

func (b *shardedBroker) disconnectSockets(ctx context.Context, nsp string, opts broadcastOpts, close bool) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { sk.Disconnect(close) })
	}
	return b.publishMain(ctx, nsp, adapter.AppendShardedDisconnect(nil, b.uid, nsp, adapterOpts(opts), close))
}

// serverCount is PUBSUB SHARDNUMSUB of the namespace channel, summed over
// the masters of a cluster.
func (b *shardedBroker) serverCount(ctx context.Context, nsp string) (int, error) {
	// The streams adapter (b.plain) counts plain subscribers, NUMSUB.
	return servercount.Count(ctx, b.rdb, adapter.ShardedChannel(b.prefix, nsp), !b.plain)
}

func (b *shardedBroker) close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := make([]*shardSub, 0, len(b.subs))
	for _, s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	b.cancel()
	for _, s := range subs {
		s.ps.Close()
	}
	b.wg.Wait()
	return nil
}

// counters returns the broker's counters, for Stats.
func (b *shardedBroker) counters() *brokerCounters { return &b.cnt }
