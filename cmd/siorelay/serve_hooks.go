package main

import (
	"flag"
	"log/slog"
	"time"

	"github.com/siorelay/siorelay/relay"
)

// hookObserver receives what `serve`'s backend hooks do, for /metrics.
// A nil hookObserver observes nothing.
type hookObserver interface {
	// HookCall is called once per finished backend call: hook is
	// "connect", "event" or "disconnect"; outcome is a short fixed word
	// (e.g. "ok", "denied", "error", "timeout").
	HookCall(hook, outcome string, d time.Duration)
	// EventDropped counts a client event that was not forwarded, with a
	// short fixed reason (e.g. "no_hook", "busy").
	EventDropped(reason string)
}

// hookFlags are `serve`'s backend-hook and JWT flags.
type hookFlags struct{}

func registerHookFlags(fs *flag.FlagSet) *hookFlags { return &hookFlags{} }

// install sets cfg's hooks from the flags (keeping a hook cfg already has
// where the flags configure none). The returned function releases the
// backend connections; call it after the relay has shut down.
func (h *hookFlags) install(cfg *relay.Config, obs hookObserver, log *slog.Logger) (func(), error) {
	return func() {}, nil
}
