package hooks

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/siorelay/siorelay/relay"
)

// Config configures a [Forwarder]. Only Routes is required.
type Config struct {
	// Routes map namespaces to backends. For each namespace the first
	// route whose pattern matches is used; a namespace no route matches
	// has no hooks (its connections are allowed, its events dropped).
	Routes []Route
	// Events lists the event names forwarded. Nil means all; other events
	// are dropped and counted ("not_forwarded").
	Events []string
	// Timeout bounds each backend call. Zero means 5s.
	Timeout time.Duration
	// MaxInFlight bounds the Connect and Event calls in flight or waiting
	// in a socket's queue. A Connect beyond it is refused with "backend
	// busy", an Event dropped (acked with {"error":"backend busy"} when
	// the client asked for an ack). Zero means 1024.
	MaxInFlight int
	// Token, if set, is sent to the backend on every call as
	// "Authorization: Bearer <Token>" (gRPC: authorization metadata).
	Token string
	// TLS is the client TLS configuration for grpcs:// and https://
	// targets. Nil means the system roots.
	TLS *tls.Config
	// Authenticate, if set, runs before a backend's Connect (for example
	// jwtauth's Verifier.Connect). Its error refuses the connection as
	// is; its result's Data goes to the backend as ConnectRequest.data
	// (JSON) and its Rooms are joined with the backend's. In a namespace
	// with no route its result is the answer.
	Authenticate func(ctx context.Context, h *relay.Handshake) (relay.ConnectResult, error)
	// Observer, if set, is told about every call and dropped event.
	Observer Observer
	// Logger receives failures (rate-limited) and debug logs. Nil means no
	// logging.
	Logger *slog.Logger
}

// Route sends the hooks of the namespaces matching Namespace to Target.
type Route struct {
	// Namespace is a pattern: an exact namespace ("/chat"), a prefix
	// ending in "/*" ("/rooms/*" matches "/rooms/a" and "/rooms/a/b", not
	// "/rooms"), or "*" for every namespace.
	Namespace string
	// Target is the backend: grpc://host:port (plaintext gRPC),
	// grpcs://host:port (gRPC over TLS), or an http:// or https:// base
	// URL to which /connect, /event and /disconnect are appended.
	Target string
}

// Observer receives what a [Forwarder] does, for metrics. Its methods are
// called concurrently and must not block.
type Observer interface {
	// HookCall is called once per finished backend call (and per Connect
	// refused as busy): hook is "connect", "event" or "disconnect";
	// outcome is one of the Outcome constants.
	HookCall(hook, outcome string, d time.Duration)
	// EventDropped counts a client event that was not forwarded, with one
	// of the Drop constants as reason.
	EventDropped(reason string)
}

// Outcomes of a backend call, as passed to [Observer.HookCall].
const (
	OutcomeOK        = "ok"         // the backend answered (for Connect: allowed)
	OutcomeDenied    = "denied"     // Connect answered without allow
	OutcomeError     = "error"      // unreachable, gRPC error status, HTTP status not 2xx
	OutcomeTimeout   = "timeout"    // Config.Timeout passed
	OutcomeBusy      = "busy"       // Connect refused at once: Config.MaxInFlight reached
	OutcomeBadAnswer = "bad_answer" // the answer breaks the proto's rules (bad JSON, reserved name, body that does not parse)
)

// Reasons for a dropped event, as passed to [Observer.EventDropped].
const (
	DropNoHook       = "no_hook"       // no route for the socket's namespace
	DropNotForwarded = "not_forwarded" // the event is not in Config.Events
	DropBusy         = "busy"          // Config.MaxInFlight reached, or the socket's queue is full
)

// Hook names, as passed to [Observer.HookCall].
const (
	HookConnect    = "connect"
	HookEvent      = "event"
	HookDisconnect = "disconnect"
)

// maxSocketQueue bounds the events of one socket that wait for the
// backend, so that one chatty socket cannot hold all of MaxInFlight.
const maxSocketQueue = 64

func (c Config) withDefaults() (Config, error) {
	if len(c.Routes) == 0 {
		return c, fmt.Errorf("hooks: no routes")
	}
	for _, r := range c.Routes {
		if err := checkPattern(r.Namespace); err != nil {
			return c, err
		}
	}
	if slices.Contains(c.Events, "") {
		return c, fmt.Errorf("hooks: empty event name")
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("hooks: negative timeout %v", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.MaxInFlight < 0 {
		return c, fmt.Errorf("hooks: negative in-flight limit %d", c.MaxInFlight)
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 1024
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// checkPattern validates a route's namespace pattern.
func checkPattern(p string) error {
	switch {
	case p == "*":
		return nil
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("hooks: namespace pattern %q must be *, /NSP or /PREFIX/*", p)
	case strings.Contains(strings.TrimSuffix(p, "/*"), "*"):
		return fmt.Errorf("hooks: namespace pattern %q: * only as the whole pattern or after a final /", p)
	}
	return nil
}

// matchPattern reports whether namespace nsp matches pattern p.
func matchPattern(p, nsp string) bool {
	if p == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(p, "*"); ok {
		return strings.HasPrefix(nsp, prefix) && len(nsp) > len(prefix)
	}
	return p == nsp
}

// IsExact reports whether a route pattern names one namespace (no *).
func IsExact(pattern string) bool { return !strings.Contains(pattern, "*") }

// target is a parsed Route.Target.
type target struct {
	kind string // "grpc" or "http"
	tls  bool
	addr string // grpc: host:port
	base string // http: base URL without a trailing slash
}

func parseTarget(s string) (target, error) {
	u, err := url.Parse(s)
	if err != nil {
		return target{}, fmt.Errorf("hooks: target %q: %w", s, err)
	}
	switch u.Scheme {
	case "grpc", "grpcs":
		if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return target{}, fmt.Errorf("hooks: target %q: want %s://host:port", s, u.Scheme)
		}
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
			return target{}, fmt.Errorf("hooks: target %q: want %s://host:port", s, u.Scheme)
		}
		return target{kind: "grpc", tls: u.Scheme == "grpcs", addr: u.Host}, nil
	case "http", "https":
		if u.Host == "" {
			return target{}, fmt.Errorf("hooks: target %q: no host", s)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return target{}, fmt.Errorf("hooks: target %q: a base URL has no query or fragment", s)
		}
		return target{kind: "http", tls: u.Scheme == "https", base: strings.TrimSuffix(u.String(), "/")}, nil
	}
	return target{}, fmt.Errorf("hooks: target %q: scheme must be grpc, grpcs, http or https", s)
}

// forwards reports whether events named name are forwarded.
func (c *Config) forwards(name string) bool {
	return c.Events == nil || slices.Contains(c.Events, name)
}
