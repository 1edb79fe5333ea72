package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestMain lets the test binary act as the reader child, as the command
// does (runWriter starts os.Executable() with "reader").
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "reader" {
		if err := runReader(os.Args[2:], os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestFloor runs a small fan-out end to end and checks that every round
// arrived and the report is sane (no timing is asserted).
func TestFloor(t *testing.T) {
	var out strings.Builder
	if err := runWriter([]string{"-n", "200", "-writers", "2", "-rounds", "3", "-period", "20ms", "-size", "40"}, &out); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^200 sockets, 2 writers, 3 rounds of 40 bytes every 20ms: p50 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms\n$`)
	if !re.MatchString(out.String()) {
		t.Fatalf("report %q", out.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-n", "0"}, {"-size", "8"}, {"-writers", "0"}, {"-period", "0s"}} {
		if err := runWriter(args, &strings.Builder{}); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
