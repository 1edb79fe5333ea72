package adapter

import (
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Captured vectors (wire-format.md §9) shared by the encoder and decoder
// tests.
var broadcastCases = []struct {
	name string
	hex  string
	want Broadcast
	// encode re-creates the bytes; nil when they come from a Node peer we do
	// not imitate (the Node emitter's key order is covered in emitter/).
	encode func() []byte
}{
	{
		name: "V10 io.emit",
		hex:  "93a641414141414183a47479706502a46461746192a568656c6c6fa5776f726c64a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380",
		want: Broadcast{UID: "AAAAAA", Packet: Packet{Type: 2, Nsp: "/", Data: []byte("\x92\xa5hello\xa5world")}},
		encode: func() []byte {
			return AppendBroadcast(nil, "AAAAAA", "/", []byte("\x92\xa5hello\xa5world"), Opts{})
		},
	},
	{
		name: "V11 except volatile compress",
		hex:  "93a641414141414183a47479706502a46461746191a178a36e7370a12f83a5726f6f6d7390a665786365707491a27233a5666c61677382a8766f6c6174696c65c3a8636f6d7072657373c2",
		want: Broadcast{UID: "AAAAAA", Packet: Packet{Type: 2, Nsp: "/", Data: []byte("\x91\xa1x")},
			Opts: Opts{Except: []string{"r3"}, Flags: Flags{}.WithVolatile().WithCompress(false)}},
		encode: func() []byte {
			return AppendBroadcast(nil, "AAAAAA", "/", []byte("\x91\xa1x"),
				Opts{Except: []string{"r3"}, Flags: Flags{}.WithVolatile().WithCompress(false)})
		},
	},
	{
		name: "V12 rooms binary",
		hex:  "93a641414141414183a47479706502a46461746193a362696ec403010203cb3ff8000000000000a36e7370a12f83a5726f6f6d7392a161a162a665786365707490a5666c61677380",
		want: Broadcast{UID: "AAAAAA", Packet: Packet{Type: 2, Nsp: "/", Data: []byte("\x93\xa3bin\xc4\x03\x01\x02\x03\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00")},
			Opts: Opts{Rooms: []string{"a", "b"}}},
	},
	{
		name: "V4 emitter order",
		hex:  "93a7656d697474657283a47479706502a46461746192a362696ec403010203a36e7370a62f61646d696e83a5726f6f6d7390a5666c61677382a8766f6c6174696c65c3a8636f6d7072657373c2a665786365707490",
		want: Broadcast{UID: "emitter", Packet: Packet{Type: 2, Nsp: "/admin", Data: []byte("\x92\xa3bin\xc4\x03\x01\x02\x03")},
			Opts: Opts{Flags: Flags{}.WithVolatile().WithCompress(false)}},
	},
	{
		name: "V23 legacy emitter without except",
		hex:  "93a7656d697474657283a47479706502a46461746192a568656c6c6fa5776f726c64a36e7370a12f82a5726f6f6d7390a5666c61677380",
		want: Broadcast{UID: "emitter", Packet: Packet{Type: 2, Nsp: "/", Data: []byte("\x92\xa5hello\xa5world")}},
	},
}

var cmpFlags = cmp.AllowUnexported(Flags{})

func TestBroadcast(t *testing.T) {
	for _, tt := range broadcastCases {
		t.Run(tt.name, func(t *testing.T) {
			wire := mustHex(t, tt.hex)
			got, err := DecodeBroadcast(wire)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, cmpFlags, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("decode (-want +got):\n%s", d)
			}
			if tt.encode != nil {
				if enc := hex.EncodeToString(tt.encode()); enc != tt.hex {
					t.Errorf("encode\n got %s\nwant %s", enc, tt.hex)
				}
			}
		})
	}
}

func TestBroadcastWithAckAndAck(t *testing.T) {
	data := []byte("\x92\xa3ask\x01")
	got := AppendBroadcastWithAck(nil, "AAAAAA", "n00Vfm", "/", data, Opts{Flags: Flags{}.WithTimeout(1000)})
	const v13 = "85a3756964a6414141414141a9726571756573744964a66e303056666da47479706507a67061636b657483a47479706502a46461746192a361736b01a36e7370a12fa46f70747383a5726f6f6d7390a665786365707490a5666c61677381a774696d656f7574cd03e8"
	if hex.EncodeToString(got) != v13 {
		t.Errorf("V13\n got %x\nwant %s", got, v13)
	}
	ack := AppendBroadcastAck(nil, "req9", mustHex(t, "82a3676f7405a3627566c402cafe"))
	const v16 = "83a47479706509a9726571756573744964a472657139a67061636b657482a3676f7405a3627566c402cafe"
	if hex.EncodeToString(ack) != v16 {
		t.Errorf("V16\n got %x\nwant %s", ack, v16)
	}
}

func TestJSONRequests(t *testing.T) {
	tests := []struct{ got, want string }{
		{string(AppendSocketsRequest(nil, "AAAAAA", RemoteJoin, Opts{Rooms: []string{"room1"}}, []string{"room2"})),
			`{"uid":"AAAAAA","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room2"]}`}, // V14
		{string(AppendDisconnectRequest(nil, "", Opts{Rooms: []string{"r"}}, true)),
			`{"type":4,"opts":{"rooms":["r"],"except":[]},"close":true}`}, // V7
		{string(AppendServerSideEmitRequest(nil, "emitter", "", []byte(`["ping",1,{"x":"y"}]`))),
			`{"uid":"emitter","type":6,"data":["ping",1,{"x":"y"}]}`}, // V8
		{string(AppendSocketsRequest(nil, "", RemoteLeave, Opts{Except: []string{"q\"\u2028"}}, []string{})),
			`{"type":3,"opts":{"rooms":[],"except":["q\"` + "\u2028" + `"]},"rooms":[]}`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got  %s\nwant %s", tt.got, tt.want)
		}
	}
}

func TestShardedBroadcastAck(t *testing.T) {
	// V22 is a BROADCAST_ACK response; here the request side with ack id.
	got, err := AppendShardedBroadcast(nil, "u", "/", []byte("\x91\xa1x"), Opts{Flags: Flags{}.WithTimeout(5)}, "rq")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":3,"data":{"packet":{"type":2,"data":["x"]},"requestId":"rq","opts":{"rooms":[],"except":[],"flags":{"timeout":5}}},"uid":"u","nsp":"/"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if c := ShardedBroadcastChannel("p", "/", []string{"room"}, Dynamic, true); c != "p#/#" {
		t.Errorf("ack broadcast channel %q", c)
	}
}

func TestLooksLikeSocketID(t *testing.T) {
	tests := map[string]bool{
		strings.Repeat("a", 20):       true,
		strings.Repeat("a", 19):       false,
		strings.Repeat("é", 20):       true, // 20 UTF-16 units, 40 bytes
		strings.Repeat("😀", 10):       true, // 10 astral chars = 20 units
		strings.Repeat("a", 18) + "😀": true,
		"":                            false,
	}
	for room, want := range tests {
		if got := LooksLikeSocketID(room); got != want {
			t.Errorf("LooksLikeSocketID(%q) = %v", room, got)
		}
	}
}

func TestDecodeBroadcastErrors(t *testing.T) {
	bad := []string{"", "90", "93a16101", "93a161c0c0", "93a16180" + "80",
		"93a16181a474797065a178" + "80",          // packet type not a number
		"93a16181a474797065028181a5726f6f6d73c3", // rooms not an array
		"93a16181a47479706502" + "80" + "c0",     // trailing data
	}
	for _, h := range bad {
		if _, err := DecodeBroadcast(mustHex(t, h)); err == nil {
			t.Errorf("DecodeBroadcast(%s) succeeded", h)
		}
	}
}

func FuzzDecodeBroadcast(f *testing.F) {
	for _, tt := range broadcastCases {
		f.Add(mustHex(f, tt.hex))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := DecodeBroadcast(in)
		if err != nil || !validUTF8(b) {
			return // the encoder replaces invalid UTF-8, so no round trip
		}
		// Whatever decodes re-encodes (in the adapter's key order) to
		// something that decodes to the same message.
		again, err := DecodeBroadcast(AppendBroadcast(nil, b.UID, b.Packet.Nsp, b.Packet.Data, b.Opts))
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		b.Packet.ID, b.Packet.HasID = 0, false // not carried by AppendBroadcast
		if b.Packet.Data == nil {
			b.Packet.Data = []byte{0xc0}
		}
		if d := cmp.Diff(b, again, cmpFlags, cmpopts.EquateEmpty()); d != "" {
			if b.Packet.Type == 2 {
				t.Fatalf("round trip (-first +second):\n%s", d)
			}
		}
	})
}

func validUTF8(b Broadcast) bool {
	all := append(append([]string{b.UID, b.Packet.Nsp}, b.Opts.Rooms...), b.Opts.Except...)
	for _, s := range all {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Request
	}{
		{"V14 join", []byte(`{"uid":"AAAAAA","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room2"]}`),
			Request{UID: "AAAAAA", Type: RemoteJoin, HasOpts: true, Opts: Opts{Rooms: []string{"room1"}}, Rooms: []string{"room2"}}},
		{"V7 emitter disconnect", []byte(`{"type":4,"opts":{"rooms":["r"],"except":[]},"close":true}`),
			Request{Type: RemoteDisconnect, HasOpts: true, Opts: Opts{Rooms: []string{"r"}}, Close: true}},
		{"V15 fetch", []byte(`{"uid":"AAAAAA","requestId":"GVHtAe","type":5,"opts":{"rooms":["room1"],"except":[]}}`),
			Request{UID: "AAAAAA", RequestID: "GVHtAe", Type: RemoteFetch, HasOpts: true, Opts: Opts{Rooms: []string{"room1"}}}},
		{"V8 server-side emit", []byte(`{"uid":"emitter","type":6,"data":["ping",1,{"x":"y"}]}`),
			Request{UID: "emitter", Type: ServerSideEmit, Data: []byte(`["ping",1,{"x":"y"}]`)}},
		{"V25 legacy join", []byte(`{"requestId":"uho8X2","type":2,"sid":"someSocketId","room":"room9"}`),
			Request{RequestID: "uho8X2", Type: RemoteJoin, SID: "someSocketId", Room: "room9"}},
		{"numeric rooms", []byte(`{"type":3,"opts":{"rooms":[1,2.5],"except":[]},"rooms":[3]}`),
			Request{Type: RemoteLeave, HasOpts: true, Opts: Opts{Rooms: []string{"1", "2.5"}}, Rooms: []string{"3"}}},
		{"V13 broadcast with ack", mustHex(t, "85a3756964a6414141414141a9726571756573744964a66e303056666da47479706507a67061636b657483a47479706502a46461746192a361736b01a36e7370a12fa46f70747383a5726f6f6d7390a665786365707490a5666c61677381a774696d656f7574cd03e8"),
			Request{UID: "AAAAAA", RequestID: "n00Vfm", Type: BroadcastWithAck, HasOpts: true,
				Packet: Packet{Type: 2, Nsp: "/", Data: []byte("\x92\xa3ask\x01")}, Opts: Opts{Flags: Flags{}.WithTimeout(1000)}}},
	}
	for _, tt := range tests {
		got, err := DecodeRequest(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if d := cmp.Diff(tt.want, got, cmpFlags, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
	for _, bad := range []string{``, `{`, `{"uid":"x"}`, `{"type":6,"data":{}}`, `{"type":2,"opts":{"rooms":[{}]}}`, "\x81\xa1x\x01"} {
		if _, err := DecodeRequest([]byte(bad)); err == nil {
			t.Errorf("DecodeRequest(%q) succeeded", bad)
		}
	}
}

func TestResponses(t *testing.T) {
	tests := []struct{ got, want string }{
		{string(AppendServerSideEmitResponse(nil, "req003", []byte(`{"ok":42}`))), `{"type":6,"requestId":"req003","data":{"ok":42}}`}, // V17
		{string(AppendRoomsResponse(nil, "req002", []string{})), `{"requestId":"req002","rooms":[]}`},                                  // V18
		{string(AppendClientCountResponse(nil, "req9", 1)), `{"type":8,"requestId":"req9","clientCount":1}`},                           // V16
		{string(AppendAllRoomsRequest(nil, "AAAAAA", "r1")), `{"uid":"AAAAAA","requestId":"r1","type":1}`},
		{string(AppendFetchRequest(nil, "AAAAAA", "GVHtAe", Opts{Rooms: []string{"room1"}})), `{"uid":"AAAAAA","requestId":"GVHtAe","type":5,"opts":{"rooms":["room1"],"except":[]}}`}, // V15
		{string(AppendSocketsResponse(nil, "q", [][]byte{AppendFetchedSocket(nil, "id1", []byte(`{"auth":{}}`), []string{"id1", "r"}, nil)})),
			`{"requestId":"q","sockets":[{"id":"id1","handshake":{"auth":{}},"rooms":["id1","r"]}]}`},
		{string(AppendLegacyResponse(nil, "uho8X2")), `{"requestId":"uho8X2"}`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got  %s\nwant %s", tt.got, tt.want)
		}
	}
	r, err := DecodeResponse(mustHex(t, "83a47479706509a9726571756573744964a472657139a67061636b657482a3676f7405a3627566c402cafe"))
	if err != nil || r.Type != BroadcastAck || r.RequestID != "req9" || hex.EncodeToString(r.Packet) != "82a3676f7405a3627566c402cafe" {
		t.Errorf("V16 ack: %+v %v", r, err)
	}
	r, err = DecodeResponse([]byte(`{"requestId":"x","rooms":["a",1]}`))
	if err != nil || r.Type != -1 || len(r.Rooms) != 2 || r.Rooms[1] != "1" {
		t.Errorf("rooms response: %+v %v", r, err)
	}
}

func TestDecodeShardedMessage(t *testing.T) {
	v19 := `{"type":3,"data":{"packet":{"type":2,"data":["hello","world"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}`
	m, err := DecodeShardedMessage([]byte(v19))
	if err != nil || m.Type != ShardedBroadcast || m.UID != "0123456789abcdef" || m.PacketType != 2 || string(m.Packet.B) != `["hello","world"]` || !m.Packet.JSON {
		t.Fatalf("V19: %+v %v", m, err)
	}
	v20 := mustHex(t, "84a47479706503a46461746182a67061636b657482a47479706502a46461746192a362696ec403010203a46f70747383a5726f6f6d7390a665786365707490a5666c61677380a3756964b030313233343536373839616263646566a36e7370a12f")
	m, err = DecodeShardedMessage(v20)
	if err != nil || m.Type != ShardedBroadcast || m.Packet.JSON {
		t.Fatalf("V20: %+v %v", m, err)
	}
	var bins [][]byte
	js, err := m.Packet.AppendJSON(nil, &bins)
	if err != nil || string(js) != `["bin",{"_placeholder":true,"num":0}]` || len(bins) != 1 {
		t.Errorf("V20 packet: %s %x %v", js, bins, err)
	}
	v22 := mustHex(t, "84a4747970650ca46461746182a9726571756573744964a472657139a67061636b657482a3676f7405a3627566c402cafea3756964b066393066313736623733323138366332a36e7370a12f")
	m, err = DecodeShardedMessage(v22)
	if err != nil || m.Type != ShardedBroadcastAck || m.RequestID != "req9" || hex.EncodeToString(m.Packet.B) != "82a3676f7405a3627566c402cafe" {
		t.Errorf("V22: %+v %v", m, err)
	}
	join := `{"type":4,"data":{"opts":{"rooms":["r1"],"except":["r2"],"flags":{}},"rooms":["r3"]},"uid":"u","nsp":"/a"}`
	m, err = DecodeShardedMessage([]byte(join))
	if err != nil || m.Type != SocketsJoin || m.Nsp != "/a" || len(m.Rooms) != 1 || m.Opts.Except[0] != "r2" {
		t.Errorf("join: %+v %v", m, err)
	}
	for _, bad := range []string{"", "{", `{"data":{}}`, "\x81\xa4data\x80"} {
		if _, err := DecodeShardedMessage([]byte(bad)); err == nil {
			t.Errorf("DecodeShardedMessage(%q) succeeded", bad)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"uid":"AAAAAA","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room2"]}`))
	f.Add([]byte(`{"type":3,"data":{"packet":{"type":2,"data":["hello","world"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"0","nsp":"/"}`))
	f.Add(mustHex(f, "85a3756964a6414141414141a9726571756573744964a66e303056666da47479706507a67061636b657483a47479706502a46461746192a361736b01a36e7370a12fa46f70747383a5726f6f6d7390a665786365707490a5666c61677381a774696d656f7574cd03e8"))
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _ = DecodeRequest(in)
		_, _ = DecodeResponse(in)
		if m, err := DecodeShardedMessage(in); err == nil {
			_, _ = m.Packet.AppendJSON(nil, new([][]byte))
			_, _ = m.Packet.AppendMsgpack(nil)
		}
	})
}
