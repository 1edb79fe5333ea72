package main

import (
	"bufio"
	"context"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/siorelay/siorelay/internal/proctest"
)

// startServe runs runServe with args and returns the Socket.IO URL it
// prints, a cancel func and the channel of its result.
func startServe(t *testing.T, args ...string) (string, context.CancelFunc, <-chan error) {
	url, _, cancel, done := startServeOut(t, args...)
	return url, cancel, done
}

func startServeOut(t *testing.T, args ...string) (string, *proctest.Buffer, context.CancelFunc, <-chan error) {
	t.Helper()
	r := startCmd(t, "runServe", runServe, "serving Socket.IO on ", args...)
	return r.line, r.stdout, r.cancel, r.done
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeHealthAndGracefulShutdown(t *testing.T) {
	t.Setenv("SIORELAY_PING_INTERVAL", "1234ms")
	url, cancel, done := startServe(t, "--addr", "127.0.0.1:0", "--namespaces", "/,/chat", "--log-level", "error")
	base := strings.TrimSuffix(url, "/socket.io/")
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz: %d", code)
	}

	ctx, cancelDial := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelDial()
	conn, br, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var r io.Reader = conn
	if br != nil {
		r = br
	}
	rd := bufio.NewReader(r)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	open, err := readText(rd)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(open), `"pingInterval":1234,`) {
		t.Fatalf("open packet %s does not carry the interval from SIORELAY_PING_INTERVAL", open)
	}
	wsutil.WriteClientText(conn, []byte("40/chat,"))
	if msg, err := readText(rd); err != nil || !strings.HasPrefix(string(msg), `40/chat,{"sid":"`) {
		t.Fatalf("CONNECT reply %q %v", msg, err)
	}

	cancel()
	// The client sees a clean WebSocket close.
	for {
		h, err := ws.ReadHeader(rd)
		if err != nil {
			t.Fatalf("waiting for the close frame: %v", err)
		}
		if h.OpCode == ws.OpClose {
			break
		}
		io.CopyN(io.Discard, rd, h.Length)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runServe did not return after cancel")
	}
}

// TestServeShutdownDelay: with --shutdown-delay, a terminated relay first
// answers 503 on /readyz while it still serves its clients and accepts new
// ones, and closes the connections only after the delay.
func TestServeShutdownDelay(t *testing.T) {
	const delay = 1500 * time.Millisecond
	url, cancel, done := startServe(t, "--addr", "127.0.0.1:0", "--shutdown-delay", delay.String(), "--log-level", "error")
	base := strings.TrimSuffix(url, "/socket.io/")
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz before SIGTERM: %d", code)
	}
	start := time.Now()
	cancel()
	waitStatusWithin(t, base+"/readyz", http.StatusServiceUnavailable, 5*time.Second)
	// Still serving during the delay: a new handshake succeeds.
	if code, body := get(t, url+"?EIO=4&transport=polling"); code != 200 || !strings.HasPrefix(body, `0{"sid":"`) {
		t.Fatalf("handshake while draining: %d %q", code, body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runServe did not return")
	}
	if el := time.Since(start); el < delay {
		t.Fatalf("runServe returned after %v, before the %v delay", el, delay)
	}
}

func TestServeCORS(t *testing.T) {
	t.Setenv("SIORELAY_CORS_ORIGIN", "http://a.example,http://b.example")
	url, _, _ := startServe(t, "--addr", "127.0.0.1:0", "--log-level", "error", "--cors-credentials")
	req, _ := http.NewRequest("GET", url+"?EIO=4&transport=polling", nil)
	req.Header.Set("Origin", "http://b.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "http://b.example" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
}

func TestServeBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--log-format", "xml"},
		{"--namespaces", "nope"},
		{"extra"},
	} {
		err := runServe(context.Background(), append([]string{"--addr", "127.0.0.1:0"}, args...), io.Discard, io.Discard)
		var ue usageError
		if err == nil || !errorsAs(err, &ue) {
			t.Errorf("%v: err %v, want usage error", args, err)
		}
	}
}

func errorsAs(err error, target *usageError) bool {
	ue, ok := err.(usageError)
	if ok {
		*target = ue
	}
	return ok
}

// readText reads the next text frame.
func readText(r *bufio.Reader) ([]byte, error) {
	for {
		h, err := ws.ReadHeader(r)
		if err != nil {
			return nil, err
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, err
		}
		if h.OpCode == ws.OpText {
			return p, nil
		}
	}
}

// dialSocketIO opens a WebSocket Socket.IO client joined to "/".
func dialSocketIO(t *testing.T, url string) (net.Conn, *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = br
	}
	rd := bufio.NewReader(r)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := readText(rd); err != nil {
		t.Fatal(err)
	}
	wsutil.WriteClientText(conn, []byte("40"))
	if msg, err := readText(rd); err != nil || !strings.HasPrefix(string(msg), `40{"sid":"`) {
		t.Fatalf("CONNECT reply %q %v", msg, err)
	}
	return conn, rd
}

func TestServeGRPC(t *testing.T) {
	url, stdout, _, _ := startServeOut(t, "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--log-level", "error")
	grpcAddr := afterLine(t, stdout, "serving gRPC EmitterService on ")
	cc, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := siorelayv1.NewEmitterServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c1, r1 := dialSocketIO(t, url)
	_, r2 := dialSocketIO(t, url)
	_ = c1

	// Everyone gets the first event, with a binary argument.
	_, err = client.Emit(ctx, &siorelayv1.EmitRequest{
		Target: &siorelayv1.Target{Namespace: "/"},
		Event:  "hello",
		Args: []*siorelayv1.Arg{
			{Value: &siorelayv1.Arg_Json{Json: `{"a":1}`}},
			{Value: &siorelayv1.Arg_Binary{Binary: []byte{1, 2, 3}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*bufio.Reader{r1, r2} {
		msg, err := readText(r)
		if err != nil || string(msg) != `451-["hello",{"a":1},{"_placeholder":true,"num":0}]` {
			t.Fatalf("got %q %v", msg, err)
		}
	}
	// A reserved name is refused.
	_, err = client.Emit(ctx, &siorelayv1.EmitRequest{Target: &siorelayv1.Target{Namespace: "/"}, Event: "connect"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("reserved event: %v", err)
	}
	// Join everyone to a room, then disconnect it.
	if _, err := client.SocketsJoin(ctx, &siorelayv1.SocketsJoinRequest{Target: &siorelayv1.Target{Namespace: "/"}, Rooms: []string{"r"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DisconnectSockets(ctx, &siorelayv1.DisconnectSocketsRequest{Target: &siorelayv1.Target{Namespace: "/", Rooms: []string{"r"}}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*bufio.Reader{r1, r2} {
		// skip the binary attachment frame, then expect DISCONNECT
		for {
			msg, err := readText(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(msg) == "41" {
				break
			}
		}
	}
}
