package jwtauth

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// template is a parsed room template: literal text and claim names,
// alternating; parts[i] is a claim name when i is odd.
type template struct {
	text  string
	parts []string
}

func parseTemplate(s string) (template, error) {
	t := template{text: s}
	rest := s
	for {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			t.parts = append(t.parts, rest)
			break
		}
		if rest[i] == '}' {
			return template{}, fmt.Errorf("jwtauth: room template %q: } without {", s)
		}
		t.parts = append(t.parts, rest[:i])
		rest = rest[i+1:]
		j := strings.IndexAny(rest, "{}")
		if j < 0 || rest[j] == '{' {
			return template{}, fmt.Errorf("jwtauth: room template %q: { without }", s)
		}
		if j == 0 {
			return template{}, fmt.Errorf("jwtauth: room template %q: empty claim name", s)
		}
		t.parts = append(t.parts, rest[:j])
		rest = rest[j+1:]
	}
	if len(t.parts) == 1 && t.parts[0] == "" {
		return template{}, fmt.Errorf("jwtauth: empty room template")
	}
	return t, nil
}

// Rooms returns the rooms of [Config.Rooms] for claims, without
// duplicates, in template order. It fails when there are more than
// [Config.MaxRooms].
func (v *Verifier) Rooms(claims map[string]any) ([]string, error) {
	var rooms []string
	for _, t := range v.rooms {
		out := []string{""}
		for i, p := range t.parts {
			if i%2 == 0 {
				for j := range out {
					out[j] += p
				}
				continue
			}
			vals := claimStrings(lookup(claims, p))
			if len(vals) == 0 {
				out = nil
				break
			}
			if len(out)*len(vals) > v.cfg.MaxRooms {
				return nil, fmt.Errorf("%w: room template %q gives more than %d rooms", ErrInvalidToken, t.text, v.cfg.MaxRooms)
			}
			next := make([]string, 0, len(out)*len(vals))
			for _, o := range out {
				for _, x := range vals {
					next = append(next, o+x)
				}
			}
			out = next
		}
		for _, r := range out {
			if !slices.Contains(rooms, r) {
				if len(rooms) == v.cfg.MaxRooms {
					return nil, fmt.Errorf("%w: more than %d rooms", ErrInvalidToken, v.cfg.MaxRooms)
				}
				rooms = append(rooms, r)
			}
		}
	}
	return rooms, nil
}

// lookup finds claim name: a top-level claim, or else a dotted path
// through objects.
func lookup(claims map[string]any, name string) any {
	if v, ok := claims[name]; ok {
		return v
	}
	var cur any = claims
	for p := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[p]; !ok {
			return nil
		}
	}
	return cur
}

// claimStrings is the room-name values of a claim: a non-empty string or
// a number gives one; an array gives those of its elements; anything else
// none.
func claimStrings(v any) []string {
	switch v := v.(type) {
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := scalarString(e); ok && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	case []string:
		var out []string
		for _, e := range v {
			if e != "" && !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
		return out
	}
	if s, ok := scalarString(v); ok {
		return []string{s}
	}
	return nil
}

func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, v != ""
	case json.Number:
		return v.String(), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	}
	return "", false
}
