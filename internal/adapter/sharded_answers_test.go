package adapter

import (
	"encoding/hex"
	"testing"
)

func TestShardedAnswers(t *testing.T) {
	// V22: BROADCAST_ACK with binary, as Node publishes it.
	got, err := AppendShardedPacketResponse(nil, "f90f176b732186c2", "/", ShardedBroadcastAck, "req9", mustHex(t, "82a3676f7405a3627566c402cafe"))
	if want := "84a4747970650ca46461746182a9726571756573744964a472657139a67061636b657482a3676f7405a3627566c402cafea3756964b066393066313736623733323138366332a36e7370a12f"; err != nil || hex.EncodeToString(got) != want {
		t.Errorf("V22 = %x, %v; want %s", got, err, want)
	}
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"count", AppendShardedClientCount(nil, "u", "/", "r1", 3), `{"type":11,"data":{"requestId":"r1","clientCount":3},"uid":"u","nsp":"/"}`},
		{"fetch", AppendShardedFetchResponse(nil, "u", "/a", "r2", [][]byte{[]byte(`{"id":"x"}`), []byte(`{"id":"y"}`)}), `{"type":8,"data":{"requestId":"r2","sockets":[{"id":"x"},{"id":"y"}]},"uid":"u","nsp":"/a"}`},
		{"fetch none", AppendShardedFetchResponse(nil, "u", "/", "r3", nil), `{"type":8,"data":{"requestId":"r3","sockets":[]},"uid":"u","nsp":"/"}`},
		{"fetch request", AppendShardedFetchSockets(nil, "u", "/", Opts{Rooms: []string{"a"}, Except: []string{}}, "r6"), `{"type":7,"data":{"opts":{"rooms":["a"],"except":[],"flags":{}},"requestId":"r6"},"uid":"u","nsp":"/"}`},
	}
	js, err := AppendShardedPacketResponse(nil, "u", "/", ServerSideEmitResponse, "r4", mustHex(t, "81a26f6bc3"))
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		name string
		got  []byte
		want string
	}{"sse response", js, `{"type":10,"data":{"requestId":"r4","packet":{"ok":true}},"uid":"u","nsp":"/"}`})
	js, _ = AppendShardedPacketResponse(nil, "u", "/", ShardedBroadcastAck, "r5", nil)
	cases = append(cases, struct {
		name string
		got  []byte
		want string
	}{"ack undefined", js, `{"type":12,"data":{"requestId":"r5"},"uid":"u","nsp":"/"}`})
	for _, c := range cases {
		if string(c.got) != c.want {
			t.Errorf("%s = %s; want %s", c.name, c.got, c.want)
		}
		m, err := DecodeShardedMessage(c.got)
		if err != nil || m.UID != "u" || m.RequestID == "" {
			t.Errorf("%s: decode %+v, %v", c.name, m, err)
		}
	}
}
