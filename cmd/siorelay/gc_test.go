package main

import (
	"runtime/debug"
	"testing"
)

func TestServeGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	setDefaultGC(serveGCPercent, func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != serveGCPercent {
		t.Fatalf("without GOGC: GC percent %d, want %d", got, serveGCPercent)
	}
	setDefaultGC(serveGCPercent, func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC=100 in the environment: GC percent %d, want it left at 100", got)
	}
}
