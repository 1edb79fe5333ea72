package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestServeWebFlags: the demo page only with --demo; the client bundle by
// default, as Node's serveClient, and not with --serve-client=false.
func TestServeWebFlags(t *testing.T) {
	tests := []struct {
		args                     []string
		page, bundle, mini, map_ int // status of /, socket.io.js, socket.io.min.js, socket.io.js.map
	}{
		{nil, 404, 200, 200, 200},
		{[]string{"--demo"}, 200, 200, 200, 200},
		{[]string{"--serve-client=false"}, 404, 400, 400, 400}, // the relay's own answer, as Node's with serveClient: false
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			url, _, _ := startServe(t, append([]string{"--addr", "127.0.0.1:0", "--log-level", "error"}, tt.args...)...)
			base := strings.TrimSuffix(url, "/socket.io/")
			for path, want := range map[string]int{"/": tt.page, "/socket.io/socket.io.js": tt.bundle, "/socket.io/socket.io.min.js": tt.mini, "/socket.io/socket.io.js.map": tt.map_} {
				if code, body := get(t, base+path); code != want {
					t.Errorf("GET %s: %d, want %d (%.80q)", path, code, want, body)
				}
			}
		})
	}
	err := runServe(context.Background(), []string{"--addr", "127.0.0.1:0", "--demo", "--serve-client=false"}, io.Discard, io.Discard)
	if _, ok := err.(usageError); !ok {
		t.Errorf("--demo --serve-client=false: %v, want a usage error", err)
	}
}
