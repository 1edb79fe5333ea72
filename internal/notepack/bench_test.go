package notepack

import (
	"encoding/json"
	"testing"
)

type benchPayload struct {
	User    string   `json:"user"`
	Message string   `json:"message"`
	Tags    []string `json:"tags"`
	TS      int64    `json:"ts"`
}

func BenchmarkAppendValue(b *testing.B) {
	cases := map[string]any{
		"string":  "hello world",
		"map":     map[string]any{"n": 1, "ts": 1732550000000, "s": "a fairly ordinary chat message"},
		"struct":  benchPayload{"alice", "a fairly ordinary chat message", []string{"x", "y"}, 1732550000000},
		"rawjson": json.RawMessage(`{"n":1,"ts":1732550000000,"s":"a fairly ordinary chat message"}`),
	}
	for name, v := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 256)
			for i := 0; i < b.N; i++ {
				var err error
				if buf, err = AppendValue(buf[:0], v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendToJSON(b *testing.B) {
	mp, _ := AppendJSON(nil, []byte(`["chat",{"n":1,"ts":1732550000000,"s":"a fairly ordinary chat message","bin":null}]`))
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	for i := 0; i < b.N; i++ {
		buf, _, _ = AppendToJSON(buf[:0], mp, nil)
	}
}
