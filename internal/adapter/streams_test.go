package adapter

import (
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/siorelay/siorelay/internal/notepack"
)

// argStrings renders XAddArgs as the strings Redis received.
func argStrings(args []any) []string {
	out := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case []byte:
			out[i] = string(v)
		default:
			out[i] = fmt.Sprint(v)
		}
	}
	return out
}

// TestStreamXAdd decodes every captured XADD, re-encodes it (from msgpack,
// so the JSON is really written, not copied) and compares the whole
// command with what the Node adapter sent.
func TestStreamXAdd(t *testing.T) {
	c := capture(t)
	xadds := c.allCommands("XADD")
	if len(xadds) < 10 {
		t.Fatalf("only %d XADDs captured", len(xadds))
	}
	for _, x := range xadds {
		stream, maxLen := x[1], x[4]
		m, err := DecodeStreamEntry(x.fields())
		if err != nil {
			t.Errorf("DecodeStreamEntry(%q): %v", x, err)
			continue
		}
		var data []byte
		switch m.Type {
		case ShardedBroadcast:
			mp, err := m.Packet.AppendMsgpack(nil)
			if err == nil && m.Packet.JSON {
				mp, err = notepack.MsgpackJS.AppendJSON(nil, m.Packet.B)
			}
			if err != nil {
				t.Fatal(err)
			}
			if data, err = AppendStreamBroadcast(nil, Value{B: mp}, m.Opts); err != nil {
				t.Fatal(err)
			}
		case SocketsJoin, SocketsLeave:
			data = AppendStreamSocketsRequest(nil, m.Opts, m.Rooms)
		case DisconnectSockets:
			data = AppendStreamDisconnect(nil, m.Opts, m.Close)
		default:
			t.Errorf("unexpected type %d in the stream", m.Type)
			continue
		}
		var ml int64
		fmt.Sscan(maxLen, &ml)
		got := argStrings(XAddArgs(stream, ml, StreamEntry{UID: m.UID, Nsp: m.Nsp, Type: m.Type, Data: data}))
		if x[len(x)-1] != "" && strings.HasPrefix(x[len(x)-1], `{"packet":{"type":2,"data":["bin",{"type":"Buffer"`) {
			continue // onlyPlaintext: Buffers as JSON objects; not something we write
		}
		if d := cmp.Diff([]string(x), got); d != "" {
			t.Errorf("XADD (-node +go):\n%s", d)
		}
	}
}

// TestStreamBroadcastFromGo encodes the captured broadcasts from Go values,
// as the emitter does.
func TestStreamBroadcastFromGo(t *testing.T) {
	c := capture(t)
	tests := []struct {
		step  string
		event string
		args  []any
		opts  Opts
	}{
		{"io.emit", "hello", []any{"world", 1, 1.5, map[string]any{"a": []any{true, nil}}}, Opts{}},
		{"to except volatile compress binary", "bin", []any{[]byte{1, 2, 3}, map[string]any{"x": []byte{4}}},
			Opts{Rooms: []string{"r1"}, Except: []string{"r2"}, Flags: Flags{}.WithVolatile().WithCompress(false)}},
		{"emit while c1 is away", "missed", []any{1}, Opts{Rooms: []string{"r1"}}},
	}
	for _, tt := range tests {
		want := c.step(t, "defaults", tt.step, "XADD")[0]
		data, err := AppendStreamEventData(nil, tt.event, tt.args)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendStreamBroadcast([]byte("prefix"), Value{B: data}, tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "prefix"+want[13] {
			t.Errorf("%s\n got %s\nwant %s", tt.step, got[6:], want[13])
		}
	}
	// JSON text in, as the relay may hold it.
	want := c.step(t, "defaults", "io.emit", "XADD")[0][13]
	got, err := AppendStreamBroadcast(nil, Value{B: []byte(`["hello","world",1,1.5,{"a":[true,null]}]`), JSON: true}, Opts{})
	if err != nil || string(got) != want {
		t.Errorf("from JSON: %s %v", got, err)
	}
}

func TestDecodeStreamEntryVectors(t *testing.T) {
	c := capture(t)
	get := func(step string) ClusterMessage {
		t.Helper()
		m, err := DecodeStreamEntry(c.step(t, "defaults", step, "XADD")[0].fields())
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return m
	}
	m := get("to except volatile compress binary")
	var bins [][]byte
	js, err := m.Packet.AppendJSON(nil, &bins)
	if err != nil || string(js) != `["bin",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]` ||
		len(bins) != 2 || !m.Opts.Flags.Volatile || !m.Opts.Flags.Has(FlagCompress) || m.Opts.Flags.Compress ||
		!slices.Equal(m.Opts.Rooms, []string{"r1"}) || !slices.Equal(m.Opts.Except, []string{"r2"}) {
		t.Errorf("binary broadcast: %s %x %+v %v", js, bins, m, err)
	}
	// ArrayBuffer became {}, a Uint16Array its bytes, a Date the timestamp
	// extension, an undefined property nil, 2^53 a float64.
	m = get("binary: ArrayBuffer, Uint16Array, Date, undefined, big numbers")
	js, err = m.Packet.AppendJSON(nil, nil)
	const kinds = `["kinds",{"type":"Buffer","data":[9]},{},{"type":"Buffer","data":[0,1,1,0]},"1970-01-01T00:00:01.500Z",{"u":null,"n":9007199254740992,"m":-9007199254740994,"f":0,"g":4294967296}]`
	if err != nil || string(js) != kinds {
		t.Errorf("kinds:\n got %s\nwant %s (%v)", js, kinds, err)
	}
	m = get("socketsJoin")
	if m.Type != SocketsJoin || !slices.Equal(m.Rooms, []string{"r3", "r4"}) || !slices.Equal(m.Opts.Rooms, []string{"r1"}) || m.UID != "000d1a2734414e5b" {
		t.Errorf("socketsJoin: %+v", m)
	}
	m = get("disconnectSockets")
	if m.Type != DisconnectSockets || !m.Close || m.Nsp != "/admin" {
		t.Errorf("disconnectSockets: %+v", m)
	}
}

func TestDecodeStreamEntryShapes(t *testing.T) {
	// What @socket.io/redis-streams-emitter writes (from its source: packet
	// with nsp, opts rooms/flags/except, server-side emit in the stream).
	emitter := map[string]any{"uid": "emitter", "nsp": "/", "type": "3",
		"data": `{"packet":{"type":2,"data":["e",1],"nsp":"/"},"opts":{"rooms":["a"],"flags":{"volatile":true},"except":["b"]}}`}
	m, err := DecodeStreamEntry(emitter)
	if err != nil || m.UID != "emitter" || string(m.Packet.B) != `["e",1]` || !m.Opts.Flags.Volatile || m.Opts.Except[0] != "b" {
		t.Errorf("emitter broadcast: %+v %v", m, err)
	}
	m, err = DecodeStreamEntry(map[string]any{"uid": "emitter", "nsp": "/", "type": "9", "data": `{"packet":["sse",2]}`})
	if err != nil || m.Type != ShardedServerSideEmit || string(m.Packet.B) != `["sse",2]` {
		t.Errorf("emitter server-side emit: %+v %v", m, err)
	}
	// parseInt leniency, and []byte values.
	for typ, want := range map[string]MessageType{" 4": 4, "4.9": 4, "+5": 5, "6abc": 6, "\n13": 13} {
		m, err := DecodeStreamEntry(map[string]any{"nsp": []byte("/"), "type": typ})
		if err != nil || m.Type != want {
			t.Errorf("type %q: %v %v", typ, m.Type, err)
		}
	}
	// URL-safe base64 without padding, as Buffer.from accepts it.
	raw := append([]byte{0x82, 0xa6, 'p', 'a', 'c', 'k', 'e', 't', 0x82, 0xa4, 't', 'y', 'p', 'e', 2, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xc4, 1, 0xfb},
		0xa4, 'o', 'p', 't', 's', 0x80)
	b64 := strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(string(appendBase64InPlace(raw, 0))), "=")
	m, err = DecodeStreamEntry(map[string]any{"nsp": "/", "type": "3", "data": b64})
	if err != nil || m.Packet.JSON || hex.EncodeToString(m.Packet.B) != "91c401fb" {
		t.Errorf("url-safe base64: %+v %v", m, err)
	}

	if _, err := DecodeStreamEntry(map[string]any{"uid": "x", "type": "3"}); err != ErrNoNamespace {
		t.Errorf("no nsp: %v", err)
	}
	if _, err := DecodeStreamEntry(map[string]any{"nsp": "", "type": "3"}); err != ErrNoNamespace {
		t.Errorf("empty nsp: %v", err)
	}
	for _, bad := range []map[string]any{
		{"nsp": "/"},
		{"nsp": "/", "type": "x"},
		{"nsp": "/", "type": "99999999999999"},
		{"nsp": 1, "type": "3"},
		{"nsp": "/", "type": "3", "data": "{"},
		{"nsp": "/", "type": "3", "data": "!!!"},
		{"nsp": "/", "type": "3", "data": "kQ=="},           // [1]: not a map
		{"nsp": "/", "type": "3", "data": "gKA="},           // {} then trailing data
		{"nsp": "/", "type": "3", "data": `{"packet":"x"}`}, // broadcast packet not an object
	} {
		if _, err := DecodeStreamEntry(bad); err == nil {
			t.Errorf("DecodeStreamEntry(%v) succeeded", bad)
		}
	}
}

// TestStreamsPubSub decodes every captured PUBLISH/SPUBLISH and encodes it
// again from what was decoded.
func TestStreamsPubSub(t *testing.T) {
	c := capture(t)
	pubs := append(c.allCommands("PUBLISH"), c.allCommands("SPUBLISH")...)
	seen := map[MessageType]bool{}
	for _, p := range pubs {
		m, err := DecodeStreamsMessage([]byte(p[2]))
		if err != nil {
			t.Errorf("DecodeStreamsMessage(%x): %v", p[2], err)
			continue
		}
		seen[m.Type] = true
		var got []byte
		switch m.Type {
		case ShardedServerSideEmit:
			got = AppendStreamsServerSideEmit(nil, m.UID, m.Nsp, m.RequestID, m.Packet.B)
		case ShardedBroadcast:
			got = AppendStreamsBroadcastWithAck(nil, m.UID, m.Nsp, m.RequestID, m.Packet.B, m.Opts)
		case FetchSockets:
			got = AppendStreamsFetchSockets(nil, m.UID, m.Nsp, m.RequestID, m.Opts)
		case FetchSocketsResponse:
			var socks [][]byte
			for _, s := range m.Sockets {
				socks = append(socks, s.B)
			}
			got = AppendStreamsFetchResponse(nil, m.UID, m.Nsp, m.RequestID, socks)
		case ServerSideEmitResponse, ShardedBroadcastAck:
			got = AppendStreamsPacketResponse(nil, m.UID, m.Nsp, m.Type, m.RequestID, m.Packet.B)
		case ShardedBroadcastCount:
			got = AppendStreamsClientCount(nil, m.UID, m.Nsp, m.RequestID, m.ClientCount)
		}
		if string(got) != p[2] {
			t.Errorf("type %d\n got %x\nwant %x", m.Type, got, p[2])
		}
	}
	for _, want := range []MessageType{ShardedServerSideEmit, ShardedBroadcast, FetchSockets, FetchSocketsResponse,
		ServerSideEmitResponse, ShardedBroadcastAck, ShardedBroadcastCount} {
		if !seen[want] {
			t.Errorf("no captured message of type %d", want)
		}
	}
	// From Go values: io.serverSideEmit("sse", 1, "two", {three: [3]}).
	want := c.step(t, "defaults", "serverSideEmit", "PUBLISH")[0]
	data, _ := AppendStreamEventData(nil, "sse", []any{1, "two", map[string]any{"three": []int{3}}})
	if got := AppendStreamsServerSideEmit(nil, "000d1a2734414e5b", "/", "", data); string(got) != want[2] {
		t.Errorf("server-side emit\n got %x\nwant %x", got, want[2])
	}
	if _, err := DecodeStreamsMessage([]byte(`{"type":9}`)); err == nil {
		t.Error("JSON pub/sub message accepted")
	}
	// An ack with no argument (undefined) is written as nil.
	if got := AppendStreamsPacketResponse(nil, "u", "/", ShardedBroadcastAck, "r", nil); hex.EncodeToString(got) != "84a4747970650ca46461746182a9726571756573744964a172a67061636b6574c0a3756964a175a36e7370a12f" {
		t.Errorf("undefined ack: %x", got)
	}
}

func TestStreamSession(t *testing.T) {
	c := capture(t)
	for _, set := range c.allCommands("SET") {
		s, err := DecodeStreamSession([]byte(set[2]))
		if err != nil {
			t.Fatalf("DecodeStreamSession(%s): %v", set[2], err)
		}
		if !strings.HasSuffix(set[1], s.PID) || set[3] != "PX" || set[4] != "60000" || !slices.Contains(s.Rooms, s.SID) {
			t.Errorf("SET %q: %+v", set, s)
		}
		if got := AppendStreamSession(nil, s); string(got) != set[2] {
			t.Errorf("session\n got %s\nwant %s", got, set[2])
		}
	}
	opts := StreamsOptions{SessionKeyPrefix: "sess:"}
	if k := opts.SessionKey("p"); k != "sess:p" {
		t.Errorf("SessionKey: %s", k)
	}
	s := StreamSession{SID: "s", PID: "p", Rooms: []string{"s", "r"}}
	back, err := DecodeStreamSession(AppendStreamSession(nil, s))
	if err != nil || cmp.Diff(s, back, cmpopts.EquateEmpty()) != "" {
		t.Errorf("round trip without data: %+v %v", back, err)
	}
	for _, bad := range []string{"", "!", "kA==" /* [] */, "gaNzaWShcw==" /* {sid:"s"} */} {
		if _, err := DecodeStreamSession([]byte(bad)); err == nil {
			t.Errorf("DecodeStreamSession(%q) succeeded", bad)
		}
	}
}

func TestStreamOffsets(t *testing.T) {
	valid := map[string]bool{"1-0": true, "1796567754526-12": true, "1-": false, "-1": false, "1-2-3": false, "a-1": false, "": false, "1": false, "$": false}
	for s, want := range valid {
		if ValidStreamOffset(s) != want {
			t.Errorf("ValidStreamOffset(%q) = %v", s, !want)
		}
	}
	// The restore captured: XRANGE <offset> <offset>, then from the next id.
	c := capture(t)
	xr := c.step(t, "defaults", "restoreSession on another server", "XRANGE")
	if xr[0][2] != xr[0][3] {
		t.Fatalf("first XRANGE %q", xr[0])
	}
	if next, ok := NextStreamOffset(xr[0][2]); !ok || next != xr[1][2] || xr[1][3] != "+" {
		t.Errorf("NextStreamOffset(%s) = %s, captured %q", xr[0][2], next, xr[1])
	}
	if _, ok := NextStreamOffset("1-18446744073709551615"); ok {
		t.Error("sequence overflow accepted")
	}
	tests := []struct {
		rooms []string
		opts  Opts
		want  bool
	}{
		{[]string{"id", "r1"}, Opts{}, true},
		{[]string{"id", "r1"}, Opts{Rooms: []string{"r1"}}, true},
		{[]string{"id", "r1"}, Opts{Rooms: []string{"r2"}}, false},
		{[]string{"id", "r1"}, Opts{Except: []string{"r1"}}, false},
		{[]string{"id", "r1"}, Opts{Rooms: []string{"r1"}, Except: []string{"id"}}, false},
	}
	for _, tt := range tests {
		if got := SessionIncludes(tt.rooms, tt.opts); got != tt.want {
			t.Errorf("SessionIncludes(%v, %+v) = %v", tt.rooms, tt.opts, got)
		}
	}
}

func TestStreamNames(t *testing.T) {
	c := capture(t)
	for _, h := range c.Hashes {
		if got := HashCode(h.Nsp); got != h.Hash {
			t.Errorf("HashCode(%q) = %d, want %d", h.Nsp, got, h.Hash)
		}
		for _, s := range h.Streams {
			if got := (StreamsOptions{StreamCount: s.Count}).Stream(h.Nsp); got != s.Name {
				t.Errorf("Stream(%q) with %d streams = %s, want %s", h.Nsp, s.Count, got, s.Name)
			}
		}
	}
	// The streams the captured servers read, and where they added entries.
	var read []string
	for _, x := range c.allCommands("XREAD") {
		if x[len(x)-1] == "$" && !slices.Contains(read, x[len(x)-2]) {
			read = append(read, x[len(x)-2])
		}
		if d := cmp.Diff([]string{"XREAD", "COUNT", "100", "BLOCK", "5000", "STREAMS"}, []string(x[:6])); d != "" {
			t.Fatalf("XREAD form: %s", d)
		}
	}
	opts := StreamsOptions{StreamName: "sio", StreamCount: 3, ChannelPrefix: "myapp"}
	for _, s := range append(opts.Streams(), StreamsOptions{}.Streams()...) {
		if !slices.Contains(read, s) {
			t.Errorf("%s is not read by the captured servers (%v)", s, read)
		}
	}
	if s := opts.Stream("/notifications"); s != "sio--2" || slices.Contains(read, s) {
		t.Errorf("negative hash: %s (read: %v)", s, read)
	}
	if ch := opts.Channel("/"); ch != c.step(t, "streamCount", "serverSideEmit", "SPUBLISH")[0][1] {
		t.Errorf("Channel = %s", ch)
	}
	if ch := (StreamsOptions{}).ResponseChannel("/", "u1"); ch != "socket.io#/#u1#" {
		t.Errorf("ResponseChannel = %s", ch)
	}
	if err := (StreamsOptions{StreamCount: -1}).Validate(); err == nil {
		t.Error("negative count accepted")
	}
	if err := (StreamsOptions{MaxLen: -1}).Validate(); err == nil {
		t.Error("negative maxLen accepted")
	}
}

// TestStreamsDialect checks the captured rows where @msgpack/msgpack and
// notepack differ on numbers, against both dialects of notepack.
func TestStreamsDialect(t *testing.T) {
	values := map[string]float64{"2^53": 1 << 53, "-(2^53)-2": -(1 << 53) - 2, "2^64": math.Pow(2, 64), "2^53-1": 1<<53 - 1, "-0": math.Copysign(0, -1)}
	n := 0
	for _, row := range capture(t).Dialect {
		v, ok := values[row.Name]
		if !ok {
			continue
		}
		n++
		js, _ := notepack.MsgpackJS.AppendValue(nil, v)
		np, _ := notepack.AppendValue(nil, v)
		if hex.EncodeToString(js) != row.Msgpack || hex.EncodeToString(np) != row.Notepack {
			t.Errorf("%s: MsgpackJS %x (want %s), notepack %x (want %s)", row.Name, js, row.Msgpack, np, row.Notepack)
		}
	}
	if n != len(values) {
		t.Errorf("%d of %d rows found", n, len(values))
	}
}
