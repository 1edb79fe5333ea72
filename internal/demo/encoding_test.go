package demo

import (
	"math"
	"strings"
	"testing"
)

// negotiationCases are Accept-Encoding headers and the encoding Node's
// socket.io picks for them (negotiator's rules), or, where Node picks br,
// the one the relay picks instead; node says which.
var negotiationCases = []struct {
	header []string
	want   string
	node   string // Node's pick when it differs (br)
}{
	{nil, "", ""},
	{[]string{""}, "", ""},
	{[]string{"identity"}, "", ""},
	{[]string{"gzip"}, "gzip", ""},
	{[]string{"GZip"}, "gzip", ""},
	{[]string{"deflate"}, "deflate", ""},
	{[]string{"gzip, deflate, br, zstd"}, "gzip", ""},           // Chrome, Firefox
	{[]string{"deflate, gzip, br, zstd"}, "deflate", ""},        // curl --compressed
	{[]string{"br, gzip"}, "gzip", "br"},                        // Node would send brotli
	{[]string{"*"}, "gzip", "br"},                               // the wildcard: candidate order
	{[]string{"gzip;q=0.5, deflate;q=0.8"}, "deflate", ""},      // q first
	{[]string{"gzip;q=0, *"}, "deflate", "br"},                  // gzip refused by name
	{[]string{"*;q=0.1, gzip;q=0.1"}, "gzip", ""},               // same q: the name beats "*"
	{[]string{"deflate;q=0.5, *;q=0.9"}, "gzip", "br"},          // the wildcard's q for br and gzip
	{[]string{"gzip;q=abc, deflate"}, "deflate", ""},            // NaN q: not acceptable
	{[]string{"gzip;q=0.5x"}, "gzip", ""},                       // parseFloat reads "0.5"
	{[]string{"gzip;q"}, "", ""},                                // q without a value: NaN
	{[]string{"gzip;level=1;q=0.2, deflate;q=0.1"}, "gzip", ""}, // other parameters ignored
	{[]string{"gzip", "deflate;q=2"}, "deflate", ""},            // headers joined, q above 1 kept
	{[]string{"deflate;q=0.5, deflate;q=0.9, gzip;q=0.7"}, "deflate", ""},
	{[]string{"deflate;q=0.9, deflate;q=0.5, gzip;q=0.7"}, "deflate", ""}, // most specific, then highest q
	{[]string{" ; , gzip ;q=1e400"}, "gzip", ""},                          // junk entries keep their place; Infinity
}

func TestNegotiateEncoding(t *testing.T) {
	for _, tt := range negotiationCases {
		if got := negotiateEncoding(tt.header); got != tt.want {
			t.Errorf("Accept-Encoding %q: %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestParseFloatJS(t *testing.T) {
	for s, want := range map[string]float64{
		"1": 1, "0.5": 0.5, " .5": 0.5, "5.": 5, "1e2": 100, "1e": 1, "-0.5x": -0.5, "+2": 2,
		"Infinity": math.Inf(1), "-Infinity": math.Inf(-1), "1e400": math.Inf(1),
	} {
		if got := parseFloatJS(s); got != want {
			t.Errorf("parseFloatJS(%q) = %v, want %v", s, got, want)
		}
	}
	for _, s := range []string{"", "x", ".", "e5", "inf", "NaN", "+"} {
		if got := parseFloatJS(s); !math.IsNaN(got) {
			t.Errorf("parseFloatJS(%q) = %v, want NaN", s, got)
		}
	}
}

// FuzzNegotiateEncoding: any header gives one of the encodings the relay
// implements, and white space around the commas changes nothing (entries
// are trimmed, as negotiator trims them).
func FuzzNegotiateEncoding(f *testing.F) {
	for _, tt := range negotiationCases {
		if len(tt.header) > 0 {
			f.Add(tt.header[0])
		}
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := negotiateEncoding([]string{h})
		if got != "" && got != "gzip" && got != "deflate" {
			t.Fatalf("Accept-Encoding %q: %q", h, got)
		}
		if spaced := negotiateEncoding([]string{strings.ReplaceAll(h, ",", " \t, ")}); spaced != got {
			t.Fatalf("Accept-Encoding %q: %q, but %q with spaces around its commas", h, got, spaced)
		}
	})
}
