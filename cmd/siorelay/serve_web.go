package main

import (
	"flag"
	"net/http"

	"github.com/siorelay/siorelay/internal/demo"
)

// webFlags choose what serve publishes over HTTP besides Socket.IO: the
// socket.io-client browser bundle, on by default as Node's serveClient,
// and the demo chat page, off unless asked for (`make run` asks).
type webFlags struct {
	demo   bool
	client bool
}

func registerWebFlags(fs *flag.FlagSet) *webFlags {
	w := &webFlags{}
	fs.BoolVar(&w.demo, "demo", false, "serve the demo chat page at / (for trying siorelay out; make run turns it on)")
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
		demo.Register(mux, path)
	case w.client:
		demo.RegisterClient(mux, path)
	}
}
