//go:build unix

package emitter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// spinPair returns a spinConn dialled through SpinDialer and the server's
// side of the same TCP connection.
func spinPair(t *testing.T, spin time.Duration) (*spinConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := (&SpinDialer{Spin: spin}).DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); srv.Close() })
	sc, ok := c.(*spinConn)
	if !ok {
		t.Fatalf("SpinDialer gave a %T, want *spinConn", c)
	}
	return sc, srv
}

// onPark makes beforePark call f for the rest of the test.
func onPark(t *testing.T, f func()) {
	old := beforePark
	beforePark = f
	t.Cleanup(func() { beforePark = old })
}

func readString(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// TestSpinConnBackOff walks the adaptation: reads that spin in vain back
// off for runs that double, a read that finds its reply while spinning
// resets them, and a read after a large write does not spin at all.
func TestSpinConnBackOff(t *testing.T) {
	c, srv := spinPair(t, time.Microsecond)
	parks := 0
	onPark(t, func() { parks++; write(t, srv, "r") })
	type state struct{ misses, skip, span int }
	check := func(step string, want state) {
		t.Helper()
		if got := (state{c.misses, c.skip, c.span}); got != want {
			t.Fatalf("%s: state %+v, want %+v", step, got, want)
		}
	}
	miss := func() { // the reply comes only once the read has given up spinning
		t.Helper()
		before := parks
		if got := readString(t, c, 1); got != "r" || parks != before+1 {
			t.Fatalf("read %q with %d parks, want \"r\" after one park", got, parks-before)
		}
	}
	ready := func() { // the reply is there before the read starts
		t.Helper()
		write(t, srv, "q")
		before := parks
		if got := readString(t, c, 1); got != "q" || parks != before {
			t.Fatalf("read %q with %d parks, want \"q\" and none", got, parks-before)
		}
	}

	for range missesToBackOff - 1 {
		miss()
	}
	check("three misses", state{misses: 3, span: 1})
	miss()
	check("fourth miss", state{skip: 1, span: 2})
	ready() // skipped: read without spinning
	check("after the skipped read", state{span: 2})
	for range missesToBackOff {
		miss()
	}
	check("second back-off", state{skip: 2, span: 4})
	ready()
	ready()
	check("both skipped", state{span: 4})

	// A read after a write larger than maxSpinAfter does not spin: its
	// state is left alone (a spin that found the reply would reset span).
	write(t, c, strings.Repeat("x", maxSpinAfter+1))
	ready()
	check("after a large write", state{span: 4})
	readString(t, srv, maxSpinAfter+1)

	// A small write, then a reply found while spinning: back to the start.
	write(t, c, "ping")
	ready()
	check("hit", state{span: 1})
	miss()
	check("one miss", state{misses: 1, span: 1})
}

// TestSpinConnEnds checks that the end of the stream, a passed deadline
// and a Close reach the reader as the plain connection gives them.
func TestSpinConnEnds(t *testing.T) {
	t.Run("partial reads then EOF", func(t *testing.T) {
		c, srv := spinPair(t, DefaultSpin)
		write(t, srv, "abcdef")
		srv.Close()
		if got := readString(t, c, 2); got != "ab" {
			t.Fatalf("first read %q", got)
		}
		rest, err := io.ReadAll(c)
		if err != nil || string(rest) != "cdef" {
			t.Fatalf("rest %q, %v", rest, err)
		}
		if n, err := c.Read(make([]byte, 4)); n != 0 || err != io.EOF {
			t.Fatalf("after EOF: %d, %v", n, err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		c, _ := spinPair(t, DefaultSpin)
		c.SetReadDeadline(time.Now().Add(-time.Second))
		_, err := c.Read(make([]byte, 4))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read past the deadline: %v, want a timeout", err)
		}
	})
	t.Run("deadline while parked", func(t *testing.T) {
		c, _ := spinPair(t, time.Microsecond)
		onPark(t, func() { c.SetReadDeadline(time.Now()) })
		if _, err := c.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read: %v, want a timeout", err)
		}
	})
	t.Run("closed while parked", func(t *testing.T) {
		c, _ := spinPair(t, time.Microsecond)
		onPark(t, func() { go c.Close() })
		if _, err := c.Read(make([]byte, 4)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read: %v, want net.ErrClosed", err)
		}
		if _, err := c.Read(make([]byte, 4)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("second read: %v, want net.ErrClosed", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		c, srv := spinPair(t, DefaultSpin)
		srv.(*net.TCPConn).SetLinger(0) // close sends RST
		srv.Close()
		_, err := io.ReadAll(c)
		var op *net.OpError
		if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &op) || op.Op != "read" {
			t.Fatalf("read after reset: %v, want a read *net.OpError with ECONNRESET", err)
		}
	})
}

func TestSpinDialer(t *testing.T) {
	t.Run("off", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := (&SpinDialer{Spin: -1}).DialContext(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, ok := c.(*net.TCPConn); !ok {
			t.Fatalf("Spin < 0 gave a %T, want the plain *net.TCPConn", c)
		}
	})
	t.Run("syscall conn", func(t *testing.T) {
		c, srv := spinPair(t, 0)
		if c.spin != DefaultSpin {
			t.Fatalf("spin %v, want DefaultSpin", c.spin)
		}
		raw, err := c.SyscallConn()
		if err != nil || raw == nil {
			t.Fatalf("SyscallConn: %v, %v", raw, err)
		}
		write(t, srv, "x") // what the health check of go-redis looks for
		var n int
		raw.Read(func(fd uintptr) bool {
			var buf [1]byte
			var err error
			n, _, err = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
			return err != syscall.EAGAIN // else wait until readable
		})
		if n != 1 {
			t.Fatalf("peek through SyscallConn saw %d bytes, want 1", n)
		}
	})
	t.Run("unix socket", func(t *testing.T) {
		ln, err := net.Listen("unix", t.TempDir()+"/redis.sock")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("+PONG\r\n"))
			c.Close()
		}()
		c, err := (&SpinDialer{}).DialContext(context.Background(), "unix", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, ok := c.(*spinConn); !ok {
			t.Fatalf("got a %T, want *spinConn", c)
		}
		if got, err := io.ReadAll(c); string(got) != "+PONG\r\n" || err != nil {
			t.Fatalf("read %q, %v", got, err)
		}
	})
	t.Run("dial error", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if _, err := (&SpinDialer{}).DialContext(context.Background(), "tcp", addr); err == nil {
			t.Fatal("dialling a closed port succeeded")
		}
	})
}

// TestSpinDialerTLS checks that the TLS layer sits on top of the spinning
// socket, that the server name comes from the address, and that a failed
// handshake is an error.
func TestSpinDialerTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	ctx := context.Background()
	c, err := (&SpinDialer{TLSConfig: &tls.Config{RootCAs: pool}}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc, ok := c.(*tls.Conn)
	if !ok {
		t.Fatalf("got a %T, want *tls.Conn", c)
	}
	if _, ok := tc.NetConn().(*spinConn); !ok {
		t.Fatalf("TLS over a %T, want *spinConn", tc.NetConn())
	}
	write(t, c, "over tls")
	if got := readString(t, c, 8); got != "over tls" {
		t.Fatalf("echo %q", got)
	}
	if _, err := (&SpinDialer{TLSConfig: &tls.Config{}}).DialContext(ctx, "tcp", ln.Addr().String()); err == nil {
		t.Fatal("a certificate from an unknown authority was accepted")
	}

	// A server that accepts and never answers the handshake: the dial
	// timeout ends it.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	held := make(chan net.Conn, 1)
	go func() {
		if c, err := mute.Accept(); err == nil {
			held <- c
		}
	}()
	d := &SpinDialer{Dialer: &net.Dialer{Timeout: 100 * time.Millisecond}, TLSConfig: &tls.Config{RootCAs: pool}}
	if _, err := d.DialContext(ctx, "tcp", mute.Addr().String()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("handshake with a mute server: %v, want the dial timeout", err)
	}
	(<-held).Close()
}

// selfSigned returns net/http/httptest's certificate for 127.0.0.1 and a
// pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	s := httptest.NewUnstartedServer(nil)
	s.StartTLS()
	defer s.Close()
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return s.TLS.Certificates[0], pool
}
