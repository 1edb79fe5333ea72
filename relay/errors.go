package relay

import (
	"errors"
	"fmt"
)

var (
	// ErrServerClosed is returned by methods called after [Server.Shutdown].
	ErrServerClosed = errors.New("relay: server closed")
	// ErrSocketClosed is returned when emitting to a disconnected [Socket].
	ErrSocketClosed = errors.New("relay: socket disconnected")
	// ErrAckTimeout is returned by [Socket.EmitWithAck] when the context
	// ends before the client acknowledges.
	ErrAckTimeout = errors.New("relay: ack not received")
	// ErrReservedEvent is returned when emitting one of socket.io's reserved
	// event names (connect, disconnect, ...).
	ErrReservedEvent = errors.New("relay: reserved event name")
	// ErrAckCalledTwice is returned by an [AckFunc] called a second time.
	ErrAckCalledTwice = errors.New("relay: ack already sent")
)

// ConnectError refuses a namespace connection from [Config.OnConnect]. The
// client receives CONNECT_ERROR {"message":Message,"data":Data}, as when a
// socket.io middleware calls next(err) with err.data set. Data is encoded
// as JSON; nil omits it.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return fmt.Sprintf("relay: connect refused: %s", e.Message) }
