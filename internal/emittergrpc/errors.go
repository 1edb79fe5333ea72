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

// toStatus translates a Backend error into the status the caller sees.
// This is the only place where errors become status codes.
func toStatus(ctx context.Context, op string, err error) error {
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
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) || deadlinePassed(ctx, err):
		return status.Errorf(codes.DeadlineExceeded, "%s: deadline exceeded before the publish was acknowledged (it may still happen): %v", op, err)
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return status.Errorf(codes.Canceled, "%s: cancelled before the publish was acknowledged (it may still happen): %v", op, err)
	}
	return status.Errorf(codes.Unavailable, "%s: publish failed, retry later: %v", op, err)
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
