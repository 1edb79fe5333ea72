package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Hooks counts the calls `siorelay serve` makes to its backend hooks.
// Its methods are safe for concurrent use.
type Hooks struct {
	calls   *prometheus.CounterVec
	seconds *prometheus.HistogramVec
	dropped *prometheus.CounterVec
}

// hookBuckets suit calls to a backend over the network.
var hookBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewHooks registers the hook metrics with reg.
func NewHooks(reg prometheus.Registerer) *Hooks {
	h := &Hooks{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siorelay_hook_calls_total",
			Help: "Finished backend hook calls, by hook (connect, event, disconnect) and outcome.",
		}, []string{"hook", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "siorelay_hook_call_duration_seconds",
			Help:    "Duration of backend hook calls, by hook.",
			Buckets: hookBuckets,
		}, []string{"hook"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siorelay_hook_events_dropped_total",
			Help: "Client events not forwarded to the backend, by reason.",
		}, []string{"reason"}),
	}
	reg.MustRegister(h.calls, h.seconds, h.dropped)
	return h
}

// HookCall records one finished backend call. hook and outcome must come
// from small fixed sets (they are labels).
func (h *Hooks) HookCall(hook, outcome string, d time.Duration) {
	h.calls.WithLabelValues(hook, outcome).Inc()
	h.seconds.WithLabelValues(hook).Observe(d.Seconds())
}

// EventDropped counts a client event not forwarded, with a reason from a
// small fixed set.
func (h *Hooks) EventDropped(reason string) {
	h.dropped.WithLabelValues(reason).Inc()
}
