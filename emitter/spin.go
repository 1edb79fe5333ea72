package emitter

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// DefaultSpin is the wait SpinDialer spins for when its Spin is zero: a few
// loopback round trips to a Redis on the same host.
const DefaultSpin = 50 * time.Microsecond

// SpinDialer dials Redis connections that wait for a reply by polling the
// socket for a short while before parking in the Go runtime's poller. Use
// it when Redis is on another core of the same host (or a fast link) and
// the caller waits for each publish (one in flight): parking and waking a
// goroutine across cores costs more than the round trip itself there. On
// our 2-vCPU test VMs, with the publisher and Redis pinned to different
// cores, serial publishes ran 2.0–3.6× the Node emitter's rate spinning
// against 1.1–1.3× without; with both on one core, spinning takes the time
// Redis needs and ran 0.6–0.8× against 1.2–1.4× (`make bench-emitter`).
//
// Plug it into go-redis as the Dialer of redis.Options, UniversalOptions,
// FailoverOptions or ClusterOptions:
//
//	opts := &redis.Options{Addr: "127.0.0.1:6379"}
//	opts.Dialer = (&emitter.SpinDialer{TLSConfig: opts.TLSConfig}).DialContext
//	em, err := emitter.New(redis.NewClient(opts), emitter.Config{})
//
// The cost is CPU: a read that waits burns up to Spin of it before parking.
// Each connection adapts: after a few reads in a row found no reply within
// Spin (a remote Redis, or a pub/sub connection that waits for messages),
// it stops spinning and only probes now and then, so a wrong guess costs
// little. On platforms other than Unix, connections are not wrapped.
//
// A SpinDialer may be shared by any number of goroutines and clients. Its
// connections, like any net.Conn, allow one reader at a time.
type SpinDialer struct {
	// Spin is how long a read polls before parking; 0 means DefaultSpin,
	// a negative value turns spinning off.
	Spin time.Duration
	// Dialer dials the TCP (or Unix) connection. nil means go-redis's own
	// defaults: a 5 s timeout and keep-alive probes after 30 s idle.
	Dialer *net.Dialer
	// TLSConfig, when set, makes the connection TLS (as go-redis's own
	// dialer does with Options.TLSConfig). Without a ServerName, the host
	// part of the address is used.
	TLSConfig *tls.Config
}

// DialContext dials addr on network. Its signature is go-redis's Dialer.
func (d *SpinDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := d.Dialer
	if nd == nil {
		nd = &defaultDialer
	}
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if spin := d.spin(); spin > 0 {
		c = newSpinConn(c, network, spin)
	}
	if d.TLSConfig == nil {
		return c, nil
	}
	cfg := d.TLSConfig
	if cfg.ServerName == "" { // as tls.DialWithDialer does, for SNI too
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	if nd.Timeout > 0 { // the dial timeout also bounds the handshake
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, nd.Timeout)
		defer cancel()
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

var defaultDialer = net.Dialer{
	Timeout:         5 * time.Second,
	KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3},
}

func (d *SpinDialer) spin() time.Duration {
	switch {
	case d.Spin < 0:
		return 0
	case d.Spin == 0:
		return DefaultSpin
	}
	return d.Spin
}
