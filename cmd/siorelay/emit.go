package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/redisaddr"
)

const emitSynopsis = "emit --redis URL [--key PREFIX] [--sharded] [--adapter pubsub|streams [--stream-name N] [--stream-count 1] [--stream-max-len 10000]] [--nsp /name] [--to ROOM]... [--except ROOM]... EVENT [JSON_ARG]..."

// runEmit publishes one event, as @socket.io/redis-emitter would (or, with
// --adapter streams, as a server using @socket.io/redis-streams-adapter
// would), and exits. Nothing is published unless every argument is valid.
func runEmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("emit", emitSynopsis, stderr)
	redisURL := fs.String("redis", "", "Redis to publish to (required). "+redisaddr.Help)
	cluster := registerClusterFlags(fs)
	nsp := fs.String("nsp", "/", "namespace")
	var to, except stringList
	fs.Var(&to, "to", "room to emit to (repeatable; none means every client of the namespace)")
	fs.Var(&except, "except", "room whose sockets are excluded (repeatable)")
	volatile := fs.Bool("volatile", false, "mark the event volatile")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	var lf logFlags
	lf.registerLevel(fs, "error") // its own failure is the one-line error
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := lf.logger(stderr); err != nil {
		return err
	}
	if *redisURL == "" {
		return usagef("--redis (or %s) is required", envName("redis"))
	}
	if fs.NArg() == 0 {
		return usagef("missing EVENT (usage: siorelay %s)", emitSynopsis)
	}
	cfg, err := cluster.config()
	if err != nil {
		return err
	}
	event := fs.Arg(0)
	values := make([]any, 0, fs.NArg()-1)
	for i, a := range fs.Args()[1:] {
		if !json.Valid([]byte(a)) {
			return usagef("argument %d is not a JSON value: %q (a string needs quotes: '\"hi\"')", i+1, a)
		}
		values = append(values, json.RawMessage(a))
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
	msg, err := op.EmitMessage(event, values...) // validates before any I/O
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := em.Publish(ctx, msg); err != nil {
		return err
	}
	if em.Stream() != "" {
		fmt.Fprintf(stdout, "added %q to stream %s\n", event, msg.Channel)
		return nil
	}
	fmt.Fprintf(stdout, "published %q to %s\n", event, msg.Channel)
	return nil
}
