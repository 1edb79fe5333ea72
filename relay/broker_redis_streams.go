package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/notepack"
	"github.com/siorelay/siorelay/internal/socketio"
)

// The streams broker (@socket.io/redis-streams-adapter 0.3.1, a
// ClusterAdapter): broadcasts, joins, leaves and disconnects go through
// Redis streams that every server reads, so that nothing still in a stream
// is lost when Redis or a connection blips; requests that need no
// ordering (broadcasts with ack, server-side emits, fetchSockets) and
// every answer go over pub/sub (sharded with Config.Sharded), handled by
// the same pub/sub member as the sharded broker's.
//
// Reading: one goroutine per stream (StreamName, or StreamName-0 …
// -<StreamCount-1>), each with XREAD BLOCK from the last entry it handled,
// starting at the stream's end when the server starts. After an error it
// reads on from where it was, so entries added meanwhile arrive late but
// arrive; entries trimmed by MaxLen before it could read them are counted
// (Redis 7's XINFO entries-added) and logged.
//
// Ordering: entries are handled in stream order, this server's own
// broadcasts included: they are delivered to local clients when read
// back, not when added. Every client therefore receives a stream's
// packets in stream order, with the entry id as their offset (connection
// state recovery), the same id on every server; delivering own broadcasts
// at once (as Node's adapter does) would let a client see a later offset
// before an earlier one and miss or repeat packets when it recovers. Own
// joins, leaves and disconnects are applied locally at once, as the other
// brokers do, and skipped when read back.
//
// Sessions (connection state recovery): kept as the adapter keeps them
// (SET <prefix><pid> base64(msgpack{sid, pid, rooms, data}) PX
// <maxDisconnection>, taken back with MULTI GET DEL EXEC), so a client
// recovers on any server of the cluster, Node or relay. The SET runs in
// its own goroutine; a take of the same session on this server waits for
// it (the adapter sends both on one connection, in order). Missed packets
// come from the server's copy of the stream tail (the recovery log), and
// from the stream only for an offset older than that copy.
type streamsBroker struct {
	srv    *Server
	rdb    redis.UniversalClient
	opts   adapter.StreamsOptions
	log    *slog.Logger
	ps     *shardedBroker // the pub/sub half: requests, answers, server count
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // readers and session writers

	readers []*streamReader

	storingMu sync.Mutex
	storing   map[string]chan struct{} // guarded by storingMu; session key → closed once its SET is done
}

// streamReader is the state of one stream's reader goroutine.
type streamReader struct {
	stream string
	last   string // owned by the reader: the id it reads after; "" before positioning
	// base is XINFO entries-added when the reader positioned itself (-1:
	// unknown, Redis < 7), read the entries handled since: entries added
	// but neither read nor still in the stream were trimmed unread.
	base, read int64
	recheck    bool        // owned by the reader: look for trimmed entries
	ready      atomic.Bool // positioned and reading
	down       atomic.Bool // the last command failed
}

var (
	_ broker       = (*streamsBroker)(nil)
	_ sessionStore = (*streamsBroker)(nil)
)

func newStreamsBroker(srv *Server) *streamsBroker {
	opts := srv.cfg.Streams.options(srv.cfg.Key)
	b := &streamsBroker{
		srv:     srv,
		rdb:     srv.cfg.Redis,
		opts:    opts,
		log:     srv.log.With("component", "redis-streams"),
		storing: make(map[string]chan struct{}),
		ps: newPubSubMember(srv, pubSubConfig{
			prefix:    opts.ChannelPrefix,
			mode:      adapter.Static, // the namespace channel and the own one, no room channels
			plain:     !srv.cfg.Sharded,
			decode:    adapter.DecodeStreamsMessage,
			wire:      streamsWire{},
			dialect:   notepack.MsgpackJS,
			component: "redis-streams",
		}),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	for _, s := range opts.Streams() {
		rd := &streamReader{stream: s, base: -1}
		b.readers = append(b.readers, rd)
		b.wg.Add(1)
		go b.readLoop(rd)
	}
	return b
}

func (b *streamsBroker) member() *clusterMember { return b.ps.m }

func (b *streamsBroker) addNamespace(nsp string) { b.ps.addNamespace(nsp) }

func (b *streamsBroker) ready() bool {
	for _, rd := range b.readers {
		if !rd.ready.Load() || rd.down.Load() {
			return false
		}
	}
	return b.ps.ready()
}

func (b *streamsBroker) isDown() bool {
	for _, rd := range b.readers {
		if rd.down.Load() {
			return true
		}
	}
	return b.ps.isDown()
}

// counters returns the broker's counters, for Stats (the pub/sub half
// counts for both).
func (b *streamsBroker) counters() *brokerCounters { return &b.ps.cnt }

func (b *streamsBroker) close() error {
	b.cancel()
	err := b.ps.close()
	b.wg.Wait()
	return err
}

// readLoop reads one stream until close. Runs in its own goroutine.
func (b *streamsBroker) readLoop(rd *streamReader) {
	defer b.wg.Done()
	backoff := 50 * time.Millisecond
	fail := func(what string, err error) bool {
		if b.ctx.Err() != nil {
			return false
		}
		if !rd.down.Swap(true) {
			b.ps.cnt.outages.Add(1)
			b.log.Error("redis stream unreachable; reading on from the last entry when it is back", "stream", rd.stream, "op", what, "err", err)
		}
		rd.recheck = true
		select {
		case <-time.After(backoff):
		case <-b.ctx.Done():
			return false
		}
		backoff = min(backoff*2, time.Second)
		return true
	}
	for b.ctx.Err() == nil {
		if rd.last == "" {
			if err := b.position(rd); err != nil {
				if !fail("XINFO", err) {
					return
				}
				continue
			}
		}
		res, err := b.rdb.XRead(b.ctx, &redis.XReadArgs{
			Streams: []string{rd.stream, rd.last},
			Count:   adapter.DefaultStreamReadCount,
			Block:   adapter.DefaultStreamBlockMS * time.Millisecond,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if !fail("XREAD", err) {
				return
			}
			continue
		}
		backoff = 50 * time.Millisecond
		if rd.down.Swap(false) {
			b.ps.cnt.reconnects.Add(1)
			b.log.Warn("redis stream reachable again", "stream", rd.stream)
		}
		var entries []redis.XMessage
		if len(res) > 0 {
			entries = res[0].Messages
		}
		if rd.recheck || len(entries) == adapter.DefaultStreamReadCount {
			b.checkTrimmed(rd)
		}
		for _, e := range entries {
			b.onEntry(rd, e)
		}
	}
}

// position starts rd at its stream's last entry, as the adapter's "$".
func (b *streamsBroker) position(rd *streamReader) error {
	info, err := b.rdb.XInfoStream(b.ctx, rd.stream).Result()
	switch {
	case err != nil && strings.Contains(err.Error(), "no such key"):
		rd.last, rd.base = "0-0", 0
	case err != nil:
		return err
	default:
		rd.last, rd.base = info.LastGeneratedID, info.EntriesAdded
		if info.EntriesAdded == 0 && info.Length > 0 {
			rd.base = -1 // Redis before 7.0: no entries-added
		}
	}
	rd.read = 0
	if r := b.srv.recovery; r != nil {
		if o, ok := parseStreamOffset(rd.last); ok {
			r.readTo(rd.stream, o)
		}
	}
	rd.ready.Store(true)
	return nil
}

// checkTrimmed counts the entries of rd's stream that MaxLen trimmed before
// rd read them: after an outage, and whenever a read comes back full (the
// reader is behind).
func (b *streamsBroker) checkTrimmed(rd *streamReader) {
	rd.recheck = false
	info, err := b.rdb.XInfoStream(b.ctx, rd.stream).Result()
	if err != nil {
		return
	}
	first := info.FirstEntry.ID
	if first == "" || !streamIDLess(rd.last, first) {
		return // everything after rd.last is still in the stream
	}
	if rd.base < 0 || info.EntriesAdded == 0 {
		b.log.Error("redis stream entries may have been trimmed (maxLen) before this server read them", "stream", rd.stream, "after", rd.last, "oldest", first)
		return
	}
	lost := info.EntriesAdded - rd.base - rd.read - info.Length
	switch {
	case lost > 0:
		b.ps.cnt.streamTrimmed.Add(lost)
		b.log.Error("redis stream entries were trimmed (maxLen) before this server read them: lost", "stream", rd.stream, "entries", lost, "after", rd.last)
		rd.read += lost
	case lost < 0:
		// The stream was recreated (Redis restarted without its data):
		// count from here.
		rd.base, rd.read = info.EntriesAdded-info.Length, 0
	}
}

// streamIDLess compares two stream entry ids.
func streamIDLess(a, b string) bool {
	x, ok1 := parseStreamOffset(a)
	y, ok2 := parseStreamOffset(b)
	return ok1 && ok2 && x.less(y)
}

// onEntry handles one stream entry, in stream order.
func (b *streamsBroker) onEntry(rd *streamReader, e redis.XMessage) {
	rd.last = e.ID
	rd.read++
	o, okOff := parseStreamOffset(e.ID)
	r := b.srv.recovery
	logged := false
	defer func() {
		if r != nil && okOff && !logged {
			r.readTo(rd.stream, o)
		}
	}()
	msg, err := adapter.DecodeStreamEntry(e.Values)
	if err != nil {
		if !errors.Is(err, adapter.ErrNoNamespace) {
			b.log.Debug("ignoring malformed stream entry", "stream", rd.stream, "id", e.ID, "err", err)
		}
		return
	}
	b.ps.cnt.received.Add(1)
	m := b.ps.m
	ns := b.srv.namespace(msg.Nsp, false)
	switch msg.Type {
	case adapter.ShardedBroadcast:
		if msg.RequestID != "" {
			m.onMessage(msg.Nsp, msg)
			return
		}
		if ns == nil {
			return
		}
		p, ok := clusterPacket(msg.Nsp, msg)
		if !ok {
			return
		}
		opts := broadcastOptsOf(msg.Opts)
		if msg.UID != m.uid {
			b.ps.cnt.broadcasts.Add(1)
		}
		if r != nil && okOff && logs(p, opts) {
			logged = true
			r.deliverAt(rd.stream, o, ns, p, opts)
			return
		}
		p.Namespace = ns.name
		ns.queue(newMessage(p), opts)
	case adapter.SocketsJoin, adapter.SocketsLeave, adapter.DisconnectSockets:
		if msg.UID != m.uid {
			m.applySockets(ns, msg)
		}
	case adapter.ShardedServerSideEmit:
		m.onMessage(msg.Nsp, msg)
	}
}

// xadd adds an entry to the stream of namespace nsp and returns its id.
func (b *streamsBroker) xadd(ctx context.Context, nsp string, t adapter.MessageType, data []byte) (string, error) {
	if b.isDown() {
		b.ps.cnt.publishErrors.Add(1)
		return "", ErrRedisUnavailable
	}
	e := adapter.StreamEntry{UID: b.ps.uid, Nsp: nsp, Type: t, Data: data}
	id, err := b.rdb.Do(ctx, adapter.XAddArgs(b.opts.Stream(nsp), b.opts.MaxLen, e)...).Text()
	if err != nil {
		b.ps.cnt.publishErrors.Add(1)
	}
	return id, err
}

// broadcast adds p to the namespace's stream; local clients get it when
// the reader reads it back (see above). When Redis does not take it, it
// is delivered to the local clients only, without offset, and the error
// returned.
func (b *streamsBroker) broadcast(ctx context.Context, p socketio.Packet, opts broadcastOpts) error {
	var v adapter.Value
	if len(p.Attachments) == 0 {
		v = adapter.Value{B: p.Data, JSON: true}
	} else {
		mp, err := jsonToMsgpack(notepack.MsgpackJS, nil, p.Data, p.Attachments)
		if err != nil {
			return fmt.Errorf("relay: encode broadcast: %w", err)
		}
		v = adapter.Value{B: mp}
	}
	data, err := adapter.AppendStreamBroadcast(nil, v, adapterOpts(opts))
	if err != nil {
		return fmt.Errorf("relay: encode broadcast: %w", err)
	}
	if _, err := b.xadd(ctx, p.Namespace, adapter.ShardedBroadcast, data); err != nil {
		if ns := b.srv.namespace(p.Namespace, false); ns != nil {
			p.Namespace = ns.name
			ns.queue(newMessage(p), opts)
		}
		return fmt.Errorf("relay: publish broadcast: %w", err)
	}
	return nil
}

func (b *streamsBroker) socketsJoin(ctx context.Context, nsp string, opts broadcastOpts, rooms []string) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { ns.join(sk, rooms) })
	}
	return b.request(ctx, nsp, adapter.SocketsJoin, adapter.AppendStreamSocketsRequest(nil, adapterOpts(opts), adapter.Dedup(rooms)))
}

func (b *streamsBroker) socketsLeave(ctx context.Context, nsp string, opts broadcastOpts, rooms []string) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { ns.leave(sk, rooms) })
	}
	return b.request(ctx, nsp, adapter.SocketsLeave, adapter.AppendStreamSocketsRequest(nil, adapterOpts(opts), adapter.Dedup(rooms)))
}

func (b *streamsBroker) disconnectSockets(ctx context.Context, nsp string, opts broadcastOpts, close bool) error {
	if ns := b.srv.namespace(nsp, false); ns != nil {
		ns.forEach(opts, func(sk *Socket) { sk.Disconnect(close) })
	}
	return b.request(ctx, nsp, adapter.DisconnectSockets, adapter.AppendStreamDisconnect(nil, adapterOpts(opts), close))
}

func (b *streamsBroker) request(ctx context.Context, nsp string, t adapter.MessageType, data []byte) error {
	if _, err := b.xadd(ctx, nsp, t, data); err != nil {
		return fmt.Errorf("relay: publish request: %w", err)
	}
	return nil
}

// sessionTimeout bounds the Redis commands of session keeping, which run
// apart from the broker's context so that the sessions of a shutdown are
// stored before the broker closes.
const sessionTimeout = 5 * time.Second

// keepSession stores k as the adapter does (sessionStore).
func (b *streamsBroker) keepSession(k *keptSocket) {
	data := socketDataJSONOf(k.data)
	mp, err := notepack.MsgpackJS.AppendJSON(nil, data)
	if err != nil {
		mp = []byte{0x80}
	}
	val := adapter.AppendStreamSession(nil, adapter.StreamSession{
		SID: k.sid, PID: k.pid, Rooms: append([]string{k.sid}, k.rooms...), Data: mp,
	})
	key := b.opts.SessionKey(k.pid)
	ttl := b.srv.cfg.Recovery.MaxDisconnection
	done := make(chan struct{})
	b.storingMu.Lock()
	b.storing[key] = done
	b.storingMu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer func() {
			b.storingMu.Lock()
			if b.storing[key] == done {
				delete(b.storing, key)
			}
			b.storingMu.Unlock()
			close(done)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
		defer cancel()
		if err := b.rdb.Set(ctx, key, val, ttl).Err(); err != nil {
			b.ps.cnt.publishErrors.Add(1)
			b.log.Warn("storing a session for recovery failed", "err", err)
		}
	}()
}

// takeSession reads and deletes the session of pid (sessionStore).
func (b *streamsBroker) takeSession(ctx context.Context, pid string, ns *namespace) (*keptSocket, error) {
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	key := b.opts.SessionKey(pid)
	b.storingMu.Lock()
	stored := b.storing[key]
	b.storingMu.Unlock()
	if stored != nil {
		// This server is still storing the session: read it after.
		select {
		case <-stored:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var get *redis.StringCmd
	_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		p.Del(ctx, key)
		return nil
	})
	if errors.Is(err, redis.Nil) || (err == nil && get.Err() == redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := adapter.DecodeStreamSession([]byte(get.Val()))
	if err != nil {
		return nil, err
	}
	k := &keptSocket{sid: s.SID, pid: s.PID, ns: ns}
	for _, r := range s.Rooms {
		if r != s.SID {
			k.rooms = append(k.rooms, r)
		}
	}
	if len(s.Data) > 0 {
		if js, _, err := notepack.AppendToJSON(nil, s.Data, nil); err == nil {
			k.data = json.RawMessage(js)
		}
	}
	return k, nil
}

func (b *streamsBroker) streamOf(nsp string) string { return b.opts.Stream(nsp) }

// packetsAfter reads the stream after o (sessionStore), as the adapter's
// restoreSession does, without its cap on the number of reads.
func (b *streamsBroker) packetsAfter(ctx context.Context, stream string, o offset) ([]storedPacket, offset, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	id := o.streamID()
	at, err := b.rdb.XRange(ctx, stream, id, id).Result()
	if err != nil || len(at) == 0 {
		return nil, o, false, err
	}
	var out []storedPacket
	last := o
	const page = 1000
	for {
		next, ok := adapter.NextStreamOffset(last.streamID())
		if !ok {
			return nil, o, false, nil
		}
		es, err := b.rdb.XRangeN(ctx, stream, next, "+", page).Result()
		if err != nil {
			return nil, o, false, err
		}
		for _, e := range es {
			eo, ok := parseStreamOffset(e.ID)
			if !ok {
				continue
			}
			last = eo
			msg, err := adapter.DecodeStreamEntry(e.Values)
			if err != nil || msg.Type != adapter.ShardedBroadcast || msg.RequestID != "" {
				continue
			}
			p, ok := clusterPacket(msg.Nsp, msg)
			opts := broadcastOptsOf(msg.Opts)
			if ok && logs(p, opts) {
				out = append(out, storedPacket{off: eo, nsp: msg.Nsp, p: p, opts: opts})
			}
		}
		if len(es) < page {
			return out, last, true, nil
		}
	}
}

// streamsWire is the streams adapter's pub/sub encoding: every message
// msgpack (@msgpack/msgpack).
type streamsWire struct{}

func (streamsWire) broadcastWithAck(uid, nsp, requestID string, data []byte, opts adapter.Opts) ([]byte, error) {
	return adapter.AppendStreamsBroadcastWithAck(nil, uid, nsp, requestID, data, opts), nil
}

func (streamsWire) fetchSockets(uid, nsp, requestID string, opts adapter.Opts) []byte {
	return adapter.AppendStreamsFetchSockets(nil, uid, nsp, requestID, opts)
}

func (streamsWire) serverSideEmit(uid, nsp, requestID string, data []byte) ([]byte, error) {
	return adapter.AppendStreamsServerSideEmit(nil, uid, nsp, requestID, data), nil
}

func (streamsWire) clientCount(uid, nsp, requestID string, n int) []byte {
	return adapter.AppendStreamsClientCount(nil, uid, nsp, requestID, n)
}

func (streamsWire) packetResponse(uid, nsp string, t adapter.MessageType, requestID string, packet []byte) ([]byte, error) {
	return adapter.AppendStreamsPacketResponse(nil, uid, nsp, t, requestID, packet), nil
}

func (streamsWire) fetchResponse(uid, nsp, requestID string, sockets [][]byte) ([]byte, error) {
	mp := make([][]byte, len(sockets))
	for i, js := range sockets {
		var err error
		if mp[i], err = notepack.MsgpackJS.AppendJSON(nil, js); err != nil {
			return nil, err
		}
	}
	return adapter.AppendStreamsFetchResponse(nil, uid, nsp, requestID, mp), nil
}
