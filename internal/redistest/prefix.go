package redistest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
)

var prefixSeq atomic.Uint64

// UniquePrefix returns a key and channel prefix unique to this call: the
// test name (letters, digits, '_', '-' and '.' only, at most 40 bytes), a
// random part and a sequence number, for example "TestEmit_rooms-5f3a9c01-7".
// It contains no '{', '}', '#', ':' or whitespace, so it is safe as a
// Socket.IO adapter key prefix and never pins cluster hash slots; callers add
// their own separator.
func UniquePrefix(t testing.TB) string {
	t.Helper()
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			return r
		case r == '/':
			return '_'
		default:
			return -1
		}
	}, t.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("%s-%08x-%d", name, rand.Uint32(), prefixSeq.Add(1))
}
