package hooks_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/hooks"
	"github.com/siorelay/siorelay/relay"
)

// BenchmarkForward measures client events forwarded to a backend and
// acked: benchClients WebSocket clients (plain Engine.IO/Socket.IO frames,
// benchWindow events in flight each) emit through the relay to a backend
// on loopback that acks each event with its argument. It reports events/s.
//
//	go test -run '^$' -bench Forward -benchtime 5s ./internal/hooks/
func BenchmarkForward(b *testing.B) {
	for _, kind := range kinds {
		b.Run(kind, func(b *testing.B) { benchForward(b, kind) })
	}
}

const (
	benchClients = 64
	benchWindow  = 8
)

type benchBackend struct {
	siorelayv1.UnimplementedBackendServiceServer
}

func (benchBackend) Connect(context.Context, *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
	return &siorelayv1.ConnectResponse{Allow: true}, nil
}

func (benchBackend) Event(_ context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
	return &siorelayv1.EventResponse{Ack: r.Args}, nil
}

func (benchBackend) Disconnect(context.Context, *siorelayv1.DisconnectRequest) (*siorelayv1.DisconnectResponse, error) {
	return &siorelayv1.DisconnectResponse{}, nil
}

func benchForward(b *testing.B, kind string) {
	target, _ := startBackend(b, kind, benchBackend{})
	f, err := hooks.New(hooks.Config{Routes: []hooks.Route{{Namespace: "/", Target: target}}, MaxInFlight: benchClients * benchWindow})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := relay.NewServer(relay.Config{OnConnect: f.Connect, OnConnection: f.Connection, OnEvent: f.Event, OnDisconnect: f.Disconnect})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
		f.Close(ctx)
	}()
	url := "ws://" + ln.Addr().String() + "/socket.io/?EIO=4&transport=websocket"
	clients := make([]*benchClient, benchClients)
	for i := range clients {
		c, err := dialBench(url)
		if err != nil {
			b.Fatal(err)
		}
		defer c.conn.Close()
		clients[i] = c
	}
	per := b.N/benchClients + 1
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, benchClients)
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.run(per); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(per*benchClients)/elapsed.Seconds(), "events/s")
}

// benchClient is one WebSocket Socket.IO client joined to "/", driven by
// one goroutine (it writes and reads, so control replies need no lock).
type benchClient struct {
	conn net.Conn
	rw   io.ReadWriter // reads through the handshake's buffered reader
	bw   *bufio.Writer // one write(2) per frame, as a browser's client does
}

// write sends one masked text frame in one write.
func (c *benchClient) write(text string) error {
	if err := wsutil.WriteClientText(c.bw, []byte(text)); err != nil {
		return err
	}
	return c.bw.Flush()
}

func dialBench(url string) (*benchClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	c := &benchClient{conn: conn, rw: conn, bw: bufio.NewWriterSize(conn, 4096)}
	if br != nil {
		// It may hold the Engine.IO open packet already.
		c.rw = struct {
			io.Reader
			io.Writer
		}{br, conn}
	}
	if _, err := c.read(); err != nil { // Engine.IO open
		return nil, err
	}
	if err := c.write("40"); err != nil {
		return nil, err
	}
	msg, err := c.read()
	if err != nil || !strings.HasPrefix(string(msg), "40") {
		return nil, fmt.Errorf("CONNECT reply %q, %v", msg, err)
	}
	return c, nil
}

// read returns the next Engine.IO packet that is not a ping (answered).
func (c *benchClient) read() ([]byte, error) {
	for {
		msg, err := wsutil.ReadServerText(c.rw)
		if err != nil {
			return nil, err
		}
		if string(msg) == "2" {
			if err := c.write("3"); err != nil {
				return nil, err
			}
			continue
		}
		return msg, nil
	}
}

// run emits n events with acks, benchWindow at a time, and checks that
// each ack carries the event's argument.
func (c *benchClient) run(n int) error {
	c.conn.SetDeadline(time.Now().Add(60 * time.Second))
	next, acked := 0, 0
	send := func() error {
		id := strconv.Itoa(next)
		next++
		return c.write("42" + id + `["ev",` + id + `]`)
	}
	for next < min(n, benchWindow) {
		if err := send(); err != nil {
			return err
		}
	}
	for acked < n {
		msg, err := c.read()
		if err != nil {
			return err
		}
		id, arg, ok := strings.Cut(strings.TrimPrefix(string(msg), "43"), "[")
		if !strings.HasPrefix(string(msg), "43") || !ok || arg != id+"]" {
			return fmt.Errorf("unexpected packet %q", msg)
		}
		acked++
		if next < n {
			if err := send(); err != nil {
				return err
			}
		}
	}
	return nil
}
