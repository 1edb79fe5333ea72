package demo_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siorelay/siorelay/internal/demo"
	"github.com/siorelay/siorelay/relay"
)

// bundleSHA256 is the sha256 of socket.io-client 4.8.4's
// dist/socket.io.min.js, as recorded in client/README.md.
const bundleSHA256 = "d5d79a35039e860b32bdef4795528b05c2f788d4b2d9dacc913120e2878f7b3f"

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestBundleIsTheRecordedFile(t *testing.T) {
	b, err := os.ReadFile("client/socket.io.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if got := sum(b); got != bundleSHA256 {
		t.Errorf("client/socket.io.min.js sha256 %s, want %s (update client/README.md when upgrading)", got, bundleSHA256)
	}
	if !bytes.HasPrefix(b, []byte("/*!\n * Socket.IO v"+demo.ClientVersion+"\n")) {
		t.Errorf("bundle header %q does not name Socket.IO v%s", b[:40], demo.ClientVersion)
	}
}

// TestBundleMatchesNPMPackage compares the embedded bundle with the one npm
// installed from clients/compat's lockfile.
func TestBundleMatchesNPMPackage(t *testing.T) {
	dir := filepath.Join("..", "..", "clients", "compat", "node_modules", "socket.io-client")
	pkg, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		t.Fatalf("socket.io-client is not installed in clients/compat (run `make deps-compat`): %v", err)
	}
	var meta struct{ Version string }
	if err := json.Unmarshal(pkg, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Version != demo.ClientVersion {
		t.Errorf("clients/compat has socket.io-client %s, the embedded bundle is %s", meta.Version, demo.ClientVersion)
	}
	npm, err := os.ReadFile(filepath.Join(dir, "dist", "socket.io.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := bundleSHA256, sum(npm); got != want {
		t.Errorf("embedded bundle sha256 %s, npm package's dist/socket.io.min.js %s", got, want)
	}
	lic, err := os.ReadFile(filepath.Join(dir, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	mine, err := os.ReadFile("client/LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(lic, mine) {
		t.Error("client/LICENSE differs from the npm package's LICENSE")
	}
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestRegisterBesideRelay mounts the demo next to a relay on one mux, as
// `siorelay serve` does, for the default and a custom path.
func TestRegisterBesideRelay(t *testing.T) {
	embedded, err := os.ReadFile("client/socket.io.min.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/socket.io/", "/rt/"} {
		t.Run(path, func(t *testing.T) {
			srv, err := relay.NewServer(relay.Config{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Shutdown(t.Context())
			mux := http.NewServeMux()
			mux.Handle(path, srv)
			demo.Register(mux, demo.Config{Path: path})
			hs := httptest.NewServer(mux)
			defer hs.Close()

			resp, body := get(t, hs.URL+"/")
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			for _, want := range []string{`<script src="` + path + `socket.io.min.js"></script>`, `io({ path: "` + path + `" })`} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s", want)
				}
			}

			for _, name := range []string{"socket.io.js", "socket.io.min.js"} {
				resp, body := get(t, hs.URL+path+name)
				if resp.StatusCode != 200 || body != string(embedded) {
					t.Fatalf("GET %s%s: %d, %d bytes, want the %d-byte bundle", path, name, resp.StatusCode, len(body), len(embedded))
				}
				// Node's socket.io serveClient headers.
				for k, v := range map[string]string{
					"Content-Type":  "application/javascript; charset=utf-8",
					"Cache-Control": "public, max-age=0",
					"Etag":          `"4.8.4"`,
				} {
					if got := resp.Header.Get(k); got != v {
						t.Errorf("%s: %s %q, want %q", name, k, got, v)
					}
				}
				for _, inm := range []string{`"4.8.4"`, `W/"4.8.4"`} {
					if resp, body := get(t, hs.URL+path+name, "If-None-Match", inm); resp.StatusCode != 304 || body != "" {
						t.Errorf("If-None-Match %s: %d, %d bytes, want 304", inm, resp.StatusCode, len(body))
					}
				}
			}
			if resp, body := get(t, hs.URL+path+"socket.io.LICENSE"); resp.StatusCode != 200 || !strings.Contains(body, "MIT License") {
				t.Errorf("license: %d %q", resp.StatusCode, body)
			}

			// The relay still owns the rest of its path.
			if resp, body := get(t, hs.URL+path+"?EIO=4&transport=polling"); resp.StatusCode != 200 || !strings.HasPrefix(body, `0{"sid":"`) {
				t.Errorf("relay handshake: %d %q", resp.StatusCode, body)
			}
			if resp, _ := get(t, hs.URL+"/other"); resp.StatusCode != 404 {
				t.Errorf("GET /other: %d, want 404", resp.StatusCode)
			}
		})
	}
}

// TestRegisterClientOnly serves the bundle beside a relay whose "/" is
// another page.
func TestRegisterClientOnly(t *testing.T) {
	srv, err := relay.NewServer(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "other page") }))
	demo.RegisterClient(mux, "/socket.io")
	hs := httptest.NewServer(mux)
	defer hs.Close()
	if got := demo.ClientURL("/socket.io"); got != "/socket.io/socket.io.min.js" {
		t.Errorf("ClientURL = %q", got)
	}
	if resp, body := get(t, hs.URL+"/"); resp.StatusCode != 200 || body != "other page" {
		t.Errorf("GET /: %d %q, want the other page", resp.StatusCode, body)
	}
	if resp, body := get(t, hs.URL+"/socket.io/socket.io.min.js"); resp.StatusCode != 200 || sum([]byte(body)) != bundleSHA256 {
		t.Errorf("GET bundle: %d, %d bytes", resp.StatusCode, len(body))
	}
}

// TestPageHint: the page says who sees what is typed, as the relay is
// configured, and the command that reaches it over gRPC.
func TestPageHint(t *testing.T) {
	for _, tt := range []struct {
		cfg      demo.Config
		want     []string
		dontWant []string
	}{
		{demo.Config{Chat: true, GRPCAddr: "127.0.0.1:50051"},
			[]string{"passes it on to every\n    other page", "--demo-chat", `siorelay emit --grpc 127.0.0.1:50051 chat '"hello"'`},
			[]string{"--hook", "grpcurl"}},
		{demo.Config{},
			[]string{"other pages see\n    it only if a backend sends it on (<code>--hook</code>)"},
			[]string{"every\n    other page", "siorelay emit", "grpcurl"}},
	} {
		rec := httptest.NewRecorder()
		demo.Handler(tt.cfg).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		body := rec.Body.String()
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%+v: page lacks %q:\n%s", tt.cfg, w, body[strings.Index(body, `<p class="hint">`):][:900])
			}
		}
		for _, w := range tt.dontWant {
			if strings.Contains(body, w) {
				t.Errorf("%+v: page has %q", tt.cfg, w)
			}
		}
	}
}
