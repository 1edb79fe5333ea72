package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/grpclog"
)

// The libraries this binary uses have process-wide loggers of their own:
// go-redis (redis.SetLogger: "redis: 2026/… pool.go:770: …" on stderr),
// grpc-go (grpclog) and the standard log package (net/http servers' errors
// such as TLS handshake failures). Their output goes instead through the
// running subcommand's slog logger (its format and level, with a "lib"
// attribute), or nowhere before one is set. A one-shot command such as
// emit therefore prints its own one-line error, not the libraries' lines
// before it.
//
// Levels: go-redis has none, and logs failures (dial errors, lost
// connections) and Sentinel changes: Warn. grpc-go's Info and Warning are
// Debug, which keeps grpc's own default of showing only errors at the
// default level (its warnings repeat each reconnection attempt to a
// backend that is down; the hooks log those failures themselves); its
// Error is Error. The log package: Warn.
//
// grpclog.SetLoggerV2 must be called before any gRPC use and is not safe
// for concurrent use, hence init (tests run subcommands in-process, many
// times over). The destination is swapped atomically.
func init() {
	redis.SetLogger(redisLog{})
	grpclog.SetLoggerV2(grpcLog{})
	slog.SetDefault(slog.New(libHandler{}))
	slog.SetLogLoggerLevel(slog.LevelWarn)
}

// libDest is the running subcommand's logger (nil: discard).
var libDest atomic.Pointer[slog.Logger]

// routeLibraryLogs makes log the destination of the libraries' logs.
func routeLibraryLogs(log *slog.Logger) { libDest.Store(log) }

func libLogf(ctx context.Context, level slog.Level, lib, msg string) {
	if l := libDest.Load(); l != nil && l.Enabled(ctx, level) {
		l.Log(ctx, level, strings.TrimSpace(msg), "lib", lib)
	}
}

// redisLog is go-redis's logger.
type redisLog struct{}

func (redisLog) Printf(ctx context.Context, format string, v ...any) {
	libLogf(ctx, slog.LevelWarn, "go-redis", fmt.Sprintf(format, v...))
}

// grpcLog is grpc-go's logger (grpclog.LoggerV2).
type grpcLog struct{}

var _ grpclog.LoggerV2 = grpcLog{}

func (grpcLog) log(level slog.Level, msg string) {
	libLogf(context.Background(), level, "grpc", msg)
}

func (g grpcLog) Info(args ...any)   { g.log(slog.LevelDebug, fmt.Sprint(args...)) }
func (g grpcLog) Infoln(args ...any) { g.log(slog.LevelDebug, fmt.Sprintln(args...)) }
func (g grpcLog) Infof(format string, args ...any) {
	g.log(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (g grpcLog) Warning(args ...any)   { g.log(slog.LevelDebug, fmt.Sprint(args...)) }
func (g grpcLog) Warningln(args ...any) { g.log(slog.LevelDebug, fmt.Sprintln(args...)) }
func (g grpcLog) Warningf(format string, args ...any) {
	g.log(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (g grpcLog) Error(args ...any)   { g.log(slog.LevelError, fmt.Sprint(args...)) }
func (g grpcLog) Errorln(args ...any) { g.log(slog.LevelError, fmt.Sprintln(args...)) }
func (g grpcLog) Errorf(format string, args ...any) {
	g.log(slog.LevelError, fmt.Sprintf(format, args...))
}

// Fatal logs at Error and exits, as grpclog requires.
func (g grpcLog) Fatal(args ...any) { g.fatal(fmt.Sprint(args...)) }

func (g grpcLog) Fatalln(args ...any) { g.fatal(fmt.Sprintln(args...)) }

func (g grpcLog) Fatalf(format string, args ...any) { g.fatal(fmt.Sprintf(format, args...)) }

func (g grpcLog) fatal(msg string) {
	if libDest.Load() == nil {
		fmt.Fprintln(os.Stderr, "siorelay: grpc:", strings.TrimSpace(msg))
	}
	g.log(slog.LevelError, msg)
	os.Exit(1)
}

// V reports whether verbosity level l is logged: grpc's verbose logs
// (l > 0) only at Debug.
func (grpcLog) V(l int) bool {
	d := libDest.Load()
	return d != nil && (l <= 0 || d.Enabled(context.Background(), slog.LevelDebug))
}

// libHandler is the default slog handler (and so the log package's
// output): records go to the running subcommand's handler, with the
// attributes and groups added on the way.
type libHandler struct {
	with []func(slog.Handler) slog.Handler // WithAttrs / WithGroup, in order
}

func (h libHandler) dest() slog.Handler {
	l := libDest.Load()
	if l == nil {
		return slog.DiscardHandler
	}
	d := l.Handler()
	for _, f := range h.with {
		d = f(d)
	}
	return d
}

func (h libHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.dest().Enabled(ctx, level)
}

func (h libHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.String("lib", "log"))
	return h.dest().Handle(ctx, r)
}

func (h libHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return libHandler{with: append(h.with[:len(h.with):len(h.with)], func(d slog.Handler) slog.Handler { return d.WithAttrs(attrs) })}
}

func (h libHandler) WithGroup(name string) slog.Handler {
	return libHandler{with: append(h.with[:len(h.with):len(h.with)], func(d slog.Handler) slog.Handler { return d.WithGroup(name) })}
}
