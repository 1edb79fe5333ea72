package socketio

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/siorelay/siorelay/internal/jsjson"
)

// decodeSeq feeds a text message and then binary messages until the packet
// completes or an error occurs.
func decodeSeq(d *Decoder, text []byte, atts [][]byte) (Packet, bool, error) {
	p, done, err := d.Add(text, false)
	for _, a := range atts {
		if err != nil || done {
			break
		}
		p, done, err = d.Add(a, true)
	}
	return p, done, err
}

func FuzzDecode(f *testing.F) {
	for _, tc := range packetCases {
		f.Add([]byte(tc.wire), 0, uint8(len(tc.packet.Attachments)))
	}
	for _, s := range []string{" {}", `21 2["a"]`, `5 1 -["a"]`, `51-["a",{"_placeholder":true,"num":0,"num":1}]`,
		`2["\u0064isconnect"]`, `2/a,b,["x"]`, `62-/custom,789[{"_placeholder":true,"num":0}]`} {
		f.Add([]byte(s), 3, uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, split int, natt uint8) {
		atts := make([][]byte, natt%12)
		for i := range atts {
			atts[i] = []byte{byte(i), 0xFF}
		}
		var d Decoder
		p, done, err := decodeSeq(&d, data, atts)
		if err == nil && done {
			checkPacket(t, data, p)
		}
		if d.Pending() > DefaultMaxAttachments {
			t.Fatalf("pending %d attachments", d.Pending())
		}

		// The same bytes split in two messages: text then binary, and text then text.
		if len(data) > 0 {
			if split < 0 {
				split = -split
			}
			k := split % (len(data) + 1)
			for _, secondBinary := range []bool{true, false} {
				var d Decoder
				p, done, err := d.Add(data[:k], false)
				if err == nil && !done {
					p, done, err = d.Add(data[k:], secondBinary)
					if err == nil && !secondBinary {
						t.Fatalf("text accepted while reconstructing: %q | %q", data[:k], data[k:])
					}
				} else if err == nil && done {
					q, qdone, qerr := d.Add(data[k:], secondBinary)
					if secondBinary && qerr != ErrUnexpectedBinary {
						t.Fatalf("binary after complete packet: %v %v", qdone, qerr)
					}
					if !secondBinary && qerr == nil && qdone {
						checkPacket(t, data[k:], q)
					}
				}
				if err == nil && done {
					checkPacket(t, data[:k], p)
				}
			}
		}
	})
}

// checkPacket asserts the invariants of a decoded packet and that it
// re-encodes to text that decodes to the same packet.
func checkPacket(t *testing.T, in []byte, p Packet) {
	t.Helper()
	if !p.Type.Valid() || p.Namespace == "" || p.ID < 0 || len(p.Data) > len(in) {
		t.Fatalf("decoded %q into bad packet %+v", in, p)
	}
	if !p.Type.IsBinary() && len(p.Attachments) > 0 {
		t.Fatalf("decoded %q: attachments on %v", in, p.Type)
	}
	enc := AppendPacket(nil, p)
	var d Decoder
	q, done, err := decodeSeq(&d, enc, p.Attachments)
	if err != nil || !done {
		t.Fatalf("re-decode %q (from %q): done=%v err=%v", enc, in, done, err)
	}
	if diff := cmp.Diff(p, q, cmpPacket); diff != "" {
		t.Fatalf("round trip %q -> %q (-first +second):\n%s", in, enc, diff)
	}
	if p.Type == Event || p.Type == BinaryEvent {
		if p.Data != nil {
			if _, _, err := EventName(p.Data); err != nil {
				t.Fatalf("EventName(%q) of a decoded event: %v", p.Data, err)
			}
		}
	}
}

func FuzzEventName(f *testing.F) {
	for _, s := range []string{`["foo"]`, `["message",1,"é",{"a":null}]`, ` [ "a\"b\\u00e9" , 1 , [2,3] ] `, `[42,"x"]`, `[-1.5e3]`, `{}`, `[`, `["\ud83d"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		name, args, err := EventName(data) // must not panic on anything
		if !validPayload(Event, data) && !(json.Valid(data) && err == nil) {
			return
		}
		if err != nil {
			t.Fatalf("EventName(%q) of a valid event payload: %v", data, err)
		}
		if !utf8.Valid(data) {
			return
		}
		// Rebuild the payload from the parts: same parts again.
		var rebuilt []byte
		i := jsjson.SkipSpace(data, 0)
		i = jsjson.SkipSpace(data, i+1)
		if data[i] == '"' {
			if args == nil {
				rebuilt = AppendEventData(nil, string(name))
			} else {
				rebuilt = AppendEventData(nil, string(name), args)
			}
		} else {
			rebuilt = append(append([]byte{'['}, name...), ']')
			if args != nil {
				rebuilt = append(append(append(append([]byte{'['}, name...), ','), args...), ']')
			}
		}
		if !json.Valid(rebuilt) {
			t.Fatalf("rebuilt %q from %q is not JSON", rebuilt, data)
		}
		n2, a2, err := EventName(rebuilt)
		if err != nil || !bytes.Equal(n2, name) || !bytes.Equal(a2, args) {
			t.Fatalf("EventName(%q) = %q %q %v; from %q: %q %q", rebuilt, n2, a2, err, data, name, args)
		}
	})
}

// refPlaceholders is a straightforward reference for ValidatePlaceholders
// built on encoding/json (whose maps also keep the last duplicate key).
func refPlaceholders(data []byte, n int) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return ErrInvalidPayload
	}
	var walk func(any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		case map[string]any:
			if x["_placeholder"] == true {
				num, ok := x["num"].(json.Number)
				if !ok {
					return ErrIllegalPlaceholder
				}
				f, err := strconv.ParseFloat(string(num), 64)
				if err != nil && f == 0 {
					return ErrIllegalPlaceholder
				}
				if !(f >= 0 && f < float64(n)) {
					return ErrIllegalPlaceholder
				}
				return nil
			}
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(v)
}

func FuzzValidatePlaceholders(f *testing.F) {
	for _, tc := range packetCases {
		if tc.packet.Data != nil {
			f.Add(tc.packet.Data, uint8(len(tc.packet.Attachments)))
		}
	}
	f.Add([]byte(`["a",{"_placeholder":false,"_placeholder":true,"num":7,"num":0}]`), uint8(1))
	f.Add([]byte(`["a",{"\u005fplaceholder":true,"num":1e-400}]`), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		got := ValidatePlaceholders(data, int(n))
		if !json.Valid(data) && jsjson.Depth(data) <= 10000 {
			if got != ErrInvalidPayload {
				t.Fatalf("invalid JSON %q: %v", data, got)
			}
			return
		}
		if jsjson.Depth(data) >= maxReconstructDepth {
			return // ErrTooDeep or not, depending on where the placeholders are
		}
		if want := refPlaceholders(data, int(n)); got != want {
			t.Fatalf("ValidatePlaceholders(%q, %d) = %v, reference %v", data, n, got, want)
		}
	})
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"\\\n\x00\x1f\x7f", "é€😀\u2028", "\xff\xfe", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := AppendJSONString(nil, s)
		if !json.Valid(enc) || !utf8.Valid(enc) {
			t.Fatalf("AppendJSONString(%q) = %q: not valid JSON/UTF-8", s, enc)
		}
		var want []byte
		for _, r := range s { // invalid bytes become U+FFFD one by one
			want = utf8.AppendRune(want, r)
		}
		var back string
		if err := json.Unmarshal(enc, &back); err != nil || back != string(want) {
			t.Fatalf("AppendJSONString(%q) = %q decodes to %q, %v", s, enc, back, err)
		}
		if got := unquote(enc); string(got) != string(want) {
			t.Fatalf("unquote(%q) = %q, want %q", enc, got, want)
		}
	})
}

func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`[]`, `[1, "a" ,{"b":[2,3]}]`, `["x,]\"y",null]`, `{}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := SplitArray(nil, data) // must not panic on anything
		var want []json.RawMessage
		if json.Unmarshal(data, &want) != nil || !bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")) {
			return // not an array (json.Unmarshal also accepts null)
		}
		if err != nil || len(got) != len(want) {
			t.Fatalf("SplitArray(%q) = %q, %v; encoding/json: %q", data, got, err, want)
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("SplitArray(%q)[%d] = %q, encoding/json %q", data, i, got[i], want[i])
			}
		}
	})
}
