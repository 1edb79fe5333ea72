package hooks_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/hooks"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/relay"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TestTLSTargets: grpcs:// and https:// targets verify the backend's
// certificate against Config.TLS (the system roots when nil) and refuse
// one they cannot verify.
func TestTLSTargets(t *testing.T) {
	b := &backendFuncs{}
	hs := httptest.NewUnstartedServer(httpBackend(b))
	hs.StartTLS()
	t.Cleanup(hs.Close)
	cert := hs.Certificate()
	pool := x509.NewCertPool()
	pool.AddCert(cert)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&hs.TLS.Certificates[0])))
	siorelayv1.RegisterBackendServiceServer(gs, b)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)

	for name, target := range map[string]string{"grpcs": "grpcs://" + ln.Addr().String(), "https": hs.URL + "/hooks"} {
		t.Run(name, func(t *testing.T) {
			ctx := testContext(t)
			_, _, url := relayWith(t, relay.Config{}, hooks.Config{
				Routes: []hooks.Route{{Namespace: "/", Target: target}},
				TLS:    &tls.Config{RootCAs: pool},
				Token:  "t",
			})
			cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
			if ack, err := cl.EmitWithAck(ctx, "c1", 5*time.Second, "x"); err != nil || len(ack) != 0 {
				t.Fatalf("ack %s, %v", ack, err)
			}
			// Without the test CA (system roots) the certificate is refused.
			_, _, url = relayWith(t, relay.Config{}, hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}})
			cl = nodetest.StartClientsAsync(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c2"}}})
			if msg, _, err := cl.WaitConnectError(ctx, "c2"); err != nil || msg != "backend unavailable" {
				t.Errorf("untrusted backend: connect_error %q, %v", msg, err)
			}
		})
	}
}
