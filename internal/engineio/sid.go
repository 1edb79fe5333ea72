package engineio

import (
	"crypto/rand"
	"encoding/base64"
	"sync/atomic"
)

// SIDLen is the length of every id returned by NewSID.
const SIDLen = 20

var sidCounter atomic.Uint32

// NewSID returns a new session id in the format of engine.io's base64id
// (build/contrib/base64id.js): 15 bytes, the first 12 from crypto/rand and
// the last 3 the low 24 bits of a process-wide counter, encoded as URL-safe
// base64 ('-' and '_' instead of '+' and '/'), so always [SIDLen] (20)
// characters. socket.io uses the same generator for socket ids and the
// sharded Redis adapter relies on their length being 20.
//
// NewSID is safe for concurrent use.
func NewSID() string {
	var b [15]byte
	// crypto/rand.Read never returns an error since Go 1.24 (it crashes the
	// program if the kernel cannot provide randomness).
	_, _ = rand.Read(b[:12])
	n := sidCounter.Add(1)
	b[12], b[13], b[14] = byte(n>>16), byte(n>>8), byte(n)
	var out [SIDLen]byte
	base64.URLEncoding.Encode(out[:], b[:])
	return string(out[:])
}
