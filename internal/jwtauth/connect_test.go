package jwtauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/siorelay/siorelay/internal/jwtauth"
	"github.com/siorelay/siorelay/relay"
)

func handshake(auth string, header http.Header, query url.Values) *relay.Handshake {
	if auth == "" {
		auth = "{}"
	}
	if header == nil {
		header = http.Header{}
	}
	if query == nil {
		query = url.Values{}
	}
	return &relay.Handshake{Namespace: "/", Header: header, Query: query, Address: "127.0.0.1:1", Time: t0, Auth: json.RawMessage(auth)}
}

func authJSON(t *testing.T, tok any) string {
	b, err := json.Marshal(map[string]any{"token": tok})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConnectSources checks where Connect finds the token.
func TestConnectSources(t *testing.T) {
	good := hs256(t, map[string]any{"sub": "good"})
	other := hs256(t, map[string]any{"sub": "other"})
	bad := hs256(t, map[string]any{"exp": t0.Add(-time.Hour).Unix()})
	hdr := func(k, v string) http.Header { h := http.Header{}; h.Set(k, v); return h }
	defaults := jwtauth.Config{HMACSecret: secret, Rooms: []string{"user:{sub}"}}
	custom := jwtauth.Config{HMACSecret: secret, Rooms: []string{"user:{sub}"},
		TokenFrom: []string{"query:access_token", "header:X-Token", "auth.jwt"}}

	for _, tc := range []struct {
		name    string
		cfg     jwtauth.Config
		h       *relay.Handshake
		wantSub string // "" when refused
		wantMsg string
	}{
		{"auth.token", defaults, handshake(authJSON(t, good), nil, nil), "good", ""},
		{"Authorization Bearer", defaults, handshake("", hdr("Authorization", "Bearer "+good), nil), "good", ""},
		{"Authorization bearer, lower case", defaults, handshake("", hdr("Authorization", "bearer  "+good), nil), "good", ""},
		{"Authorization without scheme", defaults, handshake("", hdr("Authorization", good), nil), "good", ""},
		{"Authorization Basic is no token", defaults, handshake("", hdr("Authorization", "Basic dXNlcjpwdw=="), nil), "", "missing token"},
		{"auth.token first", defaults, handshake(authJSON(t, good), hdr("Authorization", "Bearer "+other), nil), "good", ""},
		{"bad auth.token is not skipped", defaults, handshake(authJSON(t, bad), hdr("Authorization", "Bearer "+good), nil), "", "token expired"},
		{"empty auth.token falls through", defaults, handshake(authJSON(t, ""), hdr("Authorization", "Bearer "+good), nil), "good", ""},
		{"auth.token not a string", defaults, handshake(authJSON(t, 12), nil, nil), "", "missing token"},
		{"auth not an object", defaults, handshake(`"x"`, nil, nil), "", "missing token"},
		{"nothing", defaults, handshake("", nil, nil), "", "missing token"},
		{"query is not a default source", defaults, handshake("", nil, url.Values{"access_token": {good}}), "", "missing token"},
		{"query", custom, handshake("", nil, url.Values{"access_token": {good}}), "good", ""},
		{"custom header with Bearer", custom, handshake("", hdr("x-token", "Bearer "+good), nil), "good", ""},
		{"custom header raw", custom, handshake("", hdr("X-Token", good), nil), "good", ""},
		{"custom auth field", custom, handshake(`{"jwt":"`+good+`"}`, nil, nil), "good", ""},
		{"custom order: query before header", custom, handshake("", hdr("X-Token", other), url.Values{"access_token": {good}}), "good", ""},
		{"garbage", defaults, handshake(authJSON(t, "a.b.c"), nil, nil), "", "invalid token"},
		{"not yet valid", defaults, handshake(authJSON(t, hs256(t, map[string]any{"nbf": t0.Add(time.Hour).Unix()})), nil, nil), "", "token not yet valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, tc.cfg)
			res, err := v.Connect(context.Background(), tc.h)
			if tc.wantSub == "" {
				var ce *relay.ConnectError
				if !errors.As(err, &ce) {
					t.Fatalf("Connect: %v (%+v), want a *relay.ConnectError", err, res)
				}
				if ce.Message != tc.wantMsg || ce.Data != nil {
					t.Fatalf("ConnectError %q %v, want %q", ce.Message, ce.Data, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if diff := cmp.Diff([]string{"user:" + tc.wantSub}, res.Rooms); diff != "" {
				t.Errorf("rooms (-want +got):\n%s", diff)
			}
			raw, ok := res.Data.(json.RawMessage)
			if !ok {
				t.Fatalf("Data is %T, want json.RawMessage", res.Data)
			}
			var data map[string]any
			if err := json.Unmarshal(raw, &data); err != nil {
				t.Fatal(err)
			}
			if data["sub"] != tc.wantSub || data["exp"] != float64(t0.Add(time.Hour).Unix()) {
				t.Errorf("data = %s", raw)
			}
		})
	}
}

// TestConnectTooManyRooms refuses a token whose claims give too many rooms.
func TestConnectTooManyRooms(t *testing.T) {
	v := newVerifier(t, jwtauth.Config{HMACSecret: secret, Rooms: []string{"{rooms}"}, MaxRooms: 2})
	_, err := v.Connect(context.Background(), handshake(authJSON(t, hs256(t, map[string]any{"rooms": []string{"a", "b", "c"}})), nil, nil))
	var ce *relay.ConnectError
	if !errors.As(err, &ce) || ce.Message != "invalid token" {
		t.Fatalf("Connect: %v, want connect error \"invalid token\"", err)
	}
}
