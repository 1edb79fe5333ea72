package jwtauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// t0 is the fake "now" of the tests.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

var secret = []byte("0123456789abcdef0123456789abcdef")

// Keys are generated once: RSA generation is slow under -race.
var (
	rsaKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
		var ks [2]*rsa.PrivateKey
		for i := range ks {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			ks[i] = k
		}
		return ks
	})
	ecKeys = sync.OnceValue(func() [2]*ecdsa.PrivateKey {
		var ks [2]*ecdsa.PrivateKey
		for i := range ks {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				panic(err)
			}
			ks[i] = k
		}
		return ks
	})
)

// claims returns standard valid claims around t0, with extra merged in
// (a nil value deletes a claim).
func claims(extra map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub": "alice",
		"iat": t0.Add(-time.Minute).Unix(),
		"exp": t0.Add(time.Hour).Unix(),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign signs c with method and key, setting kid if not empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hs256 is a valid HS256 token over claims(extra).
func hs256(t testing.TB, extra map[string]any) string {
	return sign(t, jwt.SigningMethodHS256, secret, "", claims(extra))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// segments splits a token into its three parts.
func segments(t testing.TB, tok string) [3]string {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("token %q has %d segments", tok, len(p))
	}
	return [3]string{p[0], p[1], p[2]}
}

func pemOf(t testing.TB, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkixPEM(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, "PUBLIC KEY", der)
}

// rsaJWK is the JWK of an RSA public key.
func rsaJWK(kid, alg string, pub *rsa.PublicKey) map[string]any {
	m := map[string]any{"kty": "RSA", "kid": kid, "use": "sig",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
	if alg != "" {
		m["alg"] = alg
	}
	return m
}

// ecJWK is the JWK of a P-256 public key.
func ecJWK(kid string, pub *ecdsa.PublicKey) map[string]any {
	raw, err := pub.Bytes()
	if err != nil {
		panic(err)
	}
	return map[string]any{"kty": "EC", "kid": kid, "crv": "P-256",
		"x": b64(raw[1:33]), "y": b64(raw[33:])}
}

func jwksJSON(keys ...map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	return b
}

func x509MarshalPKCS1(pub *rsa.PublicKey) []byte { return x509.MarshalPKCS1PublicKey(pub) }

// selfSigned is a PEM certificate for k's public key.
func selfSigned(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: t0, NotAfter: t0.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, "CERTIFICATE", der)
}
