package redistest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// Ports are drawn at random from [portLow, portHigh), which lies below the
// Linux (32768+) and macOS (49152+) ephemeral ranges. Outgoing client
// connections therefore never hold a port a server wants, which matters for
// Restart: it must get its old port back after a Stop.
const (
	portLow  = 20000
	portHigh = 32000
)

var (
	portMu   sync.Mutex
	portUsed = map[int]bool{} // ports handed out in this process and not yet released
)

// pickPort returns a loopback port that is free right now and not handed
// out to another server of this test binary. Another process may still
// take it before the server binds it; callers retry on "Address already in
// use".
func pickPort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	for range 200 {
		p := portLow + rand.IntN(portHigh-portLow)
		if portUsed[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		portUsed[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("redistest: no free port found in [%d, %d)", portLow, portHigh)
}

// releasePort lets pickPort hand p out again.
func releasePort(p int) {
	if p == 0 {
		return
	}
	portMu.Lock()
	delete(portUsed, p)
	portMu.Unlock()
}
