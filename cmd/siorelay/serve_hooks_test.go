package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/nodetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
)

// hookBackend is a BackendService that records what it gets: it allows
// every connection (joining "via:<transport>") and acks events with
// {"event":..., "rooms":..., "data":...}.
type hookBackend struct {
	siorelayv1.UnimplementedBackendServiceServer
	via string

	mu       sync.Mutex
	tokens   []string
	connects []*siorelayv1.ConnectRequest
}

func (b *hookBackend) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	b.mu.Lock()
	b.tokens = append(b.tokens, md.Get("authorization")...)
	b.mu.Unlock()
}

func (b *hookBackend) Connect(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
	b.record(ctx)
	b.mu.Lock()
	b.connects = append(b.connects, r)
	b.mu.Unlock()
	return &siorelayv1.ConnectResponse{Allow: true, Rooms: []string{"via:" + b.via}}, nil
}

func (b *hookBackend) Event(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
	b.record(ctx)
	ack, _ := json.Marshal(map[string]any{"event": r.Event, "rooms": r.Rooms, "data": json.RawMessage(orNull(r.Data))})
	return &siorelayv1.EventResponse{Ack: []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: string(ack)}}}}, nil
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

func (b *hookBackend) seen() ([]string, []*siorelayv1.ConnectRequest) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.tokens), slices.Clone(b.connects)
}

func startGRPCBackend(t *testing.T, b siorelayv1.BackendServiceServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	siorelayv1.RegisterBackendServiceServer(gs, b)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	return "grpc://" + ln.Addr().String()
}

// startHTTPBackend serves b's Connect and Event as the proto's HTTP
// mapping says, under /backend.
func startHTTPBackend(t *testing.T, b *hookBackend) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /backend/connect", func(w http.ResponseWriter, r *http.Request) {
		var req siorelayv1.ConnectRequest
		body, _ := io.ReadAll(r.Body)
		if err := protojson.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ctx := metadata.NewIncomingContext(r.Context(), metadata.Pairs("authorization", r.Header.Get("Authorization")))
		res, _ := b.Connect(ctx, &req)
		out, _ := protojson.Marshal(res)
		w.Write(out)
	})
	mux.HandleFunc("POST /backend/event", func(w http.ResponseWriter, r *http.Request) {
		var req siorelayv1.EventRequest
		body, _ := io.ReadAll(r.Body)
		if err := protojson.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ctx := metadata.NewIncomingContext(r.Context(), metadata.Pairs("authorization", r.Header.Get("Authorization")))
		res, _ := b.Event(ctx, &req)
		out, _ := protojson.Marshal(res)
		w.Write(out)
	})
	mux.HandleFunc("POST /backend/disconnect", func(w http.ResponseWriter, r *http.Request) {})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs.URL + "/backend"
}

// baseURL turns the serving line's URL into the clients' base URL.
func baseURL(url string) string { return strings.TrimSuffix(url, "/socket.io/") }

func hookContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ackObject decodes a one-argument ack holding a JSON object.
func ackObject(t *testing.T, ack []json.RawMessage) map[string]any {
	t.Helper()
	if len(ack) != 1 {
		t.Fatalf("ack %s", ack)
	}
	var m map[string]any
	if err := json.Unmarshal(ack[0], &m); err != nil {
		t.Fatalf("ack %s: %v", ack, err)
	}
	return m
}

// TestServeHooks: --hook routes / to a gRPC backend and /chat (added to
// the namespaces) to an HTTP one, with the token from a file, forwarding
// only the events of SIORELAY_HOOK_EVENTS.
func TestServeHooks(t *testing.T) {
	grpcB, httpB := &hookBackend{via: "grpc"}, &hookBackend{via: "http"}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("tok3n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIORELAY_HOOK_EVENTS", "ask,other")
	url, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--log-level", "error",
		"--hook", "/="+startGRPCBackend(t, grpcB), "--hook", "/chat="+startHTTPBackend(t, httpB),
		"--hook-token-file", tokenFile, "--hook-timeout", "2s")
	ctx := hookContext(t)
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: baseURL(url), Clients: []nodetest.ClientConfig{
		{Name: "main"}, {Name: "chat", Nsp: "/chat"},
	}})
	for client, via := range map[string]string{"main": "via:grpc", "chat": "via:http"} {
		ack, err := cl.EmitWithAck(ctx, client, 5*time.Second, "ask", 1)
		if err != nil {
			t.Fatalf("%s: %v", client, err)
		}
		got := ackObject(t, ack)
		rooms, _ := got["rooms"].([]any)
		if got["event"] != "ask" || len(rooms) != 2 || rooms[1] != via {
			t.Errorf("%s: ack %v", client, got)
		}
	}
	// Not in --hook-events: dropped (the client's ack times out).
	if _, err := cl.EmitWithAck(ctx, "main", 300*time.Millisecond, "unlisted"); err == nil {
		t.Error("an unlisted event was acked")
	}
	for _, b := range []*hookBackend{grpcB, httpB} {
		tokens, connects := b.seen()
		if len(connects) != 1 || len(tokens) != 2 || tokens[0] != "Bearer tok3n" || tokens[1] != "Bearer tok3n" {
			t.Errorf("%s backend: tokens %q, %d connects", b.via, tokens, len(connects))
		}
	}
}

// TestServeHooksDemoChat: --demo-chat keeps relaying "/" while --hook
// forwards /chat.
func TestServeHooksDemoChat(t *testing.T) {
	b := &hookBackend{via: "grpc"}
	url, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--log-level", "error", "--demo-chat",
		"--hook", "/chat="+startGRPCBackend(t, b))
	ctx := hookContext(t)
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: baseURL(url), Clients: []nodetest.ClientConfig{
		{Name: "a"}, {Name: "b"}, {Name: "c", Nsp: "/chat"},
	}})
	if err := cl.Emit(ctx, "a", "chat", "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WaitEvent(ctx, "b", "chat"); err != nil {
		t.Fatal(err)
	}
	// The sender does not get its own line back (its page shows it): the
	// first chat a gets is b's answer, sent after a's was passed on.
	if err := cl.Emit(ctx, "b", "chat", "back"); err != nil {
		t.Fatal(err)
	}
	if ev, err := cl.WaitEvent(ctx, "a", "chat"); err != nil || string(ev.Args[0]) != `"back"` {
		t.Fatalf("a's first chat: %v %v, want b's \"back\" (not its own \"hello\")", ev.Args, err)
	}
	ack, err := cl.EmitWithAck(ctx, "c", 5*time.Second, "chat", "x")
	if err != nil || ackObject(t, ack)["event"] != "chat" {
		t.Fatalf("/chat ack %s, %v", ack, err)
	}
}

func signHS256(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServeJWT: --jwt-secret alone verifies tokens and joins the claims'
// rooms; with --hook too, the backend gets the claims and rooms combine.
func TestServeJWT(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	now := time.Now()
	good := signHS256(t, secret, jwt.MapClaims{"sub": "ann", "rooms": []string{"r1", "r2"}, "exp": now.Add(time.Hour).Unix()})
	expired := signHS256(t, secret, jwt.MapClaims{"sub": "ann", "exp": now.Add(-time.Hour).Unix()})
	forged := signHS256(t, "another secret, another secret!!", jwt.MapClaims{"sub": "ann", "exp": now.Add(time.Hour).Unix()})

	t.Run("alone", func(t *testing.T) {
		url, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--log-level", "error",
			"--jwt-secret", secret, "--jwt-rooms", "user:{sub},{rooms}")
		ctx := hookContext(t)
		cl := nodetest.StartClientsAsync(t, nodetest.ClientsConfig{URL: baseURL(url), Clients: []nodetest.ClientConfig{
			{Name: "expired", Auth: map[string]any{"token": expired}},
			{Name: "forged", Auth: map[string]any{"token": forged}},
			{Name: "none"},
			{Name: "good", ExtraHeaders: map[string]string{"Authorization": "Bearer " + good}},
		}})
		for client, want := range map[string]string{"expired": "token expired", "forged": "invalid token", "none": "missing token"} {
			if msg, _, err := cl.WaitConnectError(ctx, client); err != nil || msg != want {
				t.Errorf("%s: connect_error %q, %v (want %q)", client, msg, err, want)
			}
		}
		if _, err := cl.WaitConnected(ctx, "good"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("with hook", func(t *testing.T) {
		b := &hookBackend{via: "grpc"}
		secretFile := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		url, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--log-level", "error",
			"--jwt-secret-file", secretFile, "--jwt-rooms", "user:{sub}", "--hook", "/="+startGRPCBackend(t, b))
		ctx := hookContext(t)
		cl := nodetest.StartClientsAsync(t, nodetest.ClientsConfig{URL: baseURL(url), Clients: []nodetest.ClientConfig{
			{Name: "forged", Auth: map[string]any{"token": forged}},
		}})
		if msg, _, err := cl.WaitConnectError(ctx, "forged"); err != nil || msg != "invalid token" {
			t.Fatalf("forged: connect_error %q, %v", msg, err)
		}
		if err := cl.Add(ctx, nodetest.ClientConfig{Name: "good", Auth: map[string]any{"token": good}}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.WaitConnected(ctx, "good"); err != nil {
			t.Fatal(err)
		}
		_, connects := b.seen()
		if len(connects) != 1 {
			t.Fatalf("%d connects reached the backend, want 1 (the forged token must not)", len(connects))
		}
		var claims map[string]any
		if err := json.Unmarshal([]byte(connects[0].Data), &claims); err != nil || claims["sub"] != "ann" {
			t.Errorf("ConnectRequest.data = %q (%v)", connects[0].Data, err)
		}
		ack, err := cl.EmitWithAck(ctx, "good", 5*time.Second, "who")
		if err != nil {
			t.Fatal(err)
		}
		got := ackObject(t, ack)
		rooms, _ := got["rooms"].([]any)
		if len(rooms) != 3 || rooms[1] != "user:ann" || rooms[2] != "via:grpc" {
			t.Errorf("rooms %v, want [id user:ann via:grpc]", rooms)
		}
		if data, _ := got["data"].(map[string]any); data["sub"] != "ann" {
			t.Errorf("socket data %v, want the claims", got["data"])
		}
	})
}

// TestServeJWTKeys: --jwt-public-key (PEM) and --jwt-jwks-url, with the
// token taken from the query (--jwt-token-from) and iss/aud required.
func TestServeJWTKeys(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	jwksKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwksKey.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	raw := pub.Bytes() // 0x04 || X || Y
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := fmt.Sprintf(`{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig","alg":"ES256","x":%q,"y":%q}]}`, b64(raw[1:33]), b64(raw[33:]))
	js := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, jwks) }))
	t.Cleanup(js.Close)

	sign := func(key *ecdsa.PrivateKey, kid string, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp := time.Now().Add(time.Hour).Unix()
	claims := jwt.MapClaims{"sub": "bo", "iss": "me", "aud": "relay", "exp": exp}
	wrongAud := jwt.MapClaims{"sub": "bo", "iss": "me", "aud": "other", "exp": exp}

	url, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--log-level", "error",
		"--jwt-public-key", pemFile, "--jwt-jwks-url", js.URL, "--jwt-token-from", "query:token",
		"--jwt-issuer", "me", "--jwt-audience", "relay")
	ctx := hookContext(t)
	cl := nodetest.StartClientsAsync(t, nodetest.ClientsConfig{URL: baseURL(url), Clients: []nodetest.ClientConfig{
		{Name: "pem", Query: map[string]string{"token": sign(ecKey, "", claims)}},
		{Name: "jwks", Query: map[string]string{"token": sign(jwksKey, "k1", claims)}},
		{Name: "aud", Query: map[string]string{"token": sign(ecKey, "", wrongAud)}},
		{Name: "inauth", Auth: map[string]any{"token": sign(ecKey, "", claims)}},
	}})
	for _, c := range []string{"pem", "jwks"} {
		if _, err := cl.WaitConnected(ctx, c); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	for c, want := range map[string]string{"aud": "invalid token", "inauth": "missing token"} {
		if msg, _, err := cl.WaitConnectError(ctx, c); err != nil || msg != want {
			t.Errorf("%s: connect_error %q, %v (want %q)", c, msg, err, want)
		}
	}
}

func TestServeHookBadFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{
		{"--hook", "nonsense"},
		{"--hook", "/=ftp://127.0.0.1:1"},
		{"--hook", "/=grpc://127.0.0.1"},
		{"--hook", "chat=grpc://127.0.0.1:1"},
		{"--hook", "/rooms/*=grpc://127.0.0.1:1"},
		{"--hook", "/chat=grpc://127.0.0.1:1", "--namespaces", "/,/other"},
		{"--hook", "/=grpc://127.0.0.1:1", "--hook-timeout", "0s"},
		{"--hook", "/=grpc://127.0.0.1:1", "--hook-max-inflight", "-1"},
		{"--hook", "/=grpc://127.0.0.1:1", "--hook-token", "a", "--hook-token-file", missing},
		{"--hook", "/=grpc://127.0.0.1:1", "--hook-token-file", missing},
		{"--hook", "/=grpc://127.0.0.1:1", "--demo-chat"},
		{"--hook-timeout", "1s"},
		{"--jwt-rooms", "user:{sub}"},
		{"--jwt-public-key", missing},
		{"--jwt-secret", "s", "--jwt-token-from", "cookie:x"},
	} {
		err := runServe(context.Background(), append([]string{"--addr", "127.0.0.1:0"}, args...), io.Discard, io.Discard)
		var ue usageError
		if err == nil || !errorsAs(err, &ue) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: err %v, want a one-line usage error", args, err)
		}
	}
}
