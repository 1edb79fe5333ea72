package relay

import (
	"context"
	"encoding/json"
	"errors"

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
// (this one first), like io.in(room).fetchSockets(). When some servers do
// not answer within Config.RequestsTimeout (or before ctx's deadline), it
// returns the sockets of those that did with an error wrapping
// [ErrRequestTimeout].
func (o Operator) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	if _, ok := o.srv.broker.(*memoryBroker); ok {
		return o.localSockets(), nil
	}
	// The request goes out first and this server describes its own sockets
	// while the others describe theirs.
	local := make(chan []RemoteSocket, 1)
	go func() { local <- o.localSockets() }()
	raw, err := o.remoteSockets(ctx)
	out := <-local
	if err != nil && !errors.Is(err, ErrRequestTimeout) {
		return nil, err
	}
	for _, r := range raw {
		var s RemoteSocket
		if json.Unmarshal(r, &s) == nil {
			out = append(out, s)
		}
	}
	return out, err // a timeout: the answers that arrived are kept
}

// localSockets describes the selected sockets of this server.
func (o Operator) localSockets() []RemoteSocket {
	var out []RemoteSocket
	if ns := o.srv.namespace(o.nsp, false); ns != nil {
		ns.forEach(o.opts, func(sk *Socket) {
			out = append(out, RemoteSocket{ID: sk.id, Rooms: sk.Rooms(), Data: socketDataJSON(sk), Handshake: appendHandshakeJSON(nil, sk)})
		})
	}
	return out
}

// remoteSockets asks the other servers of the cluster for their selected
// sockets, each as JSON. On a timeout it returns the answers that arrived
// with an error wrapping [ErrRequestTimeout].
func (o Operator) remoteSockets(ctx context.Context) ([]json.RawMessage, error) {
	var raw []json.RawMessage
	switch b := o.srv.broker.(type) {
	case *redisBroker:
		ao := adapterOpts(o.opts)
		res, err := b.request(ctx, o.nsp, func(id string) []byte { return adapter.AppendFetchRequest(nil, b.uid, id, ao) })
		for _, r := range res {
			raw = append(raw, r.Sockets...)
		}
		return raw, err
	case clusterBroker:
		res, err := b.member().fetch(ctx, o.nsp, adapterOpts(o.opts))
		for _, r := range res {
			for _, v := range r.Sockets {
				if js, err := v.AppendJSON(nil, nil); err == nil {
					raw = append(raw, js)
				}
			}
		}
		return raw, err
	}
	return nil, nil
}
