package hooks

import (
	"testing"
)

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		pattern, nsp string
		want         bool
	}{
		{"*", "/", true},
		{"*", "/a/b", true},
		{"/chat", "/chat", true},
		{"/chat", "/chat2", false},
		{"/chat", "/", false},
		{"/rooms/*", "/rooms/a", true},
		{"/rooms/*", "/rooms/a/b", true},
		{"/rooms/*", "/rooms/", false},
		{"/rooms/*", "/rooms", false},
		{"/rooms/*", "/roomsx", false},
	} {
		if got := matchPattern(c.pattern, c.nsp); got != c.want {
			t.Errorf("matchPattern(%q, %q) = %v", c.pattern, c.nsp, got)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Route{Namespace: "/", Target: "grpc://127.0.0.1:1"}
	for _, c := range []Config{
		{},
		{Routes: []Route{{Namespace: "chat", Target: ok.Target}}},
		{Routes: []Route{{Namespace: "/a*", Target: ok.Target}}},
		{Routes: []Route{{Namespace: "/*/b", Target: ok.Target}}},
		{Routes: []Route{{Namespace: "/", Target: "grpc://127.0.0.1"}}},
		{Routes: []Route{{Namespace: "/", Target: "grpc://127.0.0.1:1/path"}}},
		{Routes: []Route{{Namespace: "/", Target: "http://"}}},
		{Routes: []Route{{Namespace: "/", Target: "http://h/x?q=1"}}},
		{Routes: []Route{{Namespace: "/", Target: "unix:///tmp/x"}}},
		{Routes: []Route{ok}, Events: []string{""}},
		{Routes: []Route{ok}, Timeout: -1},
		{Routes: []Route{ok}, MaxInFlight: -1},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	for _, target := range []string{"grpc://127.0.0.1:1", "grpcs://example.com:443", "http://127.0.0.1:8080", "https://example.com/base/", "grpc://[::1]:50051"} {
		f, err := New(Config{Routes: []Route{{Namespace: "/rooms/*", Target: target}}})
		if err != nil {
			t.Errorf("%s: %v", target, err)
			continue
		}
		f.Close(t.Context())
	}
}

func TestParseTargetBase(t *testing.T) {
	tg, err := parseTarget("https://example.com/base/")
	if err != nil || tg.kind != "http" || !tg.tls || tg.base != "https://example.com/base" {
		t.Errorf("parseTarget = %+v, %v", tg, err)
	}
}
