package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/servercount"
	"github.com/siorelay/siorelay/internal/socketio"
)

// registerAck sets h to receive the client's ack of packet id; false if
// the socket is closed.
func (sk *Socket) registerAck(id int64, h ackHandler) bool {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if sk.closed {
		return false
	}
	if sk.acks == nil {
		sk.acks = make(map[int64]ackHandler)
	}
	sk.acks[id] = h
	return true
}

// onBroadcastWithAck answers a BROADCAST (7) request as Node's adapter
// does: deliver with one ack id to the selected local sockets, publish the
// client count (8, even 0), then one BROADCAST_ACK (9) per client ack,
// carrying its first argument.
func (b *redisBroker) onBroadcastWithAck(ns *namespace, nsp string, req adapter.Request) {
	timeout := b.timeout
	if req.Opts.Flags.Has(adapter.FlagTimeout) {
		timeout = time.Duration(req.Opts.Flags.Timeout) * time.Millisecond
	}
	countSent := make(chan struct{})
	p, ok := adapterPacket(nsp, req.Packet)
	n := localBroadcastWithAck(b.srv, ns, p, ok, req.Opts, timeout, func(first []byte) {
		if first == nil {
			first = []byte{0xc0} // an ack without arguments: undefined, sent as nil
		}
		msg := adapter.AppendBroadcastAck(nil, req.RequestID, first)
		if !b.track() {
			return
		}
		go func() {
			defer b.wg.Done()
			select {
			case <-countSent:
			case <-b.ctx.Done():
				return
			}
			b.respondNow(nsp, req.UID, msg)
		}()
	})
	count := adapter.AppendClientCountResponse(nil, req.RequestID, n)
	if !b.track() {
		return
	}
	go func() {
		defer b.wg.Done()
		b.respondNow(nsp, req.UID, count)
		close(countSent)
	}()
}

// localBroadcastWithAck is the local half of a cluster broadcast with
// acknowledgements, shared by both Redis brokers: it delivers p (when ok)
// with a fresh ack id to the sockets of ns that opts select and returns how
// many it reached. Each client's ack calls onAck with the ack's first
// argument as msgpack, or nil when the client acked with no argument; acks
// are accepted until timeout. onAck runs on the acking connection's
// goroutine.
func localBroadcastWithAck(srv *Server, ns *namespace, p socketio.Packet, ok bool, opts adapter.Opts, timeout time.Duration, onAck func(first []byte)) int {
	if ns == nil || !ok {
		return 0
	}
	id := broadcastAckIDs.Add(1)
	p.ID, p.HasID = id, true
	m := newMessage(p)
	bo := broadcastOpts{Rooms: opts.Rooms, Except: opts.Except, Volatile: opts.Flags.Volatile}
	registered, queued := sendWithAck(ns, m, id, bo, func(a ackData, ok bool) {
		if !ok {
			return
		}
		var first []byte
		if len(a.args) > 0 {
			var err error
			if first, err = jsonToNotepack(nil, a.args[0], a.atts); err != nil {
				return
			}
		}
		onAck(first)
	})
	srv.countDeliveries(m, queued)
	if len(registered) > 0 {
		time.AfterFunc(timeout, func() {
			for _, sk := range registered {
				sk.dropAck(id)
			}
		})
	}
	return len(registered)
}

// sendWithAck queues m, a packet with ack id id, to the sockets of ns that
// opts select, with h registered to receive each client's ack (and dropped
// at once where the send fails). It returns the sockets h was registered
// on, the acks to wait for (the caller drops h from them when it stops
// waiting), and how many sockets m was queued to (volatile drops not
// included).
func sendWithAck(ns *namespace, m *message, id int64, opts broadcastOpts, h ackHandler) (registered []*Socket, queued int) {
	ns.forEach(opts, func(sk *Socket) {
		if !sk.registerAck(id, h) {
			return
		}
		registered = append(registered, sk)
		if ok, err := sk.sess.sendMessage(m, opts.Volatile, false); err != nil {
			sk.dropAck(id)
		} else if ok {
			queued++
		}
	})
	return registered, queued
}

// respondNow publishes a response and waits for Redis's acknowledgement.
func (b *redisBroker) respondNow(nsp, uid string, msg []byte) {
	ch := adapter.ResponseChannel(b.key, nsp)
	if uid != "" {
		ch = adapter.SpecificResponseChannel(b.key, nsp, uid)
	}
	if err := b.publish(b.ctx, ch, msg); err != nil && b.ctx.Err() == nil {
		b.log.Warn("publish failed", "channel", ch, "err", err)
	}
}

// onServerSideEmit hands a server-side emit to Config.OnServerSideEmit.
// Without the hook it is ignored and an ack is never sent, as a Node
// server without a listener does.
func (b *redisBroker) onServerSideEmit(nsp string, req adapter.Request) {
	hook := b.srv.cfg.OnServerSideEmit
	if hook == nil {
		return
	}
	ev, ok := serverSideEvent(req.Data)
	if !ok {
		return
	}
	var ack AckFunc
	if req.RequestID != "" {
		ack = ackOnce(func(args []any) error {
			var data json.RawMessage
			if len(args) > 0 {
				texts, _, err := encodeArgs(args[:1])
				if err != nil {
					return err
				}
				data = texts[0]
			}
			// Always the shared channel, as Node does for these answers.
			return b.publish(b.ctx, adapter.ResponseChannel(b.key, nsp), adapter.AppendServerSideEmitResponse(nil, req.RequestID, data))
		})
	}
	if !b.track() {
		return
	}
	go func() {
		defer b.wg.Done()
		hook(b.ctx, nsp, ev, ack)
	}()
}

// serverSideEvent decodes the arguments of a server-side emit, the JSON
// array ["event", args...].
func serverSideEvent(js []byte) (Event, bool) {
	var all []json.RawMessage
	if err := json.Unmarshal(js, &all); err != nil || len(all) == 0 {
		return Event{}, false
	}
	var name string
	if json.Unmarshal(all[0], &name) != nil {
		return Event{}, false
	}
	return Event{Name: name, Args: all[1:]}, true
}

// ackOnce returns an AckFunc that calls send with its arguments the first
// time and returns ErrAckCalledTwice after that.
func ackOnce(send func(args []any) error) AckFunc {
	var done atomic.Bool
	return func(args ...any) error {
		if done.Swap(true) {
			return ErrAckCalledTwice
		}
		return send(args)
	}
}

// clusterRequest is a request of this server waiting for answers.
type clusterRequest struct {
	responses chan adapter.Response
}

// ownRequest reports whether requestID is one of this server's requests.
func (b *redisBroker) ownRequest(requestID string) bool {
	b.reqMu.Lock()
	defer b.reqMu.Unlock()
	_, ok := b.requests[requestID]
	_, ack := b.ackReqs[requestID]
	return ok || ack
}

func (b *redisBroker) onResponse(payload []byte) {
	res, err := adapter.DecodeResponse(payload)
	if err != nil {
		return
	}
	b.reqMu.Lock()
	r := b.requests[res.RequestID]
	ac := b.ackReqs[res.RequestID]
	b.reqMu.Unlock()
	if ac != nil {
		switch res.Type {
		case adapter.BroadcastClientCount:
			ac.addServer(res.ClientCount)
		case adapter.BroadcastAck:
			ac.addAck("", msgpackAckJSON(res.Packet))
		}
		return
	}
	if r == nil {
		return
	}
	// The decoded response may alias the payload, which go-redis does not
	// reuse; keep it as is.
	select {
	case r.responses <- res:
	default:
	}
}

func (b *redisBroker) failRequests() {
	b.reqMu.Lock()
	clear(b.requests)
	b.reqMu.Unlock()
}

// serverCount is PUBSUB NUMSUB of the request channel, summed over every
// master of a cluster, as the Node adapter counts.
func (b *redisBroker) serverCount(ctx context.Context, nsp string) (int, error) {
	return servercount.Count(ctx, b.rdb, adapter.RequestChannel(b.key, nsp), false)
}

// request publishes a request with a new id built by build, and collects
// the answers of every other server (serverCount-1) until b.timeout.
func (b *redisBroker) request(ctx context.Context, nsp string, build func(requestID string) []byte) ([]adapter.Response, error) {
	n, err := b.serverCount(ctx, nsp)
	if err != nil {
		return nil, fmt.Errorf("relay: count servers: %w", err)
	}
	want := n - 1
	if want <= 0 {
		return nil, nil
	}
	id := randomUID(6)
	r := &clusterRequest{responses: make(chan adapter.Response, want)}
	b.reqMu.Lock()
	b.requests[id] = r
	b.reqMu.Unlock()
	defer func() {
		b.reqMu.Lock()
		delete(b.requests, id)
		b.reqMu.Unlock()
	}()
	if err := b.publish(ctx, adapter.RequestChannel(b.key, nsp), build(id)); err != nil {
		return nil, fmt.Errorf("relay: publish request: %w", err)
	}
	return awaitAnswers(ctx, r.responses, want, b.timeout)
}

// awaitAnswers receives the want answers of a request from ch. When
// timeout or ctx's deadline passes first, it returns those that arrived
// with an error wrapping ErrRequestTimeout (and ctx's error); when ctx is
// cancelled, with ctx's error.
func awaitAnswers[T any](ctx context.Context, ch <-chan T, want int, timeout time.Duration) ([]T, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	out := make([]T, 0, want)
	for len(out) < want {
		select {
		case v := <-ch:
			out = append(out, v)
		case <-timer.C:
			return out, fmt.Errorf("%w: %d of %d other servers answered", ErrRequestTimeout, len(out), want)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return out, fmt.Errorf("%w: %d of %d other servers answered: %w", ErrRequestTimeout, len(out), want, ctx.Err())
			}
			return out, ctx.Err()
		}
	}
	return out, nil
}

// ErrRequestTimeout means some servers of the cluster did not answer a
// request within [Config.RequestsTimeout].
var ErrRequestTimeout = errors.New("relay: timeout reached while waiting for cluster responses")

// ServerCount returns the number of servers of the cluster serving
// namespace nsp (this one included), as adapter.serverCount() does: 1
// without Redis.
func (srv *Server) ServerCount(ctx context.Context, nsp string) (int, error) {
	switch b := srv.broker.(type) {
	case *redisBroker:
		return b.serverCount(ctx, nspOrRoot(nsp))
	case clusterBroker:
		return b.member().tr.serverCount(ctx, nspOrRoot(nsp))
	}
	return 1, nil
}

// AllRooms returns the rooms of namespace nsp on every server of the
// cluster (socket id rooms included), like adapter.allRooms(). When some
// servers do not answer in time, it returns the rooms of those that did
// with an error wrapping [ErrRequestTimeout].
func (srv *Server) AllRooms(ctx context.Context, nsp string) ([]string, error) {
	nsp = nspOrRoot(nsp)
	rooms := localRooms(srv.namespace(nsp, false))
	if _, ok := srv.broker.(clusterBroker); ok {
		return nil, ErrShardedAllRooms
	}
	b, ok := srv.broker.(*redisBroker)
	if !ok {
		return rooms, nil
	}
	res, err := b.request(ctx, nsp, func(id string) []byte { return adapter.AppendAllRoomsRequest(nil, b.uid, id) })
	if err != nil && !errors.Is(err, ErrRequestTimeout) {
		return nil, err
	}
	seen := make(map[string]bool, len(rooms))
	for _, r := range rooms {
		seen[r] = true
	}
	for _, x := range res {
		for _, r := range x.Rooms {
			if !seen[r] {
				seen[r] = true
				rooms = append(rooms, r)
			}
		}
	}
	return rooms, err
}

// ServerSideEmit sends an event to the other servers of the cluster
// (io.serverSideEmit): Node servers get it as a server-side event, relays
// in [Config.OnServerSideEmit]. Without Redis there is nobody to tell and
// it returns nil.
func (srv *Server) ServerSideEmit(ctx context.Context, nsp, event string, args ...any) error {
	nsp = nspOrRoot(nsp)
	switch b := srv.broker.(type) {
	case *redisBroker:
		p, err := eventPacket(nsp, event, args)
		if err != nil {
			return err
		}
		return b.publishRequest(ctx, nsp, adapter.AppendServerSideEmitRequest(nil, b.uid, "", p.Data))
	case clusterBroker:
		p, err := eventPacket(nsp, event, args)
		if err != nil {
			return err
		}
		return b.member().serverSideEmit(ctx, nsp, p)
	}
	return nil
}

func nspOrRoot(nsp string) string {
	if nsp == "" {
		return "/"
	}
	return nsp
}
