package redistest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestCPUs(t *testing.T) {
	t.Parallel()
	s := Start(t, CPUs("0"))
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.PID()))
	if err != nil {
		t.Fatal(err)
	}
	var allowed string
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			allowed = strings.TrimSpace(v)
		}
	}
	if allowed != "0" {
		t.Fatalf("Cpus_allowed_list = %q, want \"0\"", allowed)
	}
	if err := s.Client(t).Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	s.Restart() // the pinning survives a restart
	if err := ping(s.Addr()); err != nil {
		t.Fatal(err)
	}
}
