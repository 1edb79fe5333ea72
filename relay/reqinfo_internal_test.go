package relay

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"reflect"
	"strings"
	"testing"
)

// handshakeHeaderWant is what a Handshake's Header must be for r: its
// headers and Host, as textproto reads them back.
func handshakeHeaderWant(r *http.Request) http.Header {
	want := r.Header.Clone()
	if r.Host != "" {
		want["Host"] = []string{r.Host}
	}
	return want
}

func TestHandshakeHeaderLines(t *testing.T) {
	r := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket&a=1&a=2", nil)
	r.RemoteAddr = "10.0.0.7:51234"
	r.Header.Add("Cookie", "a=1; b=2")
	r.Header.Add("X-Forwarded-For", "1.2.3.4")
	r.Header.Add("X-Forwarded-For", "5.6.7.8")
	r.Header.Add("X-Empty", "")
	r.Header.Add("X-Colon", "a: b: c")
	r.Header.Add("Origin", "https://example.com")
	h := newReqInfo(r).handshake("/", "sid", nil)
	if want := handshakeHeaderWant(r); !reflect.DeepEqual(h.Header, want) {
		t.Fatalf("Header %v, want %v", h.Header, want)
	}
	if h.Address != "10.0.0.7:51234" || h.URL != "/socket.io/?EIO=4&transport=websocket&a=1&a=2" || !h.XDomain {
		t.Fatalf("handshake %+v", h)
	}
	if got := h.Query["a"]; !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Fatalf("query a = %v", got)
	}
}

// FuzzHandshakeHeaderLines: whatever headers net/http accepted, the
// Handshake gives them back unchanged, as textproto would read them.
func FuzzHandshakeHeaderLines(f *testing.F) {
	f.Add("Cookie: a=1\r\nX-A: 1\r\nX-A: 2\r\nX-Empty: \r\n")
	f.Add("X-Colon: a: b\r\n")
	f.Fuzz(func(t *testing.T, lines string) {
		mh, err := textproto.NewReader(bufio.NewReader(strings.NewReader(lines + "\r\n"))).ReadMIMEHeader()
		if err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header = http.Header(mh)
		for k, vs := range r.Header {
			for _, v := range vs {
				// net/http refuses these on the wire: a relay never sees them.
				if strings.ContainsAny(v, "\r\n") || !validHeaderKey(k) {
					return
				}
			}
		}
		h := newReqInfo(r).handshake("/", "sid", nil)
		if want := handshakeHeaderWant(r); !reflect.DeepEqual(h.Header, want) {
			t.Fatalf("Header %q, want %q", h.Header, want)
		}
	})
}

// validHeaderKey reports a header name net/http would accept.
func validHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
