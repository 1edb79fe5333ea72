package engineio

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// packetCases drives both TestEncodePacket and TestDecodePacket. wire is the
// content of one WebSocket frame (binaryFrame says which kind of frame);
// supportsBinary is the encoder setting that produces wire from packet.
var packetCases = []struct {
	name           string
	wire           string
	binaryFrame    bool
	supportsBinary bool
	packet         Packet
}{
	{"open", `0{"sid":"x"}`, false, true, Packet{Type: Open, Data: []byte(`{"sid":"x"}`)}},
	{"close", "1", false, true, Packet{Type: Close}},
	{"ping", "2", false, true, Packet{Type: Ping}},
	{"ping probe", "2probe", false, true, Packet{Type: Ping, Data: []byte("probe")}},
	{"pong", "3", false, true, Packet{Type: Pong}},
	{"pong probe", "3probe", false, true, Packet{Type: Pong, Data: []byte("probe")}},
	{"message", "4hello", false, true, Packet{Type: Message, Data: []byte("hello")}},
	{"message utf8", "4é€😀", false, false, Packet{Type: Message, Data: []byte("é€😀")}},
	{"message empty", "4", false, true, Packet{Type: Message}},
	{"socket.io event", `42["a",1]`, false, true, Packet{Type: Message, Data: []byte(`2["a",1]`)}},
	{"upgrade", "5", false, true, Packet{Type: Upgrade}},
	{"noop", "6", false, true, Packet{Type: Noop}},
	{"binary frame", "\x01\x02\x03", true, true, Packet{Type: Message, Data: []byte{1, 2, 3}, Binary: true}},
	{"binary frame empty", "", true, true, Packet{Type: Message, Data: []byte{}, Binary: true}},
	{"binary as base64", "bAQIDBA==", false, false, Packet{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}},
	{"binary as base64 3", "bAQID", false, false, Packet{Type: Message, Data: []byte{1, 2, 3}, Binary: true}},
	{"binary as base64 empty", "b", false, false, Packet{Type: Message, Data: []byte{}, Binary: true}},
}

var cmpPacket = cmpopts.EquateEmpty()

func TestEncodePacket(t *testing.T) {
	for _, tc := range packetCases {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendPacket(nil, tc.packet, tc.supportsBinary)
			if string(got) != tc.wire {
				t.Errorf("AppendPacket = %q, want %q", got, tc.wire)
			}
			if bf := tc.packet.IsBinaryFrame(tc.supportsBinary); bf != tc.binaryFrame {
				t.Errorf("IsBinaryFrame = %v, want %v", bf, tc.binaryFrame)
			}
			// Appending keeps the prefix.
			got = AppendPacket([]byte("xy"), tc.packet, tc.supportsBinary)
			if string(got) != "xy"+tc.wire {
				t.Errorf("AppendPacket with prefix = %q", got)
			}
		})
	}
}

func TestDecodePacket(t *testing.T) {
	for _, tc := range packetCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodePacket([]byte(tc.wire), tc.binaryFrame)
			if err != nil {
				t.Fatalf("DecodePacket(%q) error: %v", tc.wire, err)
			}
			if diff := cmp.Diff(tc.packet, got, cmpPacket); diff != "" {
				t.Errorf("DecodePacket(%q) mismatch (-want +got):\n%s", tc.wire, diff)
			}
		})
	}
}

func TestDecodePacketInvalid(t *testing.T) {
	for _, in := range []string{"", "7", "9", "a", "x", "B", " 4", "\x004", "/4", "é"} {
		if p, err := DecodePacket([]byte(in), false); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("DecodePacket(%q) = %+v, %v; want ErrInvalidPacket", in, p, err)
		}
	}
}

func TestDecodePacketAliases(t *testing.T) {
	in := []byte("4hello")
	p, err := DecodePacket(in, false)
	if err != nil {
		t.Fatal(err)
	}
	in[1] = 'H'
	if string(p.Data) != "Hello" {
		t.Errorf("Data does not alias the input: %q", p.Data)
	}
}

var payloadCases = []struct {
	name    string
	wire    string
	packets []Packet
}{
	{"one", "4hello", []Packet{{Type: Message, Data: []byte("hello")}}},
	{"three", "4test1\x1e4test2\x1e4test3", []Packet{
		{Type: Message, Data: []byte("test1")}, {Type: Message, Data: []byte("test2")}, {Type: Message, Data: []byte("test3")}}},
	{"text and binary", "4hello\x1ebAQIDBA==", []Packet{
		{Type: Message, Data: []byte("hello")}, {Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}}},
	{"binary event", "451-[\"bin-back\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID", []Packet{
		{Type: Message, Data: []byte(`51-["bin-back",{"_placeholder":true,"num":0}]`)}, {Type: Message, Data: []byte{1, 2, 3}, Binary: true}}},
	{"noop close", "6\x1e1", []Packet{{Type: Noop}, {Type: Close}}},
	{"empty binary", "b\x1eb", []Packet{{Type: Message, Binary: true}, {Type: Message, Binary: true}}},
	{"wire-format V26", "44/nope,{\"message\":\"Invalid namespace\"}\x1e42[\"message-back\",1,\"é\",{\"a\":null}]\x1e452-[\"bin-back\",{\"_placeholder\":true,\"num\":0},{\"x\":{\"_placeholder\":true,\"num\":1}}]\x1ebAQID\x1ebBA==\x1e461-12[7,{\"_placeholder\":true,\"num\":0}]\x1ebCQ==\x1e44/secure,{\"message\":\"not authorized\",\"data\":{\"code\":42}}",
		[]Packet{
			{Type: Message, Data: []byte(`4/nope,{"message":"Invalid namespace"}`)},
			{Type: Message, Data: []byte(`2["message-back",1,"é",{"a":null}]`)},
			{Type: Message, Data: []byte(`52-["bin-back",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]`)},
			{Type: Message, Data: []byte{1, 2, 3}, Binary: true},
			{Type: Message, Data: []byte{4}, Binary: true},
			{Type: Message, Data: []byte(`61-12[7,{"_placeholder":true,"num":0}]`)},
			{Type: Message, Data: []byte{9}, Binary: true},
			{Type: Message, Data: []byte(`4/secure,{"message":"not authorized","data":{"code":42}}`)},
		}},
}

func decodeAll(data []byte) ([]Packet, error) {
	var got []Packet
	err := DecodePayload(data, func(p Packet) error {
		got = append(got, p)
		return nil
	})
	return got, err
}

func TestEncodePayload(t *testing.T) {
	for _, tc := range payloadCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := AppendPayload(nil, tc.packets...); string(got) != tc.wire {
				t.Errorf("AppendPayload = %q, want %q", got, tc.wire)
			}
		})
	}
	if got := AppendPayload([]byte("x")); string(got) != "x" {
		t.Errorf("AppendPayload with no packets = %q", got)
	}
}

func TestDecodePayload(t *testing.T) {
	for _, tc := range payloadCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll([]byte(tc.wire))
			if err != nil {
				t.Fatalf("DecodePayload error: %v", err)
			}
			if diff := cmp.Diff(tc.packets, got, cmpPacket); diff != "" {
				t.Errorf("DecodePayload mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodePayloadStopsAtError(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Packet
	}{
		{"", nil},
		{"\x1e", nil},
		{"4a\x1e", []Packet{{Type: Message, Data: []byte("a")}}},
		{"4a\x1ex\x1e4b", []Packet{{Type: Message, Data: []byte("a")}}},
		{"2\x1e9", []Packet{{Type: Ping}}},
	} {
		got, err := decodeAll([]byte(tc.in))
		if !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("DecodePayload(%q) err = %v, want ErrInvalidPacket", tc.in, err)
		}
		if diff := cmp.Diff(tc.want, got, cmpPacket); diff != "" {
			t.Errorf("DecodePayload(%q) delivered (-want +got):\n%s", tc.in, diff)
		}
	}
	// An error from the callback stops decoding and is returned as is.
	stop := errors.New("stop")
	n := 0
	err := DecodePayload([]byte("4a\x1e4b\x1e4c"), func(Packet) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("callback error: err=%v after %d packets, want stop after 2", err, n)
	}
}

func TestAppendOpen(t *testing.T) {
	for _, tc := range []struct {
		h    Handshake
		want string
	}{
		{Handshake{SID: "OINQgpWBAU4MaTveAAAA", Upgrades: []string{"websocket"}, PingInterval: 300000e6, PingTimeout: 200000e6, MaxPayload: 1000000},
			`0{"sid":"OINQgpWBAU4MaTveAAAA","upgrades":["websocket"],"pingInterval":300000,"pingTimeout":200000,"maxPayload":1000000}`},
		{Handshake{SID: "abc", PingInterval: 25000e6, PingTimeout: 20000e6, MaxPayload: 1e6},
			`0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`},
		{Handshake{SID: `a"b`, Upgrades: []string{"websocket", "webtransport"}, PingInterval: 300e6, PingTimeout: 200e6, MaxPayload: 0},
			`0{"sid":"a\"b","upgrades":["websocket","webtransport"],"pingInterval":300,"pingTimeout":200,"maxPayload":0}`},
	} {
		got := AppendOpen(nil, tc.h)
		if string(got) != tc.want {
			t.Errorf("AppendOpen(%+v) =\n%s\nwant\n%s", tc.h, got, tc.want)
		}
		h, err := ParseOpen(got[1:])
		if err != nil {
			t.Fatalf("ParseOpen: %v", err)
		}
		if diff := cmp.Diff(tc.h, h, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ParseOpen round trip (-want +got):\n%s", diff)
		}
	}
	if _, err := ParseOpen([]byte(`{"upgrades":[]}`)); err == nil {
		t.Error("ParseOpen without sid: no error")
	}
	if _, err := ParseOpen([]byte(`nope`)); err == nil {
		t.Error("ParseOpen of garbage: no error")
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		code   ErrorCode
		msg    string
		want   string
		status int
	}{
		{TransportUnknown, "", `{"code":0,"message":"Transport unknown"}`, 400},
		{UnknownSID, "", `{"code":1,"message":"Session ID unknown"}`, 400},
		{BadHandshakeMethod, "", `{"code":2,"message":"Bad handshake method"}`, 400},
		{BadRequest, "", `{"code":3,"message":"Bad request"}`, 400},
		{Forbidden, "", `{"code":4,"message":"Forbidden"}`, 403},
		{Forbidden, "denied!", `{"code":4,"message":"denied!"}`, 403},
		{UnsupportedProtocolVersion, "", `{"code":5,"message":"Unsupported protocol version"}`, 400},
		{BadRequest, "a\"\\\n\x01\u2028é", `{"code":3,"message":"a\"\\\n\u0001` + "\u2028é" + `"}`, 400},
		{BadRequest, "bad\xffutf8", `{"code":3,"message":"bad` + "\uFFFD" + `utf8"}`, 400},
	} {
		if got := AppendErrorJSON(nil, tc.code, tc.msg); string(got) != tc.want {
			t.Errorf("AppendErrorJSON(%d, %q) = %s, want %s", tc.code, tc.msg, got, tc.want)
		}
		if got := tc.code.HTTPStatus(); got != tc.status {
			t.Errorf("%d.HTTPStatus() = %d, want %d", tc.code, got, tc.status)
		}
	}
	if got := ErrorCode(9).Message(); got != "Unknown error code 9" {
		t.Errorf("ErrorCode(9).Message() = %q", got)
	}
}

func TestPacketTypeString(t *testing.T) {
	want := []string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}
	for i, w := range want {
		if got := (Open + PacketType(i)).String(); got != w {
			t.Errorf("String() = %q, want %q", got, w)
		}
	}
	if got := PacketType('x').String(); got != "PacketType(x)" {
		t.Errorf("invalid type String() = %q", got)
	}
}

func TestNewSID(t *testing.T) {
	seen := make(map[string]bool)
	var prev []byte
	for i := 0; i < 1000; i++ {
		id := NewSID()
		if len(id) != SIDLen {
			t.Fatalf("NewSID() = %q, length %d", id, len(id))
		}
		for _, c := range []byte(id) {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("NewSID() = %q has character %q", id, c)
			}
		}
		if seen[id] {
			t.Fatalf("NewSID() repeated %q", id)
		}
		seen[id] = true
		// The last 4 characters encode the 3 counter bytes, which advance by one.
		raw := DecodeBase64([]byte(id))
		if len(raw) != 15 {
			t.Fatalf("NewSID() %q decodes to %d bytes", id, len(raw))
		}
		if prev != nil {
			p := uint32(prev[12])<<16 | uint32(prev[13])<<8 | uint32(prev[14])
			c := uint32(raw[12])<<16 | uint32(raw[13])<<8 | uint32(raw[14])
			if c != (p+1)&0xFFFFFF {
				t.Fatalf("counter went from %d to %d", p, c)
			}
		}
		prev = raw
	}
}

func TestNewSIDConcurrent(t *testing.T) {
	const goroutines, each = 8, 500
	ch := make(chan string, goroutines*each)
	done := make(chan struct{})
	for g := 0; g < goroutines; g++ {
		go func() {
			for i := 0; i < each; i++ {
				ch <- NewSID()
			}
			done <- struct{}{}
		}()
	}
	for g := 0; g < goroutines; g++ {
		<-done
	}
	close(ch)
	seen := make(map[string]bool)
	for id := range ch {
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	if len(seen) != goroutines*each {
		t.Fatalf("got %d ids", len(seen))
	}
}

func TestDecodeBase64(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"AQID", "\x01\x02\x03"},
		{"AQIDBA==", "\x01\x02\x03\x04"},
		{"AQIDBA", "\x01\x02\x03\x04"},
		{"AQ ID", "\x01\x02\x03"},
		{"AQ=ID", "\x01"},
		{"-_-_", "\xfb\xff\xbf"},
		{"+/+/", "\xfb\xff\xbf"},
		{"A", ""},
		{"ŁŁŁŁ", "\x00\x00\x00"},
	} {
		if got := DecodeBase64([]byte(tc.in)); !bytes.Equal(got, []byte(tc.want)) {
			t.Errorf("DecodeBase64(%q) = %x, want %x", tc.in, got, tc.want)
		}
	}
}
