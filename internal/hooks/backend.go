package hooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// backend is one target's client: gRPC or HTTP. Its methods are safe for
// concurrent use.
type backend interface {
	Connect(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error)
	Event(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error)
	Disconnect(ctx context.Context, r *siorelayv1.DisconnectRequest) error
	Close() error
}

var (
	_ backend = (*grpcBackend)(nil)
	_ backend = (*httpBackend)(nil)
)

// maxAnswerBytes bounds a backend's answer.
const maxAnswerBytes = 4 << 20

// badAnswerError is an answer that breaks the proto's rules.
type badAnswerError struct{ msg string }

func (e *badAnswerError) Error() string { return "hooks: bad answer: " + e.msg }

func badAnswerf(format string, args ...any) error {
	return &badAnswerError{msg: fmt.Sprintf(format, args...)}
}

// outcome classifies a failed call for the Observer and the client.
func outcome(err error) string {
	var bad *badAnswerError
	switch {
	case errors.As(err, &bad):
		return OutcomeBadAnswer
	case errors.Is(err, context.DeadlineExceeded), status.Code(err) == codes.DeadlineExceeded:
		return OutcomeTimeout
	}
	return OutcomeError
}

// clientMessage is what a client is told about a failed call: the
// connect_error message, or the "error" of an ack.
func clientMessage(outcome string) string {
	switch outcome {
	case OutcomeTimeout:
		return "backend timeout"
	case OutcomeBusy:
		return "backend busy"
	}
	return "backend unavailable"
}

// notSent reports whether err shows that the request never reached the
// backend (the TCP connection could not be made), so it is safe to retry.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// sleepCtx waits d, or less if ctx ends first; it reports whether the
// whole d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
