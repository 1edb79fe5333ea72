package engineio

import (
	"testing"
	"time"
)

var benchText = []byte(`2["message",{"user":"alice","text":"hello world","ts":1700000000000}]`)

func BenchmarkEncode(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.Run("text", func(b *testing.B) {
		p := Packet{Type: Message, Data: benchText}
		b.ReportAllocs()
		b.SetBytes(int64(len(benchText)))
		for b.Loop() {
			buf = AppendPacket(buf[:0], p, true)
		}
	})
	b.Run("binary-base64-256B", func(b *testing.B) {
		p := Packet{Type: Message, Data: make([]byte, 256), Binary: true}
		b.ReportAllocs()
		b.SetBytes(256)
		for b.Loop() {
			buf = AppendPacket(buf[:0], p, false)
		}
	})
	b.Run("payload-3", func(b *testing.B) {
		ps := []Packet{{Type: Message, Data: benchText}, {Type: Message, Data: benchText}, {Type: Ping}}
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendPayload(buf[:0], ps...)
		}
	})
	b.Run("open", func(b *testing.B) {
		h := Handshake{SID: "OINQgpWBAU4MaTveAAAA", Upgrades: []string{"websocket"}, PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: 1e6}
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendOpen(buf[:0], h)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	b.Run("text", func(b *testing.B) {
		in := append([]byte{'4'}, benchText...)
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := DecodePacket(in, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("binary-base64-256B", func(b *testing.B) {
		in := AppendPacket(nil, Packet{Type: Message, Data: make([]byte, 256), Binary: true}, false)
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := DecodePacket(in, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("payload-3", func(b *testing.B) {
		in := AppendPayload(nil, Packet{Type: Message, Data: benchText}, Packet{Type: Message, Data: benchText}, Packet{Type: Pong})
		n := 0
		fn := func(Packet) error { n++; return nil }
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if err := DecodePayload(in, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkNewSID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewSID()
	}
}

func BenchmarkNewSIDParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = NewSID()
		}
	})
}
