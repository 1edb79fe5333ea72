//go:build python

package relay_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestPythonClient runs python-socketio's client (an implementation
// independent of the Node one) against the relay over each transport
// setup. The interpreter comes from PYCLIENT_PYTHON (make test-python-client
// uses the venv of make test-pyclient, with python-socketio 5.18.1). Run with
//
//	make test-python-client
func TestPythonClient(t *testing.T) {
	python := os.Getenv("PYCLIENT_PYTHON")
	if python == "" {
		t.Fatal("PYCLIENT_PYTHON is not set: run make test-python-client")
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "pyclient.py"))
	for _, transports := range []string{"websocket", "polling", "polling,websocket"} {
		t.Run(transports, func(t *testing.T) {
			srv, url, _ := compatServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, python, script, url, transports)
			cmd.Stderr = os.Stderr
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			lines := make(chan map[string]any)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					var m map[string]any
					if json.Unmarshal(sc.Bytes(), &m) == nil {
						lines <- m
					}
				}
			}()
			next := func(typ string) map[string]any {
				t.Helper()
				select {
				case m, ok := <-lines:
					if !ok {
						t.Fatalf("client exited before %q", typ)
					}
					if m["type"] != typ {
						t.Fatalf("got %v, want %q", m, typ)
					}
					return m
				case <-ctx.Done():
					t.Fatalf("no %q line", typ)
				}
				return nil
			}
			want := "websocket"
			if transports == "polling" {
				want = "polling"
			}
			if m := next("connected"); m["transport"] != want {
				t.Fatalf("connected over %v, want %s", m["transport"], want)
			}
			if err := srv.Of("/").To("py").Emit(ctx, "hello", 1, "é", map[string]any{"a": nil}, []byte{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
			hex := func(s string) map[string]any { return map[string]any{"hex": s} }
			checks := []struct {
				typ  string
				args []any
			}{
				{"hello", []any{1.0, "é", map[string]any{"a": nil}, hex("010203")}},
				{"ack", []any{7.0, hex("0102"), map[string]any{"k": "v"}}},
				{"back", []any{"x", hex("09")}},
			}
			for _, c := range checks {
				m := next(c.typ)
				if diff := cmp.Diff(c.args, m["args"]); diff != "" {
					t.Errorf("%s args (-want +got):\n%s", c.typ, diff)
				}
			}
			next("disconnected")
		})
	}
}
