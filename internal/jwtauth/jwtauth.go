package jwtauth

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/siorelay/siorelay/relay"
)

// Config configures a [Verifier]. At least one of HMACSecret, PublicKeys
// or JWKSURL must be set; keys from all three are tried.
type Config struct {
	// HMACSecret verifies HS256, HS384 and HS512 tokens. Nil means no HMAC
	// key. Use at least 32 random bytes: a short secret can be guessed
	// offline from any token.
	HMACSecret []byte
	// PublicKeys verify RS256/RS384/RS512 (*rsa.PublicKey) and ES256
	// (P-256), ES384 (P-384), ES512 (P-521) (*ecdsa.PublicKey) tokens.
	// [ParsePublicKeysPEM] reads them from PEM.
	PublicKeys []crypto.PublicKey
	// JWKSURL is a JSON Web Key Set (RSA and EC signature keys) fetched
	// lazily: by the first verification, or by [Verifier.Refresh], which
	// callers that want to fail fast at startup call once. Empty means
	// none.
	JWKSURL string
	// JWKSRefresh is how old the key set may get: the first verification
	// that finds it older fetches it again, while other verifications keep
	// using the keys already known. A failed fetch keeps them too. Zero
	// means 10 minutes.
	JWKSRefresh time.Duration
	// JWKSMinInterval is the least time between two fetches of the key
	// set, whatever triggers them (a token with an unknown kid, an
	// expired set, a failing endpoint). Zero means 30 seconds.
	JWKSMinInterval time.Duration
	// HTTPClient fetches JWKSURL. Nil means a client with a 10s timeout.
	HTTPClient *http.Client

	// TokenFrom lists where [Verifier.Connect] finds the token, in order;
	// the first place that has one is used (a bad token there is refused,
	// not skipped). Entries: "auth.<field>" (a string field of the
	// CONNECT auth payload, as socket.io-client's `auth: {token}`),
	// "header:<name>" (a leading "Bearer " is removed; a value with
	// another scheme, e.g. "Basic …", counts as absent), "query:<name>".
	// Zero means ["auth.token", "header:authorization"].
	TokenFrom []string
	// Rooms are room templates joined by an accepted socket: "{claim}"
	// is replaced by a claim's value, e.g. "user:{sub}". A claim that is
	// an array of strings or numbers gives one room per element ("{rooms}"
	// joins every room the claim lists). A claim name that is not a
	// top-level claim is looked up as a dotted path ("{realm.roles}"). A
	// template whose claim is missing, null, empty, an object or a
	// boolean yields no room. Zero means no rooms.
	Rooms []string
	// MaxRooms bounds the rooms one token may produce; a token giving more
	// is refused as an invalid token. Zero means 256.
	MaxRooms int

	// Issuer, if set, must equal the token's iss.
	Issuer string
	// Audience, if set, must be one of the token's aud.
	Audience string
	// AllowNoExpiry accepts tokens without an exp claim. By default exp is
	// required. An exp in the past is always refused.
	AllowNoExpiry bool
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Zero means none.
	Leeway time.Duration
	// MaxTokenBytes bounds the token's length; longer ones are refused
	// unparsed. Zero means 8 KiB.
	MaxTokenBytes int
	// Now tells the time. Nil means time.Now.
	Now func() time.Time
	// Logger receives why tokens were refused (at debug level) and JWKS
	// fetch failures (at warn level). Nil means no logging.
	Logger *slog.Logger
}

// Refusals. The message of each is what a client refused by
// [Verifier.Connect] receives; the errors returned by [Verifier.Verify]
// wrap one of them with details meant for logs only.
var (
	ErrMissingToken     = errors.New("missing token")
	ErrInvalidToken     = errors.New("invalid token")
	ErrTokenExpired     = errors.New("token expired")
	ErrTokenNotYetValid = errors.New("token not yet valid")
)

// Verifier verifies JWTs. Its methods are safe for concurrent use.
type Verifier struct {
	cfg    Config
	keys   []key // static keys (HMACSecret, PublicKeys)
	jwks   *jwks // nil without JWKSURL
	rooms  []template
	from   []source
	parser *jwt.Parser
	log    *slog.Logger
}

// New checks cfg and returns a Verifier. It does no I/O.
func New(cfg Config) (*Verifier, error) {
	if cfg.JWKSRefresh <= 0 {
		cfg.JWKSRefresh = 10 * time.Minute
	}
	if cfg.JWKSMinInterval <= 0 {
		cfg.JWKSMinInterval = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if len(cfg.TokenFrom) == 0 {
		cfg.TokenFrom = []string{"auth.token", "header:authorization"}
	}
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = 256
	}
	if cfg.MaxTokenBytes <= 0 {
		cfg.MaxTokenBytes = 8 << 10
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("jwtauth: negative leeway")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	v := &Verifier{cfg: cfg, log: cfg.Logger}

	if cfg.HMACSecret != nil {
		if len(cfg.HMACSecret) == 0 {
			return nil, errors.New("jwtauth: empty HMAC secret")
		}
		v.keys = append(v.keys, key{family: familyHMAC, material: append([]byte(nil), cfg.HMACSecret...)})
	}
	for i, pk := range cfg.PublicKeys {
		k, err := publicKey(pk)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: public key %d: %w", i, err)
		}
		v.keys = append(v.keys, k)
	}
	if cfg.JWKSURL != "" {
		v.jwks = &jwks{url: cfg.JWKSURL, client: cfg.HTTPClient, maxAge: cfg.JWKSRefresh,
			minGap: cfg.JWKSMinInterval, now: cfg.Now, log: cfg.Logger}
	}
	if len(v.keys) == 0 && v.jwks == nil {
		return nil, errors.New("jwtauth: no key: set HMACSecret, PublicKeys or JWKSURL")
	}
	for _, s := range cfg.TokenFrom {
		src, err := parseSource(s)
		if err != nil {
			return nil, err
		}
		v.from = append(v.from, src)
	}
	for _, r := range cfg.Rooms {
		t, err := parseTemplate(r)
		if err != nil {
			return nil, err
		}
		v.rooms = append(v.rooms, t)
	}

	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.methods()),
		jwt.WithJSONNumber(),
		jwt.WithStrictDecoding(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithIssuedAt(),
	}
	if !cfg.AllowNoExpiry {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Refresh fetches the JWKS now, whatever its age (or joins the fetch under
// way), and returns the fetch's error, if any (the keys already known are
// kept then), or ctx's error if ctx ends first (the fetch goes on). Without
// JWKSURL it does nothing. A server calls it once at startup to fail fast
// on a wrong URL.
func (v *Verifier) Refresh(ctx context.Context) error {
	if v.jwks == nil {
		return nil
	}
	return v.jwks.refresh(ctx)
}

// Verify checks token's signature and claims and returns the claims, with
// numbers as json.Number. The error wraps one of [ErrInvalidToken],
// [ErrTokenExpired] or [ErrTokenNotYetValid] ([ErrMissingToken] for an
// empty token). It blocks only while fetching a JWKS (see
// [Config.JWKSURL]).
func (v *Verifier) Verify(ctx context.Context, token string) (map[string]any, error) {
	if token == "" {
		return nil, ErrMissingToken
	}
	if len(token) > v.cfg.MaxTokenBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidToken, len(token), v.cfg.MaxTokenBytes)
	}
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		return v.keyFor(ctx, t)
	})
	if err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable),
			errors.Is(err, jwt.ErrTokenMalformed):
			// Checked before the claims: a forged token says nothing of them.
			return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		case errors.Is(err, jwt.ErrTokenExpired):
			return nil, fmt.Errorf("%w: %w", ErrTokenExpired, err)
		case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			return nil, fmt.Errorf("%w: %w", ErrTokenNotYetValid, err)
		default:
			return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
	}
	return claims, nil
}

// Connect authenticates a socket joining a namespace; it has the type of
// [relay.Config.OnConnect]. It finds the token as [Config.TokenFrom] says
// and verifies it. An accepted socket joins the rooms of [Config.Rooms]
// and gets the claims (a JSON object) as its data, as fetchSockets shows.
// A refused one gets a *[relay.ConnectError] whose Message is the text of
// [ErrMissingToken], [ErrInvalidToken], [ErrTokenExpired] or
// [ErrTokenNotYetValid], which the client sees as its connect_error.
func (v *Verifier) Connect(ctx context.Context, h *relay.Handshake) (relay.ConnectResult, error) {
	token := v.tokenOf(h)
	claims, err := v.Verify(ctx, token)
	if err != nil {
		return relay.ConnectResult{}, v.refuse(h, err)
	}
	rooms, err := v.Rooms(claims)
	if err != nil {
		return relay.ConnectResult{}, v.refuse(h, err)
	}
	data, err := json.Marshal(claims)
	if err != nil { // claims were decoded from JSON: cannot happen
		return relay.ConnectResult{}, v.refuse(h, fmt.Errorf("%w: %w", ErrInvalidToken, err))
	}
	return relay.ConnectResult{Rooms: rooms, Data: json.RawMessage(data)}, nil
}

// refuse logs err and returns the ConnectError the client gets.
func (v *Verifier) refuse(h *relay.Handshake, err error) error {
	msg := ErrInvalidToken.Error()
	for _, e := range []error{ErrMissingToken, ErrTokenExpired, ErrTokenNotYetValid} {
		if errors.Is(err, e) {
			msg = e.Error()
		}
	}
	if v.log.Enabled(context.Background(), slog.LevelDebug) {
		v.log.Debug("jwt refused", "nsp", h.Namespace, "address", h.Address, "err", err)
	}
	return &relay.ConnectError{Message: msg}
}
