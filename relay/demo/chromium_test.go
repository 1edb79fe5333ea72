//go:build chromium

package demo_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/siorelay/siorelay/relay"
	"github.com/siorelay/siorelay/relay/demo"
)

// TestDemoInChromium opens the demo page in headless Chromium (Debian's
// chromium package) with the stock socket.io-client 4.8.4 bundle from
// clients/compat/node_modules, emits an event from Go and reads it back
// from the page's DOM over the DevTools protocol; then it submits the chat
// form and checks the relay's echo arrives too. Run with
//
//	go test -tags chromium -run Chromium ./relay/demo/
func TestDemoInChromium(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: apt-get install -y chromium")
	}
	bundle, err := os.ReadFile(filepath.Join("..", "..", "clients", "compat", "node_modules", "socket.io-client", "dist", "socket.io.min.js"))
	if err != nil {
		t.Fatalf("socket.io-client bundle missing (run make deps-compat): %v", err)
	}

	srv, err := relay.NewServer(relay.Config{
		OnEvent: func(ctx context.Context, s *relay.Socket, ev relay.Event, ack relay.AckFunc) {
			if ev.Name == "chat" {
				s.Emit(ctx, "chat", ev.Values()...)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/{$}", demo.Handler("/client.js", "/socket.io/"))
	mux.HandleFunc("/client.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(bundle)
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--enable-logging=stderr", "--remote-debugging-port=0", "--remote-allow-origins=*", "--user-data-dir="+t.TempDir(), hs.URL+"/")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	devtools := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`DevTools listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				devtools <- m[1]
			}
			if strings.Contains(sc.Text(), ":CONSOLE") {
				t.Log(sc.Text()) // the page's console, for failures
			}
		}
	}()
	var browserWS string
	select {
	case browserWS = <-devtools:
	case <-ctx.Done():
		t.Fatal("chromium did not start its DevTools endpoint")
	}

	// The page connects with the stock client.
	for len(srv.Of("/").Sockets()) != 1 {
		if ctx.Err() != nil {
			t.Fatal("the page never connected")
		}
		time.Sleep(20 * time.Millisecond)
	}
	page := pageTarget(t, ctx, browserWS)
	cdp := dialCDP(t, ctx, page)

	if err := srv.Of("/").Emit(ctx, "hello", "from Go", 42); err != nil {
		t.Fatal(err)
	}
	cdp.waitText(t, ctx, `hello "from Go" 42`)

	// The chat form goes through the relay and back.
	cdp.eval(t, ctx, `document.getElementById("message").value = "hi there";
		document.getElementById("chat").requestSubmit(); true`)
	cdp.waitText(t, ctx, `chat "hi there"`)
}

// pageTarget returns the DevTools WebSocket URL of the first page.
func pageTarget(t *testing.T, ctx context.Context, browserWS string) string {
	t.Helper()
	host := strings.SplitN(strings.TrimPrefix(browserWS, "ws://"), "/", 2)[0]
	for ctx.Err() == nil {
		resp, err := http.Get("http://" + host + "/json/list")
		if err == nil {
			var targets []struct {
				Type, URL, WebSocketDebuggerURL string
			}
			json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, tg := range targets {
				if tg.Type == "page" && tg.WebSocketDebuggerURL != "" {
					return tg.WebSocketDebuggerURL
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no page target")
	return ""
}

type cdpConn struct {
	rw   io.ReadWriter
	next int
}

func dialCDP(t *testing.T, ctx context.Context, url string) *cdpConn {
	t.Helper()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var rw io.ReadWriter = conn
	if br != nil {
		rw = struct {
			io.Reader
			io.Writer
		}{br, conn}
	}
	return &cdpConn{rw: rw}
}

// eval runs expr in the page and returns its value as JSON text.
func (c *cdpConn) eval(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	c.next++
	req, _ := json.Marshal(map[string]any{"id": c.next, "method": "Runtime.evaluate",
		"params": map[string]any{"expression": expr, "returnByValue": true}})
	if err := wsutil.WriteClientText(c.rw, req); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := wsutil.ReadServerText(c.rw)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			ID     int
			Result struct {
				Result struct{ Value json.RawMessage }
			}
		}
		if json.Unmarshal(msg, &resp) == nil && resp.ID == c.next {
			if resp.Result.Result.Value == nil {
				t.Fatalf("evaluate %q: %s", expr, msg)
			}
			return string(resp.Result.Result.Value)
		}
	}
}

// waitText waits until the page's event list contains want.
func (c *cdpConn) waitText(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	var last string
	for ctx.Err() == nil {
		v := c.eval(t, ctx, `document.getElementById("events").innerText`)
		var text string
		json.Unmarshal([]byte(v), &text)
		if strings.Contains(text, want) {
			return
		}
		last = text + " | status: " + c.eval(t, ctx, `document.getElementById("status").innerText`)
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal(fmt.Sprintf("page never showed %q; events: %q", want, last))
}
