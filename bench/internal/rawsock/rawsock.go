// Package rawsock takes sockets out of the Go runtime for the benchmark
// tools: their clients sit in epoll sets of their own, with no goroutine
// and no runtime poller entry per socket.
//
// Dup is safe for concurrent use.
package rawsock

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// Dup returns a close-on-exec, non-blocking duplicate of conn's socket.
// The caller owns it (unix.Close) and usually closes conn right after,
// so that the runtime poller forgets the socket.
func Dup(conn net.Conn) (int, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("rawsock: %T has no raw fd", conn)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(s uintptr) {
		fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, dupErr
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
