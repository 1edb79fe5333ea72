package adapter

import (
	"testing"
)

var benchArgs = []any{map[string]any{"n": 1, "ts": 1732550000000, "s": "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"}}

// BenchmarkStreamBroadcast encodes a broadcast's data field from Go values,
// as the emitter does: JSON, and base64 msgpack when it holds binary.
func BenchmarkStreamBroadcast(b *testing.B) {
	for _, tc := range []struct {
		name string
		args []any
	}{
		{"json", benchArgs},
		{"binary", append([]any{[]byte{1, 2, 3, 4}}, benchArgs...)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 1024)
			opts := Opts{Rooms: []string{"room1"}}
			for i := 0; i < b.N; i++ {
				data, err := AppendStreamEventData(buf[:0], "bench", tc.args)
				if err != nil {
					b.Fatal(err)
				}
				if buf, err = AppendStreamBroadcast(data, Value{B: data}, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeStreamEntry decodes captured entries, as a reader does
// for every entry of XREAD.
func BenchmarkDecodeStreamEntry(b *testing.B) {
	c := capture(b)
	for _, step := range []struct{ name, step string }{
		{"json", "io.emit"},
		{"binary", "to except volatile compress binary"},
	} {
		values := c.step(b, "defaults", step.step, "XADD")[0].fields()
		b.Run(step.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := DecodeStreamEntry(values); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStreamsServerSideEmit(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for i := 0; i < b.N; i++ {
		data, err := AppendStreamEventData(buf[:0], "bench", benchArgs)
		if err != nil {
			b.Fatal(err)
		}
		buf = AppendStreamsServerSideEmit(data, "0123456789abcdef", "/", "", data)
	}
}

func BenchmarkDecodeStreamsMessage(b *testing.B) {
	payload := capture(b).step(b, "defaults", "serverSideEmit", "PUBLISH")[0][2]
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeStreamsMessage([]byte(payload)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamSession(b *testing.B) {
	stored := []byte(capture(b).allCommands("SET")[0][2])
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := DecodeStreamSession(stored); err != nil {
				b.Fatal(err)
			}
		}
	})
	s, _ := DecodeStreamSession(stored)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for i := 0; i < b.N; i++ {
			buf = AppendStreamSession(buf[:0], s)
		}
	})
}

func BenchmarkStreamName(b *testing.B) {
	b.ReportAllocs()
	o := StreamsOptions{StreamCount: 4}
	for i := 0; i < b.N; i++ {
		_ = o.Stream("/notifications")
	}
}
