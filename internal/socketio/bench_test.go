package socketio

import "testing"

var (
	benchArgs  = []byte(`{"user":"alice","text":"hello world","ts":1700000000000}`)
	benchEvent = []byte(`2["message",{"user":"alice","text":"hello world","ts":1700000000000}]`)
	benchNsp   = []byte(`2/chat,42["message",{"user":"alice","text":"hello world","ts":1700000000000}]`)
	benchBin   = []byte(`52-["upload",{"name":"a.bin","part":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]`)
)

func BenchmarkEncode(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.Run("packet", func(b *testing.B) {
		p := Packet{Type: Event, Namespace: "/chat", ID: 42, HasID: true, Data: benchEvent[1:]}
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendPacket(buf[:0], p)
		}
	})
	b.Run("event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendEvent(buf[:0], "/", "message", benchArgs)
		}
	})
	b.Run("connect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendConnect(buf[:0], "/chat", "OINQgpWBAU4MaTveAAAA", "")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   []byte
	}{{"event", benchEvent}, {"event-nsp-ack", benchNsp}} {
		b.Run(bc.name, func(b *testing.B) {
			var d Decoder
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				if _, done, err := d.Add(bc.in, false); err != nil || !done {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("binary-2", func(b *testing.B) {
		var d Decoder
		a0, a1 := make([]byte, 64), make([]byte, 64)
		b.ReportAllocs()
		for b.Loop() {
			d.Add(benchBin, false)
			d.Add(a0, true)
			if _, done, err := d.Add(a1, true); err != nil || !done {
				b.Fatal(err)
			}
		}
	})
	b.Run("event-name", func(b *testing.B) {
		data := benchEvent[1:]
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := EventName(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
