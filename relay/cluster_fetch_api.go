package relay

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/siorelay/siorelay/internal/adapter"
)

// RemoteSocket is a socket of any server of the cluster as
// io.fetchSockets() describes it.
type RemoteSocket struct {
	ID    string   `json:"id"`
	Rooms []string `json:"rooms"` // its own id room first
	// Data is socket.data as JSON ({} when never set).
	Data json.RawMessage `json:"data"`
	// Handshake is socket.handshake as JSON: headers, time, address,
	// xdomain, secure, issued, url, query, auth.
	Handshake json.RawMessage `json:"handshake"`
}

// FetchSockets returns the selected sockets of every server of the cluster
// (this one first), like io.in(room).fetchSockets(). Servers that do not
// answer within Config.RequestsTimeout make it fail with
// [ErrRequestTimeout].
func (o Operator) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	var out []RemoteSocket
	if ns := o.srv.namespace(o.nsp, false); ns != nil {
		ns.forEach(o.opts, func(sk *Socket) {
			out = append(out, RemoteSocket{ID: sk.id, Rooms: sk.Rooms(), Data: socketDataJSON(sk), Handshake: appendHandshakeJSON(nil, sk)})
		})
	}
	var raw []json.RawMessage
	switch b := o.srv.broker.(type) {
	case *redisBroker:
		ao := b.adapterOpts(o.opts)
		res, err := b.request(ctx, o.nsp, func(id string) []byte { return adapter.AppendFetchRequest(nil, b.uid, id, ao) })
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			raw = append(raw, r.Sockets...)
		}
	case *shardedBroker:
		res, err := b.fetch(ctx, o.nsp, b.adapterOpts(o.opts))
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			for _, v := range r.Sockets {
				js, err := v.AppendJSON(nil, nil)
				if err == nil {
					raw = append(raw, js)
				}
			}
		}
	}
	for _, r := range raw {
		var s RemoteSocket
		if err := json.Unmarshal(r, &s); err == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// fetch publishes FETCH_SOCKETS and collects the other servers' answers.
func (b *shardedBroker) fetch(ctx context.Context, nsp string, opts adapter.Opts) ([]adapter.ShardedMessage, error) {
	n, err := b.serverCount(ctx, nsp)
	if err != nil {
		return nil, fmt.Errorf("relay: count servers: %w", err)
	}
	want := n - 1
	if want <= 0 {
		return nil, nil
	}
	id := randomHex(8)
	ch := make(chan adapter.ShardedMessage, want)
	b.reqMu.Lock()
	b.fetches[id] = ch
	b.reqMu.Unlock()
	defer func() {
		b.reqMu.Lock()
		delete(b.fetches, id)
		b.reqMu.Unlock()
	}()
	if err := b.publishMain(ctx, nsp, adapter.AppendShardedFetchSockets(nil, b.uid, nsp, opts, id)); err != nil {
		return nil, err
	}
	return awaitAnswers(ctx, ch, want, b.srv.cfg.RequestsTimeout)
}
