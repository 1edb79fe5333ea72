package redisaddr

import (
	"errors"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// NewClient parses rawURL with [Parse] and builds its client with [New]:
// a *redis.Client for redis:// and rediss://, a failover *redis.Client
// (redis.NewFailoverClient) for the sentinel schemes, and a
// *redis.ClusterClient for the cluster schemes. It does not connect; the
// first command does.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	opts, err := Parse(rawURL)
	if err != nil {
		return nil, err
	}
	return New(opts)
}

// New builds the client [ModeOf] names for opts, choosing the go-redis
// constructor explicitly rather than through NewUniversalClient. Options
// from [Parse] may be adjusted first (a Dialer, a CredentialsProvider). It
// never panics: options go-redis would reject with a panic are an error.
func New(opts *redis.UniversalOptions) (redis.UniversalClient, error) {
	if opts == nil {
		return nil, errors.New("redisaddr: nil options")
	}
	if len(opts.Addrs) == 0 {
		return nil, errors.New("redisaddr: no address")
	}
	switch ModeOf(opts) {
	case Sentinel:
		if opts.RouteByLatency || opts.RouteRandomly || opts.IsClusterMode {
			return nil, errors.New("redisaddr: a sentinel client cannot route by latency, route randomly or be in cluster mode")
		}
		return redis.NewFailoverClient(opts.Failover()), nil
	case Cluster:
		return redis.NewClusterClient(opts.Cluster()), nil
	default:
		return redis.NewClient(opts.Simple()), nil
	}
}

// Redacted returns rawURL with its password and sentinel_password replaced
// by "xxxxx", for logs. A string that does not look like a URL is returned
// as "<invalid redis URL>" so that nothing secret leaks from it.
func Redacted(rawURL string) string {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return "<invalid redis URL>"
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		user, _, hasPass := strings.Cut(authority[:i], ":")
		if hasPass {
			authority = user + ":xxxxx" + authority[i:]
		}
	}
	path, query, hasQuery := strings.Cut(tail, "?")
	if hasQuery {
		frag := ""
		if j := strings.IndexByte(query, '#'); j >= 0 {
			query, frag = query[:j], query[j:]
		}
		parts := strings.Split(query, "&")
		for k, p := range parts {
			name, _, _ := strings.Cut(p, "=")
			if n, err := url.QueryUnescape(name); err != nil || n == "sentinel_password" || strings.Contains(strings.ToLower(n), "password") {
				parts[k] = name + "=xxxxx"
			}
		}
		tail = path + "?" + strings.Join(parts, "&") + frag
	}
	return scheme + "://" + authority + tail
}
