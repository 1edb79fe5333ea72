// Package demo serves a small chat page that uses the stock socket.io-client
// against a relay: every event the page's socket receives is listed, and the
// form emits "chat". It is what `siorelay serve` shows at "/".
//
// Typical use:
//
//	mux.Handle("/socket.io/", srv)
//	mux.Handle("/{$}", demo.Handler(demo.DefaultClientURL, "/socket.io/"))
//
// The page loads the socket.io-client browser bundle from clientURL (the
// relay does not ship a copy of it). Handler is safe for concurrent use.
package demo

import (
	_ "embed"
	"html/template"
	"net/http"
)

// DefaultClientURL is the socket.io-client 4.8.4 browser bundle on a public
// CDN (jsDelivr mirrors the npm package).
const DefaultClientURL = "https://cdn.jsdelivr.net/npm/socket.io-client@4.8.4/dist/socket.io.min.js"

//go:embed index.html
var page string

var tmpl = template.Must(template.New("demo").Parse(page))

// Handler returns the handler of the demo page. clientURL is where the page
// loads socket.io-client from; path is the relay's Engine.IO path (for
// example "/socket.io/").
func Handler(clientURL, path string) http.Handler {
	data := struct{ ClientURL, Path string }{clientURL, path}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_ = tmpl.Execute(w, data)
	})
}
