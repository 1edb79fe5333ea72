package adapter

import (
	"encoding/json"
	"testing"
)

func FuzzJSONScan(f *testing.F) {
	for _, s := range []string{`{"packet":{"type":2,"data":["a",1.5e3,-0,{"x":[true,false,null]}]},"opts":{"rooms":[],"except":[],"flags":{}}}`,
		`{"p\u0061cket":1,"pACket":2}`, `[1,2]`, ` {"a" : "\ud800\"" } `, `{"a":01}`, `{"a":1.}`, `{"a":"\x"}`, `{"a":1,}`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // eachField walks validated JSON
		}
		var want map[string]json.RawMessage
		wantErr := json.Unmarshal(b, &want) != nil || want == nil
		got := map[string]json.RawMessage{}
		err := eachField(b, func(k string, v []byte) error {
			got[k] = v
			return nil
		})
		if (err != nil) != wantErr {
			t.Fatalf("eachField error %v, encoding/json error %v for %q", err, wantErr, b)
		}
		if err == nil {
			if len(got) != len(want) {
				t.Fatalf("keys %v, want %v", got, want)
			}
			for k, v := range want {
				if string(got[k]) != string(v) {
					t.Fatalf("key %q: %s, want %s", k, got[k], v)
				}
			}
		}
	})
}
