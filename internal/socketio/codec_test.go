package socketio

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var cmpPacket = cmpopts.EquateEmpty()

func b(s string) []byte { return []byte(s) }

// packetCases drive both TestEncode and TestDecode: wire is the packet text
// (the Engine.IO message without its '4'); attachments follow as binary
// messages. Examples come from wire-format.md §2, §7 and §9 V26.
var packetCases = []struct {
	name   string
	wire   string
	packet Packet
}{
	{"connect main", "0", Packet{Type: Connect, Namespace: "/"}},
	{"connect nsp auth", `0/admin,{"token":"abc"}`, Packet{Type: Connect, Namespace: "/admin", Data: b(`{"token":"abc"}`)}},
	{"connect reply", `0/admin,{"sid":"abc"}`, Packet{Type: Connect, Namespace: "/admin", Data: b(`{"sid":"abc"}`)}},
	{"connect custom no comma payload", `0/custom,`, Packet{Type: Connect, Namespace: "/custom"}},
	{"disconnect main", "1", Packet{Type: Disconnect, Namespace: "/"}},
	{"disconnect nsp", "1/admin,", Packet{Type: Disconnect, Namespace: "/admin"}},
	{"event", `2["foo"]`, Packet{Type: Event, Namespace: "/", Data: b(`["foo"]`)}},
	{"event no payload", "2", Packet{Type: Event, Namespace: "/"}},
	{"event numeric name", `2[42,"x"]`, Packet{Type: Event, Namespace: "/", Data: b(`[42,"x"]`)}},
	{"event nsp ack", `2/admin,13["bar"]`, Packet{Type: Event, Namespace: "/admin", ID: 13, HasID: true, Data: b(`["bar"]`)}},
	{"event ack id 0", `20["a"]`, Packet{Type: Event, Namespace: "/", ID: 0, HasID: true, Data: b(`["a"]`)}},
	{"event V26", `2["message",1,"é",{"a":null}]`, Packet{Type: Event, Namespace: "/", Data: b(`["message",1,"é",{"a":null}]`)}},
	{"event V26 ack", `12["ackme",7]`, Packet{Type: Disconnect, Namespace: "/", ID: 12, HasID: true}}, // see below: replaced
	{"ack", `3/admin,13["bar"]`, Packet{Type: Ack, Namespace: "/admin", ID: 13, HasID: true, Data: b(`["bar"]`)}},
	{"ack test suite", `3456[1,"2",{"3":[false]}]`, Packet{Type: Ack, Namespace: "/", ID: 456, HasID: true, Data: b(`[1,"2",{"3":[false]}]`)}},
	{"connect error", `4{"message":"Not authorized"}`, Packet{Type: ConnectError, Namespace: "/", Data: b(`{"message":"Not authorized"}`)}},
	{"connect error nsp data", `4/secure,{"message":"not authorized","data":{"code":42}}`,
		Packet{Type: ConnectError, Namespace: "/secure", Data: b(`{"message":"not authorized","data":{"code":42}}`)}},
	{"connect error string", `4"oops"`, Packet{Type: ConnectError, Namespace: "/", Data: b(`"oops"`)}},
	{"binary event", `51-["baz",{"_placeholder":true,"num":0}]`,
		Packet{Type: BinaryEvent, Namespace: "/", Data: b(`["baz",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3}}}},
	{"binary event 2", `52-["bin-back",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]`,
		Packet{Type: BinaryEvent, Namespace: "/", Data: b(`["bin-back",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]`), Attachments: [][]byte{{1, 2, 3}, {4}}}},
	{"binary ack", `61-15["bar",{"_placeholder":true,"num":0}]`,
		Packet{Type: BinaryAck, Namespace: "/", ID: 15, HasID: true, Data: b(`["bar",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{}}}},
	{"binary ack V26", `61-12[7,{"_placeholder":true,"num":0}]`,
		Packet{Type: BinaryAck, Namespace: "/", ID: 12, HasID: true, Data: b(`[7,{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{9}}}},
	{"binary ack nsp test suite", `62-/custom,789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		Packet{Type: BinaryAck, Namespace: "/custom", ID: 789, HasID: true, Data: b(`[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{1}, {2}}}},
	{"binary event no payload", `51-`, Packet{Type: BinaryEvent, Namespace: "/", Attachments: [][]byte{{0}}}},
	{"unicode nsp", `2/é€😀,["x"]`, Packet{Type: Event, Namespace: "/é€😀", Data: b(`["x"]`)}},
}

func init() {
	// "12["ackme",7]" is not valid (DISCONNECT cannot carry a payload);
	// keep the table honest by using the real V26 packet instead.
	for i := range packetCases {
		if packetCases[i].name == "event V26 ack" {
			packetCases[i].wire = `212["ackme",7]`
			packetCases[i].packet = Packet{Type: Event, Namespace: "/", ID: 12, HasID: true, Data: b(`["ackme",7]`)}
		}
	}
}

func TestEncode(t *testing.T) {
	for _, tc := range packetCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := AppendPacket(nil, tc.packet); string(got) != tc.wire {
				t.Errorf("AppendPacket = %q, want %q", got, tc.wire)
			}
			p := tc.packet
			if p.Namespace == "/" {
				p.Namespace = "" // "" and "/" both mean the main namespace
				if got := AppendPacket([]byte("x"), p); string(got) != "x"+tc.wire {
					t.Errorf("AppendPacket with empty namespace = %q", got)
				}
			}
		})
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range packetCases {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			p, done, err := d.Add([]byte(tc.wire), false)
			for i, a := range tc.packet.Attachments {
				if err != nil || done {
					t.Fatalf("before attachment %d: done=%v err=%v", i, done, err)
				}
				if got := d.Pending(); got != len(tc.packet.Attachments)-i {
					t.Fatalf("Pending() = %d before attachment %d", got, i)
				}
				p, done, err = d.Add(a, true)
			}
			if err != nil || !done {
				t.Fatalf("Add: done=%v err=%v", done, err)
			}
			if diff := cmp.Diff(tc.packet, p, cmpPacket); diff != "" {
				t.Errorf("decoded packet (-want +got):\n%s", diff)
			}
			if d.Pending() != 0 {
				t.Errorf("Pending() = %d after the packet", d.Pending())
			}
		})
	}
}

// TestDecodeEquivalents checks inputs that decode to the same packet as a
// canonical text (socket.io-parser's accepted edge cases).
func TestDecodeEquivalents(t *testing.T) {
	for _, tc := range []struct{ in, canonical string }{
		{"0/custom", "0/custom,"},
		{`2 ["a"]`, `20["a"]`},           // Number(" ") is 0
		{`2 12["a"]`, `212["a"]`},        // Number(" 12") is 12
		{"2\u00a012[\"a\"]", `212["a"]`}, // NBSP is JS white space
		{`2007["a"]`, `27["a"]`},
		{" {}", "0{}"}, // Number(" ") is 0: CONNECT
		{"\u2028{}", "0{}"},
		{`5+1-["a"]`, `51-["a"]`},
		{`51.0-["a"]`, `51-["a"]`},
		{`50x1-["a"]`, `51-["a"]`},
		{`5 1 -["a"]`, `51-["a"]`},
		{`51e0-["a"]`, `51-["a"]`},
		{`5.1e1-["a"]`, `51-["a"]`},
		{`50b1-["a"]`, `51-["a"]`},
		{`2/,["x"]`, `2["x"]`},
		{`2["a"] `, `2["a"] `},
	} {
		decode := func(s string) Packet {
			t.Helper()
			var d Decoder
			p, done, err := d.Add([]byte(s), false)
			if err == nil && !done {
				p, done, err = d.Add([]byte{7}, true)
			}
			if err != nil || !done {
				t.Fatalf("Add(%q): done=%v err=%v", s, done, err)
			}
			return p
		}
		if diff := cmp.Diff(decode(tc.canonical), decode(tc.in), cmpPacket); diff != "" {
			t.Errorf("%q vs %q (-canonical +in):\n%s", tc.in, tc.canonical, diff)
		}
	}
}

// TestDecodeRejects covers every rejection rule of wire-format.md §2.7.
func TestDecodeRejects(t *testing.T) {
	const ph0 = `{"_placeholder":true,"num":0}`
	for _, tc := range []struct {
		name string
		msgs []string // "bin:" prefix = binary message
		max  int
		want error
	}{
		{"not a type", []string{"abc"}, 0, ErrUnknownPacketType},
		{"type 7", []string{"7"}, 0, ErrUnknownPacketType},
		{"type 9", []string{"9"}, 0, ErrUnknownPacketType},
		{"empty", []string{""}, 0, ErrUnknownPacketType},
		{"binary without dash", []string{`51["a"]`}, 0, ErrIllegalAttachments},
		{"binary type alone", []string{"5"}, 0, ErrIllegalAttachments},
		{"binary zero attachments", []string{`50-["a"]`}, 0, ErrIllegalAttachments},
		{"binary empty count", []string{`5-["a"]`}, 0, ErrIllegalAttachments},
		{"binary count not a number", []string{`5x-["a"]`}, 0, ErrIllegalAttachments},
		{"binary count Infinity", []string{`5Infinity-["a"]`}, 0, ErrIllegalAttachments},
		{"binary count 1e400", []string{`51e400-["a"]`}, 0, ErrIllegalAttachments},
		{"binary count fraction", []string{`51.5-["a"]`}, 0, ErrIllegalAttachments},
		{"binary count underscore", []string{`51_0-["a"]`}, 0, ErrIllegalAttachments},
		{"too many attachments", []string{`511-["a"]`}, 0, ErrTooManyAttachments},
		{"too many attachments huge", []string{`599999999999999999999-["a"]`}, 0, ErrTooManyAttachments},
		{"too many with max 2", []string{`53-["a"]`}, 2, ErrTooManyAttachments},
		{"payload not JSON", []string{`2["a"`}, 0, ErrInvalidPayload},
		{"payload trailing garbage", []string{`2["a"]x`}, 0, ErrInvalidPayload},
		{"payload NaN", []string{`2["a",NaN]`}, 0, ErrInvalidPayload},
		{"payload single quotes", []string{`2['a']`}, 0, ErrInvalidPayload},
		{"connect array", []string{"0[]"}, 0, ErrInvalidPayload},
		{"connect string", []string{`0"x"`}, 0, ErrInvalidPayload},
		{"connect null", []string{"0null"}, 0, ErrInvalidPayload},
		{"disconnect object", []string{"1{}"}, 0, ErrInvalidPayload},
		{"disconnect nsp object", []string{"1/x,{}"}, 0, ErrInvalidPayload},
		{"disconnect number", []string{"11x"}, 0, ErrInvalidPayload},
		{"connect error array", []string{"4[]"}, 0, ErrInvalidPayload},
		{"connect error number", []string{"4/x," + "1a"}, 0, ErrInvalidPayload},
		{"event object", []string{"2{}"}, 0, ErrInvalidPayload},
		{"event empty array", []string{"2[]"}, 0, ErrInvalidPayload},
		{"event name true", []string{"2[true]"}, 0, ErrInvalidPayload},
		{"event name null", []string{"2[null]"}, 0, ErrInvalidPayload},
		{"event name array", []string{"2[[1]]"}, 0, ErrInvalidPayload},
		{"event reserved disconnect", []string{`2["disconnect"]`}, 0, ErrInvalidPayload},
		{"event reserved escaped", []string{`2["\u0064isconnect"]`}, 0, ErrInvalidPayload},
		{"event reserved spaced", []string{`2[ "connect" ]`}, 0, ErrInvalidPayload},
		{"event reserved connect_error", []string{`2["connect_error"]`}, 0, ErrInvalidPayload},
		{"event reserved disconnecting", []string{`2["disconnecting"]`}, 0, ErrInvalidPayload},
		{"event reserved newListener", []string{`2["newListener"]`}, 0, ErrInvalidPayload},
		{"event reserved removeListener", []string{`2["removeListener"]`}, 0, ErrInvalidPayload},
		{"binary event reserved", []string{`51-["disconnect",` + ph0 + `]`}, 0, ErrInvalidPayload},
		{"binary event object", []string{`51-{}`}, 0, ErrInvalidPayload},
		{"ack object", []string{"3{}"}, 0, ErrInvalidPayload},
		{"ack string", []string{`31"a"`}, 0, ErrInvalidPayload},
		{"binary ack object", []string{`61-1{}`}, 0, ErrInvalidPayload},
		{"ack id letters", []string{`2abc["a"]`}, 0, ErrInvalidPayload},
		{"ack id NaN (space between digits)", []string{`21 2["a"]`}, 0, ErrInvalidPayload},
		{"ack id beyond int64", []string{`299999999999999999999["a"]`}, 0, ErrInvalidPayload},
		{"leading space then array", []string{` ["a"]`}, 0, ErrInvalidPayload},
		{"text while reconstructing", []string{`51-["a",` + ph0 + `]`, `2["b"]`}, 0, ErrPlaintextDuringReconstruction},
		{"binary when not reconstructing", []string{"bin:\x00"}, 0, ErrUnexpectedBinary},
		{"binary after complete packet", []string{`2["a"]`, "bin:\x00"}, 0, ErrUnexpectedBinary},
		{"extra binary after binary packet", []string{`51-["a",` + ph0 + `]`, "bin:\x00", "bin:\x01"}, 0, ErrUnexpectedBinary},
		{"placeholder num out of range", []string{`51-["a",{"_placeholder":true,"num":1}]`, "bin:\x00"}, 0, ErrIllegalPlaceholder},
		{"placeholder num negative", []string{`51-["a",{"_placeholder":true,"num":-1}]`, "bin:\x00"}, 0, ErrIllegalPlaceholder},
		{"placeholder num string", []string{`51-["a",{"_placeholder":true,"num":"0"}]`, "bin:\x00"}, 0, ErrIllegalPlaceholder},
		{"placeholder num missing", []string{`51-["a",{"_placeholder":true}]`, "bin:\x00"}, 0, ErrIllegalPlaceholder},
		{"placeholder last key wins", []string{`51-["a",{"_placeholder":false,"_placeholder":true,"num":0,"num":7}]`, "bin:\x00"}, 0, ErrIllegalPlaceholder},
		{"placeholder escaped key", []string{`51-["a",{"\u005fplaceholder":true,"num":3}]`, "bin:\x00"}, 0, ErrIllegalPlaceholder},
		{"placeholder nested", []string{`51-["a",{"y":[{"_placeholder":true,"num":5}]}]`, "bin:\x00"}, 0, ErrIllegalPlaceholder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decoder{MaxAttachments: tc.max}
			var err error
			for i, m := range tc.msgs {
				var done bool
				if rest, ok := strings.CutPrefix(m, "bin:"); ok {
					_, done, err = d.Add([]byte(rest), true)
				} else {
					_, done, err = d.Add([]byte(m), false)
				}
				if err != nil {
					if i != len(tc.msgs)-1 {
						t.Fatalf("message %d: early error %v", i, err)
					}
					break
				}
				_ = done
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			// The decoder is usable (reset) after an error.
			if p, done, err := d.Add([]byte(`2["ok"]`), false); err != nil || !done || string(p.Data) != `["ok"]` {
				t.Errorf("after error: %+v %v %v", p, done, err)
			}
		})
	}
}

func TestErrorTexts(t *testing.T) {
	// The texts socket.io-parser 4.2.7 throws (index.js, binary.js).
	for err, want := range map[error]string{
		ErrUnknownPacketType:             "unknown packet type",
		ErrIllegalAttachments:            "Illegal attachments",
		ErrTooManyAttachments:            "too many attachments",
		ErrInvalidPayload:                "invalid payload",
		ErrPlaintextDuringReconstruction: "got plaintext data when reconstructing a packet",
		ErrUnexpectedBinary:              "got binary data when not reconstructing a packet",
		ErrIllegalPlaceholder:            "illegal attachments",
		ErrTooDeep:                       "Maximum call stack size exceeded",
	} {
		if err.Error() != want {
			t.Errorf("%q, want %q", err, want)
		}
	}
}

func TestPlaceholdersAccepted(t *testing.T) {
	for _, tc := range []struct {
		data string
		n    int
	}{
		{`["a"]`, 1}, // unused attachment
		{`["a",{"_placeholder":true,"num":0.5}]`, 2},
		{`["a",{"_placeholder":true,"num":-0}]`, 1},
		{`["a",{"_placeholder":true,"num":1e-400}]`, 1},
		{`["a",{"_placeholder":true,"num":0,"_placeholder":false,"num":7}]`, 1},
		{`["a",{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":5}}]`, 1}, // inner not inspected
		{`["a",{"_placeholder":"true","num":9}]`, 1},
		{`["a",{"_placeholder":1,"num":9}]`, 1},
		{` [ "a" , { "_placeholder" : true , "num" : 0 } ] `, 1},
		{`{"_placeholder":true,"num":0}`, 1},
		{`[[],{},"",0,null,false,{"a":{"b":[{"_placeholder":true,"num":2}]}}]`, 3},
	} {
		if err := ValidatePlaceholders([]byte(tc.data), tc.n); err != nil {
			t.Errorf("ValidatePlaceholders(%s, %d) = %v", tc.data, tc.n, err)
		}
	}
	if err := ValidatePlaceholders([]byte(`[`), 1); err != ErrInvalidPayload {
		t.Errorf("invalid JSON: %v", err)
	}
	if err := ValidatePlaceholders([]byte(`[{"_placeholder":true,"num":1}]`), 1); err != ErrIllegalPlaceholder {
		t.Errorf("out of range: %v", err)
	}
}

func TestIsReserved(t *testing.T) {
	for _, n := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if !IsReserved(n) {
			t.Errorf("IsReserved(%q) = false", n)
		}
	}
	for _, n := range []string{"", "message", "Connect", "disconnect ", "error", "ping"} {
		if IsReserved(n) {
			t.Errorf("IsReserved(%q) = true", n)
		}
	}
}

func TestEventName(t *testing.T) {
	for _, tc := range []struct {
		data, name, args string
		err              error
	}{
		{`["foo"]`, "foo", "", nil},
		{`["message",1,"é",{"a":null}]`, "message", `1,"é",{"a":null}`, nil},
		{` [ "a\"b\\u00e9" , 1 , [2,3] ] `, `a"b\u00e9`, `1 , [2,3]`, nil},
		{`["\u00e9\ud83d\ude00"]`, "é😀", "", nil},
		{`[42,"x"]`, "42", `"x"`, nil},
		{`[-1.5e3]`, "-1.5e3", "", nil},
		{`["a",{"_placeholder":true,"num":0}]`, "a", `{"_placeholder":true,"num":0}`, nil},
		{`{}`, "", "", ErrInvalidPayload},
		{`[]`, "", "", ErrInvalidPayload},
		{`[null]`, "", "", ErrInvalidPayload},
		{``, "", "", ErrInvalidPayload},
		{`[`, "", "", ErrInvalidPayload},
	} {
		name, args, err := EventName([]byte(tc.data))
		if err != tc.err || string(name) != tc.name || string(args) != tc.args {
			t.Errorf("EventName(%s) = %q, %q, %v; want %q, %q, %v", tc.data, name, args, err, tc.name, tc.args, tc.err)
		}
	}
	// Without escapes the name aliases the input.
	in := []byte(`["foo",1]`)
	name, _, _ := EventName(in)
	in[2] = 'g'
	if string(name) != "goo" {
		t.Errorf("name does not alias input: %q", name)
	}
}

func TestAppendHelpers(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"event", AppendEvent(nil, "/", "message", b(`"hi"`), b(`{"a":1}`)), `2["message","hi",{"a":1}]`},
		{"event empty nsp", AppendEvent(nil, "", "x"), `2["x"]`},
		{"event nsp", AppendEvent(nil, "/chat", "a\"b\n"), `2/chat,["a\"b\n"]`},
		{"event V26", AppendEvent(nil, "/", "message-back", b("1"), b(`"é"`), b(`{"a":null}`)), `2["message-back",1,"é",{"a":null}]`},
		{"event with ack", AppendEventWithAck(nil, "/admin", 13, "bar"), `2/admin,13["bar"]`},
		{"event data", AppendEventData(nil, "e", b("1"), b("[2]")), `["e",1,[2]]`},
		{"ack", AppendAck(nil, "/admin", 13, b(`"bar"`)), `3/admin,13["bar"]`},
		{"ack no args", AppendAck(nil, "/", 1), `31[]`},
		{"ack test suite", AppendAck(nil, "/", 456, b("1"), b(`"2"`), b(`{"3":[false]}`)), `3456[1,"2",{"3":[false]}]`},
		{"connect", AppendConnect(nil, "/", "OINQgpWBAU4MaTveAAAA", ""), `0{"sid":"OINQgpWBAU4MaTveAAAA"}`},
		{"connect nsp pid", AppendConnect(nil, "/admin", "s", "p"), `0/admin,{"sid":"s","pid":"p"}`},
		{"connect error", AppendConnectError(nil, "/nope", "Invalid namespace", nil), `4/nope,{"message":"Invalid namespace"}`},
		{"connect error data", AppendConnectError(nil, "/secure", "not authorized", b(`{"code":42}`)), `4/secure,{"message":"not authorized","data":{"code":42}}`},
		{"connect error main", AppendConnectError(nil, "/", "Not authorized", nil), `4{"message":"Not authorized"}`},
		{"disconnect", AppendDisconnect(nil, "/"), `1`},
		{"disconnect nsp", AppendDisconnect(nil, "/admin"), `1/admin,`},
		{"placeholder", AppendPlaceholder(nil, 3), `{"_placeholder":true,"num":3}`},
		{"json string", AppendJSONString(nil, "\u2028<>&\x00\x1f\x7f\xff"), "\"\u2028<>&\\u0000\\u001f\x7f\uFFFD\""},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestPacketTypeString(t *testing.T) {
	for i, w := range []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"} {
		if got := PacketType(i).String(); got != w {
			t.Errorf("String() = %q, want %q", got, w)
		}
	}
	if got := PacketType(9).String(); got != "PacketType(9)" {
		t.Errorf("invalid String() = %q", got)
	}
}

func TestEncodePromotesBinary(t *testing.T) {
	p := Packet{Type: Event, Data: b(`["a",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}
	if got := AppendPacket(nil, p); string(got) != `51-["a",{"_placeholder":true,"num":0}]` {
		t.Errorf("Event with attachments: %s", got)
	}
	p = Packet{Type: Ack, ID: 3, HasID: true, Namespace: "/x", Data: b(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}
	if got := AppendPacket(nil, p); string(got) != `61-/x,3[{"_placeholder":true,"num":0}]` {
		t.Errorf("Ack with attachments: %s", got)
	}
}

func TestDecoderNamespaceReuse(t *testing.T) {
	var d Decoder
	p1, _, _ := d.Add(b(`2/chat,["a"]`), false)
	p2, _, _ := d.Add(b(`2/chat,["b"]`), false)
	if p1.Namespace != "/chat" || p2.Namespace != "/chat" {
		t.Fatalf("namespaces %q %q", p1.Namespace, p2.Namespace)
	}
	in := b(`2/chat,["a"]`)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := d.Add(in, false); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("decoding a repeated namespace allocates %v times", allocs)
	}
}

func TestSplitArray(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  error
	}{
		{`[]`, nil, nil},
		{` [ ] `, nil, nil},
		{`[1]`, []string{"1"}, nil},
		{`[1, "a" ,{"b":[2,3]} , [] ,null,true,-1.5e3,"x,]\"y"]`, []string{"1", `"a"`, `{"b":[2,3]}`, "[]", "null", "true", "-1.5e3", `"x,]\"y"`}, nil},
		{`{}`, nil, ErrInvalidPayload},
		{``, nil, ErrInvalidPayload},
	} {
		got, err := SplitArray(nil, []byte(tc.in))
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if err != tc.err || !cmp.Equal(gs, tc.want) {
			t.Errorf("SplitArray(%s) = %q, %v; want %q, %v", tc.in, gs, err, tc.want, tc.err)
		}
	}
	// EventName args + SplitList give the arguments.
	_, args, _ := EventName([]byte(`["ev", 1 ,{"a":[1,2]},"s"]`))
	var gs []string
	for _, g := range SplitList(nil, args) {
		gs = append(gs, string(g))
	}
	if want := []string{"1", `{"a":[1,2]}`, `"s"`}; !cmp.Equal(gs, want) {
		t.Errorf("SplitList(%q) = %q, want %q", args, gs, want)
	}
	if got := SplitList(nil, nil); len(got) != 0 {
		t.Errorf("SplitList(nil) = %q", got)
	}
	dst := make([][]byte, 0, 8)
	in := []byte(`[1,2,3]`)
	if allocs := testing.AllocsPerRun(100, func() { dst, _ = SplitArray(dst[:0], in) }); allocs != 0 {
		t.Errorf("SplitArray allocates %v times", allocs)
	}
}

func TestDecoderHugeAttachmentCount(t *testing.T) {
	d := Decoder{MaxAttachments: 1 << 40}
	var p Packet
	var done bool
	var err error
	in := []byte(`5999999999-["a"]`)
	// TotalAlloc is process-wide, so other goroutines can only add to what
	// is measured: the least of a few tries is the decoder's own cost.
	least := ^uint64(0)
	for try := 0; try < 5 && least > 4096; try++ {
		d = Decoder{MaxAttachments: 1 << 40}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, done, err = d.Add(in, false)
		runtime.ReadMemStats(&after)
		if err != nil || done || d.Pending() != 999999999 {
			t.Fatalf("header: done=%v err=%v pending=%d", done, err, d.Pending())
		}
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	if least > 4096 {
		t.Errorf("a header announcing 999999999 attachments allocated %d bytes", least)
	}
	for i := 0; i < 3; i++ {
		p, done, err = d.Add([]byte{byte(i)}, true)
	}
	if err != nil || done || len(p.Attachments) != 0 || d.Pending() != 999999996 {
		t.Fatalf("after 3 attachments: done=%v err=%v pending=%d", done, err, d.Pending())
	}
}

func TestDecodeNesting(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	var d Decoder
	// Text packets: no limit, as with JSON.parse (json.Valid would stop at 10000).
	if _, done, err := d.Add([]byte(`2["a",`+nest(20000)+`]`), false); err != nil || !done {
		t.Errorf("20000 levels: done=%v err=%v", done, err)
	}
	// Binary packets: Node's recursive reconstruction overflows near 5200.
	for _, tc := range []struct {
		depth int
		want  error
	}{{4000, nil}, {maxReconstructDepth - 2, nil}, {maxReconstructDepth, ErrTooDeep}, {10000, ErrTooDeep}} {
		_, _, err := d.Add([]byte(`51-["a",`+nest(tc.depth)+`]`), false)
		if err != nil {
			t.Fatalf("depth %d header: %v", tc.depth, err)
		}
		if _, _, err = d.Add([]byte{1}, true); err != tc.want {
			t.Errorf("binary packet nested %d: err=%v, want %v", tc.depth, err, tc.want)
		}
	}
}

func TestParseDigitsOverflow(t *testing.T) {
	tests := map[string]bool{
		"9223372036854775807":  true,  // MaxInt64
		"9223372036854775808":  false, // MaxInt64 + 1
		"18446744073709551616": false, // 2^64 used to wrap around to 0
		"99999999999999999999": false,
	}
	for in, ok := range tests {
		v, got := parseDigits([]byte(in))
		if got != ok || (ok && strconv.FormatInt(v, 10) != in) {
			t.Errorf("parseDigits(%s) = %d, %v", in, v, got)
		}
	}
}
