package redisaddr

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// option sets one UniversalOptions field from a query value. Value rules
// follow go-redis's ParseURL: an empty value keeps the default, the last of
// repeated values wins.
type option struct {
	modes []Mode // nil: every mode
	set   func(o *redis.UniversalOptions, v string) error
}

func intOpt(field func(*redis.UniversalOptions) *int) func(*redis.UniversalOptions, string) error {
	return func(o *redis.UniversalOptions, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("invalid number %q", truncate(v, 20))
		}
		*field(o) = n
		return nil
	}
}

// durOpt parses a Go duration or a whole number of seconds; 0 or less
// becomes -1, which go-redis reads as "disabled".
func durOpt(field func(*redis.UniversalOptions) *time.Duration) func(*redis.UniversalOptions, string) error {
	return func(o *redis.UniversalOptions, v string) error {
		var d time.Duration
		if n, err := strconv.Atoi(v); err == nil {
			d = time.Duration(n) * time.Second
			if n > int(maxSeconds) {
				return fmt.Errorf("duration %q is too long", truncate(v, 20))
			}
		} else if d, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("invalid duration %q (want e.g. 500ms, 3s, or whole seconds)", truncate(v, 20))
		}
		if d <= 0 {
			d = -1
		}
		*field(o) = d
		return nil
	}
}

// maxSeconds keeps a whole-seconds value from overflowing time.Duration.
const maxSeconds = int64(1<<63-1) / int64(time.Second)

func boolOpt(field func(*redis.UniversalOptions) *bool) func(*redis.UniversalOptions, string) error {
	return func(o *redis.UniversalOptions, v string) error {
		switch v {
		case "true", "1":
			*field(o) = true
		case "false", "0":
			*field(o) = false
		default:
			return fmt.Errorf("invalid boolean %q (want true, false, 1 or 0)", truncate(v, 20))
		}
		return nil
	}
}

func strOpt(field func(*redis.UniversalOptions) *string) func(*redis.UniversalOptions, string) error {
	return func(o *redis.UniversalOptions, v string) error {
		*field(o) = v
		return nil
	}
}

var options = map[string]option{
	"protocol":                   {set: intOpt(func(o *redis.UniversalOptions) *int { return &o.Protocol })},
	"client_name":                {set: strOpt(func(o *redis.UniversalOptions) *string { return &o.ClientName })},
	"max_retries":                {set: intOpt(func(o *redis.UniversalOptions) *int { return &o.MaxRetries })},
	"min_retry_backoff":          {set: durOpt(func(o *redis.UniversalOptions) *time.Duration { return &o.MinRetryBackoff })},
	"max_retry_backoff":          {set: durOpt(func(o *redis.UniversalOptions) *time.Duration { return &o.MaxRetryBackoff })},
	"dial_timeout":               {set: durOpt(func(o *redis.UniversalOptions) *time.Duration { return &o.DialTimeout })},
	"dialer_retries":             {set: intOpt(func(o *redis.UniversalOptions) *int { return &o.DialerRetries })},
	"dialer_retry_timeout":       {set: durOpt(func(o *redis.UniversalOptions) *time.Duration { return &o.DialerRetryTimeout })},
	"read_timeout":               {set: durOpt(func(o *redis.UniversalOptions) *time.Duration { return &o.ReadTimeout })},
	"write_timeout":              {set: durOpt(func(o *redis.UniversalOptions) *time.Duration { return &o.WriteTimeout })},
	"pool_fifo":                  {set: boolOpt(func(o *redis.UniversalOptions) *bool { return &o.PoolFIFO })},
	"pool_size":                  {set: intOpt(func(o *redis.UniversalOptions) *int { return &o.PoolSize })},
	"pool_timeout":               {set: durOpt(func(o *redis.UniversalOptions) *time.Duration { return &o.PoolTimeout })},
	"min_idle_conns":             {set: intOpt(func(o *redis.UniversalOptions) *int { return &o.MinIdleConns })},
	"max_idle_conns":             {set: intOpt(func(o *redis.UniversalOptions) *int { return &o.MaxIdleConns })},
	"max_active_conns":           {set: intOpt(func(o *redis.UniversalOptions) *int { return &o.MaxActiveConns })},
	"max_concurrent_dials":       {set: intOpt(func(o *redis.UniversalOptions) *int { return &o.MaxConcurrentDials })},
	"pipeline_pool_size":         {set: intOpt(func(o *redis.UniversalOptions) *int { return &o.PipelinePoolSize })},
	"pipeline_read_buffer_size":  {set: intOpt(func(o *redis.UniversalOptions) *int { return &o.PipelineReadBufferSize })},
	"pipeline_write_buffer_size": {set: intOpt(func(o *redis.UniversalOptions) *int { return &o.PipelineWriteBufferSize })},
	"conn_max_idle_time":         {set: durOpt(func(o *redis.UniversalOptions) *time.Duration { return &o.ConnMaxIdleTime })},
	"conn_max_lifetime":          {set: durOpt(func(o *redis.UniversalOptions) *time.Duration { return &o.ConnMaxLifetime })},
	"conn_max_lifetime_jitter":   {set: durOpt(func(o *redis.UniversalOptions) *time.Duration { return &o.ConnMaxLifetimeJitter })},
	// skip_verify is handled in applyQuery: it needs a TLS scheme.

	"db": {modes: []Mode{Standalone, Sentinel}, set: func(o *redis.UniversalOptions, v string) error {
		db, err := parseDB(v)
		o.DB = db
		return err
	}},

	"sentinel_username": {modes: []Mode{Sentinel}, set: strOpt(func(o *redis.UniversalOptions) *string { return &o.SentinelUsername })},
	"sentinel_password": {modes: []Mode{Sentinel}, set: strOpt(func(o *redis.UniversalOptions) *string { return &o.SentinelPassword })},

	"max_redirects":              {modes: []Mode{Cluster}, set: intOpt(func(o *redis.UniversalOptions) *int { return &o.MaxRedirects })},
	"read_only":                  {modes: []Mode{Cluster}, set: boolOpt(func(o *redis.UniversalOptions) *bool { return &o.ReadOnly })},
	"route_by_latency":           {modes: []Mode{Cluster}, set: boolOpt(func(o *redis.UniversalOptions) *bool { return &o.RouteByLatency })},
	"route_by_latency_tolerance": {modes: []Mode{Cluster}, set: durOpt(func(o *redis.UniversalOptions) *time.Duration { return &o.RouteByLatencyTolerance })},
	"route_randomly":             {modes: []Mode{Cluster}, set: boolOpt(func(o *redis.UniversalOptions) *bool { return &o.RouteRandomly })},
	"failing_timeout_seconds":    {modes: []Mode{Cluster}, set: intOpt(func(o *redis.UniversalOptions) *int { return &o.FailingTimeoutSeconds })},
}

// aliases are the older names go-redis's ParseURL still accepts.
var aliases = map[string]string{
	"idle_timeout": "conn_max_idle_time",
	"max_conn_age": "conn_max_lifetime",
}

// applyQuery sets options from the URL query.
func applyQuery(o *redis.UniversalOptions, rawQuery string, sch scheme) error {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("invalid query: %v", err)
	}
	// Old names are accepted for standalone URLs, as go-redis's ParseURL
	// does, but not together with the new name.
	for _, old := range slices.Sorted(maps.Keys(aliases)) {
		name := aliases[old]
		if vs, ok := q[old]; ok {
			if sch.mode != Standalone {
				return fmt.Errorf("unknown option %q (use %s)", old, name)
			}
			if _, ok := q[name]; ok {
				return fmt.Errorf("options %s and %s name the same setting; use only %s", old, name, name)
			}
			delete(q, old)
			q[name] = vs
		}
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names) // the first bad option is reported, deterministically
	for _, name := range names {
		v := q[name][len(q[name])-1]
		if name == "skip_verify" {
			if o.TLSConfig == nil {
				return errors.New("option skip_verify needs a TLS scheme (rediss, rediss-sentinel, rediss-cluster)")
			}
			if v == "" {
				continue
			}
			if err := boolOpt(func(o *redis.UniversalOptions) *bool { return &o.TLSConfig.InsecureSkipVerify })(o, v); err != nil {
				return fmt.Errorf("option skip_verify: %w", err)
			}
			continue
		}
		opt, ok := options[name]
		if !ok {
			return fmt.Errorf("unknown option %q", truncate(name, 40))
		}
		if opt.modes != nil && !slices.Contains(opt.modes, sch.mode) {
			return fmt.Errorf("option %s applies only to %s URLs", name, modeNames(opt.modes))
		}
		if v == "" {
			continue
		}
		if err := opt.set(o, v); err != nil {
			if name == "sentinel_password" {
				return errors.New("option sentinel_password: invalid value")
			}
			return fmt.Errorf("option %s: %w", name, err)
		}
	}
	if o.ConnMaxLifetimeJitter > o.ConnMaxLifetime {
		o.ConnMaxLifetimeJitter = o.ConnMaxLifetime
	}
	return nil
}

func modeNames(modes []Mode) string {
	var s []string
	for _, m := range modes {
		s = append(s, m.String())
	}
	return strings.Join(s, " and ")
}
