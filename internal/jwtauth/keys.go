package jwtauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// family is a kind of key; each verifies only its own algorithms, so the
// key decides the algorithm, never the token.
type family int

const (
	familyHMAC family = iota + 1
	familyRSA
	familyEC
)

var familyAlgs = map[family][]string{
	familyHMAC: {"HS256", "HS384", "HS512"},
	familyRSA:  {"RS256", "RS384", "RS512"},
	familyEC:   {"ES256", "ES384", "ES512"},
}

// key is one verification key.
type key struct {
	family   family
	alg      string // the only algorithm it verifies; empty: any of its family
	kid      string // JWKS key id; empty for static keys
	material any    // []byte, *rsa.PublicKey or *ecdsa.PublicKey
}

// verifies tells whether k may verify a token signed with alg and
// carrying kid ("" when the token has none).
func (k *key) verifies(alg, kid string) bool {
	if k.alg != "" {
		if k.alg != alg {
			return false
		}
	} else if !slices.Contains(familyAlgs[k.family], alg) {
		return false
	}
	return kid == "" || k.kid == "" || k.kid == kid
}

// publicKey makes a key of pk.
func publicKey(pk crypto.PublicKey) (key, error) {
	switch pk := pk.(type) {
	case *rsa.PublicKey:
		if pk.N == nil || pk.N.BitLen() < 2048 {
			return key{}, errors.New("RSA key shorter than 2048 bits")
		}
		return key{family: familyRSA, material: pk}, nil
	case *ecdsa.PublicKey:
		alg, ok := ecAlg(pk.Curve)
		if !ok {
			return key{}, errors.New("EC key not on P-256, P-384 or P-521")
		}
		return key{family: familyEC, alg: alg, material: pk}, nil
	default:
		return key{}, fmt.Errorf("unsupported key type %T (want *rsa.PublicKey or *ecdsa.PublicKey)", pk)
	}
}

// ecAlg is the JWS algorithm of an ECDSA curve.
func ecAlg(c elliptic.Curve) (string, bool) {
	switch c {
	case elliptic.P256():
		return "ES256", true
	case elliptic.P384():
		return "ES384", true
	case elliptic.P521():
		return "ES512", true
	}
	return "", false
}

// methods lists the algorithms some configured key may verify.
func (v *Verifier) methods() []string {
	var algs []string
	add := func(a ...string) {
		for _, s := range a {
			if !slices.Contains(algs, s) {
				algs = append(algs, s)
			}
		}
	}
	for _, k := range v.keys {
		if k.alg != "" {
			add(k.alg)
		} else {
			add(familyAlgs[k.family]...)
		}
	}
	if v.jwks != nil {
		add(familyAlgs[familyRSA]...)
		add(familyAlgs[familyEC]...)
	}
	return algs
}

// keyFor returns the keys that may verify t: static keys of t's
// algorithm, and JWKS keys of t's algorithm and kid.
func (v *Verifier) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515 §4.1.11: extensions we do not understand (e.g. RFC
		// 7797's unencoded payload) must make the token invalid.
		return nil, errors.New("crit header")
	}
	alg := t.Method.Alg()
	kid := ""
	if x, ok := t.Header["kid"]; ok {
		s, ok := x.(string)
		if !ok {
			return nil, errors.New("kid is not a string")
		}
		kid = s
	}
	var set jwt.VerificationKeySet
	for i := range v.keys {
		if v.keys[i].verifies(alg, kid) {
			set.Keys = append(set.Keys, v.keys[i].material)
		}
	}
	if v.jwks != nil && !slices.Contains(familyAlgs[familyHMAC], alg) { // a JWKS has no HMAC keys
		for _, k := range v.jwks.keys(ctx, kid) {
			if k.verifies(alg, kid) {
				set.Keys = append(set.Keys, k.material)
			}
		}
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("no %s key with kid %q", alg, kid)
	}
	return set, nil
}

// ParsePublicKeysPEM returns the public keys of PEM data: "PUBLIC KEY"
// (PKIX: RSA or ECDSA), "RSA PUBLIC KEY" (PKCS #1) and "CERTIFICATE" blocks
// (the certificate's key; the certificate itself is not checked). Private
// keys are refused: the relay needs only the public half.
func ParsePublicKeysPEM(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		var (
			pk  crypto.PublicKey
			err error
		)
		switch b.Type {
		case "PUBLIC KEY":
			pk, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			pk, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				pk = c.PublicKey
			}
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("jwtauth: PEM block %q is a private key; give the public key", b.Type)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("jwtauth: PEM block %q: %w", b.Type, err)
		}
		if _, err := publicKey(pk); err != nil {
			return nil, fmt.Errorf("jwtauth: PEM block %q: %w", b.Type, err)
		}
		keys = append(keys, pk)
	}
	if len(keys) == 0 {
		return nil, errors.New("jwtauth: no public key in PEM data")
	}
	return keys, nil
}
