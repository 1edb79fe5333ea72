package jwtauth

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/siorelay/siorelay/relay"
)

// source is one place a token may be found.
type source struct {
	kind string // "auth", "header" or "query"
	name string
}

func parseSource(s string) (source, error) {
	var src source
	switch {
	case strings.HasPrefix(s, "auth."):
		src = source{"auth", s[len("auth."):]}
	case strings.HasPrefix(s, "header:"):
		src = source{"header", s[len("header:"):]}
	case strings.HasPrefix(s, "query:"):
		src = source{"query", s[len("query:"):]}
	default:
		return source{}, fmt.Errorf("jwtauth: token source %q: want auth.<field>, header:<name> or query:<name>", s)
	}
	if src.name == "" {
		return source{}, fmt.Errorf("jwtauth: token source %q: empty name", s)
	}
	return src, nil
}

// tokenOf returns the token of the first source that has one, or "".
func (v *Verifier) tokenOf(h *relay.Handshake) string {
	var auth map[string]json.RawMessage
	authRead := false
	for _, src := range v.from {
		var tok string
		switch src.kind {
		case "auth":
			if !authRead {
				authRead = true
				_ = json.Unmarshal(h.Auth, &auth) // not an object: no field
			}
			if raw, ok := auth[src.name]; ok {
				_ = json.Unmarshal(raw, &tok) // not a string: no token
			}
		case "header":
			tok = strings.TrimSpace(h.Header.Get(src.name))
			if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
				tok = strings.TrimSpace(tok[7:])
			} else if strings.ContainsAny(tok, " \t") {
				tok = "" // another scheme (Basic ...)
			}
		case "query":
			tok = h.Query.Get(src.name)
		}
		if tok != "" {
			return tok
		}
	}
	return ""
}
