package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/siorelay/siorelay/internal/proctest"
)

// missingBinary is the failure message when redis-server is not installed.
const missingBinary = `redis-server not found in PATH: install it with "apt-get install redis-server" (Debian/Ubuntu) or "brew install redis"; .ci/run installs it automatically`

// startTimeout bounds how long one process may take to answer PING.
const startTimeout = 15 * time.Second

// redisServerPath returns the path of redis-server found in PATH.
func redisServerPath() (string, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New(missingBinary)
	}
	return path, nil
}

// spawn starts redis-server with the given config file. Output that the
// server writes before it opens its logfile (config errors) goes to
// stderrPath. The process dies with the test binary (on Linux); the
// caller kills it (Server.Stop, the cleanup).
func spawn(confPath, stderrPath string, sentinel bool, cpus string) (*proctest.Process, error) {
	bin, err := redisServerPath()
	if err != nil {
		return nil, err
	}
	args := []string{confPath}
	if sentinel {
		args = append(args, "--sentinel")
	}
	if cpus != "" {
		taskset, err := exec.LookPath("taskset")
		if err != nil {
			return nil, errors.New("redistest: CPUs needs taskset in PATH (Debian package util-linux)")
		}
		args = append([]string{"-c", cpus, bin}, args...)
		bin = taskset
	}
	out, err := os.OpenFile(stderrPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("redistest: open %s: %w", stderrPath, err)
	}
	defer out.Close() // the child holds its own copy
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Dir(confPath)
	cmd.Stdout = out
	cmd.Stderr = out
	return proctest.Run("redis-server", cmd)
}

// errExited is returned by waitReady when the process died during startup.
var errExited = errors.New("redis-server exited during startup")

// waitReady polls addr with PING until it answers +PONG, the process exits,
// or the deadline passes.
func waitReady(p *proctest.Process, addr string, deadline time.Time) error {
	delay := time.Millisecond
	var last error
	for {
		if p.Exited() {
			return fmt.Errorf("%w (%v)", errExited, p.Err())
		}
		if last = ping(addr); last == nil {
			// Another process (a test binary running beside this one)
			// may have started its server on the port between FreePort
			// and our bind; then ours exits with "Address already in
			// use" and the PONG came from theirs.
			pid, err := serverPID(addr)
			if err == nil && pid == p.Pid() {
				return nil
			}
			last = err
			if err == nil {
				last = fmt.Errorf("%s is served by another redis-server (pid %d)", addr, pid)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering PING on %s after %v: %v", addr, startTimeout, last)
		}
		select {
		case <-p.Done():
		case <-time.After(delay):
		}
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

// ping sends one inline PING over a fresh connection and expects +PONG.
func ping(addr string) error {
	reply, err := rawCommand(addr, "PING")
	if err != nil {
		return err
	}
	if reply != "+PONG" {
		return fmt.Errorf("PING: unexpected reply %q", reply)
	}
	return nil
}

// serverPID asks the server at addr for its process id (INFO server).
func serverPID(addr string) (int, error) {
	info, err := rawCommand(addr, "INFO server")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("INFO server: no process_id in %.60q", info)
}

// rawCommand sends one inline command on a fresh connection and returns the
// reply: the line of a simple reply or error ("+PONG", "-ERR ..."), or the
// body of a bulk reply. It is used only for readiness probes, so it does
// not depend on a go-redis client being configured for the server kind.
func rawCommand(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	size, isBulk := strings.CutPrefix(line, "$")
	if !isBulk {
		return line, nil
	}
	n, err := strconv.Atoi(size)
	if err != nil || n < 0 {
		return "", fmt.Errorf("%s: unexpected reply %q", cmd, line)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return "", err
	}
	return string(body), nil
}

// tail returns the last n lines of each named file that exists, for failure
// messages.
func tail(n int, paths ...string) string {
	var b strings.Builder
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "\n--- last %d lines of %s ---\n%s", len(lines), path, strings.Join(lines, "\n"))
	}
	if b.Len() == 0 {
		return "\n(no log output)"
	}
	return b.String()
}
