package main

import "runtime/debug"

// serveGCPercent is the garbage collector's target (GOGC) of `siorelay
// serve` when the environment sets none. Most of a relay's heap is the
// state of its connections, which lives as long as they do; Go's default of
// 100 lets the heap grow to twice that before collecting, and the process
// keeps the pages. At 50 an idle connection costs ~2.1-2.5 KB of RSS
// instead of ~2.5-3.3 KB (bench/README.md, "Memory as users run it"), for
// more frequent collections where the relay allocates: none measurable on
// idle connections or broadcasts, ~0.03 cores more at 20k Redis room
// emits/s. GOGC and GOMEMLIMIT in the environment still apply as usual.
const serveGCPercent = 50

// sidecarGCPercent is the GOGC of `siorelay emitter`: its live heap is a
// few MB and every event allocates, so the default of 100 collects very
// often. At 400 the peak RSS under full load grows from about 35 to 60 MB
// and the CPU per event drops by about 20% (bench/grpc).
const sidecarGCPercent = 400

// setDefaultGC applies percent unless GOGC is set (then the runtime has
// applied it already; an empty GOGC is the runtime's default, as unset).
func setDefaultGC(percent int, getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
	}
}
