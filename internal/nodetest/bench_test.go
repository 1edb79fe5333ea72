package nodetest_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
)

// TestBenchEmitter runs the Node emitter baseline briefly and checks the
// exact bytes of the event it publishes, which the Go emitter benchmark must
// reproduce: ["emitter",{type:2,data:["bench",{n,ts,s}],nsp:"/"},{rooms:[],flags:{},except:[]}].
func TestBenchEmitter(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := testContext(t)
	sub := srv.Client(t).PSubscribe(ctx, "socket.io#/#*")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := sub.Channel(redis.WithChannelSize(64))

	start := uint64(time.Now().UnixMilli())
	res, err := nodetest.RunBenchEmitter(t, nodetest.BenchEmitterConfig{Redis: srv.URL(), Events: 3, Inflight: []int{1, 2}, Warmup: -1}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	end := uint64(time.Now().UnixMilli())
	if len(res) != 2 || res[0].Inflight != 1 || res[1].Inflight != 2 || res[0].Events != 3 || !(res[0].Rate > 0) {
		t.Fatalf("results = %+v", res)
	}

	s := strings.Repeat("abcdefghij", 10)
	for run := range 2 {
		for n := range 3 {
			var m string
			select {
			case msg := <-msgs:
				if msg.Channel != "socket.io#/#" {
					t.Fatalf("channel %q", msg.Channel)
				}
				m = msg.Payload
			case <-ctx.Done():
				t.Fatalf("run %d: message %d not published", run, n)
			}
			prefix := hexBytes(t, "93a7656d697474657283a47479706502a46461746192a562656e636883a16e")
			prefix = append(prefix, byte(n))
			prefix = append(prefix, hexBytes(t, "a27473cf")...)
			suffix := append(hexBytes(t, "a173d964"), s...)
			suffix = append(suffix, hexBytes(t, "a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490")...)
			b := []byte(m)
			if len(b) != len(prefix)+8+len(suffix) || !bytes.HasPrefix(b, prefix) || !bytes.HasSuffix(b, suffix) {
				t.Fatalf("run %d event %d:\n got %x\nwant %x<ts 8 bytes>%x", run, n, b, prefix, suffix)
			}
			if ts := binary.BigEndian.Uint64(b[len(prefix):]); ts < start || ts > end {
				t.Errorf("ts = %d, want within [%d, %d]", ts, start, end)
			}
		}
	}
}

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
