//go:build !unix

package emitter

import (
	"net"
	"time"
)

// newSpinConn leaves c as it is: spinning needs a Unix socket.
func newSpinConn(c net.Conn, _ string, _ time.Duration) net.Conn { return c }
