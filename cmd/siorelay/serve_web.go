package main

import (
	"context"
	"flag"
	"net/http"

	"github.com/siorelay/siorelay/internal/demo"
	"github.com/siorelay/siorelay/relay"
)

// webFlags choose what serve publishes over HTTP besides Socket.IO: the
// socket.io-client browser bundle, on by default as Node's serveClient,
// and the demo chat page, off unless asked for (`make run` asks).
type webFlags struct {
	demo     bool
	chat     bool // --demo-chat: runServe relays "chat" between the clients of /
	client   bool
	grpcAddr string // the EmitterService's listen address, for the page's hint; set by listenAndServe
}

func registerWebFlags(fs *flag.FlagSet) *webFlags {
	w := &webFlags{}
	fs.BoolVar(&w.demo, "demo", false, "serve the demo chat page at / (for trying siorelay out; make run turns it on)")
	fs.BoolVar(&w.chat, "demo-chat", false, "pass every client's \"chat\" event on to the other clients of / (lets demo pages chat; any client can then message everyone)")
	fs.BoolVar(&w.client, "serve-client", true, "serve the socket.io-client 4.8.4 browser bundle at <path>socket.io.js, socket.io.min.js and their .map files, as a Node socket.io server does (serveClient); --demo needs it")
	return w
}

// validate refuses a demo page without the bundle it loads.
func (w *webFlags) validate() error {
	if w.demo && !w.client {
		return usagef("--demo loads the client bundle that --serve-client=false turns off: use one of them")
	}
	return nil
}

// mount registers the page and bundle chosen on mux, beside the relay's
// path.
func (w *webFlags) mount(mux *http.ServeMux, path string) {
	switch {
	case w.demo:
		demo.Register(mux, demo.Config{Path: path, Chat: w.chat, GRPCAddr: w.grpcAddr})
	case w.client:
		demo.RegisterClient(mux, path)
	}
}

// chatRelay is the relay's OnEvent under --demo-chat: a "chat" from a
// client of "/" goes to every other client of "/" (the sender's page shows
// its own line already). srv is read when an event comes, once the server
// exists.
func chatRelay(srv **relay.Server) func(context.Context, *relay.Socket, relay.Event, relay.AckFunc) {
	return func(ctx context.Context, s *relay.Socket, ev relay.Event, ack relay.AckFunc) {
		if ev.Name == "chat" && s.Namespace() == "/" {
			_ = (*srv).Of("/").Except(s.ID()).Emit(ctx, "chat", ev.Values()...)
		}
	}
}
