package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/redisaddr"
)

const emitSynopsis = "emit (--redis URL [--key PREFIX] [--sharded] [--adapter pubsub|streams [--stream-name N] [--stream-count 1] [--stream-max-len 10000]] | --grpc HOST:PORT [--token T] [--tls-ca F]) [--wait 0s] [--nsp /name] [--to ROOM]... [--except ROOM]... EVENT [JSON_ARG]..."

// runEmit publishes one event, as @socket.io/redis-emitter would (or, with
// --adapter streams, as a server using @socket.io/redis-streams-adapter
// would), into Redis or through a gRPC EmitterService (a relay's or a
// sidecar's), and exits. Nothing is published unless every argument is
// valid.
func runEmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("emit", emitSynopsis, stderr)
	redisURL := fs.String("redis", "", "Redis to publish to (this or --grpc is required). "+redisaddr.Help)
	cluster := registerClusterFlags(fs)
	nsp := fs.String("nsp", "/", "namespace")
	var to, except stringList
	fs.Var(&to, "to", "room to emit to (repeatable; none means every client of the namespace)")
	fs.Var(&except, "except", "room whose sockets are excluded (repeatable)")
	volatile := fs.Bool("volatile", false, "mark the event volatile")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	wait := fs.Duration("wait", 0, "while the relay, sidecar or Redis refuses connections (not started yet), keep trying for up to this long (0: fail at once)")
	gf := registerEmitGRPCFlags(fs)
	var lf logFlags
	lf.registerLevel(fs, "error") // its own failure is the one-line error
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := lf.logger(stderr); err != nil {
		return err
	}
	switch {
	case *redisURL == "" && gf.addr == "":
		return usagef("--redis (or %s) or --grpc (or %s) is required", envName("redis"), envName("grpc"))
	case *redisURL != "" && gf.addr != "":
		return usagef("--redis and --grpc: use one of them")
	}
	if fs.NArg() == 0 {
		return usagef("missing EVENT (usage: siorelay %s)", emitSynopsis)
	}
	event := fs.Arg(0)
	vals := fs.Args()[1:] // each one JSON value
	for i, a := range vals {
		if !json.Valid([]byte(a)) {
			return usagef("argument %d is not a JSON value: %q (a string needs quotes: '\"hi\"')", i+1, a)
		}
	}
	if gf.addr != "" {
		creds, token, err := gf.check(fs)
		if err != nil {
			return err
		}
		if err := validEvent(event); err != nil {
			return err
		}
		return emitGRPC(ctx, gf, creds, token, emitRequest(*nsp, to, except, *volatile, event, vals), *wait, *timeout, stdout, stderr)
	}
	cfg, err := cluster.config()
	if err != nil {
		return err
	}
	rdb, err := redisaddr.NewClient(*redisURL)
	if err != nil {
		return usageError{err.Error()}
	}
	defer rdb.Close()
	em, err := emitter.New(rdb, cfg)
	if err != nil {
		return usageError{err.Error()}
	}
	op := em.Of(*nsp).To(to...).Except(except...)
	if *volatile {
		op = op.Volatile()
	}
	values := make([]any, len(vals))
	for i, a := range vals {
		values[i] = json.RawMessage(a)
	}
	msg, err := op.EmitMessage(event, values...) // validates before any I/O
	if err != nil {
		return err
	}
	err = retryWhileDown(ctx, *wait, "Redis", stderr, redisDown, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		return em.Publish(ctx, msg)
	})
	if err != nil {
		if redisDown(err) && *wait > 0 {
			return fmt.Errorf("%w (still down%s)", err, waited(*wait))
		}
		return err
	}
	if em.Stream() != "" {
		fmt.Fprintf(stdout, "added %q to stream %s\n", event, msg.Channel)
		return nil
	}
	fmt.Fprintf(stdout, "published %q to %s\n", event, msg.Channel)
	return nil
}

// redisDown reports whether err is a failure to connect to Redis (nothing
// listening yet), which --wait waits out.
func redisDown(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// validEvent refuses what the emitter refuses before any I/O (a reserved
// name), so that --grpc fails the same way --redis does, without a
// connection.
func validEvent(event string) error {
	if emitter.IsReservedEvent(event) {
		return fmt.Errorf("%w: %q", emitter.ErrReservedEvent, event)
	}
	return nil
}
