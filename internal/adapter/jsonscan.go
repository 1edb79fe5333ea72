package adapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/siorelay/siorelay/internal/jsjson"
)

// Walking the adapters' JSON messages with jsjson's walkers: an object's
// keys are read exactly as JSON.parse reads them (encoding/json would match
// struct fields case-insensitively, taking {"pACket": …} for "packet"), and
// the text is validated once (jsjson.Valid) instead of once per level of
// nested json.Unmarshal calls.

var errJSON = errors.New("invalid JSON")

// eachField calls fn for every key of the JSON object b, which must be
// valid JSON, with the key unescaped and the value's raw bytes. A repeated
// key is reported each time, so the last one wins, as in JavaScript.
func eachField(b []byte, fn func(key string, val []byte) error) error {
	i := jsjson.SkipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errJSON
	}
	for i = jsjson.SkipSpace(b, i+1); i < len(b) && b[i] == '"'; {
		end := jsjson.SkipString(b, i)
		key, err := jsonString(b[i:end])
		if err != nil {
			return err
		}
		start := jsjson.SkipSpace(b, jsjson.SkipSpace(b, end)+1) // past ':'
		end = jsjson.SkipValue(b, start)
		if start > end {
			return errJSON
		}
		if err := fn(key, b[start:end]); err != nil {
			return err
		}
		if i = jsjson.SkipSpace(b, end); i < len(b) && b[i] == ',' {
			i = jsjson.SkipSpace(b, i+1)
		}
	}
	return nil
}

// eachElement calls fn for every element of the JSON array b, which must
// be valid JSON.
func eachElement(b []byte, fn func(val []byte) error) error {
	i := jsjson.SkipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return errJSON
	}
	for i = jsjson.SkipSpace(b, i+1); i < len(b) && b[i] != ']'; {
		end := jsjson.SkipValue(b, i)
		if end <= i {
			return errJSON
		}
		if err := fn(b[i:end]); err != nil {
			return err
		}
		if i = jsjson.SkipSpace(b, end); i < len(b) && b[i] == ',' {
			i = jsjson.SkipSpace(b, i+1)
		}
	}
	return nil
}

// jsonString decodes a JSON string literal, copying it only once when it
// has neither escapes nor invalid UTF-8 (which become U+FFFD, as in Node).
func jsonString(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", errJSON
	}
	if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errJSON
	}
	return s, nil
}
