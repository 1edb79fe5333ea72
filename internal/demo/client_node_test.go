package demo

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/nodetest"
)

// answer is what a server answered, reduced to what the comparison needs.
type answer struct {
	status int
	header http.Header
	body   []byte // decoded from its Content-Encoding
}

func fetch(t *testing.T, method, url string, header http.Header) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	// No transparent gzip: the test sets Accept-Encoding itself.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		if r, err = gzip.NewReader(r); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	case "deflate":
		if r, err = zlib.NewReader(r); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	case "br":
		// Node's brotli, which the relay does not implement: compared by
		// the relay's choice instead (see negotiationCases).
		r = bytes.NewReader(nil)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return answer{resp.StatusCode, resp.Header, body}
}

// transportHeaders differ between any two HTTP servers and say nothing
// about the files.
var transportHeaders = []string{"Date", "Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length"}

// TestClientFilesLikeNode serves the client files beside a real Node
// socket.io 4.8.4 server (clients/compat/serve-client.js, serveClient on)
// and asks both the same: socket.io.js with the Accept-Encoding headers of
// negotiationCases, every file with the common ones, If-None-Match
// (strong, weak, stale) and HEAD. Status,
// decoded bytes and every header Node sends must match; the relay may add
// only Vary: Accept-Encoding, and on a 304 the ETag and Cache-Control
// that HTTP wants there (Node sends none). Where Node answers with brotli,
// the relay answers with the encoding negotiationCases names.
func TestClientFilesLikeNode(t *testing.T) {
	node := nodetest.StartProc(t, "serve-client.js", map[string]any{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := node.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "listening" })
	if err != nil {
		t.Fatal(err)
	}
	nodeURL := fmt.Sprintf("http://127.0.0.1:%s/socket.io/", l.Field("port"))
	mux := http.NewServeMux()
	RegisterClient(mux, "/socket.io/")
	relay := httptest.NewServer(mux)
	defer relay.Close()
	relayURL := relay.URL + "/socket.io/"

	type request struct {
		method string
		header http.Header
		relay  string // the relay's Content-Encoding where Node sends br
		node   string // Node's Content-Encoding, for negotiationCases
	}
	var requests []request
	for _, c := range negotiationCases {
		h := http.Header{}
		for _, v := range c.header {
			h.Add("Accept-Encoding", v)
		}
		node := c.want
		if c.node != "" {
			node = c.node
		}
		requests = append(requests, request{http.MethodGet, h, c.want, node})
	}
	for _, inm := range []string{`"4.8.4"`, `W/"4.8.4"`, `"4.8.3"`, `"4.8.4", W/"4.8.4"`} {
		requests = append(requests, request{http.MethodGet, http.Header{"If-None-Match": {inm}, "Accept-Encoding": {"gzip"}}, "", "gzip"})
	}
	requests = append(requests, request{http.MethodHead, http.Header{}, "", ""})

	// Every request for socket.io.js; for the other files, the first
	// requests (identity, gzip, deflate, a browser's), If-None-Match and
	// HEAD, which is enough to show their types, bytes and headers.
	few := slices.Concat(requests[2:7], requests[len(negotiationCases):])
	for _, name := range clientNames {
		rqs := few
		if name == "socket.io.js" {
			rqs = requests
		}
		for _, rq := range rqs {
			what := fmt.Sprintf("%s %s %v", rq.method, name, rq.header)
			n := fetch(t, rq.method, nodeURL+name, rq.header)
			r := fetch(t, rq.method, relayURL+name, rq.header)
			if n.status != r.status {
				t.Errorf("%s: status %d, Node %d", what, r.status, n.status)
				continue
			}
			if got := n.header.Get("Content-Encoding"); n.status == http.StatusOK && got != rq.node {
				t.Errorf("%s: Node chose Content-Encoding %q, negotiationCases says %q", what, got, rq.node)
			}
			if n.status == http.StatusOK && rq.method == http.MethodGet && (len(n.body) == 0 || !bytes.Equal(n.body, clientFiles[name].body())) &&
				n.header.Get("Content-Encoding") != "br" {
				t.Fatalf("%s: Node served %d bytes, not the embedded %d", what, len(n.body), len(clientFiles[name].body()))
			}
			if !bytes.Equal(r.body, n.body) && n.header.Get("Content-Encoding") != "br" {
				t.Errorf("%s: %d bytes, Node %d", what, len(r.body), len(n.body))
			}
			for k, v := range n.header {
				if slices.Contains(transportHeaders, k) {
					continue
				}
				got := r.header.Values(k)
				if k == "Content-Encoding" && v[0] == "br" {
					if want := rq.relay; r.header.Get(k) != want {
						t.Errorf("%s: Content-Encoding %q where Node sends br, want %q", what, got, want)
					}
					continue
				}
				if !slices.Equal(got, v) {
					t.Errorf("%s: %s %q, Node %q", what, k, got, v)
				}
			}
			extra := []string{"Vary"}
			if n.status == http.StatusNotModified {
				extra = append(extra, "Etag", "Cache-Control")
			}
			for k, v := range r.header {
				if _, both := n.header[k]; !both && !slices.Contains(transportHeaders, k) && !(slices.Contains(extra, k) && strings.Join(v, ",") != "") {
					if !(k == "Content-Encoding" && n.header.Get(k) == "br") {
						t.Errorf("%s: the relay adds %s: %q", what, k, v)
					}
				}
			}
			if got := r.header.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("%s: Vary %q", what, got)
			}
		}
	}
}
