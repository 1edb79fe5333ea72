package redisaddr

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Help documents the URL forms for --help output.
const Help = `--redis takes one URL, in one of these forms:

  redis://[user:password@]host[:port][/db][?option=value&...]
      One Redis server. Port 6379 and db 0 by default.
  redis-sentinel://[user:password@]host[:port][,host[:port]...]/master[/db][?option=value&...]
      Redis Sentinel: the sentinels to ask (port 26379 by default) and the
      name of the master they monitor. user:password are for the Redis
      servers; use sentinel_username and sentinel_password for the sentinels.
  redis-cluster://[user:password@]host[:port][,host[:port]...][?option=value&...]
      Redis Cluster: one or more nodes to discover the cluster from (port
      6379 by default). A cluster has only db 0.

  rediss://, rediss-sentinel:// and rediss-cluster:// are the same over TLS
  (add skip_verify=true to skip certificate verification).

  Percent-encode '@', ':', '/' and '%' in a user name or password (an '@'
  is %40). Options use go-redis's names; durations are Go durations ("500ms",
  "3s") or whole seconds, and 0 or less disables a timeout:
    dial_timeout read_timeout write_timeout pool_size pool_timeout
    min_idle_conns max_idle_conns max_active_conns conn_max_idle_time
    conn_max_lifetime max_retries min_retry_backoff max_retry_backoff
    client_name protocol db skip_verify ...
    sentinel only: sentinel_username sentinel_password
    cluster only: max_redirects read_only route_by_latency route_randomly

  Examples:
    redis://localhost:6379
    rediss://default:s3cret@redis.example.com:6380/2?dial_timeout=3s
    redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster?sentinel_password=x
    redis-cluster://10.0.0.1:7000,10.0.0.2:7001`

// Mode is the kind of Redis deployment a URL names.
type Mode int

const (
	// Standalone is one Redis server (redis://, rediss://).
	Standalone Mode = iota + 1
	// Sentinel is a master found through Redis Sentinel
	// (redis-sentinel://, rediss-sentinel://).
	Sentinel
	// Cluster is a Redis Cluster (redis-cluster://, rediss-cluster://).
	Cluster
)

// String returns "standalone", "sentinel" or "cluster".
func (m Mode) String() string {
	switch m {
	case Standalone:
		return "standalone"
	case Sentinel:
		return "sentinel"
	case Cluster:
		return "cluster"
	default:
		return "Mode(" + strconv.Itoa(int(m)) + ")"
	}
}

// ModeOf tells which client [New] builds for opts: [Sentinel] if
// MasterName is set, [Cluster] if IsClusterMode is set or there is more
// than one address, [Standalone] otherwise.
func ModeOf(opts *redis.UniversalOptions) Mode {
	switch {
	case opts.MasterName != "":
		return Sentinel
	case opts.IsClusterMode || len(opts.Addrs) > 1:
		return Cluster
	default:
		return Standalone
	}
}

// scheme describes one accepted URL scheme.
type scheme struct {
	mode        Mode
	tls         bool
	defaultPort string
}

var schemes = map[string]scheme{
	"redis":           {Standalone, false, "6379"},
	"rediss":          {Standalone, true, "6379"},
	"redis-sentinel":  {Sentinel, false, "26379"},
	"rediss-sentinel": {Sentinel, true, "26379"},
	"redis-cluster":   {Cluster, false, "6379"},
	"rediss-cluster":  {Cluster, true, "6379"},
}

const schemeList = "redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster, rediss-cluster"

// Parse parses a --redis URL (see [Help]) into options for go-redis.
// The result is unambiguous for [ModeOf] and go-redis's
// NewUniversalClient alike: a sentinel URL sets MasterName, a cluster URL
// sets IsClusterMode, a standalone URL has exactly one address.
//
// Errors are one line, start with "redisaddr: ", and never contain a
// password.
func Parse(rawURL string) (*redis.UniversalOptions, error) {
	name, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, errors.New("redisaddr: missing scheme: want a URL such as redis://host:6379 (schemes: " + schemeList + ")")
	}
	name = strings.ToLower(name)
	sch, ok := schemes[name]
	if !ok {
		if !plainScheme(name) {
			// Not echoed: it may be a misplaced user:password.
			return nil, errors.New("redisaddr: invalid scheme (want " + schemeList + ")")
		}
		return nil, fmt.Errorf("redisaddr: unknown scheme %q (want %s)", truncate(name, 40), schemeList)
	}

	// Split the authority off by hand: url.Parse rejects a comma-separated
	// list of hosts that contains IPv6 literals.
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hostlist := "", authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		userinfo, hostlist = authority[:i+1], authority[i+1:]
	}
	// Let url.Parse decode user info, path and query against a placeholder
	// host.
	u, err := url.Parse("x://" + userinfo + "host" + tail)
	if err != nil {
		return nil, fmt.Errorf("redisaddr: invalid %s URL: %v", name, unwrapURLError(err))
	}
	if u.Fragment != "" || strings.Contains(tail, "#") {
		return nil, fmt.Errorf("redisaddr: %s URL must not have a #fragment", name)
	}

	addrs, err := parseHosts(hostlist, sch.defaultPort)
	if err != nil {
		if strings.Contains(tail, "@") {
			// The "host" is likely the start of a password with an
			// unescaped '/', '?' or '#'; do not echo it.
			return nil, fmt.Errorf("redisaddr: %s URL: invalid host list (percent-encode any '/', '?', '#' or '@' in the user name or password)", name)
		}
		return nil, fmt.Errorf("redisaddr: %s URL: %w", name, err)
	}
	if sch.mode == Standalone && len(addrs) > 1 {
		return nil, fmt.Errorf("redisaddr: %s URL names %d hosts; use redis-cluster:// or redis-sentinel:// for more than one", name, len(addrs))
	}

	o := &redis.UniversalOptions{Addrs: addrs}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	if sch.tls {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if sch.mode == Standalone {
			// As redis.ParseURL does. With several hosts the name is left
			// empty, so each connection checks the host it dialled.
			o.TLSConfig.ServerName, _, _ = net.SplitHostPort(addrs[0])
		}
	}

	segs := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' })
	switch sch.mode {
	case Standalone:
		switch len(segs) {
		case 0:
		case 1:
			if o.DB, err = parseDB(segs[0]); err != nil {
				return nil, fmt.Errorf("redisaddr: %s URL: %w", name, err)
			}
		default:
			return nil, fmt.Errorf("redisaddr: %s URL path %q: want at most /db", name, truncate(u.Path, 40))
		}
	case Sentinel:
		if len(segs) == 0 {
			return nil, fmt.Errorf("redisaddr: %s URL needs the master name as its path, as in %s://host:26379/mymaster", name, name)
		}
		if len(segs) > 2 {
			return nil, fmt.Errorf("redisaddr: %s URL path %q: want /master or /master/db", name, truncate(u.Path, 40))
		}
		o.MasterName = segs[0]
		if len(segs) == 2 {
			if o.DB, err = parseDB(segs[1]); err != nil {
				return nil, fmt.Errorf("redisaddr: %s URL: %w", name, err)
			}
		}
	case Cluster:
		o.IsClusterMode = true
		if len(segs) > 0 {
			return nil, fmt.Errorf("redisaddr: %s URL has path %q, but a cluster has no databases to select", name, truncate(u.Path, 40))
		}
	}

	if err := applyQuery(o, u.RawQuery, sch); err != nil {
		return nil, fmt.Errorf("redisaddr: %s URL: %w", name, err)
	}
	return o, nil
}

// plainScheme reports whether s looks like a URL scheme (RFC 3986).
func plainScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return true
}

// parseHosts splits "h1[:p1],h2[:p2]" into "host:port" addresses.
func parseHosts(list, defaultPort string) ([]string, error) {
	if list == "" {
		return nil, errors.New("no host")
	}
	var addrs []string
	for _, hp := range strings.Split(list, ",") {
		addr, err := parseHost(hp, defaultPort)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, addr)
	}
	return addrs, nil
}

// parseHost validates one "host[:port]" ("[v6][:port]" for IPv6) and
// returns it as "host:port".
func parseHost(hp, defaultPort string) (string, error) {
	if hp == "" {
		return "", errors.New("empty host in the host list")
	}
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", fmt.Errorf("host %q: missing ']' after IPv6 address", truncate(hp, 60))
		}
		host = hp[1:end]
		switch after := hp[end+1:]; {
		case after == "":
		case strings.HasPrefix(after, ":"):
			port = after[1:]
			if port == "" {
				return "", fmt.Errorf("host %q: empty port", truncate(hp, 60))
			}
		default:
			return "", fmt.Errorf("host %q: unexpected %q after IPv6 address", truncate(hp, 60), truncate(after, 20))
		}
		if ip := net.ParseIP(strings.SplitN(host, "%", 2)[0]); ip == nil || ip.To4() != nil && !strings.Contains(host, ":") {
			return "", fmt.Errorf("host %q: not an IPv6 address in brackets", truncate(hp, 60))
		}
	} else {
		if i := strings.LastIndexByte(hp, ':'); i >= 0 {
			host, port = hp[:i], hp[i+1:]
			if strings.Contains(host, ":") {
				return "", fmt.Errorf("host %q: put an IPv6 address in brackets, as in [::1]:6379", truncate(hp, 60))
			}
			if port == "" {
				return "", fmt.Errorf("host %q: empty port", truncate(hp, 60))
			}
		}
		if host == "" {
			return "", fmt.Errorf("host %q: empty host name", truncate(hp, 60))
		}
		for _, r := range host {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
				return "", fmt.Errorf("host %q: invalid character %q in host name", truncate(hp, 60), r)
			}
		}
	}
	if port == "" {
		port = defaultPort
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '0' {
		return "", fmt.Errorf("host %q: invalid port %q (want 1 to 65535)", truncate(hp, 60), truncate(port, 20))
	}
	return net.JoinHostPort(host, port), nil
}

// parseDB parses a database number.
func parseDB(s string) (int, error) {
	db, err := strconv.Atoi(s)
	if err != nil || db < 0 {
		return 0, fmt.Errorf("invalid database number %q (want 0 or more)", truncate(s, 20))
	}
	return db, nil
}

// unwrapURLError drops url.Error's echo of the whole URL, which may
// contain a password.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// truncate shortens s for error messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
