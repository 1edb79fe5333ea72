// Package demo is the relay's demo page: a small chat at "/" that loads the
// stock socket.io browser client from the relay itself and shows the events
// it receives, so a newcomer sees events sent with `siorelay emit` or the
// gRPC EmitterService arrive in a browser. `siorelay serve` mounts the
// page only with --demo (make run sets it), and the bundle alone otherwise
// (unless --serve-client=false).
//
// It also serves the official socket.io-client 4.8.4 browser bundle the way
// a Node socket.io server does (serveClient), at <path>socket.io.js and
// <path>socket.io.min.js, embedded in the binary (see client/README.md for
// its origin and license).
//
// Typical use, next to the relay on one mux (Go 1.22 patterns: the bundle's
// exact paths take precedence over the relay's path prefix):
//
//	mux.Handle(path, relaySrv)
//	demo.Register(mux, path)
//
// [RegisterClient] mounts the bundle alone, for a server whose page at "/"
// comes from elsewhere (for example relay/demo's page, pointed at
// [ClientURL] instead of a CDN).
//
// The page connects to the relay's main namespace, lists every event it
// receives (a "chat" event with a string, or an object with "text" and
// optionally "user", is shown as a chat line) and sends what is typed in its
// text box as a "chat" event, which the relay hands to its hooks (they
// decide whether other pages see it).
//
// Concurrency: the handlers are stateless and safe for concurrent use.
package demo
