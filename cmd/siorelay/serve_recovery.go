package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/siorelay/siorelay/relay"
)

// recoveryFlags are serve's connection state recovery flags.
type recoveryFlags struct {
	fs        *flag.FlagSet
	duration  time.Duration
	maxBytes  byteSize
	skipHooks bool
}

const defaultRecoveryBytes = 64 << 20

func registerRecoveryFlags(fs *flag.FlagSet) *recoveryFlags {
	r := &recoveryFlags{fs: fs, maxBytes: defaultRecoveryBytes}
	fs.DurationVar(&r.duration, "recovery", 0, "connection state recovery: a client that loses its connection and comes back to this relay within this time gets its socket id, rooms and data back and every packet it missed (socket.io's connectionStateRecovery.maxDisconnectionDuration, e.g. 2m; 0: off)")
	fs.Var(&r.maxBytes, "recovery-max-bytes", "with --recovery: memory bound of the log of recent packets kept for replay (bytes; suffixes KB, MB, GB, KiB, MiB, GiB); when reached the oldest packets go, and clients that missed them get a new socket")
	fs.BoolVar(&r.skipHooks, "recovery-skip-hooks", false, "with --recovery: restore sockets without running the connect hook and the JWT check again (socket.io's skipMiddlewares)")
	return r
}

// apply sets cfg.Recovery from the flags.
func (r *recoveryFlags) apply(cfg *relay.Config) error {
	set := map[string]bool{}
	r.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if r.duration < 0 {
		return usagef("--recovery %v: must not be negative", r.duration)
	}
	if r.duration == 0 {
		for _, name := range []string{"recovery-max-bytes", "recovery-skip-hooks"} {
			if set[name] {
				return usagef("--%s needs --recovery DURATION", name)
			}
		}
		return nil
	}
	cfg.Recovery = &relay.Recovery{
		MaxDisconnection: r.duration,
		MaxBytes:         int64(r.maxBytes),
		SkipOnConnect:    r.skipHooks,
	}
	return nil
}

// byteSize is a flag.Value for a number of bytes with an optional unit.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

func (b *byteSize) Set(s string) error {
	v, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(v)
	return nil
}

// parseByteSize reads "1048576", "64MiB", "100 MB", "1.5GiB": a positive
// number of bytes.
func parseByteSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range byteUnits {
		if len(num) > len(u.suffix) && strings.EqualFold(num[len(num)-len(u.suffix):], u.suffix) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("want a positive number of bytes, such as 67108864, 64MiB or 100MB, not %q", s)
	}
	n := int64(f * float64(mult))
	if n < 1 {
		return 0, fmt.Errorf("want at least one byte, not %q", s)
	}
	return n, nil
}
