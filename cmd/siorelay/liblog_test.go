package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/grpclog"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/proctest"
)

// jsonLines parses every line of out as a JSON object; a line that is not
// one fails the test (a library printing in its own format).
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("not a JSON log line: %q", sc.Text())
			continue
		}
		lines = append(lines, m)
	}
	return lines
}

// findLine returns the first line from lib whose message contains substr.
func findLine(lines []map[string]any, lib, substr string) map[string]any {
	for _, l := range lines {
		if l["lib"] == lib && strings.Contains(l["msg"].(string), substr) {
			return l
		}
	}
	return nil
}

// TestLibraryLogsRouted makes go-redis, grpc-go and the log package log
// for real (a refused Redis dial, a refused gRPC connection, log.Print)
// and finds their lines in the subcommand's JSON log, at the mapped levels.
func TestLibraryLogsRouted(t *testing.T) {
	var out proctest.Buffer
	lf := logFlags{format: "json", level: "debug"}
	if _, err := lf.logger(&out); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { routeLibraryLogs(nil) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	closed := proctest.Addr(t)

	rdb := redis.NewClient(&redis.Options{Addr: closed, MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Fatal("PING to a closed port succeeded")
	}

	cc, err := grpc.NewClient(closed, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	cctx, ccancel := context.WithTimeout(ctx, time.Second)
	_, err = siorelayv1.NewEmitterServiceClient(cc).Emit(cctx, &siorelayv1.EmitRequest{Event: "x"})
	ccancel()
	if err == nil {
		t.Fatal("Emit to a closed port succeeded")
	}
	grpclog.Errorf("an error from grpc %d", 7)
	log.Print("a line through the log package")

	lines := jsonLines(t, out.String())
	for _, want := range []struct{ lib, substr, level string }{
		{"go-redis", "connection refused", "WARN"},
		{"grpc", "connection refused", "DEBUG"},
		{"grpc", "an error from grpc 7", "ERROR"},
		{"log", "a line through the log package", "WARN"},
	} {
		l := findLine(lines, want.lib, want.substr)
		if l == nil {
			t.Errorf("no %s line with %q in:\n%s", want.lib, want.substr, out.String())
		} else if l["level"] != want.level {
			t.Errorf("%s line %v: level %v, want %s", want.lib, l, l["level"], want.level)
		}
	}
}

// TestLibraryLogsFollowLevel: at the default level, grpc's warnings and
// go-redis's retries below it stay out of the log.
func TestLibraryLogsFollowLevel(t *testing.T) {
	var out bytes.Buffer
	lf := logFlags{format: "text", level: "error"}
	if _, err := lf.logger(&out); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { routeLibraryLogs(nil) })
	rdb := redis.NewClient(&redis.Options{Addr: proctest.Addr(t), MaxRetries: -1})
	defer rdb.Close()
	_ = rdb.Ping(context.Background()).Err()
	log.Print("hidden")
	grpclog.Warning("hidden too")
	if out.Len() != 0 {
		t.Errorf("logged below --log-level error:\n%s", out.String())
	}
}

// TestOneLineErrors runs the binary as a user does: with Redis down, emit
// prints exactly one line, and the sidecar's log is JSON from end to end
// (go-redis's failures included) with --log-format json.
func TestOneLineErrors(t *testing.T) {
	bin := proctest.Build(t, "github.com/siorelay/siorelay/cmd/siorelay", "-buildvcs=auto")
	down := "redis://" + proctest.Addr(t)

	cmd := exec.Command(bin, "emit", "--redis", down, "--timeout", "5s", "chat", `"hi"`)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("emit with Redis down: %v, want exit status 1", err)
	}
	if got := stderr.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "siorelay emit: ") || !strings.Contains(got, "connection refused") {
		t.Errorf("emit with Redis down printed %q, want one line \"siorelay emit: … connection refused\"", got)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q", stdout.String())
	}

	p := proctest.Start(t, "emitter", exec.Command(bin, "emitter", "--redis", down, "--grpc-addr", "127.0.0.1:0",
		"--health-interval", "50ms", "--log-format", "json"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := p.WaitLine(ctx, `"lib":"go-redis"`); err != nil {
		t.Fatalf("no go-redis line in the sidecar's JSON log: %v\n%s", err, p.Out.String())
	}
	p.Stop()
	lines := p.Out.String()
	// stdout's address line is the one plain line.
	var logs []string
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		if !strings.HasPrefix(l, "siorelay: serving ") {
			logs = append(logs, l)
		}
	}
	jsonLines(t, strings.Join(logs, "\n"))
}
