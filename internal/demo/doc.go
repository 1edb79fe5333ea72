// Package demo is the relay's demo page: a small chat at "/" that loads the
// stock socket.io browser client from the relay itself and shows the events
// it receives, so a newcomer sees events sent with `siorelay emit` or the
// gRPC EmitterService arrive in a browser. `siorelay serve` mounts the
// page only with --demo (make run sets it), and the bundle alone otherwise
// (unless --serve-client=false).
//
// It also serves the official socket.io-client 4.8.4 browser client the
// way a Node socket.io server does (serveClient): at <path>socket.io.js
// the unminified build, at socket.io.min.js and socket.io.esm.min.js the
// minified ones, and each one's .map, embedded in the binary (see
// client/README.md for their origin and license), with Node's headers
// (ETag "4.8.4", 304 for If-None-Match, Cache-Control public, max-age=0)
// and Node's choice of gzip or deflate (Node's brotli excepted).
//
// Typical use, next to the relay on one mux (Go 1.22 patterns: the bundle's
// exact paths take precedence over the relay's path prefix):
//
//	mux.Handle(path, relaySrv)
//	demo.Register(mux, demo.Config{Path: path, Chat: true, GRPCAddr: "127.0.0.1:50051"})
//
// [RegisterClient] mounts the bundle alone, for a server whose page at "/"
// comes from elsewhere (for example relay/demo's page, pointed at
// [ClientURL] instead of a CDN).
//
// The page connects to the relay's main namespace under a random guest
// name, lists every event it receives (a "chat" event with an object with
// "text" and "user" is a chat line by that author, one with a string a
// line from the server) and sends what is typed in its text box as a
// "chat" event {user, text}, showing it at once as its own line. With
// Config.Chat the relay passes that event on to the other pages (serve
// --demo-chat broadcasts it to every client of "/" but the sender, so
// nobody sees their own line twice); otherwise the hint says that a
// backend decides. With Config.GRPCAddr the hint shows the `siorelay emit
// --grpc` command that reaches the page.
//
// Concurrency: the handlers are safe for concurrent use. Each client
// file compresses itself once per encoding, on first demand, under a
// sync.Once; nothing else is shared or locked.
package demo
