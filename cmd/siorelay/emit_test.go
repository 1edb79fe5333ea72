package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/redistest"

	"github.com/siorelay/siorelay/internal/proctest"
)

// runCmd runs the binary's entry point in-process.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// subscribe listens to every channel of srv and returns the messages seen.
func subscribe(t *testing.T, rdb *redis.Client, pattern string) <-chan *redis.Message {
	t.Helper()
	ps := rdb.PSubscribe(context.Background(), pattern)
	if _, err := ps.Receive(context.Background()); err != nil { // subscription confirmed
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	return ps.Channel()
}

func noMessage(t *testing.T, ch <-chan *redis.Message, srv *redistest.Server) {
	t.Helper()
	// A marker published after the command proves that nothing came before it.
	rdb := srv.Client(t)
	if err := rdb.Publish(context.Background(), "marker", "m").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-ch:
		if m.Channel != "marker" {
			t.Fatalf("unexpected publish on %s: %q", m.Channel, m.Payload)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("marker not received")
	}
}

func TestEmitPublishes(t *testing.T) {
	srv := redistest.Start(t)
	msgs := subscribe(t, srv.Client(t), "*")
	code, stdout, stderr := runCmd(t, "emit", "--redis", srv.URL(), "--nsp", "admin", "--to", "room1", "hello", `"world"`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "socket.io#/admin#room1#") {
		t.Errorf("stdout %q does not name the channel", stdout)
	}
	m := <-msgs
	const want = "93a7656d697474657283a47479706502a46461746192a568656c6c6fa5776f726c64a36e7370a62f61646d696e83a5726f6f6d7391a5726f6f6d31a5666c61677380a665786365707490"
	if m.Channel != "socket.io#/admin#room1#" || hex.EncodeToString([]byte(m.Payload)) != want {
		t.Errorf("published %s %x", m.Channel, m.Payload)
	}
}

func TestEmitFlagsFromEnvironment(t *testing.T) {
	srv := redistest.Start(t)
	msgs := subscribe(t, srv.Client(t), "*")
	t.Setenv("SIORELAY_REDIS", srv.URL())
	t.Setenv("SIORELAY_KEY", "myprefix")
	t.Setenv("SIORELAY_EXCEPT", "a, b")
	if code, _, stderr := runCmd(t, "emit", "--volatile", "ev", "1", `{"x":[true,null]}`, "-2.5"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := <-msgs
	if m.Channel != "myprefix#/#" || !strings.Contains(m.Payload, "\xa6except\x92\xa1a\xa1b") || !strings.Contains(m.Payload, "volatile") {
		t.Errorf("published %s %q", m.Channel, m.Payload)
	}
}

func TestEmitSharded(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ps := rdb.SSubscribe(context.Background(), "socket.io#/#room1#")
	if _, err := ps.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	if code, _, stderr := runCmd(t, "emit", "--redis", srv.URL(), "--sharded", "--to", "room1", "hello", "1"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := <-ps.Channel()
	if !strings.HasPrefix(m.Payload, `{"type":3,"data":{"packet":{"type":2,"data":["hello",1]},"opts":{"rooms":["room1"]`) {
		t.Errorf("published %q", m.Payload)
	}
}

func TestEmitErrors(t *testing.T) {
	srv := redistest.Start(t)
	msgs := subscribe(t, srv.Client(t), "*")
	closed := proctest.Addr(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no redis", []string{"emit", "ev"}, 2, "--redis (or SIORELAY_REDIS) or --grpc (or SIORELAY_GRPC) is required"},
		{"no event", []string{"emit", "--redis", srv.URL()}, 2, "missing EVENT"},
		{"bad json", []string{"emit", "--redis", srv.URL(), "ev", "1", "hi"}, 2, `argument 2 is not a JSON value: "hi"`},
		{"bad flag", []string{"emit", "--redis", srv.URL(), "--bogus", "ev"}, 2, "flag provided but not defined: -bogus"},
		{"bad url", []string{"emit", "--redis", "http://x", "ev"}, 2, "unknown scheme"},
		{"bad mode", []string{"emit", "--redis", srv.URL(), "--sharded", "--subscription-mode", "x", "ev"}, 2, "unknown subscription mode"},
		{"reserved", []string{"emit", "--redis", srv.URL(), "disconnect"}, 1, `reserved event name: "disconnect"`},
		{"unreachable", []string{"emit", "--redis", "redis://" + closed, "--timeout", "3s", "ev"}, 1, "connection refused"},
		{"unknown command", []string{"emitt"}, 2, `unknown command "emitt"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			code, _, stderr := runCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 && tt.name != "bad flag" {
				t.Errorf("error is %d lines, want one: %q", n+1, stderr)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
	noMessage(t, msgs, srv)
}

// TestEmitTopologies publishes through the Sentinel and Cluster URL forms.
func TestEmitTopologies(t *testing.T) {
	t.Run("sentinel follows a failover", func(t *testing.T) {
		s := redistest.StartSentinel(t)
		for round := 0; round < 2; round++ {
			master := s.Master()
			msgs := subscribe(t, master.Client(t), "*")
			if code, _, stderr := runCmd(t, "emit", "--redis", s.URL(), "ev", fmt.Sprint(round)); code != 0 {
				t.Fatalf("round %d: exit %d: %s", round, code, stderr)
			}
			if m := <-msgs; m.Channel != "socket.io#/#" || !strings.HasSuffix(m.Payload, fmt.Sprintf("\xa2ev%c\xa3nsp\xa1/\x83\xa5rooms\x90\xa5flags\x80\xa6except\x90", byte(round))) {
				t.Fatalf("round %d: published %s %q", round, m.Channel, m.Payload)
			}
			if round == 0 {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if _, err := s.Failover(ctx); err != nil {
					t.Fatal(err)
				}
				cancel()
			}
		}
	})
	t.Run("cluster routes SPUBLISH to the slot owner", func(t *testing.T) {
		c := redistest.StartCluster(t, 3)
		for _, room := range []string{"a", "b", "c", "d", "e"} {
			channel := "socket.io#/#" + room + "#"
			owner := c.NodeFor(channel).Client(t)
			ps := owner.SSubscribe(context.Background(), channel)
			if _, err := ps.Receive(context.Background()); err != nil {
				t.Fatal(err)
			}
			if code, _, stderr := runCmd(t, "emit", "--redis", c.URL(), "--sharded", "--to", room, "ev"); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			select {
			case m := <-ps.Channel():
				if !strings.Contains(m.Payload, `"rooms":["`+room+`"]`) {
					t.Errorf("room %s: %q", room, m.Payload)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("room %s: nothing arrived on %s", room, channel)
			}
			ps.Close()
		}
	})
}
