package relay

import (
	"slices"
	"strconv"
	"time"

	"github.com/siorelay/siorelay/internal/adapter"
)

// offset is a position in a packet log: in the server's own log a counter
// (ms 0, seq n; written in base 36), in a Redis streams cluster the id of
// the stream entry that carried the packet ("<ms>-<seq>"). Offsets of one
// log grow with every packet.
type offset struct{ ms, seq uint64 }

func (o offset) isZero() bool { return o == offset{} }

func (o offset) less(p offset) bool { return o.ms < p.ms || (o.ms == p.ms && o.seq < p.seq) }

// appendTo writes o as clients get it: a stream entry id in a stream's
// log, base 36 in the server's own.
func (o offset) appendTo(dst []byte, stream bool) []byte {
	if !stream {
		return strconv.AppendUint(dst, o.seq, 36)
	}
	dst = strconv.AppendUint(dst, o.ms, 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, o.seq, 10)
}

func (o offset) streamID() string { return string(o.appendTo(nil, true)) }

// parseLocalOffset reads an offset of the server's own log, only in the
// form appendTo writes (lower case, no leading zeros).
func parseLocalOffset(s string) (offset, bool) {
	if s == "" || len(s) > 13 {
		return offset{}, false
	}
	v, err := strconv.ParseUint(s, 36, 64)
	return offset{seq: v}, err == nil && v > 0 && strconv.FormatUint(v, 36) == s
}

// parseStreamOffset reads a stream entry id as the streams adapter accepts
// it (^[0-9]+-[0-9]+$).
func parseStreamOffset(s string) (offset, bool) {
	if !adapter.ValidStreamOffset(s) {
		return offset{}, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			ms, err1 := strconv.ParseUint(s[:i], 10, 64)
			seq, err2 := strconv.ParseUint(s[i+1:], 10, 64)
			return offset{ms, seq}, err1 == nil && err2 == nil
		}
	}
	return offset{}, false
}

// logEntryOverhead approximates the memory of a log entry besides its
// packet bytes: the entry, the message struct and the slice headers
// (BenchmarkRecoveryMemory measured about 225 bytes of live heap beyond a
// 110-byte packet's frame).
const logEntryOverhead = 225

// logEntry is one packet of a log.
type logEntry struct {
	off    offset
	at     time.Duration // since recovery.start
	ns     *namespace
	rooms  []string
	except []string
	msg    *message
	size   int64
}

// packetLog is the packets of one stream (or of the server's own log), in
// offset order. Guarded by recovery.mu.
type packetLog struct {
	stream  string     // "" for the server's own log
	entries []logEntry // entries[head:] are live, oldest first
	head    int
	// floor is the offset of the last entry trimmed (zero: none): a client
	// at floor has missed nothing that left the log.
	floor offset
	// read is, for a stream, the id of the last entry its reader has
	// handled, logged or not (later entries are delivered live).
	read offset
}

func (l *packetLog) live() []logEntry { return l.entries[l.head:] }

// after returns the index in entries of the first entry after offset o,
// and whether the log knows o: o is one of its entries, or its floor (then
// nothing after o has left the log).
func (l *packetLog) after(o offset) (int, bool) {
	if o.isZero() {
		return 0, false
	}
	live := l.live()
	if !l.floor.isZero() && o == l.floor {
		return l.head, true
	}
	i, found := slices.BinarySearchFunc(live, o, entryAt)
	if !found {
		return 0, false
	}
	return l.head + i + 1, true
}

// firstAfter returns the index in entries of the first live entry after
// offset o, len(entries) when there is none.
func (l *packetLog) firstAfter(o offset) int {
	i, found := slices.BinarySearchFunc(l.live(), o, entryAt)
	if found {
		i++
	}
	return l.head + i
}

// entryAt orders a log entry against an offset, for binary searches.
func entryAt(e logEntry, o offset) int {
	switch {
	case e.off.less(o):
		return -1
	case o.less(e.off):
		return 1
	}
	return 0
}

// trimOne drops the oldest live entry and returns its size.
func (l *packetLog) trimOne() int64 {
	e := &l.entries[l.head]
	l.floor = e.off
	size := e.size
	*e = logEntry{}
	l.head++
	if l.head > 64 && l.head*2 >= len(l.entries) {
		n := copy(l.entries, l.entries[l.head:])
		clear(l.entries[n:])
		l.entries = l.entries[:n]
		l.head = 0
	}
	return size
}
