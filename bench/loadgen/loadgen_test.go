package main

import (
	"bytes"
	"encoding/hex"
	"math"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/google/go-cmp/cmp"
)

// Vectors V1 and V2 of wire-format.md §9, captured from @socket.io/redis-emitter 5.1.0.
func TestAppendEmitterMessage(t *testing.T) {
	tests := []struct {
		name, room, ev string
		args           []string
		channel, hex   string
	}{
		{"V1", "", "hello", []string{"world"}, "socket.io#/#",
			"93a7656d697474657283a47479706502a46461746192a568656c6c6fa5776f726c64a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490"},
		{"room", "room1", "hello", []string{"world"}, "socket.io#/#room1#",
			"93a7656d697474657283a47479706502a46461746192a568656c6c6fa5776f726c64a36e7370a12f83a5726f6f6d7391a5726f6f6d31a5666c61677380a665786365707490"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hex.EncodeToString(appendEmitterMessage(nil, "/", tt.room, tt.ev, tt.args...))
			if got != tt.hex {
				t.Errorf("message:\n got %s\nwant %s", got, tt.hex)
			}
			if ch := broadcastChannel("socket.io", "/", tt.room); ch != tt.channel {
				t.Errorf("channel = %q, want %q", ch, tt.channel)
			}
		})
	}
}

func TestAppendStrLengths(t *testing.T) {
	for _, tt := range []struct {
		n    int
		head string
	}{{0, "a0"}, {31, "bf"}, {32, "d920"}, {255, "d9ff"}, {256, "da0100"}, {65536, "db00010000"}} {
		s := string(bytes.Repeat([]byte{'x'}, tt.n))
		got := appendStr(nil, s)
		head := hex.EncodeToString(got[:len(got)-tt.n])
		if head != tt.head {
			t.Errorf("len %d: header %s, want %s", tt.n, head, tt.head)
		}
	}
}

// Frames built by gobwas/ws (server side, unmasked) must parse; partial input
// must report "need more".
func TestParseFrame(t *testing.T) {
	for _, size := range []int{0, 1, 125, 126, 65535, 65536, 200000} {
		payload := bytes.Repeat([]byte{'a'}, size)
		var buf bytes.Buffer
		if err := ws.WriteFrame(&buf, ws.NewTextFrame(payload)); err != nil {
			t.Fatal(err)
		}
		wire := append(buf.Bytes(), 0x81) // start of a next frame
		for cut := 0; cut < len(wire)-1; cut += max(1, len(wire)/7) {
			if _, n, err := parseFrame(wire[:cut]); n != 0 || err != nil {
				t.Fatalf("size %d cut %d: n=%d err=%v, want need-more", size, cut, n, err)
			}
		}
		f, n, err := parseFrame(wire)
		if err != nil || n != len(wire)-1 {
			t.Fatalf("size %d: n=%d err=%v, want %d", size, n, err, len(wire)-1)
		}
		if !f.fin || f.op != opText || !bytes.Equal(f.payload, payload) {
			t.Fatalf("size %d: got fin=%v op=%d len=%d", size, f.fin, f.op, len(f.payload))
		}
	}
}

func TestParseFrameRejects(t *testing.T) {
	if _, _, err := parseFrame([]byte{0xc1, 0x00}); err != errReservedBits {
		t.Errorf("RSV1: err = %v", err)
	}
	huge := []byte{0x82, 127, 0, 0, 0, 0, 0x10, 0, 0, 0}
	if _, _, err := parseFrame(huge); err != errFrameTooLarge {
		t.Errorf("huge: err = %v", err)
	}
}

// Client frames must be what a server (gobwas/ws) reads: masked, final.
func TestAppendClientFrame(t *testing.T) {
	for _, size := range []int{1, 125, 126, 70000} {
		payload := bytes.Repeat([]byte{'z'}, size)
		wire := appendClientFrame(nil, opText, payload, [4]byte{1, 2, 3, 4})
		r := bytes.NewReader(wire)
		h, err := ws.ReadHeader(r)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Fin || h.OpCode != ws.OpText || !h.Masked || h.Length != int64(size) {
			t.Fatalf("size %d: header %+v", size, h)
		}
		got := make([]byte, h.Length)
		_, _ = r.Read(got)
		ws.Cipher(got, h.Mask, 0)
		if !bytes.Equal(got, payload) {
			t.Fatalf("size %d: payload differs", size)
		}
	}
}

func TestParseEvent(t *testing.T) {
	type ev struct {
		Ev      byte
		TS, Seq int64
		OK      bool
	}
	for _, tt := range []struct {
		in   string
		want ev
	}{
		{`42["b","1764000000123456789 42"]`, ev{'b', 1764000000123456789, 42, true}},
		{`42["w","5 0","xxxx"]`, ev{'w', 5, 0, true}},
		{`42["p","1 2"`, ev{'p', 1, 2, true}},
		{`42["b","1 "]`, ev{}},
		{`42["b","12"]`, ev{}},
		{`42["bb","1 2"]`, ev{}},
		{`43["b","1 2"]`, ev{}},
		{`2`, ev{}},
	} {
		var got ev
		got.Ev, got.TS, got.Seq, got.OK = parseEvent([]byte(tt.in))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tt.in, diff)
		}
	}
}

func TestHist(t *testing.T) {
	var h hist
	for v := int64(1); v <= 100000; v++ {
		h.record(v * int64(time.Microsecond))
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {0.999, 99900 * time.Microsecond}} {
		got := h.quantile(tt.q)
		if d := float64(got-tt.want) / float64(tt.want); d < -0.02 || d > 0.02 {
			t.Errorf("q%.3f = %v, want %v ±2%%", tt.q, got, tt.want)
		}
	}
	if got := h.quantile(1); got != 100*time.Millisecond {
		t.Errorf("max = %v", got)
	}
	// Round trip through the wire form and merge.
	var m hist
	m.merge(h.wire().hist())
	m.merge(h.wire().hist())
	if m.n != 2*h.n || m.quantile(0.5) != h.quantile(0.5) {
		t.Errorf("merged n=%d p50=%v, want n=%d p50=%v", m.n, m.quantile(0.5), 2*h.n, h.quantile(0.5))
	}
	last := histIndex(math.MaxInt64)
	if last >= histLen {
		t.Fatalf("histIndex(MaxInt64) = %d, beyond histLen %d", last, histLen)
	}
	for i := 0; i < last; i++ {
		if v := histValue(i); histIndex(v) != i {
			t.Fatalf("bucket %d: value %d maps to %d", i, v, histIndex(v))
		}
	}
}

func TestHeapBytes(t *testing.T) {
	for _, tt := range []struct {
		reply string
		want  int64
		ok    bool
	}{
		{`{"gc":true,"clients":0,"memory":{"rss":1,"heapTotal":5,"heapUsed":4096,"external":7}}`, 4096, true},
		{`{"gc":true,"heap_inuse":1000,"stack_inuse":24,"sys":9}`, 1024, true},
		{`{"gc":true}`, 0, false},
		{``, 0, false},
		{`not json`, 0, false},
	} {
		got, ok := heapBytes(tt.reply)
		if got != tt.want || ok != tt.ok {
			t.Errorf("heapBytes(%q) = %d, %v; want %d, %v", tt.reply, got, ok, tt.want, tt.ok)
		}
	}
}
