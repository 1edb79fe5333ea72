package redistest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/proctest"
)

// Option changes the configuration of the servers a Start function runs.
type Option func(*options)

type options struct {
	conf      []string // extra redis.conf lines for data nodes
	sentinels int      // StartSentinel only
	cpus      string   // taskset CPU list; "" runs unpinned
	replicas  int      // StartCluster only: replicas per master
}

// CPUs pins every process the Start function runs to the given CPUs with
// taskset (Linux; a list such as "1" or "0,1"), for benchmarks that keep
// Redis off the cores of the process under test.
func CPUs(list string) Option {
	return func(o *options) { o.cpus = list }
}

// Config appends lines to the redis.conf of every data node (not to
// sentinels), after the defaults, so they override them. Each line is one
// directive, for example
//
//	redistest.Config("client-output-buffer-limit pubsub 64kb 0 0")
func Config(lines ...string) Option {
	return func(o *options) { o.conf = append(o.conf, lines...) }
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Server is one redis-server process started by [Start] (or one node of a
// [Cluster] or [Sentinel] set-up). Its methods are safe for concurrent use,
// but those that can fail the test ([Server.Restart], [Server.Pause],
// [Server.Resume]) must be called from the goroutine running the test, as
// t.Fatal requires.
type Server struct {
	t          testing.TB
	name       string // for messages: "redis", "cluster node 2", "sentinel 1"
	dir        string
	confPath   string
	logPath    string
	stderrPath string
	sentinel   bool
	cpus       string
	port       int
	busPort    int                  // cluster bus port; 0 if not a cluster node
	conf       func(*Server) string // renders redis.conf for the current ports

	mu      sync.Mutex
	proc    *proctest.Process // guarded by mu; nil after Stop
	paused  bool              // guarded by mu
	started bool              // guarded by mu; a launch has succeeded before
}

// Start runs a standalone redis-server on a free 127.0.0.1 port, with its
// own temporary directory, no persistence (save "", appendonly no), and
// waits until it answers PING. The server is killed in t.Cleanup.
//
// A missing redis-server binary fails the test (it is never skipped).
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := buildOptions(opts)
	return startServer(t, "redis", false, false, o.cpus, func(s *Server) string {
		return dataConf(s, o.conf)
	})
}

// dataConf renders the configuration of a data node.
func dataConf(s *Server, extra []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "bind 127.0.0.1\nport %d\n", s.port)
	fmt.Fprintf(&b, "dir %s\nlogfile %s\n", quote(s.dir), quote(s.logPath))
	b.WriteString("daemonize no\nprotected-mode no\nsave \"\"\nappendonly no\n")
	b.WriteString("enable-debug-command local\n")
	// A replica's first sync starts at once instead of after 5 s.
	b.WriteString("repl-diskless-sync-delay 0\n")
	if s.busPort != 0 {
		fmt.Fprintf(&b, "cluster-enabled yes\ncluster-port %d\n", s.busPort)
		b.WriteString("cluster-config-file nodes.conf\ncluster-node-timeout 2000\n")
		b.WriteString("cluster-announce-ip 127.0.0.1\n")
		b.WriteString("cluster-require-full-coverage yes\n")
		b.WriteString("cluster-replica-validity-factor 0\ncluster-allow-replica-migration no\n")
		// Redis lists a replica in CLUSTER SLOTS only once its replication
		// offset is not 0, which for an idle master happens at the first
		// replication ping: 1 s instead of the default 10 s.
		b.WriteString("repl-ping-replica-period 1\n")
	}
	for _, l := range extra {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// quote returns s as a double-quoted redis.conf argument.
func quote(s string) string { return strconv.Quote(s) }

// startServer creates the server's directory, picks ports, writes the
// config and starts the process, retrying with new ports when another
// process took one in the meantime.
func startServer(t testing.TB, name string, sentinel, cluster bool, cpus string, conf func(*Server) string) *Server {
	t.Helper()
	if _, err := redisServerPath(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &Server{
		t:          t,
		name:       name,
		dir:        dir,
		confPath:   filepath.Join(dir, "redis.conf"),
		logPath:    filepath.Join(dir, "redis.log"),
		stderrPath: filepath.Join(dir, "stderr.log"),
		sentinel:   sentinel,
		cpus:       cpus,
		conf:       conf,
	}
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(s.cleanup)

	const attempts = 5
	for attempt := 1; ; attempt++ {
		if err := s.pickPorts(cluster); err != nil {
			t.Fatal(err)
		}
		err := s.launch()
		if err == nil {
			return s
		}
		logs := tail(30, s.stderrPath, s.logPath)
		if attempt < attempts && errors.Is(err, errExited) && strings.Contains(logs, "Address already in use") {
			s.releasePorts()
			continue
		}
		t.Fatalf("redistest: start %s: %v%s", name, err, logs)
	}
}

func (s *Server) pickPorts(cluster bool) error {
	var err error
	if s.port, err = proctest.FreePort(); err != nil {
		return err
	}
	if cluster {
		if s.busPort, err = proctest.FreePort(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) releasePorts() {
	proctest.ReleasePort(s.port)
	proctest.ReleasePort(s.busPort)
	s.port, s.busPort = 0, 0
}

// launch writes the config (for a first start) and starts the process,
// returning once it answers PING.
func (s *Server) launch() error {
	restart := s.wasStarted()
	// Sentinels rewrite their config file with what they learned; a
	// restart must keep that, so only the first start writes it.
	if !s.sentinel || !restart {
		if err := os.WriteFile(s.confPath, []byte(s.conf(s)), 0o644); err != nil {
			return err
		}
	}
	if !restart {
		// Drop what a failed attempt on another port left; a restart
		// appends, keeping the history of the test's server.
		for _, p := range []string{s.logPath, s.stderrPath} {
			_ = os.Truncate(p, 0)
		}
	}
	p, err := spawn(s.confPath, s.stderrPath, s.sentinel, s.cpus)
	if err != nil {
		return err
	}
	if err := waitReady(p, s.Addr(), time.Now().Add(startTimeout)); err != nil {
		p.Kill()
		return err
	}
	s.mu.Lock()
	s.proc = p
	s.paused = false
	s.started = true
	s.mu.Unlock()
	return nil
}

// wasStarted reports whether the process was started successfully before.
func (s *Server) wasStarted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// Addr returns "127.0.0.1:port". It stays the same across Stop and Restart.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Port returns the TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// URL returns "redis://127.0.0.1:port", the form internal/redisaddr and
// redis.ParseURL accept.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Dir returns the server's working directory (config, log, cluster state).
func (s *Server) Dir() string { return s.dir }

// LogPath returns the path of the server's log file.
func (s *Server) LogPath() string { return s.logPath }

// Client returns a go-redis client for the server, closed in t.Cleanup.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Running reports whether the process is up (it may be paused).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && !s.proc.Exited()
}

// PID returns the server's process id, or 0 while it is stopped (for
// reading its CPU time from /proc/PID/stat in benchmarks).
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid()
}

// Stop kills the server with SIGKILL and waits for it to exit, simulating
// an outage: clients see connections reset and refused. Data is lost (there
// is no persistence). Stop on a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.paused = false
	s.mu.Unlock()
	if p != nil {
		p.Kill()
	}
}

// Restart stops the server if it is running and starts it again on the
// same port with the same configuration, then waits until it answers PING.
// The restarted server is empty (no persistence), so subscribers must
// resubscribe and keys are gone. A failure to come back fails the test.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	// The port normally comes straight back; retry briefly in case the
	// kernel has not released it yet.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err = s.launch()
		if err == nil {
			return
		}
		logs := tail(30, s.stderrPath, s.logPath)
		if !strings.Contains(logs, "Address already in use") || time.Now().After(deadline) {
			s.t.Fatalf("redistest: restart %s on %s: %v%s", s.name, s.Addr(), err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pause freezes the server with SIGSTOP: it keeps its connections and port
// but answers nothing, like a hung or overloaded server, until [Server.Resume].
// The test cleanup kills a paused server as usual.
func (s *Server) Pause() {
	s.t.Helper()
	s.signal(stopSignal, true)
}

// Resume thaws a server frozen by [Server.Pause].
func (s *Server) Resume() {
	s.t.Helper()
	s.signal(contSignal, false)
}

func (s *Server) signal(sig os.Signal, paused bool) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.proc.Exited() {
		s.t.Fatalf("redistest: %s on %s is not running", s.name, s.Addr())
	}
	if sig == nil {
		s.t.Fatalf("redistest: pausing a process is not supported on this platform")
	}
	if err := s.proc.Signal(sig); err != nil {
		s.t.Fatalf("redistest: signal %s: %v", s.name, err)
	}
	s.paused = paused
}

// cleanup kills the process and releases its ports. It runs in t.Cleanup.
func (s *Server) cleanup() {
	s.Stop()
	s.releasePorts()
}
