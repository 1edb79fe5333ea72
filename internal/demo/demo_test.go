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
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/siorelay/siorelay/internal/demo"
	"github.com/siorelay/siorelay/relay"
)

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// clientNames are the files served under the relay's path.
var clientNames = []string{"socket.io.js", "socket.io.js.map", "socket.io.min.js", "socket.io.min.js.map", "socket.io.esm.min.js", "socket.io.esm.min.js.map"}

// recorded reads client/README.md's table: file name → size and sha256.
func recorded(t *testing.T) map[string][2]string {
	t.Helper()
	b, err := os.ReadFile("client/README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (socket\\.io[a-z.]*) \\| ([0-9]+) \\| `([0-9a-f]{64})` \\|$")
	m := map[string][2]string{}
	for _, r := range row.FindAllStringSubmatch(string(b), -1) {
		m[r[1]] = [2]string{r[2], r[3]}
	}
	return m
}

func TestClientFilesAreRecorded(t *testing.T) {
	table := recorded(t)
	if len(table) != len(clientNames) {
		t.Errorf("client/README.md lists %d files, want %d", len(table), len(clientNames))
	}
	for _, name := range clientNames {
		b, err := os.ReadFile("client/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := [2]string{strconv.Itoa(len(b)), sum(b)}, table[name]; got != want {
			t.Errorf("client/%s: %v, client/README.md records %v (update it when upgrading)", name, got, want)
		}
		if strings.HasSuffix(name, ".js") && !bytes.Contains(b[:200], []byte("Socket.IO v"+demo.ClientVersion)) {
			t.Errorf("%s header %q does not name Socket.IO v%s", name, b[:40], demo.ClientVersion)
		}
	}
}

// TestClientFilesMatchNPM compares the embedded files with those npm
// installed from clients/compat's lockfile: socket.io-client's dist, and
// the socket.io server's client-dist, which Node serves.
func TestClientFilesMatchNPM(t *testing.T) {
	nm := filepath.Join("..", "..", "clients", "compat", "node_modules")
	for _, pkg := range []struct{ name, dist string }{{"socket.io-client", "dist"}, {"socket.io", "client-dist"}} {
		meta, err := os.ReadFile(filepath.Join(nm, pkg.name, "package.json"))
		if err != nil {
			t.Fatalf("%s is not installed in clients/compat (run `make deps-compat`): %v", pkg.name, err)
		}
		var v struct{ Version string }
		if err := json.Unmarshal(meta, &v); err != nil {
			t.Fatal(err)
		}
		if v.Version != demo.ClientVersion {
			t.Errorf("clients/compat has %s %s, the embedded client is %s", pkg.name, v.Version, demo.ClientVersion)
		}
		for _, name := range clientNames {
			npm, err := os.ReadFile(filepath.Join(nm, pkg.name, pkg.dist, name))
			if err != nil {
				t.Fatal(err)
			}
			mine, err := os.ReadFile("client/" + name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(npm, mine) {
				t.Errorf("client/%s differs from %s's %s/%s", name, pkg.name, pkg.dist, name)
			}
		}
	}
	lic, err := os.ReadFile(filepath.Join(nm, "socket.io-client", "LICENSE"))
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

			for _, name := range clientNames {
				file, err := os.ReadFile("client/" + name)
				if err != nil {
					t.Fatal(err)
				}
				resp, body := get(t, hs.URL+path+name, "Accept-Encoding", "identity")
				if resp.StatusCode != 200 || body != string(file) {
					t.Fatalf("GET %s%s: %d, %d bytes, want client/%s's %d", path, name, resp.StatusCode, len(body), name, len(file))
				}
				ctype := "application/javascript; charset=utf-8"
				if strings.HasSuffix(name, ".map") {
					ctype = "application/json; charset=utf-8"
				}
				// Node's socket.io serveClient headers.
				for k, v := range map[string]string{
					"Content-Type":     ctype,
					"Cache-Control":    "public, max-age=0",
					"Etag":             `"4.8.4"`,
					"Content-Encoding": "",
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
				if resp, _ := get(t, hs.URL+path+name, "If-None-Match", `"4.8.3"`); resp.StatusCode != 200 {
					t.Errorf("If-None-Match of another version: %d, want 200", resp.StatusCode)
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
	if resp, body := get(t, hs.URL+"/socket.io/socket.io.min.js"); resp.StatusCode != 200 || sum([]byte(body)) != recorded(t)["socket.io.min.js"][1] {
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
