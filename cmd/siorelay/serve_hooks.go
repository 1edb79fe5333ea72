package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/siorelay/siorelay/internal/hooks"
	"github.com/siorelay/siorelay/internal/jwtauth"
	"github.com/siorelay/siorelay/relay"
)

// hookObserver receives what `serve`'s backend hooks do, for /metrics.
// A nil hookObserver observes nothing.
type hookObserver = hooks.Observer

// hookFlags are `serve`'s backend-hook and JWT flags.
type hookFlags struct {
	fs          *flag.FlagSet
	hooks       stringList
	events      string
	timeout     time.Duration
	maxInFlight int
	token       string
	tokenFile   string

	jwtSecret     string
	jwtSecretFile string
	jwtPublicKeys stringList
	jwtJWKSURL    string
	jwtTokenFrom  stringList
	jwtRooms      stringList
	jwtIssuer     string
	jwtAudience   string
}

func registerHookFlags(fs *flag.FlagSet) *hookFlags {
	h := &hookFlags{fs: fs}
	fs.Var(&h.hooks, "hook", "forward a namespace's connections, events and disconnects to a backend implementing siorelay.v1.BackendService: NSP=URL (repeatable; first match wins). NSP is /name, /prefix/* or *; URL is grpc://host:port, grpcs://host:port, or an http(s):// base URL (POSTs <URL>/connect, /event, /disconnect)")
	fs.StringVar(&h.events, "hook-events", "", "with --hook: comma-separated events forwarded (empty: all); others are dropped and counted")
	fs.DurationVar(&h.timeout, "hook-timeout", 5*time.Second, "with --hook: time limit of each backend call")
	fs.IntVar(&h.maxInFlight, "hook-max-inflight", 1024, "with --hook: backend calls in flight or queued at most; beyond, connections are refused and events acked with \"backend busy\"")
	fs.StringVar(&h.token, "hook-token", "", "with --hook: bearer token sent to the backend (Authorization header / gRPC metadata)")
	fs.StringVar(&h.tokenFile, "hook-token-file", "", "with --hook: read the bearer token from this file")
	fs.StringVar(&h.jwtSecret, "jwt-secret", "", "verify a JWT on every connection (HS256/384/512) with this secret")
	fs.StringVar(&h.jwtSecretFile, "jwt-secret-file", "", "like --jwt-secret, the secret read from this file (a final newline is dropped)")
	fs.Var(&h.jwtPublicKeys, "jwt-public-key", "verify a JWT on every connection (RS256/384/512, ES256/384/512) with the keys of this PEM file (repeatable)")
	fs.StringVar(&h.jwtJWKSURL, "jwt-jwks-url", "", "verify a JWT on every connection with the keys of this JSON Web Key Set URL")
	fs.Var(&h.jwtTokenFrom, "jwt-token-from", "with --jwt-*: where the token is, in order: auth.FIELD, header:NAME (Bearer removed), query:NAME (repeatable or comma-separated; default auth.token,header:authorization)")
	fs.Var(&h.jwtRooms, "jwt-rooms", "with --jwt-*: rooms joined from the claims, as templates: user:{sub}; {rooms} joins each element of an array claim (repeatable or comma-separated)")
	fs.StringVar(&h.jwtIssuer, "jwt-issuer", "", "with --jwt-*: required iss claim")
	fs.StringVar(&h.jwtAudience, "jwt-audience", "", "with --jwt-*: required aud claim")
	return h
}

// install sets cfg's hooks from the flags (keeping a hook cfg already has
// where the flags configure none). The returned function releases the
// backend connections; call it after the relay has shut down.
//
// Composition: with --jwt-* alone, OnConnect is the JWT verifier. With
// --hook, the verifier (if any) runs first and the backend's Connect gets
// the claims as ConnectRequest.data; the socket joins the claims' rooms
// and the backend's, and its data is the backend's data, or the claims
// when the backend sets none. An OnEvent already set (--demo-chat) keeps
// the events of the namespaces no --hook routes; a route covering one of
// its namespaces is refused.
func (h *hookFlags) install(cfg *relay.Config, obs hookObserver, log *slog.Logger) (func(), error) {
	set := map[string]bool{}
	h.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	verifier, err := h.verifier(set, log)
	if err != nil {
		return nil, err
	}
	routes, err := h.routes()
	if err != nil {
		return nil, err
	}
	if len(routes) == 0 {
		for _, name := range []string{"hook-events", "hook-timeout", "hook-max-inflight", "hook-token", "hook-token-file"} {
			if set[name] {
				return nil, usagef("--%s needs --hook", name)
			}
		}
		if verifier != nil {
			cfg.OnConnect = verifier.Connect
		}
		return func() {}, nil
	}
	hc := hooks.Config{
		Routes:      routes,
		Timeout:     h.timeout,
		MaxInFlight: h.maxInFlight,
		Observer:    obs,
		Logger:      log,
	}
	if h.timeout <= 0 {
		return nil, usagef("invalid --hook-timeout %v (want > 0)", h.timeout)
	}
	if h.maxInFlight <= 0 {
		return nil, usagef("invalid --hook-max-inflight %d (want > 0)", h.maxInFlight)
	}
	if h.events != "" {
		hc.Events = splitList(stringList{h.events})
	}
	if hc.Token, err = secret("--hook-token", h.token, h.tokenFile); err != nil {
		return nil, err
	}
	if verifier != nil {
		hc.Authenticate = verifier.Connect
	}
	if err := h.checkNamespaces(cfg, routes); err != nil {
		return nil, err
	}
	f, err := hooks.New(hc)
	if err != nil {
		return nil, usagef("invalid --hook: %s", strings.TrimPrefix(err.Error(), "hooks: "))
	}
	if prev := cfg.OnEvent; prev != nil {
		// Only --demo-chat sets it, for "/".
		if f.Handles("/") {
			f.Close(context.Background())
			return nil, usagef("--demo-chat relays the events of /, which --hook also forwards: use one of them")
		}
		cfg.OnEvent = func(ctx context.Context, s *relay.Socket, ev relay.Event, ack relay.AckFunc) {
			if f.Handles(s.Namespace()) {
				f.Event(ctx, s, ev, ack)
				return
			}
			prev(ctx, s, ev, ack)
		}
	} else {
		cfg.OnEvent = f.Event
	}
	cfg.OnConnect, cfg.OnConnection, cfg.OnDisconnect = f.Connect, f.Connection, f.Disconnect
	for _, r := range routes {
		log.Info("backend hook", "namespace", r.Namespace, "target", r.Target)
	}
	timeout := h.timeout + time.Second
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := f.Close(ctx); err != nil {
			log.Warn("backend hooks: calls cut short at shutdown", "err", err)
		}
	}, nil
}

// routes parses the --hook values.
func (h *hookFlags) routes() ([]hooks.Route, error) {
	var out []hooks.Route
	for _, v := range splitList(h.hooks) {
		nsp, target, ok := strings.Cut(v, "=")
		if !ok || nsp == "" || target == "" {
			return nil, usagef("invalid --hook %q (want NSP=URL, e.g. /chat=grpc://127.0.0.1:4000)", v)
		}
		out = append(out, hooks.Route{Namespace: nsp, Target: target})
	}
	return out, nil
}

// checkNamespaces makes the namespaces of exact routes joinable when
// --namespaces was not given, and refuses pattern routes then: the relay
// cannot accept "/rooms/*" alone, and accepting every namespace must be
// asked for (--namespaces '*'). With --namespaces, a route to a namespace
// it does not list is refused.
func (h *hookFlags) checkNamespaces(cfg *relay.Config, routes []hooks.Route) error {
	if len(cfg.Namespaces) > 0 {
		if slices.Contains(cfg.Namespaces, "*") {
			return nil
		}
		for _, r := range routes {
			if hooks.IsExact(r.Namespace) && !slices.Contains(cfg.Namespaces, r.Namespace) {
				return usagef("--hook %s=%s: clients cannot join %s: add it to --namespaces", r.Namespace, r.Target, r.Namespace)
			}
		}
		return nil
	}
	nsps := []string{"/"}
	for _, r := range routes {
		if !hooks.IsExact(r.Namespace) {
			return usagef("--hook %s=%s routes a namespace pattern: list the namespaces clients may join with --namespaces (* for any)", r.Namespace, r.Target)
		}
		if !slices.Contains(nsps, r.Namespace) {
			nsps = append(nsps, r.Namespace)
		}
	}
	cfg.Namespaces = nsps
	return nil
}

// verifier builds the JWT verifier the --jwt-* flags describe, or nil.
func (h *hookFlags) verifier(set map[string]bool, log *slog.Logger) (*jwtauth.Verifier, error) {
	keyed := set["jwt-secret"] || set["jwt-secret-file"] || set["jwt-public-key"] || set["jwt-jwks-url"]
	if !keyed {
		for _, name := range []string{"jwt-token-from", "jwt-rooms", "jwt-issuer", "jwt-audience"} {
			if set[name] {
				return nil, usagef("--%s needs a key: --jwt-secret, --jwt-secret-file, --jwt-public-key or --jwt-jwks-url", name)
			}
		}
		return nil, nil
	}
	jc := jwtauth.Config{
		JWKSURL:   h.jwtJWKSURL,
		TokenFrom: splitList(h.jwtTokenFrom),
		Rooms:     splitList(h.jwtRooms),
		Issuer:    h.jwtIssuer,
		Audience:  h.jwtAudience,
		Logger:    log,
	}
	sec, err := secret("--jwt-secret", h.jwtSecret, h.jwtSecretFile)
	if err != nil {
		return nil, err
	}
	if sec != "" {
		jc.HMACSecret = []byte(sec)
	}
	for _, file := range splitList(h.jwtPublicKeys) {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, usagef("--jwt-public-key: %v", err)
		}
		keys, err := jwtauth.ParsePublicKeysPEM(data)
		if err != nil {
			return nil, usagef("--jwt-public-key %s: %v", file, err)
		}
		jc.PublicKeys = append(jc.PublicKeys, keys...)
	}
	v, err := jwtauth.New(jc)
	if err != nil {
		return nil, usagef("invalid --jwt-* flags: %s", strings.TrimPrefix(err.Error(), "jwtauth: "))
	}
	if jc.JWKSURL != "" {
		// Fail loudly, not fatally: the key set may come up after us.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := v.Refresh(ctx); err != nil {
			log.Warn("JWKS not loaded yet; connections wait for it", "url", jc.JWKSURL, "err", err)
		}
	}
	return v, nil
}
