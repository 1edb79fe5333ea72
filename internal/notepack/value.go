package notepack

import (
	"cmp"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// maxDepth bounds nesting, so a cyclic value is an error instead of a stack
// overflow (encoding/json reports cycles at a similar depth).
const maxDepth = 1000

// UnsupportedTypeError is returned for a value with no JSON or msgpack form
// (a channel, a function, a complex number, a map with unusable keys).
type UnsupportedTypeError struct{ Type reflect.Type }

func (e *UnsupportedTypeError) Error() string {
	return "notepack: unsupported type " + e.Type.String()
}

// ErrTooDeep is returned for values nested deeper than 1000 levels, which in
// practice means a pointer cycle.
var ErrTooDeep = fmt.Errorf("notepack: value nested deeper than %d levels (a cycle?)", maxDepth)

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	numberType     = reflect.TypeFor[json.Number]()
	marshalerType  = reflect.TypeFor[json.Marshaler]()
	textMarshType  = reflect.TypeFor[encoding.TextMarshaler]()
	bytesType      = reflect.TypeFor[[]byte]()
)

// AppendValue appends the msgpack encoding of v.
//
// Values are named as encoding/json names them: struct fields by their json
// tags (with omitempty, omitzero, "-", ",string" and embedded-struct
// promotion), json.Marshaler and encoding.TextMarshaler are honoured, map
// keys are sorted (array-index keys first, numerically, as JavaScript orders
// an object's keys; the rest as encoding/json sorts them), and a nil slice,
// map or pointer is null.
// Unlike encoding/json, []byte is written as a msgpack bin (a Buffer in
// Node), json.RawMessage is decoded and written as the JSON value it holds,
// and NaN and ±Infinity are written as float64 as notepack does.
//
// On error, the returned slice is dst truncated to its original length.
func AppendValue(dst []byte, v any) ([]byte, error) { return Notepack.AppendValue(dst, v) }

// AppendValue is [AppendValue] with d's number rules.
func (d Dialect) AppendValue(dst []byte, v any) ([]byte, error) {
	n := len(dst)
	out, err := d.appendAny(dst, v, 0)
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

// appendAny handles the common dynamic types without reflection.
func (d Dialect) appendAny(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return AppendNil(dst), nil
	case string:
		return AppendString(dst, x), nil
	case bool:
		return AppendBool(dst, x), nil
	case int:
		return d.appendInt(dst, int64(x)), nil
	case int64:
		return d.appendInt(dst, x), nil
	case int32:
		return AppendInt(dst, int64(x)), nil
	case uint64:
		return d.appendUint(dst, x), nil
	case uint32:
		return AppendUint(dst, uint64(x)), nil
	case float64:
		return d.appendFloat(dst, x), nil
	case float32:
		return d.appendFloat(dst, float32To64(x)), nil
	case json.RawMessage:
		if x == nil {
			return AppendNil(dst), nil
		}
		return d.AppendJSON(dst, x)
	case []byte:
		if x == nil {
			return AppendNil(dst), nil
		}
		return AppendBinary(dst, x), nil
	case []any:
		if x == nil {
			return AppendNil(dst), nil
		}
		if depth >= maxDepth {
			return dst, ErrTooDeep
		}
		dst = AppendArrayHeader(dst, len(x))
		var err error
		for _, e := range x {
			if dst, err = d.appendAny(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case []string:
		if x == nil {
			return AppendNil(dst), nil
		}
		dst = AppendArrayHeader(dst, len(x))
		for _, s := range x {
			dst = AppendString(dst, s)
		}
		return dst, nil
	case map[string]any:
		if x == nil {
			return AppendNil(dst), nil
		}
		if depth >= maxDepth {
			return dst, ErrTooDeep
		}
		dst = AppendMapHeader(dst, len(x))
		var err error
		var keyBuf [16]string
		for _, k := range sortedKeys(keyBuf[:0], x) {
			dst = AppendString(dst, k)
			if dst, err = d.appendAny(dst, x[k], depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	return d.appendReflect(dst, reflect.ValueOf(v), depth)
}

// sortedKeys appends m's keys to keys (a caller's small array, so small
// maps need no allocation) in the order compareKeys gives.
func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys
}

// compareKeys orders map keys as a JavaScript object built from the sorted
// keys would list them: array-index keys first in numeric order, then the
// others in encoding/json's (byte-wise) order. Node then sees exactly the
// object a Node peer would have sent.
func compareKeys(a, b string) int {
	ai, aIdx := arrayIndex([]byte(a))
	bi, bIdx := arrayIndex([]byte(b))
	switch {
	case aIdx && bIdx:
		return cmp.Compare(ai, bi)
	case aIdx:
		return -1
	case bIdx:
		return 1
	}
	return strings.Compare(a, b)
}

// float32To64 widens f the way encoding/json prints it: float32(0.1) is 0.1,
// not 0.10000000149011612.
func float32To64(f float32) float64 {
	if f != f || math.IsInf(float64(f), 0) {
		return float64(f)
	}
	g, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return g
}

func (d Dialect) appendReflect(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return dst, ErrTooDeep
	}
	if !v.IsValid() {
		return AppendNil(dst), nil
	}
	t := v.Type()
	// Marshalers first, exactly where encoding/json would call them.
	if t.Kind() != reflect.Pointer || !v.IsNil() {
		if t == rawMessageType {
			if v.IsNil() {
				return AppendNil(dst), nil
			}
			return d.AppendJSON(dst, v.Bytes())
		}
		if t == numberType {
			return d.appendJSONNumber(dst, v.String())
		}
		if t.Implements(marshalerType) {
			return d.appendMarshaler(dst, v.Interface().(json.Marshaler))
		}
		if v.CanAddr() && reflect.PointerTo(t).Implements(marshalerType) {
			return d.appendMarshaler(dst, v.Addr().Interface().(json.Marshaler))
		}
		if t.Implements(textMarshType) {
			return appendTextMarshaler(dst, v.Interface().(encoding.TextMarshaler))
		}
		if v.CanAddr() && reflect.PointerTo(t).Implements(textMarshType) {
			return appendTextMarshaler(dst, v.Addr().Interface().(encoding.TextMarshaler))
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return AppendBool(dst, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return d.appendInt(dst, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return d.appendUint(dst, v.Uint()), nil
	case reflect.Float32:
		return d.appendFloat(dst, float32To64(float32(v.Float()))), nil
	case reflect.Float64:
		return d.appendFloat(dst, v.Float()), nil
	case reflect.String:
		return AppendString(dst, v.String()), nil
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return AppendNil(dst), nil
		}
		return d.appendReflect(dst, v.Elem(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			return AppendNil(dst), nil
		}
		if t.Elem().Kind() == reflect.Uint8 && !elemIsMarshaler(t.Elem()) {
			return AppendBinary(dst, v.Bytes()), nil
		}
		return d.appendList(dst, v, depth)
	case reflect.Array:
		// Like encoding/json, a fixed-size array (even [N]byte) is a list.
		return d.appendList(dst, v, depth)
	case reflect.Map:
		if v.IsNil() {
			return AppendNil(dst), nil
		}
		return d.appendMap(dst, v, depth)
	case reflect.Struct:
		return d.appendStruct(dst, v, depth)
	}
	return dst, &UnsupportedTypeError{Type: t}
}

func elemIsMarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(marshalerType) || pt.Implements(marshalerType) ||
		t.Implements(textMarshType) || pt.Implements(textMarshType)
}

func (d Dialect) appendList(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	n := v.Len()
	dst = AppendArrayHeader(dst, n)
	var err error
	for i := 0; i < n; i++ {
		if dst, err = d.appendReflect(dst, v.Index(i), depth+1); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendMap writes a map with keys named and sorted as encoding/json does.
func (d Dialect) appendMap(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	type kv struct {
		key string
		val reflect.Value
	}
	kt := v.Type().Key()
	pairs := make([]kv, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := mapKeyString(it.Key(), kt)
		if err != nil {
			return dst, err
		}
		pairs = append(pairs, kv{k, it.Value()})
	}
	slices.SortFunc(pairs, func(a, b kv) int { return compareKeys(a.key, b.key) })
	dst = AppendMapHeader(dst, len(pairs))
	var err error
	for _, p := range pairs {
		dst = AppendString(dst, p.key)
		if dst, err = d.appendReflect(dst, p.val, depth+1); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func mapKeyString(k reflect.Value, kt reflect.Type) (string, error) {
	if kt.Kind() == reflect.String {
		return k.String(), nil
	}
	if kt.Implements(textMarshType) {
		if kt.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := k.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return "", fmt.Errorf("notepack: map key %v: %w", kt, err)
		}
		return string(b), nil
	}
	switch kt.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", &UnsupportedTypeError{Type: reflect.MapOf(kt, reflect.TypeFor[any]())}
}

func (d Dialect) appendMarshaler(dst []byte, m json.Marshaler) ([]byte, error) {
	b, err := m.MarshalJSON()
	if err != nil {
		return dst, fmt.Errorf("notepack: MarshalJSON of %T: %w", m, err)
	}
	out, err := d.AppendJSON(dst, b)
	if err != nil {
		return dst, fmt.Errorf("notepack: MarshalJSON of %T returned invalid JSON: %w", m, err)
	}
	return out, nil
}

func appendTextMarshaler(dst []byte, m encoding.TextMarshaler) ([]byte, error) {
	b, err := m.MarshalText()
	if err != nil {
		return dst, fmt.Errorf("notepack: MarshalText of %T: %w", m, err)
	}
	return AppendString(dst, string(b)), nil
}

func (d Dialect) appendJSONNumber(dst []byte, s string) ([]byte, error) {
	if s == "" {
		// encoding/json writes an empty Number as 0.
		return AppendUint(dst, 0), nil
	}
	if !isJSONNumber([]byte(s)) {
		return dst, fmt.Errorf("notepack: invalid json.Number %q", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return dst, fmt.Errorf("notepack: invalid json.Number %q", s)
	}
	return d.appendFloat(dst, f), nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
