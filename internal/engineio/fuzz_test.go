package engineio

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzDecodePacket(f *testing.F) {
	for _, tc := range packetCases {
		f.Add([]byte(tc.wire), tc.binaryFrame)
	}
	f.Add([]byte("bŁŁ😀A=="), false)
	f.Fuzz(func(t *testing.T, data []byte, binaryFrame bool) {
		p, err := DecodePacket(data, binaryFrame)
		if err != nil {
			if binaryFrame {
				t.Fatalf("binary frame rejected: %v", err)
			}
			return
		}
		if len(p.Data) > len(data) {
			t.Fatalf("decoded %d bytes from %d", len(p.Data), len(data))
		}
		// Whatever decodes re-encodes (both ways) to something that decodes to the same packet.
		for _, sb := range []bool{true, false} {
			enc := AppendPacket(nil, p, sb)
			q, err := DecodePacket(enc, p.IsBinaryFrame(sb))
			if err != nil {
				t.Fatalf("re-decode of %q (from %q): %v", enc, data, err)
			}
			if diff := cmp.Diff(p, q, cmpPacket); diff != "" {
				t.Fatalf("round trip of %q via %q (-first +second):\n%s", data, enc, diff)
			}
		}
	})
}

func FuzzDecodePayload(f *testing.F) {
	for _, tc := range payloadCases {
		f.Add([]byte(tc.wire), 0)
	}
	f.Add([]byte("4a\x1e"), 1)
	f.Add([]byte("4a\x1ebAQ\x1e"), 5)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		var got []Packet
		total := 0
		err := DecodePayload(data, func(p Packet) error {
			got = append(got, p)
			total += len(p.Data)
			return nil
		})
		if total > len(data) {
			t.Fatalf("decoded %d bytes from %d", total, len(data))
		}
		if err == nil {
			enc := AppendPayload(nil, got...)
			again, err := decodeAll(enc)
			if err != nil {
				t.Fatalf("re-decode of %q (from %q): %v", enc, data, err)
			}
			if diff := cmp.Diff(got, again, cmpPacket); diff != "" {
				t.Fatalf("round trip of %q via %q (-first +second):\n%s", data, enc, diff)
			}
		}
		// Two payloads sent one after the other decode like their concatenation
		// joined by a separator, when both halves are valid.
		if len(data) == 0 {
			return
		}
		if split < 0 {
			split = -split
		}
		k := split % len(data)
		a, errA := decodeAll(data[:k])
		b, errB := decodeAll(data[k:])
		if errA != nil || errB != nil {
			return
		}
		joined := append(append(append([]byte(nil), data[:k]...), Separator), data[k:]...)
		all, err := decodeAll(joined)
		if err != nil {
			t.Fatalf("joined %q: %v", joined, err)
		}
		if diff := cmp.Diff(append(a, b...), all, cmpPacket); diff != "" {
			t.Fatalf("split %q at %d (-halves +joined):\n%s", data, k, diff)
		}
	})
}

func FuzzDecodeBase64(f *testing.F) {
	f.Add([]byte("AQIDBA=="))
	f.Add([]byte("ŁŁ😀A=="))
	f.Add([]byte("AQID\r\nBA=="))
	f.Add([]byte("AB=="))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := DecodeBase64(data)
		if slow := decodeBase64Lenient(data); !bytes.Equal(d, slow) {
			t.Fatalf("DecodeBase64(%q) = %x, lenient path %x", data, d, slow)
		}
		if len(d) > len(data) {
			t.Fatalf("decoded %d bytes from %d", len(d), len(data))
		}
		enc := AppendPacket(nil, Packet{Type: Message, Data: d, Binary: true}, false)
		if got := DecodeBase64(enc[1:]); !bytes.Equal(got, d) {
			t.Fatalf("canonical round trip %x -> %q -> %x", d, enc, got)
		}
	})
}
