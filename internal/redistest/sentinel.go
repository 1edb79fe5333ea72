package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the sentinels of [StartSentinel] monitor.
const MasterName = "mymaster"

// sentinelTimeout bounds how long StartSentinel waits for the set-up.
const sentinelTimeout = 30 * time.Second

// Sentinels sets how many sentinel processes [StartSentinel] runs (default
// 1). With more than one, the quorum is a majority and StartSentinel also
// waits until the sentinels have discovered each other, which takes about
// 2 s more (sentinels announce themselves every 2 s).
func Sentinels(n int) Option {
	return func(o *options) { o.sentinels = n }
}

// Sentinel is a Redis Sentinel set-up started by [StartSentinel]: two data
// servers (one master, one replica) and one or more sentinels monitoring
// them as [MasterName]. Its methods are safe for concurrent use; those that
// change roles (Failover, KillMaster) should not run concurrently with each
// other.
type Sentinel struct {
	t         testing.TB
	data      []*Server // the two data servers; roles change on failover
	sentinels []*Server

	mu sync.Mutex // serialises role changes
}

// StartSentinel runs a master and one replica, waits until the replica is in sync,
// then runs the sentinels (see [Sentinels]) with down-after-milliseconds
// 1000 and failover-timeout 3000, and waits until every sentinel monitors
// the master, sees the replica as healthy and knows the other sentinels.
// [Config] options apply to the data servers. All processes are killed in
// t.Cleanup.
func StartSentinel(t testing.TB, opts ...Option) *Sentinel {
	t.Helper()
	o := buildOptions(opts)
	n := o.sentinels
	if n == 0 {
		n = 1
	}
	if n < 1 || n > 9 {
		t.Fatalf("redistest: StartSentinel: %d sentinels, want 1 to 9", n)
	}
	quorum := n/2 + 1
	conf := o.conf
	s := &Sentinel{t: t}

	master := startServer(t, "sentinel master", false, false, o.cpus, func(srv *Server) string {
		return dataConf(srv, conf)
	})
	replica := startServer(t, "sentinel replica", false, false, o.cpus, func(srv *Server) string {
		return dataConf(srv, append(slices.Clone(conf), "replicaof 127.0.0.1 "+strconv.Itoa(master.port)))
	})
	s.data = []*Server{master, replica}

	ctx, cancel := context.WithTimeout(context.Background(), sentinelTimeout)
	defer cancel()
	if err := waitReplicaLinked(ctx, replica.Addr(), master.Addr()); err != nil {
		t.Fatalf("redistest: StartSentinel: %v%s", err, s.logs())
	}

	for i := range n {
		srv := startServer(t, fmt.Sprintf("sentinel %d", i), true, false, o.cpus, func(srv *Server) string {
			var b strings.Builder
			fmt.Fprintf(&b, "bind 127.0.0.1\nport %d\n", srv.port)
			fmt.Fprintf(&b, "dir %s\nlogfile %s\n", quote(srv.dir), quote(srv.logPath))
			b.WriteString("daemonize no\nprotected-mode no\n")
			fmt.Fprintf(&b, "sentinel monitor %s 127.0.0.1 %d %d\n", MasterName, master.port, quorum)
			fmt.Fprintf(&b, "sentinel down-after-milliseconds %s 1000\n", MasterName)
			fmt.Fprintf(&b, "sentinel failover-timeout %s 3000\n", MasterName)
			fmt.Fprintf(&b, "sentinel parallel-syncs %s 1\n", MasterName)
			return b.String()
		})
		s.sentinels = append(s.sentinels, srv)
	}
	if err := s.waitSentinels(ctx, master.Addr(), 1); err != nil {
		t.Fatalf("redistest: StartSentinel: %v%s", err, s.logs())
	}
	return s
}

// MasterName returns the monitored master's name, [MasterName].
func (s *Sentinel) MasterName() string { return MasterName }

// SentinelAddrs returns the sentinels' "127.0.0.1:port" addresses.
func (s *Sentinel) SentinelAddrs() []string {
	addrs := make([]string, len(s.sentinels))
	for i, srv := range s.sentinels {
		addrs[i] = srv.Addr()
	}
	return addrs
}

// Sentinels returns the sentinel processes.
func (s *Sentinel) Sentinels() []*Server { return slices.Clone(s.sentinels) }

// Servers returns the two data servers, the first-started master first.
// Which one is the master now is what [Sentinel.Master] tells.
func (s *Sentinel) Servers() []*Server { return slices.Clone(s.data) }

// URL returns "redis-sentinel://127.0.0.1:p1[,127.0.0.1:p2...]/mymaster",
// the form internal/redisaddr accepts.
func (s *Sentinel) URL() string {
	return "redis-sentinel://" + strings.Join(s.SentinelAddrs(), ",") + "/" + MasterName
}

// Client returns a failover client (redis.NewFailoverClient) that finds
// the master through the sentinels, closed in t.Cleanup.
func (s *Sentinel) Client(t testing.TB) *redis.Client {
	t.Helper()
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    MasterName,
		SentinelAddrs: s.SentinelAddrs(),
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Master returns the data server that the first sentinel reports as the
// master now. It fails the test if the sentinel cannot be asked.
func (s *Sentinel) Master() *Server {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addr, err := s.masterAddr(ctx, s.sentinels[0])
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	srv := s.server(addr)
	if srv == nil {
		s.t.Fatalf("redistest: sentinel reports master %s, which is none of the data servers", addr)
	}
	return srv
}

// Failover makes the sentinels promote the replica (SENTINEL FAILOVER,
// which needs no quorum) and waits until every sentinel reports the new
// master, the new master has role master, and the old master replicates
// from it (it is told REPLICAOF directly rather than after the sentinels'
// 8 s grace period, so Failover can be called again at once). It returns
// the new master.
func (s *Sentinel) Failover(ctx context.Context) (*Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.masterAddr(ctx, s.sentinels[0])
	if err != nil {
		return nil, fmt.Errorf("redistest: failover: %w", err)
	}
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.sentinels[0].Addr(), MaxRetries: -1})
	defer sc.Close()
	for {
		err := sc.Failover(ctx, MasterName).Err()
		if err == nil {
			break
		}
		// NOGOODSLAVE: the sentinel's view of the replica is not fresh
		// enough yet; INPROG: a failover is already running. Both pass.
		if !strings.HasPrefix(err.Error(), "NOGOODSLAVE") && !strings.HasPrefix(err.Error(), "INPROG") {
			return nil, fmt.Errorf("redistest: SENTINEL FAILOVER: %w", err)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return nil, fmt.Errorf("redistest: SENTINEL FAILOVER kept failing (%v): %w", err, ctx.Err())
		}
	}
	newMaster, err := s.waitPromotion(ctx, old)
	if err != nil {
		return nil, err
	}
	if oldSrv := s.server(old); oldSrv != nil && oldSrv.Running() {
		rdb := redis.NewClient(&redis.Options{Addr: old, MaxRetries: -1})
		defer rdb.Close()
		if err := rdb.Do(ctx, "REPLICAOF", "127.0.0.1", newMaster.port).Err(); err != nil {
			return nil, fmt.Errorf("redistest: REPLICAOF on old master %s: %w", old, err)
		}
		if err := waitReplicaLinked(ctx, old, newMaster.Addr()); err != nil {
			return nil, err
		}
		if err := s.waitSentinels(ctx, newMaster.Addr(), 1); err != nil {
			return nil, err
		}
	}
	return newMaster, nil
}

// KillMaster stops the current master with SIGKILL, as an outage would,
// and waits until the sentinels notice (down-after-milliseconds is 1 s),
// elect a leader, promote the replica and all report it. It returns the new
// master. The old master stays stopped; [Server.Restart] brings it back as
// an empty master, which the sentinels turn into a replica after a while.
func (s *Sentinel) KillMaster(ctx context.Context) (*Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.masterAddr(ctx, s.sentinels[0])
	if err != nil {
		return nil, fmt.Errorf("redistest: kill master: %w", err)
	}
	srv := s.server(old)
	if srv == nil {
		return nil, fmt.Errorf("redistest: kill master: sentinel reports master %s, which is none of the data servers", old)
	}
	srv.Stop()
	return s.waitPromotion(ctx, old)
}

// waitPromotion waits until every sentinel reports a master other than
// old and that server says it is a master.
func (s *Sentinel) waitPromotion(ctx context.Context, old string) (*Server, error) {
	var last error
	for {
		addr, err := s.agreedMaster(ctx)
		switch {
		case err != nil:
			last = err
		case addr == old:
			last = fmt.Errorf("sentinels still report the old master %s", old)
		default:
			role, err := roleOf(ctx, addr)
			if err == nil && role == "master" {
				if srv := s.server(addr); srv != nil {
					return srv, nil
				}
				return nil, fmt.Errorf("redistest: sentinels promoted %s, which is none of the data servers", addr)
			}
			last = fmt.Errorf("new master %s has role %q (%v)", addr, role, err)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return nil, fmt.Errorf("redistest: failover did not complete: %v: %w%s", last, err, s.logs())
		}
	}
}

// agreedMaster returns the master address all sentinels report, or an
// error if they disagree or one cannot be asked.
func (s *Sentinel) agreedMaster(ctx context.Context) (string, error) {
	var agreed string
	for _, srv := range s.sentinels {
		addr, err := s.masterAddr(ctx, srv)
		if err != nil {
			return "", err
		}
		if agreed != "" && addr != agreed {
			return "", fmt.Errorf("sentinels disagree: %s vs %s", agreed, addr)
		}
		agreed = addr
	}
	return agreed, nil
}

// masterAddr asks one sentinel for the master's address.
func (s *Sentinel) masterAddr(ctx context.Context, sentinel *Server) (string, error) {
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr(), MaxRetries: -1})
	defer sc.Close()
	hp, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
	if err != nil {
		return "", fmt.Errorf("sentinel %s: GET-MASTER-ADDR-BY-NAME: %w", sentinel.Addr(), err)
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("sentinel %s: GET-MASTER-ADDR-BY-NAME returned %q", sentinel.Addr(), hp)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// waitSentinels waits until every sentinel reports master as the master,
// without down flags, with at least replicas healthy replicas, and knows
// all other sentinels.
func (s *Sentinel) waitSentinels(ctx context.Context, master string, replicas int) error {
	var last string
	for {
		last = ""
		for _, srv := range s.sentinels {
			if p := s.sentinelProblem(ctx, srv, master, replicas); p != "" {
				last = fmt.Sprintf("sentinel %s: %s", srv.Addr(), p)
				break
			}
		}
		if last == "" {
			return nil
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return fmt.Errorf("redistest: sentinels not ready: %s: %w", last, err)
		}
	}
}

func (s *Sentinel) sentinelProblem(ctx context.Context, srv *Server, master string, replicas int) string {
	sc := redis.NewSentinelClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer sc.Close()
	m, err := sc.Master(ctx, MasterName).Result()
	if err != nil {
		return "SENTINEL MASTER: " + err.Error()
	}
	if addr := net.JoinHostPort(m["ip"], m["port"]); addr != master {
		return "master is " + addr + ", want " + master
	}
	if m["flags"] != "master" {
		return "master flags " + m["flags"]
	}
	if want := strconv.Itoa(len(s.sentinels) - 1); m["num-other-sentinels"] != want {
		return "num-other-sentinels " + m["num-other-sentinels"] + ", want " + want
	}
	rs, err := sc.Replicas(ctx, MasterName).Result()
	if err != nil {
		return "SENTINEL REPLICAS: " + err.Error()
	}
	healthy := 0
	for _, r := range rs {
		if r["flags"] == "slave" && r["master-link-status"] == "ok" {
			healthy++
		}
	}
	if healthy < replicas {
		return fmt.Sprintf("%d healthy replicas, want %d: %v", healthy, replicas, rs)
	}
	return ""
}

// server returns the data server listening on addr, or nil.
func (s *Sentinel) server(addr string) *Server {
	for _, srv := range s.data {
		if srv.Addr() == addr {
			return srv
		}
	}
	return nil
}

// logs returns the log tails of all processes, for failure messages.
func (s *Sentinel) logs() string {
	var b strings.Builder
	for _, srv := range append(slices.Clone(s.data), s.sentinels...) {
		b.WriteString(tail(15, srv.stderrPath, srv.logPath))
	}
	return b.String()
}

// waitReplicaLinked waits until the server at addr replicates from master
// with master_link_status:up.
func waitReplicaLinked(ctx context.Context, addr, master string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	var last string
	for {
		info, err := rdb.Info(ctx, "replication").Result()
		if err != nil {
			last = err.Error()
		} else {
			f := infoFields(info)
			got := net.JoinHostPort(f["master_host"], f["master_port"])
			switch {
			case f["role"] != "slave":
				last = "role " + f["role"]
			case got != master:
				last = "replicates from " + got
			case f["master_link_status"] != "up":
				last = "master_link_status " + f["master_link_status"]
			default:
				return nil
			}
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return fmt.Errorf("redistest: %s not in sync with %s: %s: %w", addr, master, last, err)
		}
	}
}

// roleOf returns the first element of ROLE on addr.
func roleOf(ctx context.Context, addr string) (string, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	v, err := rdb.Do(ctx, "ROLE").Slice()
	if err != nil {
		return "", err
	}
	if len(v) == 0 {
		return "", errors.New("empty ROLE reply")
	}
	role, _ := v[0].(string)
	return role, nil
}

// sleepCtx waits d or until ctx ends, whichever is first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
