package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/redistest"

	"github.com/siorelay/siorelay/internal/proctest"
)

// sidecar is a runEmitter running in-process.
type sidecar struct {
	addr   string
	stdout *proctest.Buffer
	stderr *proctest.Buffer
	cancel context.CancelFunc
	done   <-chan error
}

// startSidecar runs runEmitter with args and waits for its serving line;
// addr is the gRPC address, empty with --grpc-addr ”.
func startSidecar(t *testing.T, args ...string) *sidecar {
	t.Helper()
	marker := "serving gRPC EmitterService on "
	for i, a := range args {
		if a == "--grpc-addr=" || (a == "--grpc-addr" && i+1 < len(args) && args[i+1] == "") {
			marker = "serving HTTP API on " // no gRPC listener
		}
	}
	r := startCmd(t, "runEmitter", runEmitter, marker, args...)
	sc := &sidecar{stdout: r.stdout, stderr: r.stderr, cancel: r.cancel, done: r.done}
	if marker == "serving gRPC EmitterService on " {
		sc.addr = r.line
	}
	return sc
}

func dialInsecure(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestEmitterSidecar runs the sidecar with flags from the environment and a
// token file, JSON logs, and checks a publish, auth, health, and a clean
// stop on cancel.
func TestEmitterSidecar(t *testing.T) {
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	msgs := subscribe(t, rs.Client(t), key+"*")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("  t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIORELAY_REDIS", rs.URL())
	t.Setenv("SIORELAY_KEY", key)
	t.Setenv("SIORELAY_TOKEN_FILE", tokenFile)
	t.Setenv("SIORELAY_LOG_FORMAT", "json")
	sc := startSidecar(t, "--grpc-addr", "127.0.0.1:0", "--health-interval", "100ms")
	cc := dialInsecure(t, sc.addr)
	client := siorelayv1.NewEmitterServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	req := &siorelayv1.EmitRequest{Target: &siorelayv1.Target{Rooms: []string{"r1"}}, Event: "hello", Args: []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: `"world"`}}}}
	if _, err := client.Emit(ctx, req); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("Emit without token: %v, want Unauthenticated", err)
	}
	actx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer t0ken")
	if _, err := client.Emit(actx, req); err != nil {
		t.Fatalf("Emit: %v", err)
	}
	select {
	case m := <-msgs:
		if m.Channel != key+"#/#r1#" || !strings.Contains(m.Payload, "hello") || !strings.Contains(m.Payload, "world") {
			t.Fatalf("published %s %q", m.Channel, m.Payload)
		}
	case <-ctx.Done():
		t.Fatal("nothing published")
	}
	// Health needs no token and turns SERVING once Redis answered.
	hc := healthpb.NewHealthClient(cc)
	w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "siorelay.v1.EmitterService"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, err := w.Recv()
		if err != nil {
			t.Fatalf("health watch: %v", err)
		}
		if r.Status == healthpb.HealthCheckResponse_SERVING {
			break
		}
	}

	sc.cancel()
	if err := <-sc.done; err != nil {
		t.Fatalf("runEmitter: %v", err)
	}
	var msgsLogged []string
	for _, line := range strings.Split(strings.TrimSpace(sc.stderr.String()), "\n") {
		var rec struct{ Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		msgsLogged = append(msgsLogged, rec.Msg)
	}
	if want := []string{"publishing to Redis", "shutting down", "stopped"}; strings.Join(msgsLogged, "|") != strings.Join(want, "|") {
		t.Errorf("logged %q, want %q (one line per start and stop, none per call)", msgsLogged, want)
	}
}

func TestEmitterTLS(t *testing.T) {
	rs := redistest.Start(t)
	dir := t.TempDir()
	certPEM := writeSelfSigned(t, dir)
	sc := startSidecar(t, "--grpc-addr", "127.0.0.1:0", "--redis", rs.URL(), "--log-level", "error",
		"--tls-cert", filepath.Join(dir, "cert.pem"), "--tls-key", filepath.Join(dir, "key.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	cc, err := grpc.NewClient(sc.addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "localhost"})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := siorelayv1.NewEmitterServiceClient(cc).Emit(ctx, &siorelayv1.EmitRequest{Event: "tls"}); err != nil {
		t.Fatalf("Emit over TLS: %v", err)
	}
	// Plaintext is refused.
	if _, err := siorelayv1.NewEmitterServiceClient(dialInsecure(t, sc.addr)).Emit(ctx, &siorelayv1.EmitRequest{Event: "plain"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("plaintext Emit to a TLS sidecar: %v, want Unavailable", err)
	}
}

// writeSelfSigned writes cert.pem and key.pem for localhost/127.0.0.1 into
// dir and returns the certificate PEM.
func writeSelfSigned(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

func TestEmitterBadFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--redis (or SIORELAY_REDIS) is required"},
		{[]string{"--redis", "redis://127.0.0.1:1", "--token", "a", "--token-file", "f"}, "mutually exclusive"},
		{[]string{"--redis", "redis://127.0.0.1:1", "--token-file", "/nonexistent/token"}, "--token-file"},
		{[]string{"--redis", "redis://127.0.0.1:1", "--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--redis", "redis://127.0.0.1:1", "--log-format", "xml"}, "--log-format"},
		{[]string{"--redis", "ftp://x"}, "redis"},
		{[]string{"--redis", "redis://127.0.0.1:1", "--subscription-mode", "static"}, "SubscriptionMode needs Sharded"},
		{[]string{"--redis", "redis://127.0.0.1:1", "extra"}, "unexpected arguments"},
	} {
		code, _, stderr := runCmd(t, append([]string{"emitter"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("emitter %q: exit %d, stderr %q; want exit 2 mentioning %q", tt.args, code, stderr, tt.want)
		}
	}
}

// TestGRPCurl runs the README's grpcurl commands, exactly as written,
// against the sidecar. grpcurl comes from `make test-grpcurl`, which
// installs the pinned version and sets SIORELAY_GRPCURL.
func TestGRPCurl(t *testing.T) {
	grpcurl := os.Getenv("SIORELAY_GRPCURL")
	if grpcurl == "" {
		t.Skip("SIORELAY_GRPCURL not set; run `make test-grpcurl`")
	}
	rs := redistest.Start(t)
	msgs := subscribe(t, rs.Client(t), "socket.io*")
	sc := startSidecar(t, "--grpc-addr", "127.0.0.1:0", "--redis", rs.URL(), "--log-level", "error")
	for _, tt := range []struct {
		body, method, channel string
	}{
		{`{"target":{"rooms":["r1"],"exceptRooms":["r2"]},"event":"chat","args":[{"json":"\"hi\""},{"binary":"AQID"}]}`, "Emit", "socket.io#/#r1#"},
		{`{"target":{"rooms":["r2"]},"rooms":["r3"]}`, "SocketsJoin", "socket.io-request#/#"},
		{`{"target":{"rooms":["r2"]},"rooms":["r3"]}`, "SocketsLeave", "socket.io-request#/#"},
		{`{"target":{"rooms":["r3"]},"close":true}`, "DisconnectSockets", "socket.io-request#/#"},
		{`{"namespace":"/","event":"ping","args":[{"json":"42"}]}`, "ServerSideEmit", "socket.io-request#/#"},
	} {
		out, err := exec.Command(grpcurl, "-plaintext", "-d", tt.body, sc.addr, "siorelay.v1.EmitterService/"+tt.method).CombinedOutput()
		if err != nil {
			t.Fatalf("grpcurl %s: %v\n%s", tt.method, err, out)
		}
		if strings.TrimSpace(string(out)) != "{}" {
			t.Errorf("grpcurl %s printed %q, want {}", tt.method, out)
		}
		select {
		case m := <-msgs:
			if m.Channel != tt.channel {
				t.Errorf("%s published on %s, want %s", tt.method, m.Channel, tt.channel)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s published nothing", tt.method)
		}
	}
	// An invalid request: grpcurl reports the status code.
	out, err := exec.Command(grpcurl, "-plaintext", "-d", `{"event":"connect"}`, sc.addr, "siorelay.v1.EmitterService/Emit").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "InvalidArgument") {
		t.Errorf("grpcurl with a reserved event: %v\n%s", err, out)
	}
}
