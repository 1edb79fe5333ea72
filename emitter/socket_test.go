package emitter

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeSocket decodes sockets as Node's adapters and the relay write
// them: the common shape, and the rarer values (a repeated header or query
// key as an array, a numeric room, missing fields).
func TestDecodeSocket(t *testing.T) {
	issued := time.UnixMilli(1764096302123)
	for _, tt := range []struct {
		name, in string
		want     Socket
	}{
		{"common", `{"id":"s1","handshake":{"headers":{"host":"h:1","x":"y"},"time":"Wed","address":"::1","xdomain":true,"secure":true,"issued":1764096302123,"url":"/socket.io/?EIO=4","query":{"EIO":"4"},"auth":{"token":"t"}},"rooms":["s1","r"],"data":{"u":1}}`,
			Socket{ID: "s1", Namespace: "/n", Rooms: []string{"s1", "r"}, Data: json.RawMessage(`{"u":1}`), Handshake: Handshake{
				Address: "::1", Headers: map[string]string{"host": "h:1", "x": "y"}, Query: map[string]string{"EIO": "4"},
				Auth: json.RawMessage(`{"token":"t"}`), Time: issued, Secure: true, XDomain: true, URL: "/socket.io/?EIO=4"}}},
		{"arrays and numbers", `{"id":"s2","handshake":{"headers":{"set-cookie":["a=1","b=2"],"n":5},"query":{"k":["1","2"],"e":[]},"issued":1764096302123},"rooms":["s2",7,1.5],"data":null}`,
			Socket{ID: "s2", Namespace: "/n", Rooms: []string{"s2", "7", "1.5"}, Data: json.RawMessage("null"), Handshake: Handshake{
				Headers: map[string]string{"set-cookie": "a=1, b=2", "n": "5"}, Query: map[string]string{"k": "1"},
				Auth: json.RawMessage("{}"), Time: issued}}},
		{"bare", `{"id":"s3"}`,
			Socket{ID: "s3", Namespace: "/n", Rooms: []string{}, Data: json.RawMessage("null"), Handshake: Handshake{
				Headers: map[string]string{}, Query: map[string]string{}, Auth: json.RawMessage("{}")}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSocket([]byte(tt.in), "/n")
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"id":1}`, `{"rooms":{}}`, `{"handshake":[]}`} {
		if _, err := decodeSocket([]byte(bad), "/"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
