package demo

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"strings"
	"time"
)

//go:embed page.html
var pageSource string

var page = template.Must(template.New("page").Parse(pageSource))

// Config is what the page needs to know about the relay it is served by.
// The zero value describes a relay on "/socket.io/" that does not relay
// chat messages and has no gRPC EmitterService.
type Config struct {
	// Path is the relay's Socket.IO path; empty means "/socket.io/".
	Path string
	// Chat says that the relay passes each page's "chat" event on to the
	// other pages (serve --demo-chat); the page's hint says who sees what
	// is typed.
	Chat bool
	// GRPCAddr is the relay's gRPC EmitterService (serve --grpc-addr), for
	// the page's example command; empty means none.
	GRPCAddr string
}

// Handler serves the demo page at "/", and the socket.io browser client
// as a Node server does at path+"socket.io.js", "socket.io.min.js",
// "socket.io.esm.min.js" and their ".map" files, with its license at
// path+"socket.io.LICENSE" (path is cfg.Path, normalized). Any other
// request gets 404. Use [Register] to mount it beside the relay.
func Handler(cfg Config) http.Handler {
	path := normPath(cfg.Path)
	var html bytes.Buffer
	data := struct {
		Path     string
		Chat     bool
		GRPCAddr string
	}{path, cfg.Chat, cfg.GRPCAddr}
	if err := page.Execute(&html, data); err != nil {
		panic(err) // the template is fixed and its data plain strings
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(html.Bytes()))
	})
	for _, name := range clientNames {
		mux.HandleFunc("GET "+path+name, clientFiles[name].serve)
	}
	mux.HandleFunc("GET "+path+"socket.io.LICENSE", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(bundleLicense)
	})
	return mux
}

// Register mounts [Handler] on mux for the page ("GET /{$}") and the
// client bundle's exact paths, which take precedence over a pattern for
// cfg.Path itself (the relay's).
func Register(mux *http.ServeMux, cfg Config) {
	path := normPath(cfg.Path)
	h := Handler(cfg)
	mux.Handle("GET /{$}", h)
	for _, p := range clientPaths(path) {
		mux.Handle("GET "+p, h)
	}
}

// RegisterClient mounts only the socket.io browser client files (and its
// license) on mux under path, as [Handler] serves them, for a server whose
// page at "/" is another one. Those exact paths take precedence over a
// pattern for path itself.
func RegisterClient(mux *http.ServeMux, path string) {
	path = normPath(path)
	h := Handler(Config{Path: path})
	for _, p := range clientPaths(path) {
		mux.Handle("GET "+p, h)
	}
}

// ClientURL is where [Register] and [RegisterClient] serve the minified
// bundle for the relay path path.
func ClientURL(path string) string { return normPath(path) + "socket.io.min.js" }

func clientPaths(path string) []string {
	paths := []string{path + "socket.io.LICENSE"}
	for _, name := range clientNames {
		paths = append(paths, path+name)
	}
	return paths
}

func normPath(path string) string {
	if path == "" {
		path = "/socket.io/"
	}
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return path
}
