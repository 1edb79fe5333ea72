package nodetest

import (
	"context"
	"time"
)

// StreamsOptions are @socket.io/redis-streams-adapter 0.3.1's options for a
// peer with Mode "streams" (PeerConfig.Key is its channelPrefix). Every
// zero value means the adapter's default.
type StreamsOptions struct {
	StreamName       string        // streamName; zero means "socket.io"
	StreamCount      int           // streamCount; zero means 1
	MaxLen           int64         // maxLen; zero means 10000
	ReadCount        int           // readCount (entries per XREAD); zero means 100
	BlockTime        time.Duration // blockTimeInMs; zero means 5s
	SessionKeyPrefix string        // sessionKeyPrefix; zero means "sio:session:"
	UseShardedPubSub bool          // useShardedPubSub (SPUBLISH/SSUBSCRIBE, Redis 7+)
	OnlyPlaintext    bool          // onlyPlaintext (binary written as JSON, Buffers as objects)
}

func (o StreamsOptions) wire() map[string]any {
	m := map[string]any{}
	set := func(k string, v any, ok bool) {
		if ok {
			m[k] = v
		}
	}
	set("streamName", o.StreamName, o.StreamName != "")
	set("streamCount", o.StreamCount, o.StreamCount != 0)
	set("maxLen", o.MaxLen, o.MaxLen != 0)
	set("readCount", o.ReadCount, o.ReadCount != 0)
	set("blockTimeInMs", o.BlockTime.Milliseconds(), o.BlockTime > 0)
	set("sessionKeyPrefix", o.SessionKeyPrefix, o.SessionKeyPrefix != "")
	set("useShardedPubSub", true, o.UseShardedPubSub)
	set("onlyPlaintext", true, o.OnlyPlaintext)
	return m
}

// Stream returns the stream a streams peer adds nsp's messages to ("" is
// "/"; "" for a namespace the peer does not have, or another Mode).
func (p *Peer) Stream(nsp string) string { return p.streams[nspOrRoot(nsp)] }

// Session is a session a streams peer with Recovery stored in Redis for a
// socket that lost its connection.
type Session struct {
	Key string `json:"key"` // the Redis key, sessionKeyPrefix + PID
	PID string `json:"pid"`
	PX  int64  `json:"px"` // the expiry it was stored with, in milliseconds
}

// WaitSession waits until the peer has stored a session (SET acknowledged
// by Redis) and returns it. Sessions are reported in the order they are
// stored; pid "" takes the next one.
func (p *Peer) WaitSession(ctx context.Context, pid string) (Session, error) {
	l, err := p.WaitFor(ctx, func(l Line) bool {
		return l.Type == "session" && (pid == "" || l.Str("pid") == pid)
	})
	if err != nil {
		return Session{}, err
	}
	var s Session
	return s, l.Decode(&s)
}

// DropConnection closes the Engine.IO connection of the socket id of nsp
// on this peer, from the server side, as a network loss would: the socket
// disconnects with "forced close" (recoverable, so with Recovery its
// session is stored) and the client sees "transport close".
func (p *Peer) DropConnection(ctx context.Context, nsp, id string) error {
	_, err := p.Call(ctx, map[string]any{"cmd": "socketDrop", "nsp": nspOrRoot(nsp), "sid": id})
	return err
}
