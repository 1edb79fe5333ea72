package nodetest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// Bin is binary data as the scripts exchange it: JSON {"$bin":"<base64>"}.
// The Node side turns the marker into a Buffer, and every Buffer, ArrayBuffer
// or typed array it prints back into the marker. Top-level []byte arguments of
// this package's methods are converted to Bin automatically; use Bin for
// binary nested inside other values.
type Bin []byte

// MarshalJSON encodes b as {"$bin":"<base64>"}.
func (b Bin) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, len(`{"$bin":""}`)+base64.StdEncoding.EncodedLen(len(b)))
	out = append(out, `{"$bin":"`...)
	out = base64.StdEncoding.AppendEncode(out, b)
	return append(out, `"}`...), nil
}

// UnmarshalJSON decodes {"$bin":"<base64>"}.
func (b *Bin) UnmarshalJSON(data []byte) error {
	var m struct {
		Bin *string `json:"$bin"`
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Bin == nil {
		return fmt.Errorf("nodetest: not a $bin marker: %s", data)
	}
	v, err := base64.StdEncoding.DecodeString(*m.Bin)
	if err != nil {
		return fmt.Errorf("nodetest: $bin: %w", err)
	}
	*b = v
	return nil
}

// Decode parses JSON as printed by the scripts into Go values for comparison:
// objects become map[string]any, arrays []any, numbers json.Number (so the
// exact text Node printed is kept: 1.5, 4294967296, -0 prints as 0), and
// {"$bin":...} markers []byte.
func Decode(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("nodetest: decode %s: %w", raw, err)
	}
	if d.More() {
		return nil, errors.New("nodetest: decode: trailing data")
	}
	return unmarkBin(v)
}

// DecodeArgs decodes each element with [Decode].
func DecodeArgs(args []json.RawMessage) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		v, err := Decode(a)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func unmarkBin(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			var err error
			if x[i], err = unmarkBin(e); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		if s, ok := x["$bin"].(string); ok && len(x) == 1 {
			return base64.StdEncoding.DecodeString(s)
		}
		for k, e := range x {
			var err error
			if x[k], err = unmarkBin(e); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// markBin converts []byte found in args, []any and map[string]any values to
// Bin, so callers can pass plain byte slices.
func markBin(v any) any {
	switch x := v.(type) {
	case []byte:
		return Bin(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = markBin(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = markBin(e)
		}
		return out
	}
	return v
}

func markArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = markBin(a)
	}
	return out
}
