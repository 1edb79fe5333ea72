package metrics

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// RedisErrors is a go-redis hook counting failed PUBLISH/SPUBLISH and PING
// commands and failed dials, for a process that owns its Redis client (the
// emitter sidecar): install it with client.AddHook. Only failures cost
// anything beyond a function call.
type RedisErrors struct {
	publish, ping, dial prometheus.Counter
}

var _ redis.Hook = (*RedisErrors)(nil)

// NewRedisErrors registers siorelay_redis_errors_total with reg.
func NewRedisErrors(reg prometheus.Registerer) *RedisErrors {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "siorelay_redis_errors_total",
		Help: "Failed Redis operations, by operation (publish, ping, dial); a caller's cancellation is not counted.",
	}, []string{"op"})
	reg.MustRegister(v)
	return &RedisErrors{
		publish: v.WithLabelValues("publish"),
		ping:    v.WithLabelValues("ping"),
		dial:    v.WithLabelValues("dial"),
	}
}

// failed reports whether err counts as a Redis failure.
func failed(err error) bool {
	return err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, context.Canceled)
}

func (h *RedisErrors) count(cmd redis.Cmder) {
	switch strings.ToLower(cmd.Name()) {
	case "publish", "spublish":
		h.publish.Inc()
	case "ping":
		h.ping.Inc()
	}
	// Other commands are not counted: go-redis's connection set-up
	// (HELLO, CLIENT SETINFO, ...) fails harmlessly on older servers.
}

// DialHook implements redis.Hook.
func (h *RedisErrors) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if failed(err) {
			h.dial.Inc()
		}
		return c, err
	}
}

// ProcessHook implements redis.Hook.
func (h *RedisErrors) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if failed(err) {
			h.count(cmd)
		}
		return err
	}
}

// ProcessPipelineHook implements redis.Hook: each failed command of the
// pipeline counts.
func (h *RedisErrors) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err != nil {
			for _, c := range cmds {
				if failed(c.Err()) {
					h.count(c)
				}
			}
		}
		return err
	}
}
