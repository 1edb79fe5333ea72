// Command siorelay is the siorelay binary: a Socket.IO relay for stock
// clients (serve), a gRPC emitter sidecar (emitter), and a one-shot emit
// for scripts and operators (emit). Run `siorelay help` for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: it parses its own flags from args and runs
// until done or ctx is cancelled (SIGINT/SIGTERM).
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"emitter": {"run the gRPC EmitterService sidecar", runEmitter},
	"emit":    {"publish one event into Redis, as @socket.io/redis-emitter would, and exit", runEmit},
	"serve":   {"run the relay: a Socket.IO server for stock clients", runServe},
	"version": {"print the version, VCS commit and Go version (also --version)", runVersion},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and turns its error into an exit code:
// 0 on success, 2 for usage errors, 1 otherwise.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "siorelay: unknown command %q (run \"siorelay help\")\n", args[0])
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "siorelay %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "siorelay %s: %v\n", args[0], err)
		return 1
	}
}

// usageError marks a bad command line (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func usage(w io.Writer) {
	fmt.Fprintln(w, "siorelay: Socket.IO at scale for backends in any language.")
	fmt.Fprintln(w, "\nUsage: siorelay <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun \"siorelay <command> -h\" for a command's flags.")
}
