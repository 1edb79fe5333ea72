package notepack

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzAppendJSON checks that AppendJSON accepts exactly what encoding/json
// accepts, and that transcoding back and forth is stable.
func FuzzAppendJSON(f *testing.F) {
	for _, tt := range jsonCases {
		f.Add([]byte(tt.json))
	}
	f.Add([]byte(`{"a":{"1":[1e400,-1e-400,"\u0000"]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		mp, err := AppendJSON(nil, in)
		valid := json.Valid(in)
		if (err == nil) != valid {
			// The only accepted difference: nesting deeper than maxDepth.
			if !(valid && bytes.Count(in, []byte("["))+bytes.Count(in, []byte("{")) >= maxDepth) {
				t.Fatalf("AppendJSON(%q) err = %v, json.Valid = %v", in, err, valid)
			}
		}
		if err != nil {
			return
		}
		js, n, err := AppendToJSON(nil, mp, nil)
		if err != nil || n != len(mp) {
			t.Fatalf("AppendToJSON(AppendJSON(%q)) = %v (read %d of %d)", in, err, n, len(mp))
		}
		if !json.Valid(js) {
			t.Fatalf("AppendToJSON produced invalid JSON %q", js)
		}
		mp2, err := AppendJSON(nil, js)
		if err != nil {
			t.Fatal(err)
		}
		js2, _, _ := AppendToJSON(nil, mp2, nil)
		if !bytes.Equal(js, js2) {
			t.Fatalf("not stable: %q -> %q -> %q", in, js, js2)
		}
	})
}

// FuzzAppendToJSON feeds arbitrary bytes to the decoders: no panic, and
// whatever decodes prints as valid JSON.
func FuzzAppendToJSON(f *testing.F) {
	for _, tt := range jsonCases {
		b, _ := AppendJSON(nil, []byte(tt.json))
		f.Add(b)
	}
	f.Add([]byte{0x92, 0xc4, 0x01, 0x01, 0xd6, 0xff, 0, 0, 0, 0})
	f.Add([]byte{0xdd, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		var bins [][]byte
		js, n, err := AppendToJSON(nil, in, &bins)
		if err == nil {
			if n > len(in) || !json.Valid(js) {
				t.Fatalf("AppendToJSON(%x) = %q, read %d", in, js, n)
			}
		}
		_, _ = Decode(in)
		_ = ContainsBinary(in)
		r := NewReader(in)
		_ = r.Skip()
	})
}
