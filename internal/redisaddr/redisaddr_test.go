package redisaddr_test

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/redisaddr"
)

// tlsEqual compares the tls.Config fields Parse sets (tls.Config itself
// holds locks that cmp cannot compare).
var tlsEqual = cmp.Comparer(func(a, b *tls.Config) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ServerName == b.ServerName && a.MinVersion == b.MinVersion && a.InsecureSkipVerify == b.InsecureSkipVerify
})

func tls12(serverName string, skip bool) *tls.Config {
	return &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12, InsecureSkipVerify: skip}
}

var parseTests = []struct {
	url  string
	mode redisaddr.Mode
	want *redis.UniversalOptions
}{
	{"redis://localhost:6379", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"localhost:6379"}}},
	{"redis://localhost", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"localhost:6379"}}},
	{"REDIS://Redis.Example.com:7000", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"Redis.Example.com:7000"}}},
	{"redis://127.0.0.1:6379/", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}}},
	{"redis://user:p%40ss%2Fw:rd@h:1/3?dial_timeout=3&read_timeout=500ms&pool_size=20&client_name=relay", redisaddr.Standalone, &redis.UniversalOptions{
		Addrs: []string{"h:1"}, Username: "user", Password: "p@ss/w:rd", DB: 3,
		DialTimeout: 3 * time.Second, ReadTimeout: 500 * time.Millisecond, PoolSize: 20, ClientName: "relay",
	}},
	{"redis://:secret@h", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"h:6379"}, Password: "secret"}},
	{"redis://alice@h", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"h:6379"}, Username: "alice"}},
	{"redis://[::1]:6380/2", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"[::1]:6380"}, DB: 2}},
	{"redis://[fe80::1%25eth0]", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"[fe80::1%25eth0]:6379"}}},
	{"redis://h?db=4", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"h:6379"}, DB: 4}},
	{"redis://h/1?db=4", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"h:6379"}, DB: 4}},
	{"redis://h?read_timeout=0&write_timeout=-1s&dial_timeout=", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"h:6379"}, ReadTimeout: -1, WriteTimeout: -1}},
	{"redis://h?idle_timeout=30&max_conn_age=1m", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"h:6379"}, ConnMaxIdleTime: 30 * time.Second, ConnMaxLifetime: time.Minute}},
	{"redis://h?conn_max_lifetime=10s&conn_max_lifetime_jitter=1m", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"h:6379"}, ConnMaxLifetime: 10 * time.Second, ConnMaxLifetimeJitter: 10 * time.Second}},
	{"redis://h?pool_size=1&pool_size=7&pool_fifo=1&max_retries=-1&protocol=2", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"h:6379"}, PoolSize: 7, PoolFIFO: true, MaxRetries: -1, Protocol: 2}},
	{"redis://h?min_idle_conns=1&max_idle_conns=2&max_active_conns=3&pool_timeout=4&min_retry_backoff=5ms&max_retry_backoff=6ms&max_concurrent_dials=7", redisaddr.Standalone, &redis.UniversalOptions{
		Addrs: []string{"h:6379"}, MinIdleConns: 1, MaxIdleConns: 2, MaxActiveConns: 3, PoolTimeout: 4 * time.Second,
		MinRetryBackoff: 5 * time.Millisecond, MaxRetryBackoff: 6 * time.Millisecond, MaxConcurrentDials: 7,
	}},
	{"rediss://h:6380", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"h:6380"}, TLSConfig: tls12("h", false)}},
	{"rediss://[::1]?skip_verify=true", redisaddr.Standalone, &redis.UniversalOptions{Addrs: []string{"[::1]:6379"}, TLSConfig: tls12("::1", true)}},

	{"redis-sentinel://s1:26379,s2,[::1]:26380/mymaster/2?sentinel_password=x&sentinel_username=u", redisaddr.Sentinel, &redis.UniversalOptions{
		Addrs: []string{"s1:26379", "s2:26379", "[::1]:26380"}, MasterName: "mymaster", DB: 2,
		SentinelUsername: "u", SentinelPassword: "x",
	}},
	{"redis-sentinel://u:p@s1/mymaster", redisaddr.Sentinel, &redis.UniversalOptions{Addrs: []string{"s1:26379"}, MasterName: "mymaster", Username: "u", Password: "p"}},
	{"redis-sentinel://s1/my%20master/?db=3&dial_timeout=2", redisaddr.Sentinel, &redis.UniversalOptions{Addrs: []string{"s1:26379"}, MasterName: "my master", DB: 3, DialTimeout: 2 * time.Second}},
	{"rediss-sentinel://s1,s2/m", redisaddr.Sentinel, &redis.UniversalOptions{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "m", TLSConfig: tls12("", false)}},

	{"redis-cluster://n1:7000,n2:7001?max_redirects=5&route_randomly=true&read_only=1", redisaddr.Cluster, &redis.UniversalOptions{
		Addrs: []string{"n1:7000", "n2:7001"}, IsClusterMode: true, MaxRedirects: 5, RouteRandomly: true, ReadOnly: true,
	}},
	{"redis-cluster://n1", redisaddr.Cluster, &redis.UniversalOptions{Addrs: []string{"n1:6379"}, IsClusterMode: true}},
	{"redis-cluster://n1?route_by_latency=true&route_by_latency_tolerance=5ms&failing_timeout_seconds=3", redisaddr.Cluster, &redis.UniversalOptions{
		Addrs: []string{"n1:6379"}, IsClusterMode: true, RouteByLatency: true, RouteByLatencyTolerance: 5 * time.Millisecond, FailingTimeoutSeconds: 3,
	}},
	{"rediss-cluster://u:p@n1:7000,n2:7000/?skip_verify=false", redisaddr.Cluster, &redis.UniversalOptions{
		Addrs: []string{"n1:7000", "n2:7000"}, IsClusterMode: true, Username: "u", Password: "p", TLSConfig: tls12("", false),
	}},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := redisaddr.Parse(tt.url)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, tlsEqual); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
			if m := redisaddr.ModeOf(got); m != tt.mode {
				t.Errorf("ModeOf = %v, want %v", m, tt.mode)
			}
		})
	}
}

var errorTests = []struct {
	url, want string
}{
	{"http://h", `redisaddr: unknown scheme "http" (want redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster, rediss-cluster)`},
	{"unix:///tmp/redis.sock", `redisaddr: unknown scheme "unix" (want redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster, rediss-cluster)`},
	{"", "redisaddr: missing scheme: want a URL such as redis://host:6379 (schemes: redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster, rediss-cluster)"},
	{"localhost:6379", "redisaddr: missing scheme: want a URL such as redis://host:6379 (schemes: redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster, rediss-cluster)"},
	{"user:secret@redis://h", "redisaddr: invalid scheme (want redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster, rediss-cluster)"},
	{"redis://", "redisaddr: redis URL: no host"},
	{"redis://:secret@", "redisaddr: redis URL: no host"},
	{"redis://h:0", `redisaddr: redis URL: host "h:0": invalid port "0" (want 1 to 65535)`},
	{"redis://h:65536", `redisaddr: redis URL: host "h:65536": invalid port "65536" (want 1 to 65535)`},
	{"redis://h:abc", `redisaddr: redis URL: host "h:abc": invalid port "abc" (want 1 to 65535)`},
	{"redis://h:+1", `redisaddr: redis URL: host "h:+1": invalid port "+1" (want 1 to 65535)`},
	{"redis://h:", `redisaddr: redis URL: host "h:": empty port`},
	{"redis://:6379", `redisaddr: redis URL: host ":6379": empty host name`},
	{"redis://ho st", `redisaddr: redis URL: host "ho st": invalid character ' ' in host name`},
	{"redis://::1:6379", `redisaddr: redis URL: host "::1:6379": put an IPv6 address in brackets, as in [::1]:6379`},
	{"redis://[::1", `redisaddr: redis URL: host "[::1": missing ']' after IPv6 address`},
	{"redis://[::1]x", `redisaddr: redis URL: host "[::1]x": unexpected "x" after IPv6 address`},
	{"redis://[::1]:", `redisaddr: redis URL: host "[::1]:": empty port`},
	{"redis://[1.2.3.4]", `redisaddr: redis URL: host "[1.2.3.4]": not an IPv6 address in brackets`},
	{"redis://[host]", `redisaddr: redis URL: host "[host]": not an IPv6 address in brackets`},
	{"redis://a,b", "redisaddr: redis URL names 2 hosts; use redis-cluster:// or redis-sentinel:// for more than one"},
	{"redis://h/1/2", `redisaddr: redis URL path "/1/2": want at most /db`},
	{"redis://h/x", `redisaddr: redis URL: invalid database number "x" (want 0 or more)`},
	{"redis://h/-1", `redisaddr: redis URL: invalid database number "-1" (want 0 or more)`},
	{"redis://h?db=x", `redisaddr: redis URL: option db: invalid database number "x" (want 0 or more)`},
	{"redis://h#frag", "redisaddr: redis URL must not have a #fragment"},
	{"redis://h?foo=1", `redisaddr: redis URL: unknown option "foo"`},
	{"redis://h?dial_timeout=abc", `redisaddr: redis URL: option dial_timeout: invalid duration "abc" (want e.g. 500ms, 3s, or whole seconds)`},
	{"redis://h?dial_timeout=99999999999999", `redisaddr: redis URL: option dial_timeout: duration "99999999999999" is too long`},
	{"redis://h?pool_size=x", `redisaddr: redis URL: option pool_size: invalid number "x"`},
	{"redis://h?pool_fifo=maybe", `redisaddr: redis URL: option pool_fifo: invalid boolean "maybe" (want true, false, 1 or 0)`},
	{"rediss://h?skip_verify=yes", `redisaddr: rediss URL: option skip_verify: invalid boolean "yes" (want true, false, 1 or 0)`},
	{"redis://h?skip_verify=true", "redisaddr: redis URL: option skip_verify needs a TLS scheme (rediss, rediss-sentinel, rediss-cluster)"},
	{"redis://h?a=%zz", `redisaddr: redis URL: invalid query: invalid URL escape "%zz"`},
	{"redis://h?a=1;b=2", "redisaddr: redis URL: invalid query: invalid semicolon separator in query"},
	{"redis://u:%zz@h", `redisaddr: invalid redis URL: invalid URL escape "%zz"`},
	{"redis://h?sentinel_password=x", "redisaddr: redis URL: option sentinel_password applies only to sentinel URLs"},
	{"redis://h?max_redirects=3", "redisaddr: redis URL: option max_redirects applies only to cluster URLs"},
	{"redis-cluster://h?db=1", "redisaddr: redis-cluster URL: option db applies only to standalone and sentinel URLs"},
	{"redis-cluster://h/1", `redisaddr: redis-cluster URL has path "/1", but a cluster has no databases to select`},
	{"redis://h?idle_timeout=30&conn_max_idle_time=5", "redisaddr: redis URL: options idle_timeout and conn_max_idle_time name the same setting; use only conn_max_idle_time"},
	{"redis-cluster://h?idle_timeout=3", `redisaddr: redis-cluster URL: unknown option "idle_timeout" (use conn_max_idle_time)`},
	{"redis-cluster://a,,b", "redisaddr: redis-cluster URL: empty host in the host list"},
	{"redis-cluster://a,", "redisaddr: redis-cluster URL: empty host in the host list"},
	{"redis-sentinel://h", "redisaddr: redis-sentinel URL needs the master name as its path, as in redis-sentinel://host:26379/mymaster"},
	{"rediss-sentinel://h/", "redisaddr: rediss-sentinel URL needs the master name as its path, as in rediss-sentinel://host:26379/mymaster"},
	{"redis-sentinel://h/m/1/2", `redisaddr: redis-sentinel URL path "/m/1/2": want /master or /master/db`},
	{"redis-sentinel://h/m/x", `redisaddr: redis-sentinel URL: invalid database number "x" (want 0 or more)`},
	{"redis-sentinel://h/m?route_by_latency=true", "redisaddr: redis-sentinel URL: option route_by_latency applies only to cluster URLs"},
	{"redis-sentinel://:secret@h/m?sentinel_password=%", `redisaddr: redis-sentinel URL: invalid query: invalid URL escape "%"`},
	// A password with an unescaped '/' must not leak through the host error.
	{"redis://user:sec/ret@h", "redisaddr: redis URL: invalid host list (percent-encode any '/', '?', '#' or '@' in the user name or password)"},
	{"redis://user:sec?ret@h", "redisaddr: redis URL: invalid host list (percent-encode any '/', '?', '#' or '@' in the user name or password)"},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorTests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := redisaddr.Parse(tt.url)
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "ret@") {
				t.Errorf("error %q leaks the password", err)
			}
			if _, err := redisaddr.NewClient(tt.url); err == nil {
				t.Error("NewClient succeeded where Parse fails")
			}
		})
	}
}

// TestParseMatchesGoRedis checks standalone URLs against redis.ParseURL:
// the options a *redis.Client gets are the same either way.
func TestParseMatchesGoRedis(t *testing.T) {
	urls := []string{
		"redis://localhost:6379",
		"redis://h",
		"redis://user:p%40ss@h:1/3",
		"redis://:secret@h/0",
		"redis://[::1]:6380/2",
		"rediss://h:6380",
		"rediss://h?skip_verify=true",
		"redis://h?db=4",
		"redis://h/1?db=4",
		"redis://h?dial_timeout=3&read_timeout=500ms&write_timeout=0&pool_size=20",
		"redis://h?idle_timeout=30&max_conn_age=1m",
		"redis://h?conn_max_lifetime=10s&conn_max_lifetime_jitter=1m",
		"redis://h?conn_max_lifetime_jitter=1s",
		"redis://h?pool_size=1&pool_size=7&pool_fifo=1&max_retries=-1&protocol=2&client_name=x",
		"redis://h?min_idle_conns=1&max_idle_conns=2&max_active_conns=3&pool_timeout=4&min_retry_backoff=5ms&max_retry_backoff=-6ms&max_concurrent_dials=7",
		"redis://h?pipeline_pool_size=-1&pipeline_read_buffer_size=10&pipeline_write_buffer_size=20",
		"redis://h?dial_timeout=&pool_fifo=",
	}
	for _, u := range urls {
		t.Run(u, func(t *testing.T) {
			want, err := redis.ParseURL(u)
			if err != nil {
				t.Fatalf("redis.ParseURL: %v", err)
			}
			opts, err := redisaddr.Parse(u)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := opts.Simple()
			if diff := cmp.Diff(want, got, tlsEqual, cmpopts.IgnoreFields(redis.Options{}, "Network"), cmpopts.IgnoreUnexported(redis.Options{})); diff != "" {
				t.Errorf("Parse(%q).Simple() differs from redis.ParseURL (-go-redis +redisaddr):\n%s", u, diff)
			}
		})
	}
}

func TestNewClientTypes(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"redis://127.0.0.1:1", "*redis.Client"},
		{"rediss://127.0.0.1:1", "*redis.Client"},
		{"redis-sentinel://127.0.0.1:1,127.0.0.1:2/m", "*redis.Client"},
		{"redis-cluster://127.0.0.1:1", "*redis.ClusterClient"},
		{"redis-cluster://127.0.0.1:1,127.0.0.1:2", "*redis.ClusterClient"},
		{"rediss-cluster://127.0.0.1:1", "*redis.ClusterClient"},
	}
	for _, tt := range tests {
		c, err := redisaddr.NewClient(tt.url)
		if err != nil {
			t.Fatalf("NewClient(%q): %v", tt.url, err)
		}
		var got string
		switch c.(type) {
		case *redis.Client:
			got = "*redis.Client"
		case *redis.ClusterClient:
			got = "*redis.ClusterClient"
		default:
			got = "other"
		}
		c.Close()
		if got != tt.want {
			t.Errorf("NewClient(%q) is a %s, want %s", tt.url, got, tt.want)
		}
	}
}

func TestNewRejectsWhatGoRedisWouldPanicOn(t *testing.T) {
	tests := []struct {
		name string
		opts *redis.UniversalOptions
		want string
	}{
		{"nil", nil, "redisaddr: nil options"},
		{"no address", &redis.UniversalOptions{}, "redisaddr: no address"},
		{"sentinel routing", &redis.UniversalOptions{Addrs: []string{"h:1"}, MasterName: "m", RouteRandomly: true},
			"redisaddr: a sentinel client cannot route by latency, route randomly or be in cluster mode"},
	}
	for _, tt := range tests {
		c, err := redisaddr.New(tt.opts)
		if err == nil {
			c.Close()
			t.Errorf("%s: New succeeded, want %q", tt.name, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%s: error %q, want %q", tt.name, err, tt.want)
		}
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[redisaddr.Mode]string{
		redisaddr.Standalone: "standalone", redisaddr.Sentinel: "sentinel", redisaddr.Cluster: "cluster", 0: "Mode(0)",
	} {
		if m.String() != want {
			t.Errorf("Mode(%d).String() = %q, want %q", int(m), m.String(), want)
		}
	}
}

func TestRedacted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://h:6379", "redis://h:6379"},
		{"redis://user:secret@h:6379/1", "redis://user:xxxxx@h:6379/1"},
		{"redis://:secret@h", "redis://:xxxxx@h"},
		{"redis://alice@h", "redis://alice@h"},
		{"redis://u:p%40ss@h?dial_timeout=1", "redis://u:xxxxx@h?dial_timeout=1"},
		{"redis-sentinel://u:p@s1,s2/m?sentinel_password=secret&sentinel_username=u", "redis-sentinel://u:xxxxx@s1,s2/m?sentinel_password=xxxxx&sentinel_username=u"},
		{"redis-sentinel://s1/m?sentinel%5Fpassword=secret", "redis-sentinel://s1/m?sentinel%5Fpassword=xxxxx"},
		{"redis://h?x=1#frag", "redis://h?x=1#frag"},
		{"user:secret@h", "<invalid redis URL>"},
	}
	for _, tt := range tests {
		if got := redisaddr.Redacted(tt.in); got != tt.want {
			t.Errorf("Redacted(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHelpNamesEveryScheme(t *testing.T) {
	for _, s := range []string{"redis://", "rediss://", "redis-sentinel://", "rediss-sentinel://", "redis-cluster://", "rediss-cluster://", "sentinel_password", "skip_verify"} {
		if !strings.Contains(redisaddr.Help, s) {
			t.Errorf("Help does not mention %q", s)
		}
	}
	// Every example in Help parses.
	_, examples, _ := strings.Cut(redisaddr.Help, "Examples:")
	n := 0
	for _, line := range strings.Split(examples, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			n++
			if _, err := redisaddr.Parse(line); err != nil {
				t.Errorf("Help example %q: %v", line, err)
			}
		}
	}
	if n < 4 {
		t.Errorf("Help has %d examples, want at least 4", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.url)
	}
	for _, tt := range errorTests {
		f.Add(tt.url)
	}
	f.Fuzz(func(t *testing.T, s string) {
		opts, err := redisaddr.Parse(s)
		_ = redisaddr.Redacted(s)
		if err != nil {
			if opts != nil {
				t.Fatalf("Parse returned options and error %v", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "redisaddr: ") || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error %q is not one line starting with \"redisaddr: \"", msg)
			}
			return
		}
		if len(opts.Addrs) == 0 {
			t.Fatal("Parse succeeded with no address")
		}
		scheme, _, _ := strings.Cut(strings.ToLower(s), "://")
		want := redisaddr.Standalone
		switch {
		case strings.HasSuffix(scheme, "-sentinel"):
			want = redisaddr.Sentinel
		case strings.HasSuffix(scheme, "-cluster"):
			want = redisaddr.Cluster
		}
		if m := redisaddr.ModeOf(opts); m != want {
			t.Fatalf("ModeOf = %v for scheme %q, want %v", m, scheme, want)
		}
		c, err := redisaddr.New(opts)
		if err != nil {
			t.Fatalf("New after successful Parse: %v", err)
		}
		c.Close()
	})
}
