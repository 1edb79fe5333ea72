package netpoll

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"golang.org/x/sys/unix"
)

// echo answers every message with the same message.
type echo struct {
	closed chan error
	once   sync.Once
}

func (e *echo) HandleMessage(c *Conn, binary bool, p []byte) {
	op := ws.OpText
	if binary {
		op = ws.OpBinary
	}
	_ = c.Send(AppendFrame(nil, op, p), false)
}

func (e *echo) HandleClose(c *Conn, err error) {
	e.once.Do(func() { e.closed <- err })
}

// startServer serves WebSocket upgrades on a loopback test server and hands
// each connection to p with a handler from newHandler.
func startServer(t *testing.T, p *Poller, newHandler func() Handler) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, rw, _, err := ws.HTTPUpgrader{}.Upgrade(r, w)
		if err != nil {
			return
		}
		var buffered []byte
		if n := rw.Reader.Buffered(); n > 0 {
			buffered, _ = rw.Reader.Peek(n)
		}
		if _, err := p.Add(nc, buffered, newHandler()); err != nil {
			t.Errorf("Add: %v", err)
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func newPoller(t *testing.T, cfg Config) *Poller {
	t.Helper()
	p, err := NewPoller(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t *testing.T, url string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if br != nil {
		t.Fatal("unexpected buffered bytes after handshake")
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestEcho(t *testing.T) {
	p := newPoller(t, Config{})
	url := startServer(t, p, func() Handler { return &echo{closed: make(chan error, 1)} })
	c := dial(t, url)
	for i, msg := range []string{"hello", strings.Repeat("x", 200), strings.Repeat("y", 70000)} {
		if err := wsutil.WriteClientText(c, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		got, op, err := wsutil.ReadServerData(c)
		if err != nil {
			t.Fatal(err)
		}
		if op != ws.OpText || string(got) != msg {
			t.Fatalf("message %d: got op %v len %d, want text len %d", i, op, len(got), len(msg))
		}
	}
	if err := wsutil.WriteClientBinary(c, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	got, op, err := wsutil.ReadServerData(c)
	if err != nil || op != ws.OpBinary || !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("binary echo: %v %v %v", got, op, err)
	}
}

// TestSplitAndCoalescedFrames writes frames byte by byte, then several
// frames in one write, including a fragmented message and a ping.
func TestSplitAndCoalescedFrames(t *testing.T) {
	p := newPoller(t, Config{})
	url := startServer(t, p, func() Handler { return &echo{closed: make(chan error, 1)} })
	c := dial(t, url)
	var buf bytes.Buffer
	frames := []ws.Frame{
		ws.NewFrame(ws.OpText, false, []byte("frag")),
		ws.NewPingFrame([]byte("pp")),
		ws.NewFrame(ws.OpContinuation, false, []byte("ment")),
		ws.NewFrame(ws.OpContinuation, true, []byte("ed")),
		ws.NewTextFrame([]byte("second")),
	}
	for _, f := range frames {
		if err := ws.WriteFrame(&buf, ws.MaskFrame(f)); err != nil {
			t.Fatal(err)
		}
	}
	wire := buf.Bytes()
	// First message byte by byte, the rest in one write.
	for i := 0; i < 20; i++ {
		if _, err := c.Write(wire[i : i+1]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // spread the bytes over several reads
	}
	if _, err := c.Write(wire[20:]); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	want := []struct {
		op  ws.OpCode
		msg string
	}{{ws.OpPong, "pp"}, {ws.OpText, "fragmented"}, {ws.OpText, "second"}}
	for _, w := range want {
		f, err := ws.ReadFrame(r)
		if err != nil {
			t.Fatal(err)
		}
		if f.Header.OpCode != w.op || string(f.Payload) != w.msg {
			t.Fatalf("got %v %q, want %v %q", f.Header.OpCode, f.Payload, w.op, w.msg)
		}
	}
}

func readClose(t *testing.T, c net.Conn) ws.StatusCode {
	t.Helper()
	r := bufio.NewReader(c)
	for {
		f, err := ws.ReadFrame(r)
		if err != nil {
			t.Fatalf("reading close frame: %v", err)
		}
		if f.Header.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(f.Payload)
			// After the close frame the server closes the TCP connection.
			if _, err := r.ReadByte(); err != io.EOF {
				t.Fatalf("after close frame: %v, want EOF", err)
			}
			return code
		}
	}
}

func TestCloseCodes(t *testing.T) {
	tests := []struct {
		name  string
		frame ws.Frame
		mask  bool
		want  ws.StatusCode
	}{
		{"too big", ws.NewTextFrame(make([]byte, 101)), true, ws.StatusMessageTooBig},
		{"unmasked", ws.NewTextFrame([]byte("x")), false, ws.StatusProtocolError},
		{"bad utf8", ws.NewTextFrame([]byte{0xff, 0xfe}), true, ws.StatusInvalidFramePayloadData},
		{"stray continuation", ws.NewFrame(ws.OpContinuation, true, []byte("x")), true, ws.StatusProtocolError},
		{"reserved opcode", ws.NewFrame(ws.OpCode(3), true, nil), true, ws.StatusProtocolError},
		{"peer close", ws.NewCloseFrame(ws.NewCloseFrameBody(4000, "bye")), true, 4000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPoller(t, Config{MaxMessageSize: 100})
			e := &echo{closed: make(chan error, 1)}
			url := startServer(t, p, func() Handler { return e })
			c := dial(t, url)
			f := tt.frame
			if tt.mask {
				f = ws.MaskFrame(f)
			}
			if err := ws.WriteFrame(c, f); err != nil {
				t.Fatal(err)
			}
			if got := readClose(t, c); got != tt.want {
				t.Errorf("close code %d, want %d", got, tt.want)
			}
			err := <-e.closed
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != tt.want {
				t.Errorf("HandleClose err %v, want CloseError code %d", err, tt.want)
			}
		})
	}
}

func TestPeerGoneCallsHandleClose(t *testing.T) {
	p := newPoller(t, Config{})
	e := &echo{closed: make(chan error, 1)}
	url := startServer(t, p, func() Handler { return e })
	c := dial(t, url)
	c.Close()
	select {
	case err := <-e.closed:
		if !errors.Is(err, io.EOF) {
			t.Errorf("err %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("HandleClose not called")
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Conns != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Conns = %d, want 0", p.Stats().Conns)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sink records the server side of each connection and never answers.
type sink struct {
	conns chan *Conn
	close chan error
}

func (s *sink) HandleMessage(c *Conn, binary bool, p []byte) {}
func (s *sink) HandleClose(c *Conn, err error)               { s.close <- err }

// TestStuckClientDoesNotStallOthers fills the socket of a client that never
// reads and checks that another connection still gets every frame at once,
// that volatile frames to the stuck one are dropped, and that it is closed as
// a slow consumer.
func TestStuckClientDoesNotStallOthers(t *testing.T) {
	p := newPoller(t, Config{MaxQueueBytes: 8 << 20, VolatileQueueBytes: 1 << 20, WriteTimeout: 500 * time.Millisecond})
	s := &sink{conns: make(chan *Conn, 2), close: make(chan error, 2)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, _, _, err := ws.HTTPUpgrader{}.Upgrade(r, w)
		if err != nil {
			return
		}
		c, err := p.Add(nc, nil, s)
		if err != nil {
			t.Error(err)
			return
		}
		s.conns <- c
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	stuckClient := dial(t, url)
	_ = stuckClient // never read
	stuck := <-s.conns
	goodClient := dial(t, url)
	good := <-s.conns

	frame := AppendFrame(nil, ws.OpBinary, make([]byte, 32<<10))
	r := bufio.NewReader(goodClient)
	var dropped bool
	for i := 0; i < 200; i++ {
		err := stuck.Send(frame, true)
		if errors.Is(err, ErrDropped) {
			dropped = true
		}
		if err := good.Send(frame, false); err != nil {
			t.Fatal(err)
		}
		f, err := ws.ReadFrame(r)
		if err != nil {
			t.Fatalf("frame %d to the good client: %v", i, err)
		}
		if len(f.Payload) != 32<<10 {
			t.Fatalf("frame %d: %d bytes", i, len(f.Payload))
		}
	}
	if !dropped {
		t.Error("no volatile frame was dropped for the stuck client")
	}
	if got := p.Stats().DroppedVolatile; got == 0 {
		t.Error("DroppedVolatile = 0")
	}
	select {
	case err := <-s.close:
		// Volatile frames never fill its queue: the write timeout closes it.
		if !errors.Is(err, ErrWriteTimeout) || !errors.Is(err, ErrSlowConsumer) {
			t.Errorf("stuck client closed with %v, want ErrWriteTimeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stuck client was not closed")
	}
	if p.Stats().SlowConsumers != 1 {
		t.Errorf("SlowConsumers = %d, want 1", p.Stats().SlowConsumers)
	}
}

// TestQueueLimitCloses checks the hard queue limit.
func TestQueueLimitCloses(t *testing.T) {
	p := newPoller(t, Config{MaxQueueBytes: 1 << 20})
	s := &sink{conns: make(chan *Conn, 1), close: make(chan error, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, _, _, _ := ws.HTTPUpgrader{}.Upgrade(r, w)
		c, _ := p.Add(nc, nil, s)
		s.conns <- c
	}))
	defer srv.Close()
	_ = dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"))
	c := <-s.conns
	frame := AppendFrame(nil, ws.OpBinary, make([]byte, 64<<10))
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = c.Send(frame, false)
	}
	if !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("Send err %v, want ErrSlowConsumer", err)
	}
	if got := <-s.close; !errors.Is(got, ErrSlowConsumer) || errors.Is(got, ErrWriteTimeout) {
		t.Fatalf("close reason %v, want ErrSlowConsumer (queue full)", got)
	}
}

func TestParseHeaderIncomplete(t *testing.T) {
	var buf bytes.Buffer
	ws.WriteFrame(&buf, ws.MaskFrame(ws.NewBinaryFrame(make([]byte, 70000))))
	wire := buf.Bytes()
	for i := 0; i < 14; i++ {
		_, _, ok := parseHeader(wire[:i])
		if ok {
			t.Fatalf("header complete with %d bytes", i)
		}
	}
	h, _, ok := parseHeader(wire[:14])
	if !ok || h.length != 70000 || h.size != 14 || !h.masked || h.op != ws.OpBinary {
		t.Fatalf("got %+v ok=%v", h, ok)
	}
}

func FuzzConsume(f *testing.F) {
	var buf bytes.Buffer
	ws.WriteFrame(&buf, ws.MaskFrame(ws.NewTextFrame([]byte("hello"))))
	ws.WriteFrame(&buf, ws.MaskFrame(ws.NewFrame(ws.OpBinary, false, []byte{1})))
	ws.WriteFrame(&buf, ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, []byte{2})))
	f.Add(buf.Bytes(), 3)
	f.Add([]byte{0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 1}, 1)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		p := &Poller{cfg: Config{MaxMessageSize: 1 << 16}.withDefaults()}
		var got int
		c := &Conn{p: p, h: handlerFunc(func(c *Conn, b bool, msg []byte) { got += len(msg) })}
		// Writes are queued only; no socket is involved as long as nothing
		// schedules a writer, so mark the conn as writing.
		c.writing = true
		if split < 0 || split > len(data) {
			split = len(data) / 2
		}
		if c.consume(append([]byte(nil), data[:split]...)) {
			c.consume(append([]byte(nil), data[split:]...))
		}
		if int64(len(c.partial)) > int64(len(data)) {
			t.Fatalf("partial grew to %d from %d input bytes", len(c.partial), len(data))
		}
	})
}

type handlerFunc func(c *Conn, binary bool, p []byte)

func (h handlerFunc) HandleMessage(c *Conn, binary bool, p []byte) { h(c, binary, p) }
func (h handlerFunc) HandleClose(c *Conn, err error)               {}

// TestCloseBeforeStart: a Conn closed between Prepare and Start is never
// registered, so it cannot linger in the poller.
func TestCloseBeforeStart(t *testing.T) {
	p := newPoller(t, Config{})
	done := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, _, _, err := ws.HTTPUpgrader{}.Upgrade(r, w)
		if err != nil {
			done <- err
			return
		}
		e := &echo{closed: make(chan error, 1)}
		c, err := p.Prepare(nc, nil, e)
		if err != nil {
			done <- err
			return
		}
		c.Close(errors.New("early"))
		if err := c.Start(); !errors.Is(err, ErrClosed) {
			done <- fmt.Errorf("Start after Close: %v", err)
			return
		}
		done <- nil
	}))
	defer srv.Close()
	dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := p.Stats().Conns; n != 0 {
		t.Fatalf("Conns = %d, want 0", n)
	}
}

// TestFloodingClientDoesNotStarveOthers: with a single read worker, a
// client that never stops sending still lets another client be served.
func TestFloodingClientDoesNotStarveOthers(t *testing.T) {
	p := newPoller(t, Config{Workers: 1})
	// The flooder's messages are handled slowly, so its socket always has
	// more to read than the worker gets through.
	url := startServer(t, p, func() Handler {
		return handlerFunc(func(c *Conn, binary bool, p []byte) { time.Sleep(200 * time.Microsecond) })
	})
	echoURL := startServer(t, p, func() Handler { return &echo{closed: make(chan error, 1)} })
	flooder := dial(t, url)
	stop := make(chan struct{})
	defer close(stop)
	frame := ws.MaskFrame(ws.NewBinaryFrame(make([]byte, 64)))
	var wire bytes.Buffer
	ws.WriteFrame(&wire, frame)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := flooder.Write(wire.Bytes()); err != nil {
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // let the flood occupy the worker
	c := dial(t, echoURL)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := wsutil.WriteClientText(c, []byte("ping?")); err != nil {
		t.Fatal(err)
	}
	got, _, err := wsutil.ReadServerData(c)
	if err != nil || string(got) != "ping?" {
		t.Fatalf("echo while flooded: %q %v", got, err)
	}
}

// TestBlockedHandlerDelaysOnlyItsConn: while Handlers of several
// connections block, another connection is still served.
func TestBlockedHandlerDelaysOnlyItsConn(t *testing.T) {
	p := newPoller(t, Config{Workers: 1})
	release := make(chan struct{})
	defer close(release)
	blocked := make(chan struct{}, 8)
	blockURL := startServer(t, p, func() Handler {
		return handlerFunc(func(c *Conn, binary bool, p []byte) {
			blocked <- struct{}{}
			<-release
		})
	})
	echoURL := startServer(t, p, func() Handler { return &echo{closed: make(chan error, 1)} })
	for range 4 {
		c := dial(t, blockURL)
		wsutil.WriteClientText(c, []byte("block"))
		<-blocked
	}
	c := dial(t, echoURL)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	wsutil.WriteClientText(c, []byte("hi"))
	if got, _, err := wsutil.ReadServerData(c); err != nil || string(got) != "hi" {
		t.Fatalf("echo while other handlers block: %q %v", got, err)
	}
}

// TestConnOwnsItsDescriptor: Prepare keeps a close-on-exec duplicate and
// closes the net.Conn (the Go runtime no longer holds the socket); Close
// leaves the descriptor open while a call still uses it, refuses new
// calls, and the last call out closes it, which the peer sees as EOF.
func TestConnOwnsItsDescriptor(t *testing.T) {
	p := newPoller(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	c, err := p.Prepare(nc, nil, handlerFunc(func(c *Conn, binary bool, p []byte) { got <- string(p) }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("the net.Conn given to Prepare: Write = %v, want net.ErrClosed", err)
	}
	flags, err := unix.FcntlInt(uintptr(c.fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Fatalf("F_GETFD = %#x, %v; want FD_CLOEXEC", flags, err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	client.SetDeadline(time.Now().Add(5 * time.Second))
	if err := wsutil.WriteClientText(client, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != "hi" {
		t.Fatalf("got %q", m)
	}

	if !c.fdAcquire() {
		t.Fatal("fdAcquire on an open Conn failed")
	}
	c.Close(nil)
	if _, err := unix.FcntlInt(uintptr(c.fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("descriptor closed while a call still held it: %v", err)
	}
	if c.fdAcquire() {
		t.Fatal("fdAcquire succeeded after Close")
	}
	if _, err := c.write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close = %v, want ErrClosed", err)
	}
	c.fdRelease()
	if n, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("peer read after the last release: %d, %v; want EOF", n, err)
	}
}
