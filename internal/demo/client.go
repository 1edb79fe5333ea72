package demo

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"embed"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// ClientVersion is the version of the embedded socket.io-client build.
const ClientVersion = "4.8.4"

// The browser build of socket.io-client, as the socket.io server package
// ships it (client-dist, byte-identical to socket.io-client's dist): what
// a Node server serves under its path when serveClient is on. The msgpack
// build is left out: the relay speaks the default parser only.
//
//go:embed client/socket.io.js client/socket.io.js.map client/socket.io.min.js client/socket.io.min.js.map client/socket.io.esm.min.js client/socket.io.esm.min.js.map
var clientFS embed.FS

//go:embed client/LICENSE
var bundleLicense []byte

// clientNames are the files served at <path><name>, as Node's CLIENT_FILES
// less the msgpack build.
var clientNames = []string{
	"socket.io.js", "socket.io.js.map",
	"socket.io.min.js", "socket.io.min.js.map",
	"socket.io.esm.min.js", "socket.io.esm.min.js.map",
}

// clientFile is one file of the build with its compressed forms, each
// made once on first request: embed.FS.ReadFile copies, and commands that
// never serve the bundle should not hold its ~0.9 MB.
type clientFile struct {
	name  string
	ctype string

	dataOnce, gzipOnce, deflateOnce sync.Once
	data, gzipped, deflated         []byte // set once by their sync.Once
}

var clientFiles = func() map[string]*clientFile {
	m := make(map[string]*clientFile, len(clientNames))
	for _, name := range clientNames {
		ctype := "application/javascript; charset=utf-8"
		if strings.HasSuffix(name, ".map") {
			ctype = "application/json; charset=utf-8"
		}
		m[name] = &clientFile{name: name, ctype: ctype}
	}
	return m
}()

// body returns the file as built.
func (f *clientFile) body() []byte {
	f.dataOnce.Do(func() {
		data, err := clientFS.ReadFile("client/" + f.name)
		if err != nil {
			panic(err) // embedded above
		}
		f.data = data
	})
	return f.data
}

// encoded returns the file's body in encoding ("" for identity).
func (f *clientFile) encoded(encoding string) []byte {
	switch encoding {
	case "gzip":
		f.gzipOnce.Do(func() {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write(f.body())
			w.Close()
			f.gzipped = b.Bytes()
		})
		return f.gzipped
	case "deflate":
		f.deflateOnce.Do(func() {
			var b bytes.Buffer
			w := zlib.NewWriter(&b) // Node's createDeflate: the zlib format
			w.Write(f.body())
			w.Close()
			f.deflated = b.Bytes()
		})
		return f.deflated
	}
	return f.body()
}

// etag is what a Node socket.io server sends for the client files: the
// client version, quoted.
const etag = `"` + ClientVersion + `"`

// serve answers as socket.io's Server.serve does: 304 for a matching
// If-None-Match (strong or weak, compared as Node compares: the whole
// header), else the file with Cache-Control "public, max-age=0", its
// Content-Type, the ETag, and the encoding Node would pick (see
// negotiateEncoding). Two additions Node lacks, which HTTP caches need:
// the 304 carries the ETag and Cache-Control a 200 would, and every answer
// says Vary: Accept-Encoding.
func (f *clientFile) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=0")
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding")
	if inm := r.Header.Get("If-None-Match"); inm == etag || inm == "W/"+etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	enc := negotiateEncoding(r.Header.Values("Accept-Encoding"))
	body := f.encoded(enc)
	h.Set("Content-Type", f.ctype)
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
