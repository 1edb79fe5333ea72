package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// envPrefix names the environment variable of every flag: --grpc-addr is
// also read from SIORELAY_GRPC_ADDR.
const envPrefix = "SIORELAY_"

// envName is the environment variable that backs flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// newFlagSet returns a FlagSet for a subcommand whose usage text lists each
// flag with its environment variable.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: siorelay %s\n\nFlags (each also read from the environment variable shown):\n", synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
				def = fmt.Sprintf(" (default %q)", f.DefValue)
			}
			fmt.Fprintf(stderr, "  --%s  [%s]%s\n      %s\n", f.Name, envName(f.Name), def,
				strings.ReplaceAll(f.Usage, "\n", "\n      "))
		})
	}
	return fs
}

// parseFlags parses args, then fills every flag not given on the command
// line from its environment variable. A bad value, from either source, is
// a usage error naming where it came from.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err.Error()}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok {
			return
		}
		if list, isList := f.Value.(*stringList); isList {
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					*list = append(*list, item)
				}
			}
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = usagef("invalid value %q for %s: %v", v, envName(f.Name), e)
		}
	})
	return err
}

// stringList is a flag that may be repeated (--to a --to b); from the
// environment it takes a comma-separated list.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// logFlags are the logging flags every long-running subcommand has.
type logFlags struct {
	format string
	level  string
}

func (l *logFlags) register(fs *flag.FlagSet) { l.registerLevel(fs, "info") }

// registerLevel is register with another default level.
func (l *logFlags) registerLevel(fs *flag.FlagSet, level string) {
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
	fs.StringVar(&l.level, "log-level", level, "log level: debug, info, warn or error")
}

// logger builds the process logger the flags describe, writing to w, and
// makes it the destination of the libraries' own loggers (liblog.go).
func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, usagef("invalid --log-level %q (want debug, info, warn or error)", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	switch l.format {
	case "text":
		log = slog.New(slog.NewTextHandler(w, opts))
	case "json":
		log = slog.New(slog.NewJSONHandler(w, opts))
	default:
		return nil, usagef("invalid --log-format %q (want text or json)", l.format)
	}
	routeLibraryLogs(log)
	return log, nil
}

// secret returns a flag's value or the content of its -file variant
// (without a final newline), refusing both.
func secret(name, value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", usagef("%s and %s-file are mutually exclusive", name, name)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", usagef("%s-file: %v", name, err)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	data = bytes.TrimSuffix(data, []byte("\r"))
	if len(data) == 0 {
		return "", usagef("%s-file %s is empty", name, file)
	}
	return string(data), nil
}
