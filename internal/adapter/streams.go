package adapter

import (
	"encoding/base64"
	"errors"
	"strconv"
	"unicode/utf16"

	"github.com/siorelay/siorelay/internal/notepack"
)

// The defaults of @socket.io/redis-streams-adapter 0.3.1's options.
const (
	DefaultStreamName       = "socket.io"
	DefaultStreamMaxLen     = 10000
	DefaultSessionKeyPrefix = "sio:session:"
	DefaultStreamReadCount  = 100  // readCount: entries per XREAD
	DefaultStreamBlockMS    = 5000 // blockTimeInMs: XREAD BLOCK
)

// StreamsOptions are the options of a @socket.io/redis-streams-adapter
// 0.3.1 cluster that decide names on the wire. Every field's zero value
// means the adapter's default. Its methods are safe for concurrent use.
type StreamsOptions struct {
	// StreamName is the adapter's streamName. Zero means "socket.io".
	StreamName string
	// StreamCount is the adapter's streamCount. Zero means 1.
	StreamCount int
	// MaxLen is the adapter's maxLen, the approximate bound of each stream
	// (XADD MAXLEN ~). Zero means 10000.
	MaxLen int64
	// ChannelPrefix is the adapter's channelPrefix. Zero means "socket.io".
	ChannelPrefix string
	// SessionKeyPrefix is the adapter's sessionKeyPrefix. Zero means
	// "sio:session:".
	SessionKeyPrefix string
}

// ErrStreamsOptions is returned by [StreamsOptions.Validate].
var ErrStreamsOptions = errors.New("adapter: invalid streams options")

// WithDefaults returns o with every zero field set to its default.
func (o StreamsOptions) WithDefaults() StreamsOptions {
	if o.StreamName == "" {
		o.StreamName = DefaultStreamName
	}
	if o.StreamCount == 0 {
		o.StreamCount = 1
	}
	if o.MaxLen == 0 {
		o.MaxLen = DefaultStreamMaxLen
	}
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = DefaultKey
	}
	if o.SessionKeyPrefix == "" {
		o.SessionKeyPrefix = DefaultSessionKeyPrefix
	}
	return o
}

// Validate reports a negative StreamCount or MaxLen.
func (o StreamsOptions) Validate() error {
	if o.StreamCount < 0 {
		return errors.Join(ErrStreamsOptions, errors.New("stream count must not be negative"))
	}
	if o.MaxLen < 0 {
		return errors.Join(ErrStreamsOptions, errors.New("stream max length must not be negative"))
	}
	return nil
}

// Stream is the stream a namespace's messages are added to, as the
// adapter's computeStreamName chooses it: StreamName when StreamCount is 1,
// else "<StreamName>-<HashCode(nsp) % StreamCount>". The remainder keeps
// the hash's sign, as JavaScript's % does, so a namespace whose hash is
// negative goes to a stream such as "socket.io--2" that no server of the
// cluster reads (see [StreamsOptions.Streams]): its broadcasts reach only
// the sending server's own clients. This is what the package does, and
// what interoperating requires.
func (o StreamsOptions) Stream(nsp string) string {
	o = o.WithDefaults()
	if o.StreamCount == 1 {
		return o.StreamName
	}
	return o.StreamName + "-" + strconv.Itoa(int(HashCode(nsp))%o.StreamCount)
}

// Streams are the streams every server reads: StreamName, or
// "<StreamName>-0" … "<StreamName>-<StreamCount-1>".
func (o StreamsOptions) Streams() []string {
	o = o.WithDefaults()
	if o.StreamCount == 1 {
		return []string{o.StreamName}
	}
	names := make([]string, o.StreamCount)
	for i := range names {
		names[i] = o.StreamName + "-" + strconv.Itoa(i)
	}
	return names
}

// Channel is a namespace's public pub/sub channel, "<ChannelPrefix>#<nsp>#":
// requests go there (PUBLISH, or SPUBLISH with useShardedPubSub), and its
// PUBSUB NUMSUB (SHARDNUMSUB) is the adapter's serverCount.
func (o StreamsOptions) Channel(nsp string) string {
	return ShardedChannel(o.WithDefaults().ChannelPrefix, nsp)
}

// ResponseChannel is a server's private channel in a namespace,
// "<ChannelPrefix>#<nsp>#<uid>#", where the answers to its requests go.
func (o StreamsOptions) ResponseChannel(nsp, uid string) string {
	return ShardedRoomChannel(o.WithDefaults().ChannelPrefix, nsp, uid)
}

// SessionKey is the key a session with private id pid is stored under.
func (o StreamsOptions) SessionKey(pid string) string {
	return o.WithDefaults().SessionKeyPrefix + pid
}

// HashCode is the adapter's hashCode: the Java-style 31·h + c over the
// string's UTF-16 code units, in signed 32-bit arithmetic.
func HashCode(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			h = h*31 + r1
			h = h*31 + r2
			continue
		}
		h = h*31 + r
	}
	return h
}

// StreamEntry is one stream entry as the adapter writes it. Its fields go
// to XADD in the order uid, nsp, type, data.
type StreamEntry struct {
	UID  string
	Nsp  string
	Type MessageType
	// Data is the "data" field: JSON text, or base64 of msgpack when the
	// message holds binary (see [AppendStreamBroadcast]). Nil leaves the
	// field out, as Node does for messages without data.
	Data []byte
}

// XAddArgs returns the command the adapter sends to add e to stream:
//
//	XADD <stream> MAXLEN ~ <maxLen> * uid <uid> nsp <nsp> type <type> [data <data>]
//
// for a go-redis client's Do (which routes it by the stream's slot in a
// Cluster). The entry id is the reply.
func XAddArgs(stream string, maxLen int64, e StreamEntry) []any {
	n := 12
	if e.Data != nil {
		n = 14
	}
	args := make([]any, 0, n)
	args = append(args, "XADD", stream, "MAXLEN", "~", maxLen, "*",
		"uid", e.UID, "nsp", e.Nsp, "type", typeString(e.Type))
	if e.Data != nil {
		args = append(args, "data", e.Data)
	}
	return args
}

// typeString is message.type.toString() without allocating for the types
// ClusterAdapter defines.
func typeString(t MessageType) string {
	if t >= 0 && int(t) < len(typeStrings) {
		return typeStrings[t]
	}
	return strconv.Itoa(int(t))
}

var typeStrings = [...]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"}

// AppendStreamEventData appends the msgpack array [event, ...args] as
// @msgpack/msgpack would write it (notepack.MsgpackJS), the data a stream
// broadcast or a streams server-side emit carries. Args are encoded as by
// notepack.AppendValue.
func AppendStreamEventData(dst []byte, event string, args []any) ([]byte, error) {
	return appendEventData(dst, notepack.MsgpackJS, event, args)
}

// AppendStreamBroadcast appends the "data" field of a BROADCAST entry
// (type 3, a broadcast without ack): JSON.stringify of
// {packet: {type: 2, data}, opts: {rooms, except, flags}} when data holds no
// binary, and otherwise base64 (with padding) of that object's msgpack.
//
// data is the event's [event, ...args]: msgpack (as AppendStreamEventData
// writes it, or as DecodeStreamEntry returned it), or JSON text as
// JSON.stringify writes it (which holds no binary).
func AppendStreamBroadcast(dst []byte, data Value, opts Opts) ([]byte, error) {
	if data.JSON || !notepack.ContainsBinary(data.B) {
		n := len(dst)
		dst = append(dst, `{"packet":{"type":2,"data":`...)
		var err error
		if dst, err = data.AppendJSON(dst, nil); err != nil {
			return dst[:n], invalid("broadcast data: %v", err)
		}
		dst = append(dst, `},"opts":`...)
		dst = appendOptsJSON(dst, opts, true)
		return append(dst, '}'), nil
	}
	// The msgpack is built at the end of dst, then replaced by its base64.
	start := len(dst)
	dst = append(dst, 0x82, 0xa6, 'p', 'a', 'c', 'k', 'e', 't', 0x82, 0xa4, 't', 'y', 'p', 'e', EventPacket, 0xa4, 'd', 'a', 't', 'a')
	dst = appendRawOrNil(dst, data.B)
	dst = append(dst, 0xa4, 'o', 'p', 't', 's')
	dst = appendOptsMsgpack(dst, opts)
	return appendBase64InPlace(dst, start), nil
}

// appendBase64InPlace replaces dst[start:] by its standard base64.
func appendBase64InPlace(dst []byte, start int) []byte {
	raw := len(dst) - start
	enc := base64.StdEncoding.EncodedLen(raw)
	dst = append(dst, make([]byte, enc)...)
	// Encode into the tail, then move it over the raw bytes (the regions
	// may overlap, which copy handles).
	base64.StdEncoding.Encode(dst[start+raw:], dst[start:start+raw])
	copy(dst[start:], dst[start+raw:])
	return dst[:start+enc]
}

// AppendStreamSocketsRequest appends the "data" field of a SOCKETS_JOIN
// (4) or SOCKETS_LEAVE (5) entry:
// {"opts":{"rooms","except","flags"},"rooms":[...]}.
func AppendStreamSocketsRequest(dst []byte, opts Opts, rooms []string) []byte {
	dst = append(dst, `{"opts":`...)
	dst = appendOptsJSON(dst, opts, true)
	dst = append(dst, `,"rooms":`...)
	dst = appendJSONStrings(dst, rooms)
	return append(dst, '}')
}

// AppendStreamDisconnect appends the "data" field of a DISCONNECT_SOCKETS
// (6) entry: {"opts":{"rooms","except","flags"},"close":bool}.
func AppendStreamDisconnect(dst []byte, opts Opts, close bool) []byte {
	dst = append(dst, `{"opts":`...)
	dst = appendOptsJSON(dst, opts, true)
	dst = append(dst, `,"close":`...)
	dst = appendJSONBool(dst, close)
	return append(dst, '}')
}
