package demo

import (
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// negotiateEncoding picks the Content-Encoding of a client file for the
// request's Accept-Encoding header values as Node's socket.io does:
// accepts(req).encodings(["br", "gzip", "deflate"]), which is negotiator
// 0.6's preferredEncodings. Among the candidates that the header allows
// with q > 0 (by name or "*"; for each, the most specific, then highest q,
// then last matching entry counts), the first by q, then exact name over
// "*", then position in the header, then candidate order. Brotli is not
// implemented (the standard library has no encoder): where Node would
// pick "br", the next candidate is taken. "" means identity.
func negotiateEncoding(header []string) string {
	specs := parseAcceptEncoding(strings.Join(header, ", "))
	type choice struct {
		name string
		i    int // candidate order
		encodingSpec
		s int // specificity: 1 for the name itself, 0 for "*"
	}
	var choices []choice
	for i, name := range []string{"br", "gzip", "deflate"} {
		best := choice{name: name, i: i, encodingSpec: encodingSpec{q: 0, o: -1}}
		for _, sp := range specs {
			s := 0
			if strings.EqualFold(sp.name, name) {
				s = 1
			} else if sp.name != "*" {
				continue
			}
			// negotiator: (priority.s - spec.s || priority.q - spec.q ||
			// priority.o - spec.o) < 0, where a NaN difference is falsy.
			d := float64(best.s - s)
			if d == 0 {
				d = best.q - sp.q
				if d == 0 || math.IsNaN(d) {
					d = float64(best.o - sp.o)
				}
			}
			if d < 0 {
				best.encodingSpec, best.s = sp, s
			}
		}
		if best.q > 0 { // false for NaN
			choices = append(choices, best)
		}
	}
	slices.SortStableFunc(choices, func(a, b choice) int {
		switch {
		case a.q != b.q:
			if a.q > b.q {
				return -1
			}
			return 1
		case a.s != b.s:
			return b.s - a.s
		case a.o != b.o:
			return a.o - b.o
		}
		return a.i - b.i
	})
	for _, c := range choices {
		if c.name != "br" {
			return c.name
		}
	}
	return ""
}

// encodingSpec is one entry of an Accept-Encoding header.
type encodingSpec struct {
	name string
	q    float64 // may be NaN, as JavaScript's parseFloat gives
	o    int     // position in the header
}

// encodingEntry is negotiator's simpleEncodingRegExp.
var encodingEntry = regexp.MustCompile(`^\s*([^\s;]+)\s*(?:;(.*))?$`)

// parseAcceptEncoding splits an Accept-Encoding header as negotiator
// does; entries that do not parse are skipped but keep their position.
func parseAcceptEncoding(header string) []encodingSpec {
	var specs []encodingSpec
	for i, part := range strings.Split(header, ",") {
		m := encodingEntry.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			continue
		}
		sp := encodingSpec{name: m[1], q: 1, o: i}
		if m[2] != "" {
			for _, p := range strings.Split(m[2], ";") {
				kv := strings.Split(strings.TrimSpace(p), "=")
				if kv[0] == "q" {
					sp.q = math.NaN()
					if len(kv) > 1 {
						sp.q = parseFloatJS(kv[1])
					}
					break
				}
			}
		}
		specs = append(specs, sp)
	}
	return specs
}

// jsFloatPrefix is the longest prefix JavaScript's parseFloat reads.
var jsFloatPrefix = regexp.MustCompile(`^[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)`)

// parseFloatJS is JavaScript's parseFloat: the number at the start of s
// (after white space), NaN if there is none.
func parseFloatJS(s string) float64 {
	m := jsFloatPrefix.FindString(strings.TrimLeft(s, " \t\n\v\f\r\u00a0\ufeff"))
	if m == "" {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(m, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return math.NaN()
	}
	return f // ±Inf beyond float64's range, as in JavaScript
}
