package jwtauth_test

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/siorelay/siorelay/internal/jwtauth"
	"github.com/siorelay/siorelay/relay"
)

// FuzzVerify feeds arbitrary tokens, auth payloads and headers through
// Connect: no panic, and any refusal is one of the four messages.
func FuzzVerify(f *testing.F) {
	rk, ek := rsaKeys(), ecKeys()
	v := newVerifier(f, jwtauth.Config{
		HMACSecret: secret,
		PublicKeys: []crypto.PublicKey{&rk[0].PublicKey, &ek[0].PublicKey},
		Rooms:      []string{"user:{sub}", "{rooms}", "{a.b}-{c}"},
		Audience:   "relay",
		Issuer:     "idp",
	})
	good := claims(map[string]any{"aud": "relay", "iss": "idp", "rooms": []any{"x", 1.5, nil}, "a": map[string]any{"b": []string{"p", "q"}}, "c": 3})
	for _, tok := range []string{
		"", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.",
		sign(f, jwt.SigningMethodHS256, secret, "", good),
		sign(f, jwt.SigningMethodRS256, rk[0], "k", good),
		sign(f, jwt.SigningMethodES256, ek[0], "", good),
		sign(f, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"exp": "x", "nbf": []int{1}, "aud": 3})),
	} {
		f.Add(tok, `{"token":"`+tok+`"}`)
	}
	f.Add("", `{"token":{"nested":true}}`)
	f.Add("", `[1,2]`)
	messages := map[string]bool{"missing token": true, "invalid token": true, "token expired": true, "token not yet valid": true}
	f.Fuzz(func(t *testing.T, tok, auth string) {
		if c, err := v.Verify(context.Background(), tok); err == nil {
			if _, err := v.Rooms(c); err != nil && !errors.Is(err, jwtauth.ErrInvalidToken) {
				t.Fatalf("Rooms: %v", err)
			}
		}
		h := &relay.Handshake{Namespace: "/", Header: http.Header{"Authorization": {tok}}, Auth: []byte(auth)}
		if _, err := v.Connect(context.Background(), h); err != nil {
			var ce *relay.ConnectError
			if !errors.As(err, &ce) || !messages[ce.Message] {
				t.Fatalf("Connect: %v", err)
			}
			if strings.Contains(ce.Message, "signature") {
				t.Fatalf("Connect leaks: %q", ce.Message)
			}
		}
	})
}
