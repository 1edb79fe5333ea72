package adapter

import (
	"github.com/siorelay/siorelay/internal/notepack"
)

// Flag names one broadcast flag.
type Flag uint8

// The broadcast flags that cross the wire.
const (
	FlagVolatile Flag = iota + 1 // "volatile": true
	FlagCompress                 // "compress": bool
	FlagLocal                    // "local": true (never published by Node)
	FlagTimeout                  // "timeout": milliseconds (ack broadcasts)
)

var flagNames = [...]string{FlagVolatile: "volatile", FlagCompress: "compress", FlagLocal: "local", FlagTimeout: "timeout"}

// Flags is a broadcast's flags object. Node writes the flags in the order
// they were first set, so Flags remembers that order. The zero value is the
// empty object {}. Flags is a small value type: copy it freely.
type Flags struct {
	Volatile bool
	Compress bool
	Local    bool
	Timeout  int64 // milliseconds; meaningful when Has(FlagTimeout)
	order    [4]Flag
	n        uint8
}

// Has reports whether f was set (for FlagCompress: set to either value).
func (fs Flags) Has(f Flag) bool {
	for _, g := range fs.order[:fs.n] {
		if g == f {
			return true
		}
	}
	return false
}

// Len is the number of flags set.
func (fs Flags) Len() int { return int(fs.n) }

func (fs Flags) mark(f Flag) Flags {
	if !fs.Has(f) && int(fs.n) < len(fs.order) {
		fs.order[fs.n] = f
		fs.n++
	}
	return fs
}

// WithVolatile returns fs with volatile set.
func (fs Flags) WithVolatile() Flags { fs = fs.mark(FlagVolatile); fs.Volatile = true; return fs }

// WithCompress returns fs with compress set to c.
func (fs Flags) WithCompress(c bool) Flags { fs = fs.mark(FlagCompress); fs.Compress = c; return fs }

// WithLocal returns fs with local set.
func (fs Flags) WithLocal() Flags { fs = fs.mark(FlagLocal); fs.Local = true; return fs }

// WithTimeout returns fs with timeout set to ms.
func (fs Flags) WithTimeout(ms int64) Flags { fs = fs.mark(FlagTimeout); fs.Timeout = ms; return fs }

// appendMsgpack writes the flags object as msgpack.
func (fs Flags) appendMsgpack(dst []byte) []byte {
	dst = notepack.AppendMapHeader(dst, int(fs.n))
	for _, f := range fs.order[:fs.n] {
		dst = notepack.AppendString(dst, flagNames[f])
		switch f {
		case FlagVolatile:
			dst = notepack.AppendBool(dst, fs.Volatile)
		case FlagCompress:
			dst = notepack.AppendBool(dst, fs.Compress)
		case FlagLocal:
			dst = notepack.AppendBool(dst, fs.Local)
		case FlagTimeout:
			dst = notepack.AppendInt(dst, fs.Timeout)
		}
	}
	return dst
}

// appendJSON writes the flags object as JSON.
func (fs Flags) appendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i, f := range fs.order[:fs.n] {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, flagNames[f]...)
		dst = append(dst, '"', ':')
		switch f {
		case FlagVolatile:
			dst = appendJSONBool(dst, fs.Volatile)
		case FlagCompress:
			dst = appendJSONBool(dst, fs.Compress)
		case FlagLocal:
			dst = appendJSONBool(dst, fs.Local)
		case FlagTimeout:
			dst = appendJSONInt(dst, fs.Timeout)
		}
	}
	return append(dst, '}')
}
