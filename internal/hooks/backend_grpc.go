package hooks

import (
	"context"
	"crypto/tls"
	"time"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// grpcBackend calls a BackendService over gRPC. One HTTP/2 connection
// carries every call; gRPC-Go reconnects by itself (with a short backoff,
// so a restarted backend is used again within a second or two) and
// retries on its own only the calls that never left the relay.
type grpcBackend struct {
	conn   *grpc.ClientConn
	client siorelayv1.BackendServiceClient
}

func newGRPCBackend(t target, cfg *Config) (*grpcBackend, error) {
	creds := insecure.NewCredentials()
	if t.tls {
		tc := cfg.TLS
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		creds = credentials.NewTLS(tc)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  100 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   2 * time.Second,
			},
			MinConnectTimeout: cfg.Timeout,
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxAnswerBytes)),
	}
	if cfg.Token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer{
			md:     map[string]string{"authorization": "Bearer " + cfg.Token},
			secure: t.tls,
		}))
	}
	conn, err := grpc.NewClient(t.addr, opts...)
	if err != nil {
		return nil, err
	}
	return &grpcBackend{conn: conn, client: siorelayv1.NewBackendServiceClient(conn)}, nil
}

func (b *grpcBackend) Connect(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
	return b.client.Connect(ctx, r)
}

func (b *grpcBackend) Event(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
	return b.client.Event(ctx, r)
}

func (b *grpcBackend) Disconnect(ctx context.Context, r *siorelayv1.DisconnectRequest) error {
	_, err := b.client.Disconnect(ctx, r)
	return err
}

func (b *grpcBackend) Close() error { return b.conn.Close() }

// bearer sends the token as call metadata.
type bearer struct {
	md     map[string]string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return b.md, nil
}

// RequireTransportSecurity is false for grpc:// targets: a plaintext
// backend next to the relay (loopback, a private network) is the point.
func (b bearer) RequireTransportSecurity() bool { return b.secure }
