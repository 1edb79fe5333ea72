package emitter

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// newOffline returns an emitter whose client is never contacted: the
// *Message methods only encode.
func newOffline(t *testing.T, cfg Config) *Emitter {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { rdb.Close() })
	em, err := New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return em
}

// The vectors of wire-format.md §9, captured from @socket.io/redis-emitter
// 5.1.0 and @socket.io/redis-adapter 8.3.0.
func TestGoldenClassic(t *testing.T) {
	em := newOffline(t, Config{})
	custom := newOffline(t, Config{Key: "myprefix"})
	tests := []struct {
		name    string
		msg     func() (Message, error)
		channel string
		hex     string
		text    string
	}{
		{"V1 emit", func() (Message, error) { return em.To().EmitMessage("hello", "world") },
			"socket.io#/#", "93a7656d697474657283a47479706502a46461746192a568656c6c6fa5776f726c64a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490", ""},
		{"V2 one room", func() (Message, error) { return em.To("room1").EmitMessage("hello", 1) },
			"socket.io#/#room1#", "93a7656d697474657283a47479706502a46461746192a568656c6c6f01a36e7370a12f83a5726f6f6d7391a5726f6f6d31a5666c61677380a665786365707490", ""},
		{"V3 rooms except", func() (Message, error) {
			return em.To("r1", "r2").Except("r3").EmitMessage("evt", json.RawMessage(`{"a":1,"b":[true,null]}`))
		}, "socket.io#/#", "93a7656d697474657283a47479706502a46461746192a365767482a16101a16292c3c0a36e7370a12f83a5726f6f6d7392a27231a27232a5666c61677380a665786365707491a27233", ""},
		{"V4 flags binary", func() (Message, error) {
			return em.Of("admin").Volatile().Compress(false).EmitMessage("bin", []byte{1, 2, 3})
		}, "socket.io#/admin#", "93a7656d697474657283a47479706502a46461746192a362696ec403010203a36e7370a62f61646d696e83a5726f6f6d7390a5666c61677382a8766f6c6174696c65c3a8636f6d7072657373c2a665786365707490", ""},
		{"V6 socketsJoin", func() (Message, error) { return em.In("room1").SocketsJoinMessage("room2"), nil },
			"socket.io-request#/#", "", `{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room2"]}`},
		{"V7 disconnect", func() (Message, error) { return em.In("r").DisconnectSocketsMessage(true), nil },
			"socket.io-request#/#", "", `{"type":4,"opts":{"rooms":["r"],"except":[]},"close":true}`},
		{"V8 serverSideEmit", func() (Message, error) { return em.ServerSideEmitMessage("ping", 1, map[string]any{"x": "y"}) },
			"socket.io-request#/#", "", `{"uid":"emitter","type":6,"data":["ping",1,{"x":"y"}]}`},
		{"V9 key", func() (Message, error) { return custom.Of("/custom").To("room").EmitMessage("e") },
			"myprefix#/custom#room#", "93a7656d697474657283a47479706502a46461746191a165a36e7370a72f637573746f6d83a5726f6f6d7391a4726f6f6da5666c61677380a665786365707490", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.msg()
			if err != nil {
				t.Fatal(err)
			}
			if m.Channel != tt.channel {
				t.Errorf("channel = %q, want %q", m.Channel, tt.channel)
			}
			want := tt.text
			got := string(m.Payload)
			if tt.hex != "" {
				want, got = tt.hex, hex.EncodeToString(m.Payload)
			}
			if got != want {
				t.Errorf("payload\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestGoldenNumbers(t *testing.T) {
	em := newOffline(t, Config{})
	m, err := em.EmitMessage("num", 0, 127, 128, 255, 256, 65535, 65536, -1, -32, -33, -128, -129, 1.5, 4294967296.0, -2147483649)
	if err != nil {
		t.Fatal(err)
	}
	const want = "93a7656d697474657283a47479706502a464617461dc0010a36e756d007fcc80ccffcd0100cdffffce00010000ffe0d0dfd080d1ff7fcb3ff8000000000000cf0000000100000000d3ffffffff7fffffffa36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490"
	if got := hex.EncodeToString(m.Payload); got != want {
		t.Errorf("payload\n got %s\nwant %s", got, want)
	}
}

// Sharded vectors V19–V21 (uid forced to 0123456789abcdef).
func TestGoldenSharded(t *testing.T) {
	for _, mode := range []SubscriptionMode{Dynamic, DynamicPrivate, Static} {
		em := newOffline(t, Config{Sharded: true, SubscriptionMode: mode})
		em.c.uid = "0123456789abcdef"
		m, err := em.EmitMessage("hello", "world")
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"type":3,"data":{"packet":{"type":2,"data":["hello","world"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}`; string(m.Payload) != want || m.Channel != "socket.io#/#" {
			t.Errorf("%s V19: %s %s", mode, m.Channel, m.Payload)
		}
		m, err = em.EmitMessage("bin", []byte{1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		if want := "84a47479706503a46461746182a67061636b657482a47479706502a46461746192a362696ec403010203a46f70747383a5726f6f6d7390a665786365707490a5666c61677380a3756964b030313233343536373839616263646566a36e7370a12f"; hex.EncodeToString(m.Payload) != want {
			t.Errorf("%s V20: %x", mode, m.Payload)
		}
		m, err = em.To("room1").EmitMessage("hello", 1)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"type":3,"data":{"packet":{"type":2,"data":["hello",1]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}`; string(m.Payload) != want {
			t.Errorf("%s V21: %s", mode, m.Payload)
		}
		wantRoom := map[SubscriptionMode]string{Dynamic: "socket.io#/#room1#", DynamicPrivate: "socket.io#/#room1#", Static: "socket.io#/#"}[mode]
		if m.Channel != wantRoom {
			t.Errorf("%s: room channel %q, want %q", mode, m.Channel, wantRoom)
		}
		id := strings.Repeat("A", 20)
		m, _ = em.To(id).EmitMessage("x")
		wantID := map[SubscriptionMode]string{Dynamic: "socket.io#/#", DynamicPrivate: "socket.io#/#" + id + "#", Static: "socket.io#/#"}[mode]
		if m.Channel != wantID {
			t.Errorf("%s: socket-id room channel %q, want %q", mode, m.Channel, wantID)
		}
		m, _ = em.To("a", "b").EmitMessage("x")
		if m.Channel != "socket.io#/#" {
			t.Errorf("%s: two rooms went to %q", mode, m.Channel)
		}
	}
}

func TestShardedRequests(t *testing.T) {
	em := newOffline(t, Config{Sharded: true})
	em.c.uid = "u"
	tests := []struct {
		msg  Message
		want string
	}{
		{em.In("r1").Except("r2").SocketsJoinMessage("r3"), `{"type":4,"data":{"opts":{"rooms":["r1"],"except":["r2"],"flags":{}},"rooms":["r3"]},"uid":"u","nsp":"/"}`},
		{em.Of("/a").In("r1").SocketsLeaveMessage("r3", "r4"), `{"type":5,"data":{"opts":{"rooms":["r1"],"except":[],"flags":{}},"rooms":["r3","r4"]},"uid":"u","nsp":"/a"}`},
		{em.To("r").DisconnectSocketsMessage(false), `{"type":6,"data":{"opts":{"rooms":["r"],"except":[],"flags":{}},"close":false},"uid":"u","nsp":"/"}`},
	}
	for _, tt := range tests {
		if string(tt.msg.Payload) != tt.want {
			t.Errorf("got  %s\nwant %s", tt.msg.Payload, tt.want)
		}
		if !strings.HasSuffix(tt.msg.Channel, "#") || strings.Count(tt.msg.Channel, "#") != 2 {
			t.Errorf("request went to %q, want the namespace channel", tt.msg.Channel)
		}
	}
	m, err := em.ServerSideEmitMessage("ping", 42)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":9,"data":{"packet":["ping",42]},"uid":"u","nsp":"/"}`; string(m.Payload) != want {
		t.Errorf("server-side emit: %s", m.Payload)
	}
}

func TestReservedAndUnencodable(t *testing.T) {
	em := newOffline(t, Config{})
	for _, ev := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if _, err := em.EmitMessage(ev); !errors.Is(err, ErrReservedEvent) {
			t.Errorf("Emit(%q): err = %v, want ErrReservedEvent", ev, err)
		}
	}
	for _, ev := range []string{"connect", "connection", "new_namespace"} {
		if _, err := em.ServerSideEmitMessage(ev); !errors.Is(err, ErrReservedEvent) {
			t.Errorf("ServerSideEmit(%q): err = %v, want ErrReservedEvent", ev, err)
		}
	}
	bad := []any{make(chan int), func() {}, complex(1, 2), json.RawMessage(`{"a":`), map[bool]int{true: 1}}
	for _, a := range bad {
		_, err := em.EmitMessage("ev", 1, a)
		if !errors.Is(err, ErrEncode) || !strings.Contains(err.Error(), "argument 2") {
			t.Errorf("Emit(%T): err = %v, want ErrEncode naming argument 2", a, err)
		}
	}
	type cyc struct{ Next *cyc }
	c := &cyc{}
	c.Next = c
	if _, err := em.EmitMessage("ev", c); !errors.Is(err, ErrEncode) {
		t.Errorf("cyclic value: err = %v", err)
	}
}

func TestOperatorImmutable(t *testing.T) {
	em := newOffline(t, Config{})
	base := em.To("a")
	x := base.To("b")
	y := base.To("c").Volatile()
	mx, _ := x.EmitMessage("e")
	my, _ := y.EmitMessage("e")
	mb, _ := base.EmitMessage("e")
	if mb.Channel != "socket.io#/#a#" {
		t.Errorf("base changed: %q", mb.Channel)
	}
	if !strings.Contains(string(mx.Payload), "\xa1b") || strings.Contains(string(mx.Payload), "\xa1c") {
		t.Errorf("x = %q", mx.Payload)
	}
	if !strings.Contains(string(my.Payload), "volatile") || strings.Contains(string(my.Payload), "\xa1b") {
		t.Errorf("y = %q", my.Payload)
	}
	if d, _ := em.To("a", "a").EmitMessage("e"); d.Channel != "socket.io#/#a#" {
		t.Errorf("duplicate rooms not merged: %q", d.Channel)
	}
	if em.Of("").Namespace() != "/" || em.Of("x").Namespace() != "/x" || em.Of("/y").Namespace() != "/y" {
		t.Error("Of does not add the leading slash")
	}
}

func TestConfigValidation(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	if _, err := New(rdb, Config{Sharded: true, SubscriptionMode: "weird"}); err == nil {
		t.Error("unknown subscription mode accepted")
	}
	if _, err := New(rdb, Config{SubscriptionMode: Static}); err == nil {
		t.Error("subscription mode without Sharded accepted")
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("nil client accepted")
	}
}
