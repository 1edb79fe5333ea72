package emitter

import (
	"encoding/json"
	"testing"

	"github.com/siorelay/siorelay/internal/adapter"
)

// FuzzDecodeAnswer feeds arbitrary bytes to the decoders of the servers'
// answers (each adapter) and of the sockets they list: they must return
// an error or a value, never panic, and a socket that decodes keeps its id
// and namespace.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"requestId":"abc","sockets":[{"id":"x","handshake":{"headers":{"host":"h","set-cookie":["a","b"]},"time":"t","address":"::1","xdomain":false,"secure":true,"issued":1700000000000,"url":"/socket.io/?EIO=4","query":{"EIO":"4","a":["1","2"]},"auth":{}},"rooms":["x",1],"data":{"n":1}}]}`,
		`{"requestId":"abc","rooms":["r",2.5]}`,
		`{"type":8,"requestId":"abc","clientCount":3}`,
		"\x83\xa4type\x09\xa9requestId\xa3abc\xa6packet\xc4\x01\x01",
		`{"type":8,"data":{"requestId":"abc","sockets":[{"id":"y","rooms":[],"handshake":{}}]},"uid":"u","nsp":"/"}`,
		`{"type":11,"data":{"requestId":"abc","clientCount":2},"uid":"u","nsp":"/"}`,
		`{"type":12,"data":{"requestId":"abc","packet":{"ok":true}},"uid":"u","nsp":"/"}`,
		"\x84\xa4type\x0c\xa4data\x82\xa9requestId\xa3abc\xa6packet\xc4\x02\x01\x02\xa3uid\xa1u\xa3nsp\xa1/",
		`{"id":"z","handshake":{"headers":null,"query":{"k":null,"n":5}},"rooms":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Add(adapter.AppendStreamsClientCount(nil, "u", "/", "abc", 2))
	f.Add(adapter.AppendStreamsPacketResponse(nil, "u", "/", adapter.ShardedBroadcastAck, "abc", []byte{0x81, 0xa1, 'a', 0x01}))
	f.Add(adapter.AppendStreamsFetchResponse(nil, "u", "/", "abc", [][]byte{{0x81, 0xa2, 'i', 'd', 0xa1, 'x'}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, decode := range []func([]byte) (answer, bool){
			decodeClassicAnswer,
			func(b []byte) (answer, bool) { return decodeClusterAnswer(shardedWire.decode, b) },
			func(b []byte) (answer, bool) { return decodeClusterAnswer(streamsWire.decode, b) },
		} {
			a, ok := decode(b)
			if !ok {
				continue
			}
			if a.requestID == "" || a.size != len(b) {
				t.Fatalf("answer %+v of %d bytes", a, len(b))
			}
			for _, js := range a.sockets {
				if !json.Valid(js) {
					t.Fatalf("socket %q is not JSON", js)
				}
			}
			if a.typ == answerAck && !json.Valid(a.ack) {
				t.Fatalf("ack %q is not JSON", a.ack)
			}
		}
		s, err := decodeSocket(b, "/nsp")
		if err != nil {
			return
		}
		if s.Namespace != "/nsp" || s.Rooms == nil || !json.Valid(s.Data) || !json.Valid(s.Handshake.Auth) {
			t.Fatalf("socket %+v", s)
		}
	})
}
