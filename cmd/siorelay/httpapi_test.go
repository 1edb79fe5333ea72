package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/redistest"
)

// postJSON posts body to the HTTP API and returns the status and body.
func postJSON(t *testing.T, url, body string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b.String()
}

// TestServeHTTPAPI runs `serve` with the HTTP API only (no gRPC): calls
// reach the relay's own WebSocket clients, with --grpc-token required.
func TestServeHTTPAPI(t *testing.T) {
	url, stdout, _, _ := startServeOut(t, "--addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--grpc-token", "tk", "--log-level", "error")
	api := afterLine(t, stdout, "serving HTTP API on ") + "/siorelay.v1.EmitterService/"
	if strings.Contains(stdout.String(), "serving gRPC") {
		t.Fatalf("gRPC served without --grpc-addr: %q", stdout.String())
	}
	_, r1 := dialSocketIO(t, url)
	if code, body := postJSON(t, api+"Emit", `{"event":"hello","args":[{"json":"{\"a\":1}"}]}`); code != 401 || !strings.Contains(body, `"unauthenticated"`) {
		t.Fatalf("without token: %d %s", code, body)
	}
	auth := []string{"Authorization", "Bearer tk"}
	if code, body := postJSON(t, api+"Emit", `{"event":"hello","args":[{"json":"{\"a\":1}"}]}`, auth...); code != 200 || body != "{}" {
		t.Fatalf("Emit: %d %s", code, body)
	}
	if msg, err := readText(r1); err != nil || string(msg) != `42["hello",{"a":1}]` {
		t.Fatalf("client got %q %v", msg, err)
	}
	if code, body := postJSON(t, api+"SocketsJoin", `{"rooms":["r"]}`, auth...); code != 200 || body != "{}" {
		t.Fatalf("SocketsJoin: %d %s", code, body)
	}
	if code, body := postJSON(t, api+"DisconnectSockets", `{"target":{"rooms":["r"]}}`, auth...); code != 200 || body != "{}" {
		t.Fatalf("DisconnectSockets: %d %s", code, body)
	}
	if msg, err := readText(r1); err != nil || string(msg) != "41" {
		t.Fatalf("client got %q %v, want DISCONNECT", msg, err)
	}
	if code, body := get(t, strings.TrimSuffix(api, "/siorelay.v1.EmitterService/")+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, _ := postJSON(t, api+"Nope", `{}`, auth...); code != 404 {
		t.Fatalf("unknown method: %d, want 404", code)
	}
	// The calls are counted apart from gRPC's, refused ones included.
	const emit = "/siorelay.v1.EmitterService/Emit"
	expectMetrics(t, strings.TrimSuffix(url, "/socket.io/")+"/metrics",
		m("siorelay_http_api_calls_total", 1, "method", emit, "code", "OK"),
		m("siorelay_http_api_calls_total", 1, "method", emit, "code", "Unauthenticated"),
		m("siorelay_http_api_calls_total", 1, "method", "/siorelay.v1.EmitterService/SocketsJoin", "code", "OK"),
		m("siorelay_http_api_calls_total", 1, "method", "unknown", "code", "Unimplemented"),
		m("siorelay_http_api_call_duration_seconds", 2, "method", emit),
	)
}

func TestHTTPAPIBadFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"emitter", "--redis", "redis://127.0.0.1:1", "--grpc-addr", ""}, "nothing to serve"},
		{[]string{"emitter", "--redis", "redis://127.0.0.1:1", "--http-addr", "127.0.0.1:0", "--http-max-body-size", "0"}, "--http-max-body-size"},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--http-max-body-size", "-1"}, "--http-max-body-size"},
	} {
		code, _, stderr := runCmd(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 mentioning %q", tt.args, code, stderr, tt.want)
		}
	}
}

// readmeSection returns the README.md section that starts with heading,
// up to the next section of the same level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n"+heading)
	if !ok {
		t.Fatalf("README.md has no %q section", heading)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	return sec
}

// shBlocks returns the ```sh code blocks of text.
func shBlocks(t *testing.T, text string) []string {
	t.Helper()
	var out []string
	for {
		_, rest, ok := strings.Cut(text, "```sh\n")
		if !ok {
			return out
		}
		block, after, ok := strings.Cut(rest, "```")
		if !ok {
			t.Fatal("README.md: unterminated ```sh block")
		}
		out = append(out, block)
		text = after
	}
}

// readmeCommand is one command of a README block and the output its
// "# " comment lines show.
type readmeCommand struct {
	cmd, want string
}

// parseCommands splits a block into commands (joining lines that end in
// a backslash) and the comment lines after each.
func parseCommands(block string) []readmeCommand {
	var out []readmeCommand
	var cur strings.Builder
	for line := range strings.Lines(block) {
		line = strings.TrimRight(line, "\n")
		if want, ok := strings.CutPrefix(line, "# "); ok && len(out) > 0 && cur.Len() == 0 {
			c := &out[len(out)-1]
			c.want = strings.TrimPrefix(c.want+"\n"+want, "\n")
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			continue
		}
		cur.WriteString(line)
		if strings.TrimSpace(cur.String()) != "" {
			out = append(out, readmeCommand{cmd: cur.String()})
		}
		cur.Reset()
	}
	return out
}

// TestHTTPAPIReadme runs the README's HTTP API section as written: the
// relay and sidecar commands (with the test's Redis and free ports), then
// every curl command through sh, comparing what curl prints with the
// comment below it, and checks what reached Redis.
func TestHTTPAPIReadme(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl not found: the README's examples need it (apt-get install curl)")
	}
	blocks := shBlocks(t, readmeSection(t, "## The HTTP API"))
	if len(blocks) < 2 {
		t.Fatalf("want the start commands and the curl block, found %d blocks", len(blocks))
	}
	rs := redistest.Start(t)
	msgs := subscribe(t, rs.Client(t), "socket.io*")
	const readmeAddr = "127.0.0.1:8080"
	var base string
	for _, c := range parseCommands(blocks[0]) {
		line, _, _ := strings.Cut(c.cmd, " #") // the comment
		line = strings.TrimSuffix(strings.TrimSpace(line), "&")
		args, ok := strings.CutPrefix(strings.TrimSpace(line), "siorelay ")
		if !ok || strings.ContainsAny(args, `'"\`) {
			t.Fatalf("not a plain siorelay command: %q", c.cmd)
		}
		flags := strings.Fields(args)
		for i := 1; i+1 < len(flags); i++ {
			switch flags[i] {
			case "--redis":
				flags[i+1] = rs.URL()
			case "--addr":
				flags[i+1] = "127.0.0.1:0"
			case "--http-addr":
				if flags[i+1] != readmeAddr {
					t.Fatalf("README serves the HTTP API on %s, its curl commands use %s", flags[i+1], readmeAddr)
				}
				flags[i+1] = "127.0.0.1:0"
			}
		}
		switch flags[0] {
		case "serve":
			url, _, _, _ := startServeOut(t, append(flags[1:], "--log-level", "error")...)
			// Subscribed to the cluster (so that it is counted) once ready.
			waitStatus(t, strings.TrimSuffix(url, "/socket.io/")+"/readyz", 200)
		case "emitter":
			sc := startSidecar(t, append(flags[1:], "--grpc-addr", "127.0.0.1:0", "--log-level", "error")...)
			base = afterLine(t, sc.stdout, "serving HTTP API on ")
		default:
			t.Fatalf("unexpected command %q", c.cmd)
		}
	}
	if base == "" {
		t.Fatal("the README starts no sidecar with --http-addr")
	}

	cmds := parseCommands(blocks[1])
	if len(cmds) < 5 {
		t.Fatalf("found %d commands in the curl block", len(cmds))
	}
	for _, c := range cmds {
		if !strings.HasPrefix(c.cmd, "curl ") || !strings.Contains(c.cmd, "http://"+readmeAddr+"/") {
			t.Fatalf("not a curl command to %s: %q", readmeAddr, c.cmd)
		}
		if c.want == "" {
			t.Fatalf("no expected output under %q", c.cmd)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, "sh", "-c", strings.ReplaceAll(c.cmd, "http://"+readmeAddr, base)).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.cmd, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("%s\nprinted %s\n   want %s", c.cmd, got, c.want)
		}
	}
	// Emit, the batch's two events, SocketsJoin and DisconnectSockets come
	// first; then the queries' requests and answers, and EmitWithAck's
	// broadcast to r1.
	want := []string{"socket.io#/#r1#", "socket.io#/#", "socket.io#/admin#", "socket.io-request#/#", "socket.io-request#/#"}
	for i, ch := range want {
		select {
		case m := <-msgs:
			if m.Channel != ch {
				t.Errorf("message %d on %s, want %s", i, m.Channel, ch)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d (%s) not published", i, ch)
		}
	}
	// The refused Emit (to every socket of "/") published nothing: up to a
	// marker, nothing more reached the channel of "/".
	if err := rs.Client(t).Publish(context.Background(), "socket.io-marker", "m").Err(); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case m := <-msgs:
			if m.Channel == "socket.io-marker" {
				return
			}
			if m.Channel == "socket.io#/#" {
				t.Errorf("unexpected broadcast to /: %q", m.Payload)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("marker not received")
		}
	}
}
