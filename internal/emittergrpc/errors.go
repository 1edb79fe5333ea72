package emittergrpc

import (
	"context"
	"errors"
	"net"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/siorelay/siorelay/emitter"
)

// ErrInvalidArgument may be wrapped by a [Backend] error to make the call
// fail with codes.InvalidArgument (the request can never succeed as it is).
var ErrInvalidArgument = errors.New("emittergrpc: invalid argument")

// ErrIncomplete is wrapped by the error of a [Backend] query whose answer
// lacks servers that did not answer in time; the call fails with
// codes.DeadlineExceeded, the partial answer in the status details.
var ErrIncomplete = errors.New("emittergrpc: some servers did not answer in time")

// ErrTooLarge is wrapped by the error of a [Backend] query whose answers
// grew past its size limit; the call fails with codes.ResourceExhausted.
var ErrTooLarge = errors.New("emittergrpc: answers too large")

// toStatus translates a Backend error into the status the caller sees.
// This is the only place where errors become status codes.
func toStatus(ctx context.Context, op string, err error) error {
	return statusOf(ctx, op, err, publishWords)
}

// words are what a status message says happened, for one kind of call.
type words struct{ late, cancelled, failed string }

var (
	publishWords = words{
		late:      "deadline exceeded before the publish was acknowledged (it may still happen)",
		cancelled: "cancelled before the publish was acknowledged (it may still happen)",
		failed:    "publish failed, retry later",
	}
	queryWords = words{
		late:      "deadline exceeded before the servers answered",
		cancelled: "cancelled before the servers answered",
		failed:    "request failed, retry later",
	}
)

func statusOf(ctx context.Context, op string, err error, w words) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, ErrInvalidArgument),
		errors.Is(err, emitter.ErrReservedEvent),
		errors.Is(err, emitter.ErrEncode):
		return status.Errorf(codes.InvalidArgument, "%s: %v", op, err)
	case errors.Is(err, ErrTooLarge):
		return status.Errorf(codes.ResourceExhausted, "%s: %v; narrow the target", op, err)
	case errors.Is(err, errors.ErrUnsupported):
		return status.Errorf(codes.Unimplemented, "%s: %v", op, err)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) || deadlinePassed(ctx, err):
		return status.Errorf(codes.DeadlineExceeded, "%s: %s: %v", op, w.late, err)
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return status.Errorf(codes.Canceled, "%s: %s: %v", op, w.cancelled, err)
	}
	return status.Errorf(codes.Unavailable, "%s: %s: %v", op, w.failed, err)
}

// deadlinePassed reports whether err is a network timeout caused by ctx's
// deadline: the Redis client sets its socket deadline to ctx's, and the
// socket may time out a moment before ctx.Err() is set.
func deadlinePassed(ctx context.Context, err error) bool {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return false
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// invalidf is an InvalidArgument status for a request the service rejects.
func invalidf(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}
