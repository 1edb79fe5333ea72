package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

// emitGRPCFlags are emit's flags for sending through a gRPC
// EmitterService (a relay's --grpc-addr, or a `siorelay emitter` sidecar)
// instead of publishing into Redis itself.
type emitGRPCFlags struct {
	addr      string
	token     string
	tokenFile string
	tls       bool
	tlsCA     string
}

func registerEmitGRPCFlags(fs *flag.FlagSet) *emitGRPCFlags {
	g := &emitGRPCFlags{}
	fs.StringVar(&g.addr, "grpc", "", "send through the gRPC EmitterService at this host:port (serve's --grpc-addr, or a siorelay emitter sidecar) instead of --redis")
	fs.StringVar(&g.token, "token", "", "with --grpc: bearer token the service requires (serve's --grpc-token, the sidecar's --token)")
	fs.StringVar(&g.tokenFile, "token-file", "", "with --grpc: read the bearer token from this file (surrounding whitespace is ignored)")
	fs.BoolVar(&g.tls, "tls", false, "with --grpc: connect with TLS, checking the server's certificate against the system's roots (or --tls-ca)")
	fs.StringVar(&g.tlsCA, "tls-ca", "", "with --grpc: check the server's certificate against this PEM CA bundle instead (implies --tls)")
	return g
}

// redisOnly are emit's flags that --grpc does not use: the service
// publishes with its own settings.
var redisOnly = []string{"key", "sharded", "subscription-mode", "adapter", "stream-name", "stream-count", "stream-max-len"}

// check refuses flags that do not go with --grpc (set on the command line
// or from the environment) and returns the transport credentials and
// token.
func (g *emitGRPCFlags) check(fs *flag.FlagSet) (credentials.TransportCredentials, string, error) {
	if name, set := firstSet(fs, redisOnly); set {
		return nil, "", usagef("--%s (or %s) is for --redis: with --grpc the service publishes with its own settings", name, envName(name))
	}
	tok, err := loadToken(g.token, g.tokenFile)
	if err != nil {
		return nil, "", err
	}
	if !g.tls && g.tlsCA == "" {
		return insecure.NewCredentials(), tok, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if g.tlsCA != "" {
		pem, err := os.ReadFile(g.tlsCA)
		if err != nil {
			return nil, "", usagef("--tls-ca: %v", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, "", usagef("--tls-ca %s holds no PEM certificate", g.tlsCA)
		}
	}
	return credentials.NewTLS(cfg), tok, nil
}

// emitRequest is the EmitRequest of `emit`'s command line; args are valid
// JSON texts.
func emitRequest(nsp string, to, except []string, volatile bool, event string, args []string) *siorelayv1.EmitRequest {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp // as the Go emitter's Of does
	}
	req := &siorelayv1.EmitRequest{
		Target:   &siorelayv1.Target{Namespace: nsp, Rooms: to, ExceptRooms: except},
		Event:    event,
		Volatile: volatile,
	}
	for _, a := range args {
		req.Args = append(req.Args, &siorelayv1.Arg{Value: &siorelayv1.Arg_Json{Json: a}})
	}
	return req
}

// emitGRPC sends req through the EmitterService at g.addr, waiting up to
// wait for it to come up (see retryWhileDown); each attempt is bounded by
// timeout.
func emitGRPC(ctx context.Context, g *emitGRPCFlags, creds credentials.TransportCredentials, token string, req *siorelayv1.EmitRequest, wait, timeout time.Duration, stdout, stderr io.Writer) error {
	var reached atomic.Bool           // a TCP connection to the service was made
	var dialErr atomic.Pointer[error] // the last failed dial
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			dialErr.Store(&err)
		} else {
			reached.Store(true)
		}
		return c, err
	}
	cc, err := grpc.NewClient(g.addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(dial),
		// While waiting, try again at least every second (gRPC's default
		// backoff grows to two minutes).
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: 5 * time.Second,
		}))
	if err != nil {
		return usagef("--grpc %s: %v", g.addr, err)
	}
	defer cc.Close()
	client := siorelayv1.NewEmitterServiceClient(cc)
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	down := func(err error) bool { return status.Code(err) == codes.Unavailable && !reached.Load() }
	err = retryWhileDown(ctx, wait, g.addr, stderr, down, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, err := client.Emit(ctx, req)
		return err
	})
	switch {
	case err == nil:
	case down(err) && dialErr.Load() != nil:
		return fmt.Errorf("%s: cannot connect%s: %v", g.addr, waited(wait), *dialErr.Load())
	default:
		st := status.Convert(err)
		return fmt.Errorf("%s: %s: %s", g.addr, st.Code(), st.Message())
	}
	fmt.Fprintf(stdout, "sent %q to the EmitterService on %s\n", req.Event, g.addr)
	return nil
}

// waited is " after waiting D" for a positive wait, else "".
func waited(wait time.Duration) string {
	if wait <= 0 {
		return ""
	}
	return " after waiting " + wait.String()
}

// retryWhileDown calls try until it succeeds, fails for another reason
// than down says, or wait has passed since the first call (0: one call),
// and returns try's last error. The first time it waits, it says so on
// stderr: the first `make run` compiles for a minute before the relay
// listens.
func retryWhileDown(ctx context.Context, wait time.Duration, what string, stderr io.Writer, down func(error) bool, try func(context.Context) error) error {
	until := time.Now().Add(wait)
	said := false
	for {
		err := try(ctx)
		if err == nil || !down(err) || ctx.Err() != nil {
			return err
		}
		left := time.Until(until)
		if left <= 0 {
			return err
		}
		if !said {
			fmt.Fprintf(stderr, "siorelay emit: %s is not up yet; waiting up to %s\n", what, wait)
			said = true
		}
		t := time.NewTimer(min(250*time.Millisecond, left))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}
