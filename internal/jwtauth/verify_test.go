package jwtauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/siorelay/siorelay/internal/jwtauth"
)

func newVerifier(t testing.TB, cfg jwtauth.Config) *jwtauth.Verifier {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return t0 }
	}
	v, err := jwtauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyValid(t *testing.T) {
	rk, ek := rsaKeys(), ecKeys()
	hmacCfg := jwtauth.Config{HMACSecret: secret}
	pubCfg := jwtauth.Config{PublicKeys: []crypto.PublicKey{&rk[0].PublicKey, &ek[0].PublicKey}}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cfg   jwtauth.Config
		token func(t *testing.T) string
	}{
		{"HS256", hmacCfg, func(t *testing.T) string { return hs256(t, nil) }},
		{"HS512", hmacCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS512, secret, "", claims(nil))
		}},
		{"RS256", pubCfg, func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, rk[0], "", claims(nil)) }},
		{"RS384", pubCfg, func(t *testing.T) string { return sign(t, jwt.SigningMethodRS384, rk[0], "", claims(nil)) }},
		{"ES256", pubCfg, func(t *testing.T) string { return sign(t, jwt.SigningMethodES256, ek[0], "", claims(nil)) }},
		{"ES384 on P-384", jwtauth.Config{PublicKeys: []crypto.PublicKey{&p384.PublicKey}}, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES384, p384, "", claims(nil))
		}},
		{"ES256 with an unknown kid (static keys have none)", pubCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, ek[0], "whatever", claims(nil))
		}},
		{"expired within leeway", jwtauth.Config{HMACSecret: secret, Leeway: 2 * time.Minute}, func(t *testing.T) string {
			return hs256(t, map[string]any{"exp": t0.Add(-time.Minute).Unix()})
		}},
		{"nbf within leeway", jwtauth.Config{HMACSecret: secret, Leeway: 2 * time.Minute}, func(t *testing.T) string {
			return hs256(t, map[string]any{"nbf": t0.Add(time.Minute).Unix()})
		}},
		{"nbf passed", hmacCfg, func(t *testing.T) string {
			return hs256(t, map[string]any{"nbf": t0.Add(-time.Second).Unix()})
		}},
		{"no exp allowed", jwtauth.Config{HMACSecret: secret, AllowNoExpiry: true}, func(t *testing.T) string {
			return hs256(t, map[string]any{"exp": nil})
		}},
		{"issuer and audience", jwtauth.Config{HMACSecret: secret, Issuer: "https://idp", Audience: "relay"}, func(t *testing.T) string {
			return hs256(t, map[string]any{"iss": "https://idp", "aud": []string{"other", "relay"}})
		}},
		{"audience as a string", jwtauth.Config{HMACSecret: secret, Audience: "relay"}, func(t *testing.T) string {
			return hs256(t, map[string]any{"aud": "relay"})
		}},
		{"HMAC and public keys together", jwtauth.Config{HMACSecret: secret, PublicKeys: []crypto.PublicKey{&rk[0].PublicKey}}, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rk[0], "", claims(nil))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, tc.cfg)
			got, err := v.Verify(context.Background(), tc.token(t))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got["sub"] != "alice" {
				t.Errorf("sub = %#v", got["sub"])
			}
			if _, ok := got["iat"].(json.Number); !ok {
				t.Errorf("iat = %#v, want a json.Number", got["iat"])
			}
		})
	}
}

func TestVerifyRefused(t *testing.T) {
	rk, ek := rsaKeys(), ecKeys()
	hmacCfg := jwtauth.Config{HMACSecret: secret}
	rsaCfg := jwtauth.Config{PublicKeys: []crypto.PublicKey{&rk[0].PublicKey}}
	rsaPEM := pkixPEM(t, &rk[0].PublicKey)
	otherSecret := []byte("another secret of 32 bytes......")

	for _, tc := range []struct {
		name  string
		cfg   jwtauth.Config
		token func(t *testing.T) string
		want  error
	}{
		{"empty", hmacCfg, func(t *testing.T) string { return "" }, jwtauth.ErrMissingToken},
		{"garbage", hmacCfg, func(t *testing.T) string { return "not-a-jwt" }, jwtauth.ErrInvalidToken},
		{"expired", hmacCfg, func(t *testing.T) string {
			return hs256(t, map[string]any{"exp": t0.Add(-time.Second).Unix()})
		}, jwtauth.ErrTokenExpired},
		{"expired beyond leeway", jwtauth.Config{HMACSecret: secret, Leeway: time.Minute}, func(t *testing.T) string {
			return hs256(t, map[string]any{"exp": t0.Add(-2 * time.Minute).Unix()})
		}, jwtauth.ErrTokenExpired},
		{"no exp", hmacCfg, func(t *testing.T) string { return hs256(t, map[string]any{"exp": nil}) }, jwtauth.ErrInvalidToken},
		{"exp not a number", hmacCfg, func(t *testing.T) string { return hs256(t, map[string]any{"exp": "tomorrow"}) }, jwtauth.ErrInvalidToken},
		{"not yet valid", hmacCfg, func(t *testing.T) string {
			return hs256(t, map[string]any{"nbf": t0.Add(time.Minute).Unix()})
		}, jwtauth.ErrTokenNotYetValid},
		{"issued in the future", hmacCfg, func(t *testing.T) string {
			return hs256(t, map[string]any{"iat": t0.Add(time.Minute).Unix()})
		}, jwtauth.ErrTokenNotYetValid},
		{"wrong HMAC secret", hmacCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, otherSecret, "", claims(nil))
		}, jwtauth.ErrInvalidToken},
		{"forged and expired says invalid, not expired", hmacCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, otherSecret, "", claims(map[string]any{"exp": t0.Add(-time.Hour).Unix()}))
		}, jwtauth.ErrInvalidToken},
		{"tampered payload", hmacCfg, func(t *testing.T) string {
			s := segments(t, hs256(t, nil))
			p, _ := json.Marshal(claims(map[string]any{"sub": "admin"}))
			return s[0] + "." + b64(p) + "." + s[2]
		}, jwtauth.ErrInvalidToken},
		{"tampered signature", hmacCfg, func(t *testing.T) string {
			s := segments(t, hs256(t, nil))
			sig := []byte(s[2])
			sig[3] ^= 1
			return s[0] + "." + s[1] + "." + string(sig)
		}, jwtauth.ErrInvalidToken},
		{"header alg switched to none", hmacCfg, func(t *testing.T) string {
			s := segments(t, hs256(t, nil))
			return b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + s[1] + "." + s[2]
		}, jwtauth.ErrInvalidToken},
		{"alg none unsigned", hmacCfg, func(t *testing.T) string {
			p, _ := json.Marshal(claims(nil))
			return b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(p) + "."
		}, jwtauth.ErrInvalidToken},
		{"alg none via the library", hmacCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims(nil))
		}, jwtauth.ErrInvalidToken},
		{"HS256 signed with the RSA public key PEM", rsaCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, rsaPEM, "", claims(nil))
		}, jwtauth.ErrInvalidToken},
		{"HS256 signed with the RSA public key PEM, HMAC also configured", jwtauth.Config{HMACSecret: secret, PublicKeys: rsaCfg.PublicKeys}, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, rsaPEM, "", claims(nil))
		}, jwtauth.ErrInvalidToken},
		{"HS256 signed with the RSA modulus", rsaCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, rk[0].PublicKey.N.Bytes(), "", claims(nil))
		}, jwtauth.ErrInvalidToken},
		{"RS256 with another RSA key", rsaCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rk[1], "", claims(nil))
		}, jwtauth.ErrInvalidToken},
		{"ES256 with another EC key", jwtauth.Config{PublicKeys: []crypto.PublicKey{&ek[0].PublicKey}}, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, ek[1], "", claims(nil))
		}, jwtauth.ErrInvalidToken},
		{"RS256 token, HMAC key only", hmacCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rk[0], "", claims(nil))
		}, jwtauth.ErrInvalidToken},
		{"PS256 (not supported)", rsaCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodPS256, rk[0], "", claims(nil))
		}, jwtauth.ErrInvalidToken},
		{"wrong issuer", jwtauth.Config{HMACSecret: secret, Issuer: "https://idp"}, func(t *testing.T) string {
			return hs256(t, map[string]any{"iss": "https://evil"})
		}, jwtauth.ErrInvalidToken},
		{"missing issuer", jwtauth.Config{HMACSecret: secret, Issuer: "https://idp"}, func(t *testing.T) string {
			return hs256(t, nil)
		}, jwtauth.ErrInvalidToken},
		{"wrong audience", jwtauth.Config{HMACSecret: secret, Audience: "relay"}, func(t *testing.T) string {
			return hs256(t, map[string]any{"aud": []string{"api", "web"}})
		}, jwtauth.ErrInvalidToken},
		{"missing audience", jwtauth.Config{HMACSecret: secret, Audience: "relay"}, func(t *testing.T) string {
			return hs256(t, nil)
		}, jwtauth.ErrInvalidToken},
		{"over the size cap", jwtauth.Config{HMACSecret: secret, MaxTokenBytes: 200}, func(t *testing.T) string {
			return hs256(t, map[string]any{"pad": strings.Repeat("x", 200)})
		}, jwtauth.ErrInvalidToken},
		{"over the default 8 KiB cap", hmacCfg, func(t *testing.T) string {
			return hs256(t, map[string]any{"pad": strings.Repeat("x", 8<<10)})
		}, jwtauth.ErrInvalidToken},
		{"crit header", hmacCfg, func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
			tok.Header["crit"] = []string{"b64"}
			tok.Header["b64"] = false
			s, err := tok.SignedString(secret)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, jwtauth.ErrInvalidToken},
		{"kid not a string", jwtauth.Config{PublicKeys: []crypto.PublicKey{&rk[0].PublicKey}}, func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims(nil))
			tok.Header["kid"] = 5
			s, err := tok.SignedString(rk[0])
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, jwtauth.ErrInvalidToken},
		{"claims not an object", hmacCfg, func(t *testing.T) string {
			s := segments(t, hs256(t, nil))
			return s[0] + "." + b64([]byte(`["sub"]`)) + "." + s[2]
		}, jwtauth.ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, tc.cfg)
			got, err := v.Verify(context.Background(), tc.token(t))
			if err == nil {
				t.Fatalf("Verify accepted it: claims %v", got)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
			for _, other := range []error{jwtauth.ErrMissingToken, jwtauth.ErrInvalidToken, jwtauth.ErrTokenExpired, jwtauth.ErrTokenNotYetValid} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("Verify: %v is also %v", err, other)
				}
			}
		})
	}
}

// TestVerifyClock checks that the verifier follows Config.Now: a token is
// good until its exp, then expired.
func TestVerifyClock(t *testing.T) {
	now := t0
	v := newVerifier(t, jwtauth.Config{HMACSecret: secret, Now: func() time.Time { return now }})
	tok := hs256(t, map[string]any{"exp": t0.Add(time.Minute).Unix()})
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("before exp: %v", err)
	}
	now = t0.Add(time.Minute + time.Second)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, jwtauth.ErrTokenExpired) {
		t.Fatalf("after exp: %v, want %v", err, jwtauth.ErrTokenExpired)
	}
}

func TestNewErrors(t *testing.T) {
	rk := rsaKeys()
	weak := jwtauth.Config{PublicKeys: []crypto.PublicKey{struct{}{}}}
	for _, tc := range []struct {
		name string
		cfg  jwtauth.Config
	}{
		{"no key", jwtauth.Config{}},
		{"empty secret", jwtauth.Config{HMACSecret: []byte{}}},
		{"unsupported key type", weak},
		{"bad token source", jwtauth.Config{HMACSecret: secret, TokenFrom: []string{"cookie:x"}}},
		{"empty header name", jwtauth.Config{HMACSecret: secret, TokenFrom: []string{"header:"}}},
		{"unclosed template", jwtauth.Config{HMACSecret: secret, Rooms: []string{"user:{sub"}}},
		{"stray brace", jwtauth.Config{HMACSecret: secret, Rooms: []string{"user:}"}}},
		{"empty claim name", jwtauth.Config{HMACSecret: secret, Rooms: []string{"user:{}"}}},
		{"nested braces", jwtauth.Config{HMACSecret: secret, Rooms: []string{"{a{b}}"}}},
		{"negative leeway", jwtauth.Config{PublicKeys: []crypto.PublicKey{&rk[0].PublicKey}, Leeway: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := jwtauth.New(tc.cfg); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestParsePublicKeysPEM(t *testing.T) {
	rk, ek := rsaKeys(), ecKeys()
	var pkcs1 []byte
	{
		der := x509MarshalPKCS1(&rk[1].PublicKey)
		pkcs1 = pemOf(t, "RSA PUBLIC KEY", der)
	}
	cert := selfSigned(t, ek[1])
	data := append(append(append(pkixPEM(t, &rk[0].PublicKey), pkixPEM(t, &ek[0].PublicKey)...), pkcs1...), cert...)
	keys, err := jwtauth.ParsePublicKeysPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []crypto.PublicKey{&rk[0].PublicKey, &ek[0].PublicKey, &rk[1].PublicKey, &ek[1].PublicKey}
	if len(keys) != len(want) {
		t.Fatalf("got %d keys, want %d", len(keys), len(want))
	}
	for i, k := range keys {
		if !k.(interface{ Equal(crypto.PublicKey) bool }).Equal(want[i]) {
			t.Errorf("key %d differs", i)
		}
	}

	// Each key verifies tokens of its own.
	v := newVerifier(t, jwtauth.Config{PublicKeys: keys})
	for i, tok := range []string{
		sign(t, jwt.SigningMethodRS256, rk[0], "", claims(nil)),
		sign(t, jwt.SigningMethodES256, ek[0], "", claims(nil)),
		sign(t, jwt.SigningMethodRS512, rk[1], "", claims(nil)),
		sign(t, jwt.SigningMethodES256, ek[1], "", claims(nil)),
	} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("token %d: %v", i, err)
		}
	}

	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not PEM", []byte("hello")},
		{"private key", pemOf(t, "PRIVATE KEY", []byte{1, 2, 3})},
		{"broken public key", pemOf(t, "PUBLIC KEY", []byte{1, 2, 3})},
	} {
		if _, err := jwtauth.ParsePublicKeysPEM(tc.data); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestRooms checks the room templates.
func TestRooms(t *testing.T) {
	v := newVerifier(t, jwtauth.Config{HMACSecret: secret, Rooms: []string{
		"user:{sub}", "{rooms}", "org:{org}:team:{teams}", "tenant:{tid}", "{missing}", "{https://example.com/roles}", "realm:{realm.roles}", "static",
	}})
	for _, tc := range []struct {
		name  string
		extra map[string]any
		want  []string
	}{
		{"only sub", nil, []string{"user:alice", "static"}},
		{"number sub", map[string]any{"sub": 42}, []string{"user:42", "static"}},
		{"large number keeps its digits", map[string]any{"sub": json.Number("12345678901234567890")}, []string{"user:12345678901234567890", "static"}},
		{"empty sub yields nothing", map[string]any{"sub": ""}, []string{"static"}},
		{"array claim", map[string]any{"rooms": []any{"a", "b", 7, "a", true, nil, map[string]any{}}}, []string{"user:alice", "a", "b", "7", "static"}},
		{"string claim in an array template", map[string]any{"rooms": "solo"}, []string{"user:alice", "solo", "static"}},
		{"object claim yields nothing", map[string]any{"rooms": map[string]any{"a": 1}, "tid": true}, []string{"user:alice", "static"}},
		{"product of two claims", map[string]any{"org": "acme", "teams": []string{"x", "y"}}, []string{"user:alice", "org:acme:team:x", "org:acme:team:y", "static"}},
		{"one of two claims missing", map[string]any{"teams": []string{"x"}}, []string{"user:alice", "static"}},
		{"empty array", map[string]any{"org": "acme", "teams": []string{}}, []string{"user:alice", "static"}},
		{"claim name with dots", map[string]any{"https://example.com/roles": []string{"admin"}}, []string{"user:alice", "admin", "static"}},
		{"dotted path", map[string]any{"realm": map[string]any{"roles": []string{"r1"}}}, []string{"user:alice", "realm:r1", "static"}},
		{"duplicates dropped", map[string]any{"rooms": []string{"user:alice", "static"}}, []string{"user:alice", "static"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Through a real token, so numbers arrive as json.Number.
			c, err := v.Verify(context.Background(), hs256(t, tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Rooms(c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("rooms (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("too many rooms", func(t *testing.T) {
		v := newVerifier(t, jwtauth.Config{HMACSecret: secret, Rooms: []string{"{a}-{b}"}, MaxRooms: 10})
		many := []string{"1", "2", "3", "4"}
		if _, err := v.Rooms(map[string]any{"a": many, "b": many}); !errors.Is(err, jwtauth.ErrInvalidToken) {
			t.Fatalf("Rooms: %v, want %v", err, jwtauth.ErrInvalidToken)
		}
		if got, err := v.Rooms(map[string]any{"a": many, "b": many[:2]}); err != nil || len(got) != 8 {
			t.Fatalf("Rooms: %v %v, want 8 rooms", got, err)
		}
	})
}
