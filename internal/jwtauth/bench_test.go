package jwtauth_test

import (
	"context"
	"crypto"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/siorelay/siorelay/internal/jwtauth"
)

// BenchmarkConnect measures Connect (token lookup, verification, rooms,
// claims as data) per algorithm.
func BenchmarkConnect(b *testing.B) {
	rk, ek := rsaKeys(), ecKeys()
	v := newVerifier(b, jwtauth.Config{
		HMACSecret: secret,
		PublicKeys: []crypto.PublicKey{&rk[0].PublicKey, &ek[0].PublicKey},
		Rooms:      []string{"user:{sub}", "{rooms}"},
	})
	c := claims(map[string]any{"rooms": []string{"a", "b"}})
	for _, tc := range []struct {
		name   string
		method jwt.SigningMethod
		key    any
	}{
		{"HS256", jwt.SigningMethodHS256, secret},
		{"RS256", jwt.SigningMethodRS256, rk[0]},
		{"ES256", jwt.SigningMethodES256, ek[0]},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := handshake(`{"token":"`+sign(b, tc.method, tc.key, "", c)+`"}`, nil, nil)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Connect(context.Background(), h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
