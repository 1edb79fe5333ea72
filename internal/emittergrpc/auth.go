package emittergrpc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// bearer checks `authorization: Bearer <token>` metadata. Health checks
// are exempt, so that probes need no token.
type bearer struct {
	sum [sha256.Size]byte // of the expected token
}

func newBearer(token string) *bearer { return &bearer{sum: sha256.Sum256([]byte(token))} }

var healthPrefix = "/" + grpc_health_v1.Health_ServiceDesc.ServiceName + "/"

func (b *bearer) check(ctx context.Context, method string) error {
	if strings.HasPrefix(method, healthPrefix) {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return status.Error(codes.Unauthenticated, "missing token: send metadata \"authorization: Bearer <token>\"")
	}
	scheme, token, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return status.Error(codes.Unauthenticated, "authorization metadata must be \"Bearer <token>\"")
	}
	// Comparing hashes keeps the comparison constant-time in the token's
	// length too.
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(sum[:], b.sum[:]) != 1 {
		return status.Error(codes.Unauthenticated, "wrong token")
	}
	return nil
}

func (b *bearer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := b.check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (b *bearer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := b.check(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}
