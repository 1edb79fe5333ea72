package notepack

import "slices"

// member is one key/value pair of an object being transcoded, as byte
// ranges of the output buffer: the key (with whatever precedes the value)
// from keyStart to valStart, the value from valStart to end.
type member struct {
	keyStart, valStart, end int
	index                   uint32 // the key's array index, when isIndex
	isIndex                 bool
}

func hasKey(buf []byte, members []member, key []byte) bool {
	for _, m := range members {
		if string(buf[m.keyStart:m.valStart]) == string(key) {
			return true
		}
	}
	return false
}

// appendInJSOrder appends the members of buf to dst in JavaScript property
// order: array-index keys first, ascending, then the others in insertion
// order; a repeated key keeps its first place and its last value. header,
// when not nil, writes the count first (msgpack maps); sep, when not nil,
// goes between members (JSON objects).
func appendInJSOrder(dst, buf []byte, members []member, header func([]byte, int) []byte, sep []byte) []byte {
	type entry struct {
		key, val []byte
		index    uint32
		isIdx    bool
	}
	entries := make([]entry, 0, len(members))
	pos := make(map[string]int, len(members))
	for _, m := range members {
		k := buf[m.keyStart:m.valStart]
		v := buf[m.valStart:m.end]
		if i, ok := pos[string(k)]; ok {
			entries[i].val = v
			continue
		}
		pos[string(k)] = len(entries)
		entries = append(entries, entry{key: k, val: v, index: m.index, isIdx: m.isIndex})
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		switch {
		case a.isIdx && b.isIdx:
			if a.index < b.index {
				return -1
			}
			if a.index > b.index {
				return 1
			}
			return 0
		case a.isIdx:
			return -1
		case b.isIdx:
			return 1
		}
		return 0
	})
	if header != nil {
		dst = header(dst, len(entries))
	}
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, sep...)
		}
		dst = append(dst, e.key...)
		dst = append(dst, e.val...)
	}
	return dst
}
