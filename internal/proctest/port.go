package proctest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
)

// Ports are drawn at random from [portLow, portHigh), which lies below the
// Linux (32768+) and macOS (49152+) ephemeral ranges. Outgoing connections
// therefore never hold a port a server wants, which matters for a server
// restarted on its old port, or an address that must stay closed.
const (
	portLow  = 20000
	portHigh = 32000
)

var (
	portMu   sync.Mutex
	portUsed = map[int]bool{} // guarded by portMu: ports handed out and not released
)

// FreePort returns a loopback port that is free right now and not handed
// out to another caller of this test binary until [ReleasePort]. Another
// process may still bind it first; callers retry on "address already in
// use".
func FreePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	for range 200 {
		p := portLow + rand.IntN(portHigh-portLow)
		if portUsed[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		portUsed[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("proctest: no free port found in [%d, %d)", portLow, portHigh)
}

// ReleasePort lets [FreePort] hand p out again. Releasing 0 or a port not
// handed out does nothing.
func ReleasePort(p int) {
	portMu.Lock()
	delete(portUsed, p)
	portMu.Unlock()
}

// Port is [FreePort] for one test: a failure fails t, and the port is
// released when the test ends. Nothing listens on it unless the test
// starts something there, so it also serves as a closed address.
func Port(t testing.TB) int {
	t.Helper()
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ReleasePort(p) })
	return p
}

// Addr returns "127.0.0.1:port" for a [Port].
func Addr(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(Port(t))
}
