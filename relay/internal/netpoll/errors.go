package netpoll

import (
	"errors"
	"fmt"

	"github.com/gobwas/ws"
)

var (
	// ErrClosed is returned by [Conn.Send] once the connection is closed or
	// closing.
	ErrClosed = errors.New("netpoll: connection closed")
	// ErrDropped is returned by [Conn.Send] when a volatile frame was dropped
	// because the connection's queue is over its volatile threshold.
	ErrDropped = errors.New("netpoll: volatile frame dropped")
	// ErrSlowConsumer is the close reason of a connection whose send queue
	// went over its limit or whose socket stayed unwritable past the write
	// timeout.
	ErrSlowConsumer = errors.New("netpoll: slow consumer")
	// ErrWriteTimeout is the close reason of a connection whose socket
	// stayed unwritable past the write timeout. It is an ErrSlowConsumer
	// (errors.Is); a queue over its limit closes with ErrSlowConsumer
	// itself.
	ErrWriteTimeout = fmt.Errorf("%w: unwritable past the write timeout", ErrSlowConsumer)
	// ErrPollerClosed is returned by [Poller.Add] after [Poller.Close].
	ErrPollerClosed = errors.New("netpoll: poller closed")
)

// CloseError is the close reason when the peer sent a close frame, or when
// the connection was closed for a protocol violation with Code.
type CloseError struct {
	Code   ws.StatusCode
	Remote bool // the peer sent the close frame
}

func (e *CloseError) Error() string {
	if e.Remote {
		return fmt.Sprintf("netpoll: peer closed with code %d", e.Code)
	}
	return fmt.Sprintf("netpoll: closed with code %d", e.Code)
}
