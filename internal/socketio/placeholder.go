package socketio

import (
	"strconv"

	"github.com/siorelay/siorelay/internal/jsjson"
)

// maxReconstructDepth bounds the nesting of a binary packet's payload. Node's
// reconstructPacket recurses once per level and overflows its call stack at
// about 5200 levels (Node 20, default stack), throwing "Maximum call stack
// size exceeded"; ErrTooDeep mirrors that.
const maxReconstructDepth = 5000

// AppendPlaceholder appends the JSON object that stands for attachment num in
// a binary packet, with the key order socket.io-parser uses:
// {"_placeholder":true,"num":<num>}.
func AppendPlaceholder(dst []byte, num int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(num), 10)
	return append(dst, '}')
}

// ValidatePlaceholders checks the placeholders of a binary packet's JSON
// payload against its n attachments, as socket.io-parser's reconstructPacket
// does: every object whose "_placeholder" member is true (the last one if
// the key is repeated, as with JSON.parse) must have a "num" member that is a
// number in [0, n), else ErrIllegalPlaceholder. Members of a placeholder
// object are not inspected further (Node replaces the whole object).
// Placeholders need not use every attachment, and num need not be an
// integer (Node then inlines undefined).
//
// data that is not valid JSON yields ErrInvalidPayload, and data nested
// deeper than 5000 levels ErrTooDeep.
func ValidatePlaceholders(data []byte, n int) error {
	if !jsjson.Valid(data) {
		return ErrInvalidPayload
	}
	_, err := walkPlaceholders(data, jsjson.SkipSpace(data, 0), n, 0)
	return err
}

// walkPlaceholders checks the value starting at data[i] and returns the index
// after it. data must be valid JSON. depth is the nesting level of the value.
func walkPlaceholders(data []byte, i, n, depth int) (int, error) {
	if i >= len(data) {
		return i, nil
	}
	if depth >= maxReconstructDepth && (data[i] == '[' || data[i] == '{') {
		return i, ErrTooDeep
	}
	switch data[i] {
	case '[':
		i = jsjson.SkipSpace(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1, nil
		}
		for i < len(data) {
			var err error
			if i, err = walkPlaceholders(data, i, n, depth+1); err != nil {
				return i, err
			}
			i = jsjson.SkipSpace(data, i)
			if i >= len(data) || data[i] == ']' {
				return i + 1, nil
			}
			i = jsjson.SkipSpace(data, i+1) // ','
		}
		return i, nil
	case '{':
		end := jsjson.SkipValue(data, i)
		isPlaceholder, num := false, []byte(nil)
		eachMember(data[i:end], func(key, val []byte) {
			switch string(unquote(key)) {
			case "_placeholder":
				isPlaceholder = string(val) == "true"
			case "num":
				num = val
			}
		})
		if isPlaceholder {
			if !validPlaceholderNum(num, n) {
				return end, ErrIllegalPlaceholder
			}
			return end, nil
		}
		var err error
		eachMember(data[i:end], func(_, val []byte) {
			if err == nil {
				_, err = walkPlaceholders(val, 0, n, depth+1)
			}
		})
		return end, err
	default:
		return jsjson.SkipValue(data, i), nil
	}
}

// eachMember calls fn with the raw key literal and value of every member of
// the JSON object obj, in order.
func eachMember(obj []byte, fn func(key, val []byte)) {
	i := jsjson.SkipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		kEnd := jsjson.SkipString(obj, i)
		key := obj[i:kEnd]
		i = jsjson.SkipSpace(obj, kEnd)
		i = jsjson.SkipSpace(obj, i+1) // ':'
		vEnd := jsjson.SkipValue(obj, i)
		if vEnd > len(obj) || i > vEnd {
			return
		}
		fn(key, obj[i:vEnd])
		i = jsjson.SkipSpace(obj, vEnd)
		if i >= len(obj) || obj[i] != ',' {
			return
		}
		i = jsjson.SkipSpace(obj, i+1)
	}
}

// validPlaceholderNum: typeof num === "number" && num >= 0 && num < n.
func validPlaceholderNum(num []byte, n int) bool {
	if len(num) == 0 || !(num[0] == '-' || num[0] >= '0' && num[0] <= '9') {
		return false
	}
	if v, ok := parseDigits(num); ok {
		return v < int64(n)
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return false
		}
	}
	return f >= 0 && f < float64(n)
}
