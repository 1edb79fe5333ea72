package jwtauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/siorelay/siorelay/internal/jwtauth"
)

// jwksServer serves a key set that tests change as they go.
type jwksServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte // guarded by mu
	status   int    // guarded by mu
	requests atomic.Int64
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{body: body, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		body, status := s.body, s.status
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(status int, body []byte) {
	s.mu.Lock()
	s.status, s.body = status, body
	s.mu.Unlock()
}

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// jwksVerifier is a verifier of srv's key set on clk.
func jwksVerifier(t *testing.T, srv *jwksServer, clk *clock) *jwtauth.Verifier {
	t.Helper()
	v, err := jwtauth.New(jwtauth.Config{JWKSURL: srv.URL, HTTPClient: srv.Client(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantVerify(t *testing.T, v *jwtauth.Verifier, tok string, want error) {
	t.Helper()
	_, err := v.Verify(context.Background(), tok)
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("Verify: %v, want %v", err, want)
	}
}

func wantRequests(t *testing.T, srv *jwksServer, n int64) {
	t.Helper()
	if got := srv.requests.Load(); got != n {
		t.Fatalf("JWKS fetched %d times, want %d", got, n)
	}
}

func TestJWKS(t *testing.T) {
	rk, ek := rsaKeys(), ecKeys()
	srv := newJWKSServer(t, jwksJSON(rsaJWK("r1", "RS256", &rk[0].PublicKey), ecJWK("e1", &ek[0].PublicKey)))
	clk := &clock{now: t0}
	v := jwksVerifier(t, srv, clk)
	wantRequests(t, srv, 0) // New does no I/O

	wantVerify(t, v, sign(t, jwt.SigningMethodRS256, rk[0], "r1", claims(nil)), nil)
	wantVerify(t, v, sign(t, jwt.SigningMethodES256, ek[0], "e1", claims(nil)), nil)
	wantVerify(t, v, sign(t, jwt.SigningMethodES256, ek[0], "", claims(nil)), nil) // no kid: every key of its alg is tried
	wantRequests(t, srv, 1)

	// The JWK's alg binds the key: RS384 with r1 is refused.
	wantVerify(t, v, sign(t, jwt.SigningMethodRS384, rk[0], "r1", claims(nil)), jwtauth.ErrInvalidToken)
	// A kid names a key; the key of another kid does not verify.
	wantVerify(t, v, sign(t, jwt.SigningMethodES256, ek[0], "r1", claims(nil)), jwtauth.ErrInvalidToken)
	// Alg confusion: HS256 signed with the RSA key's public bytes.
	pem := pkixPEM(t, &rk[0].PublicKey)
	wantVerify(t, v, sign(t, jwt.SigningMethodHS256, pem, "r1", claims(nil)), jwtauth.ErrInvalidToken)
	wantVerify(t, v, sign(t, jwt.SigningMethodHS256, rk[0].PublicKey.N.Bytes(), "r1", claims(nil)), jwtauth.ErrInvalidToken)
	wantRequests(t, srv, 1)

	// HMAC tokens never make it fetch (a JWKS has no HMAC keys).
	both, err := jwtauth.New(jwtauth.Config{JWKSURL: srv.URL, HTTPClient: srv.Client(), HMACSecret: secret, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	wantVerify(t, both, sign(t, jwt.SigningMethodHS256, secret, "unknown", claims(nil)), nil)
	wantRequests(t, srv, 1)

	// Once older than JWKSRefresh (10m), the set is fetched again.
	clk.Advance(10 * time.Minute)
	wantVerify(t, v, sign(t, jwt.SigningMethodRS256, rk[0], "r1", claims(map[string]any{"exp": clk.Now().Add(time.Hour).Unix()})), nil)
	wantRequests(t, srv, 2)
}

func TestJWKSRotation(t *testing.T) {
	rk := rsaKeys()
	srv := newJWKSServer(t, jwksJSON(rsaJWK("k1", "", &rk[0].PublicKey)))
	clk := &clock{now: t0}
	v := jwksVerifier(t, srv, clk)
	tok := func(i int, kid string) string {
		return sign(t, jwt.SigningMethodRS256, rk[i], kid, claims(map[string]any{"exp": clk.Now().Add(time.Hour).Unix()}))
	}
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantVerify(t, v, tok(0, "k1"), nil)
	wantRequests(t, srv, 1)

	// The issuer rotates to k2. A k2 token right away: the set was fetched
	// less than JWKSMinInterval (30s) ago, so no new fetch, and it is
	// refused.
	srv.set(http.StatusOK, jwksJSON(rsaJWK("k2", "", &rk[1].PublicKey)))
	wantVerify(t, v, tok(1, "k2"), jwtauth.ErrInvalidToken)
	wantVerify(t, v, tok(1, "k2"), jwtauth.ErrInvalidToken)
	wantRequests(t, srv, 1)

	// 30s later the unknown kid makes it fetch the set, once.
	clk.Advance(30 * time.Second)
	wantVerify(t, v, tok(1, "k2"), nil)
	wantVerify(t, v, tok(1, "k2"), nil)
	wantRequests(t, srv, 2)
	// k1 left the set: its tokens are refused now (and do not trigger a
	// fetch before 30s).
	wantVerify(t, v, tok(0, "k1"), jwtauth.ErrInvalidToken)
	wantRequests(t, srv, 2)
}

func TestJWKSDown(t *testing.T) {
	rk := rsaKeys()
	srv := newJWKSServer(t, []byte("upstream down"))
	srv.set(http.StatusServiceUnavailable, []byte("upstream down"))
	clk := &clock{now: t0}
	v := jwksVerifier(t, srv, clk)
	tok := func() string {
		return sign(t, jwt.SigningMethodRS256, rk[0], "k1", claims(map[string]any{"exp": clk.Now().Add(time.Hour).Unix()}))
	}

	if err := v.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh: no error from a 503")
	}
	wantVerify(t, v, tok(), jwtauth.ErrInvalidToken)
	wantRequests(t, srv, 1) // the failed Refresh counts for JWKSMinInterval

	// Up again: after JWKSMinInterval the next token fetches it.
	srv.set(http.StatusOK, jwksJSON(rsaJWK("k1", "RS256", &rk[0].PublicKey)))
	clk.Advance(30 * time.Second)
	wantVerify(t, v, tok(), nil)
	wantRequests(t, srv, 2)

	// Down again once the set is stale: the known keys are kept.
	srv.set(http.StatusInternalServerError, nil)
	clk.Advance(11 * time.Minute)
	wantVerify(t, v, tok(), nil)
	wantRequests(t, srv, 3)
	if err := v.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh: no error from a 500")
	}
	wantVerify(t, v, tok(), nil)

	// Garbage or an empty set is a failed fetch too; keys are kept.
	for _, body := range [][]byte{[]byte("{not json"), []byte(`{"keys":[]}`), []byte(`[]`)} {
		srv.set(http.StatusOK, body)
		if err := v.Refresh(context.Background()); err == nil {
			t.Errorf("Refresh of %q: no error", body)
		}
		wantVerify(t, v, tok(), nil)
	}

	// Unreachable.
	dead := newJWKSServer(t, nil)
	dead.Close()
	v2 := jwksVerifier(t, dead, clk)
	if err := v2.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh of a closed server: no error")
	}
	wantVerify(t, v2, tok(), jwtauth.ErrInvalidToken)
}

// TestJWKSKeySelection checks which keys of a set are used.
func TestJWKSKeySelection(t *testing.T) {
	rk, ek := rsaKeys(), ecKeys()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	enc := rsaJWK("enc", "", &rk[0].PublicKey)
	enc["use"] = "enc"
	ops := rsaJWK("ops", "", &rk[0].PublicKey)
	ops["key_ops"] = []string{"encrypt"}
	ecAsRSA := ecJWK("ec-rs", &ek[0].PublicKey)
	ecAsRSA["alg"] = "RS256"
	ecWrongCurve := ecJWK("ec-384", &ek[0].PublicKey)
	ecWrongCurve["crv"] = "P-384"
	offCurve := ecJWK("off", &ek[0].PublicKey)
	offCurve["y"] = offCurve["x"]
	srv := newJWKSServer(t, jwksJSON(
		enc, ops, ecAsRSA, ecWrongCurve, offCurve,
		rsaJWK("small", "", &small.PublicKey),
		map[string]any{"kty": "oct", "kid": "oct", "k": b64(secret)},
		map[string]any{"kty": "RSA", "kid": "junk", "n": "!!", "e": "AQAB"},
		rsaJWK("good", "", &rk[0].PublicKey),
	))
	clk := &clock{now: t0}
	v := jwksVerifier(t, srv, clk)
	for _, tc := range []struct {
		kid  string
		tok  string
		want error
	}{
		{"good", sign(t, jwt.SigningMethodRS256, rk[0], "good", claims(nil)), nil},
		{"good", sign(t, jwt.SigningMethodRS512, rk[0], "good", claims(nil)), nil}, // no alg in the JWK: any RS*
		{"enc", sign(t, jwt.SigningMethodRS256, rk[0], "enc", claims(nil)), jwtauth.ErrInvalidToken},
		{"ops", sign(t, jwt.SigningMethodRS256, rk[0], "ops", claims(nil)), jwtauth.ErrInvalidToken},
		{"ec-rs", sign(t, jwt.SigningMethodES256, ek[0], "ec-rs", claims(nil)), jwtauth.ErrInvalidToken},
		{"ec-384", sign(t, jwt.SigningMethodES256, ek[0], "ec-384", claims(nil)), jwtauth.ErrInvalidToken},
		{"off", sign(t, jwt.SigningMethodES256, ek[0], "off", claims(nil)), jwtauth.ErrInvalidToken},
		{"small", sign(t, jwt.SigningMethodRS256, small, "small", claims(nil)), jwtauth.ErrInvalidToken},
		{"oct", sign(t, jwt.SigningMethodHS256, secret, "oct", claims(nil)), jwtauth.ErrInvalidToken},
	} {
		t.Run(tc.kid, func(t *testing.T) { wantVerify(t, v, tc.tok, tc.want) })
	}
}

// TestJWKSConcurrent checks that connections arriving together share one
// fetch.
func TestJWKSConcurrent(t *testing.T) {
	rk := rsaKeys()
	srv := newJWKSServer(t, jwksJSON(rsaJWK("k1", "RS256", &rk[0].PublicKey)))
	v := jwksVerifier(t, srv, &clock{now: t0})
	tok := sign(t, jwt.SigningMethodRS256, rk[0], "k1", claims(nil))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	wantRequests(t, srv, 1)
}

// TestJWKSSlow checks that a slow JWKS endpoint holds callers only as long
// as their context allows, and that callers arriving during a fetch share
// it.
func TestJWKSSlow(t *testing.T) {
	rk := rsaKeys()
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var requests atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		started <- struct{}{}
		<-release
		w.Write(jwksJSON(rsaJWK("k1", "RS256", &rk[0].PublicKey)))
	}))
	t.Cleanup(hs.Close)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // runs before hs.Close
	v, err := jwtauth.New(jwtauth.Config{JWKSURL: hs.URL, HTTPClient: hs.Client(), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwt.SigningMethodRS256, rk[0], "k1", claims(nil))

	first := make(chan error, 1)
	go func() {
		_, err := v.Verify(context.Background(), tok)
		first <- err
	}()
	<-started

	// A caller whose context ends gives up with what is known: nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Verify(ctx, tok); !errors.Is(err, jwtauth.ErrInvalidToken) {
		t.Fatalf("Verify with a cancelled context during a fetch: %v", err)
	}
	if err := v.Refresh(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Refresh with a cancelled context during a fetch: %v", err)
	}
	// Refresh joins the fetch under way.
	refreshed := make(chan error, 1)
	go func() { refreshed <- v.Refresh(context.Background()) }()

	once.Do(func() { close(release) })
	if err := <-first; err != nil {
		t.Fatalf("first Verify: %v", err)
	}
	if err := <-refreshed; err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if n := requests.Load(); n > 2 {
		t.Fatalf("%d fetches", n)
	}
}

// TestJWKSSlowStarter checks that the caller that starts a fetch is held
// only as long as its context allows too, and that the fetch goes on for
// the callers after it.
func TestJWKSSlowStarter(t *testing.T) {
	rk := rsaKeys()
	started := make(chan struct{}, 2)
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		w.Write(jwksJSON(rsaJWK("k1", "RS256", &rk[0].PublicKey)))
	}))
	t.Cleanup(hs.Close)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // runs before hs.Close
	v, err := jwtauth.New(jwtauth.Config{JWKSURL: hs.URL, HTTPClient: hs.Client(), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwt.SigningMethodRS256, rk[0], "k1", claims(nil))

	// Refresh starts the fetch and gives up when its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	refreshed := make(chan error, 1)
	go func() { refreshed <- v.Refresh(ctx) }()
	<-started
	cancel()
	select {
	case err := <-refreshed:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Refresh whose context ended during its fetch: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Refresh still waiting for its fetch 10s after its context ended")
	}

	// The fetch goes on: a caller that needs its key waits for it.
	verified := make(chan error, 1)
	go func() {
		_, err := v.Verify(context.Background(), tok)
		verified <- err
	}()
	once.Do(func() { close(release) })
	if err := <-verified; err != nil {
		t.Fatalf("Verify after the fetch: %v", err)
	}
	if n := len(started); n != 0 {
		t.Fatalf("%d more fetches", n)
	}
}
