package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	maxJWKSBytes = 1 << 20 // a key set larger than this is refused
	maxJWKSKeys  = 100     // keys beyond this many are ignored
	fetchTimeout = 30 * time.Second
)

// jwks is a JSON Web Key Set fetched from a URL and cached.
type jwks struct {
	url    string
	client *http.Client
	maxAge time.Duration
	minGap time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex
	set     []key     // guarded by mu; replaced, never modified
	fetched time.Time // guarded by mu; end of the last successful fetch
	tried   time.Time // guarded by mu; start of the last fetch
	busy    *fetching // guarded by mu; the fetch under way, or nil
}

// fetching is one fetch of the set.
type fetching struct {
	done chan struct{} // closed when the fetch ends
	err  error         // its outcome; read it once done is closed
}

// keys returns the key set, first fetching it if it was never fetched, is
// older than maxAge, or lacks kid — unless a fetch started less than
// minGap ago. A caller that lacks its key, or that starts the fetch, waits
// for it (until ctx ends); one that has it and finds a fetch under way
// does not.
func (j *jwks) keys(ctx context.Context, kid string) []key {
	j.mu.Lock()
	now := j.now()
	known := kid == "" && len(j.set) > 0 || kid != "" && slices.ContainsFunc(j.set, func(k key) bool { return k.kid == kid })
	stale := j.fetched.IsZero() || now.Sub(j.fetched) >= j.maxAge
	var f *fetching
	switch {
	case known && !stale:
	case j.busy != nil:
		if !known {
			f = j.busy
		}
	case j.tried.IsZero() || now.Sub(j.tried) >= j.minGap:
		f = j.start(ctx, now)
	}
	set := j.set
	j.mu.Unlock()
	if f == nil {
		return set
	}
	select {
	case <-f.done:
	case <-ctx.Done():
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.set
}

// refresh fetches the set now, or joins the fetch under way, and returns
// that fetch's error, or ctx's if ctx ends first.
func (j *jwks) refresh(ctx context.Context) error {
	j.mu.Lock()
	f := j.busy
	if f == nil {
		f = j.start(ctx, j.now())
	}
	j.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start starts a fetch in its own goroutine and returns it. j.mu must be
// held. The fetch is not cancelled with ctx (others may wait for it); it
// is bounded by fetchTimeout and the HTTP client's timeout.
func (j *jwks) start(ctx context.Context, now time.Time) *fetching {
	f := &fetching{done: make(chan struct{})}
	j.busy = f
	j.tried = now
	go j.run(context.WithoutCancel(ctx), f)
	return f
}

// run fetches the set and ends f.
func (j *jwks) run(ctx context.Context, f *fetching) {
	fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	set, err := j.fetch(fctx)
	cancel()
	if err != nil {
		j.log.Warn("jwks fetch failed", "url", j.url, "err", err)
	}
	j.mu.Lock()
	if err == nil {
		j.set = set
		j.fetched = j.now()
	}
	f.err = err
	j.busy = nil
	close(f.done)
	j.mu.Unlock()
}

// fetch GETs and parses the key set.
func (j *jwks) fetch(ctx context.Context) ([]key, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: jwks %s: %w", j.url, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwtauth: jwks %s: %s", j.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwtauth: jwks %s: %w", j.url, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("jwtauth: jwks %s: larger than %d bytes", j.url, maxJWKSBytes)
	}
	set, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: jwks %s: %w", j.url, err)
	}
	return set, nil
}

// jwk is one JSON Web Key (RFC 7517, RFC 7518 §6).
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	KeyOps []string `json:"key_ops"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
}

// parseJWKS returns the usable signature-verification keys of a key set:
// kty RSA (2048 bits or more) and EC (P-256, P-384, P-521); keys for
// encryption (use "enc"), of other types, or with an algorithm that does
// not fit their type are skipped. A set with no usable key is an error.
func parseJWKS(data []byte) ([]key, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var set []key
	for _, raw := range doc.Keys {
		if len(set) == maxJWKSKeys {
			break
		}
		var k jwk
		if json.Unmarshal(raw, &k) != nil {
			continue
		}
		if pk, err := k.key(); err == nil {
			set = append(set, pk)
		}
	}
	if len(set) == 0 {
		return nil, errors.New("no usable signature key")
	}
	return set, nil
}

// key converts k.
func (k *jwk) key() (key, error) {
	if k.Use != "" && k.Use != "sig" {
		return key{}, fmt.Errorf("use %q", k.Use)
	}
	if k.KeyOps != nil && !slices.Contains(k.KeyOps, "verify") {
		return key{}, errors.New("key_ops without verify")
	}
	var out key
	switch k.Kty {
	case "RSA":
		n, err1 := b64(k.N)
		e, err2 := b64(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return key{}, errors.New("bad RSA n or e")
		}
		ei := new(big.Int).SetBytes(e).Int64()
		pk := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ei)}
		if pk.E < 3 || pk.E%2 == 0 {
			return key{}, errors.New("bad RSA exponent")
		}
		var err error
		if out, err = publicKey(pk); err != nil {
			return key{}, err
		}
	case "EC":
		var c elliptic.Curve
		switch k.Crv {
		case "P-256":
			c = elliptic.P256()
		case "P-384":
			c = elliptic.P384()
		case "P-521":
			c = elliptic.P521()
		default:
			return key{}, fmt.Errorf("curve %q", k.Crv)
		}
		size := (c.Params().BitSize + 7) / 8
		x, err1 := b64(k.X)
		y, err2 := b64(k.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return key{}, errors.New("bad EC x or y")
		}
		pk, err := ecdsa.ParseUncompressedPublicKey(c, slices.Concat([]byte{4}, x, y))
		if err != nil {
			return key{}, err
		}
		if out, err = publicKey(pk); err != nil {
			return key{}, err
		}
	default:
		return key{}, fmt.Errorf("kty %q", k.Kty)
	}
	if k.Alg != "" {
		if !slices.Contains(familyAlgs[out.family], k.Alg) || out.alg != "" && out.alg != k.Alg {
			return key{}, fmt.Errorf("alg %q for kty %q", k.Alg, k.Kty)
		}
		out.alg = k.Alg
	}
	out.kid = k.Kid
	return out, nil
}

// b64 decodes base64url, with or without padding.
func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
