package adapter

import (
	"encoding/base64"
	"errors"

	"github.com/siorelay/siorelay/internal/jsjson"
	"github.com/siorelay/siorelay/internal/notepack"
)

// ErrNoNamespace is returned by DecodeStreamEntry for an entry without a
// (non-empty) nsp field. The adapter skips such entries without a word,
// and readers must too: they are not messages (tests, for one, add marker
// entries of that kind to learn that a reader is running).
var ErrNoNamespace = errors.New("adapter: stream entry has no nsp")

// DecodeStreamEntry decodes a stream entry's fields, as go-redis returns
// them from XRANGE and XREAD (redis.XMessage.Values: strings; []byte is
// accepted too), into the message the adapter's decode makes of it:
//
//   - type is read as JavaScript's parseInt(type, 10) reads it;
//   - data, when present and not empty, is JSON when it starts with "{",
//     and base64 of msgpack otherwise (decoded as leniently as Node's
//     Buffer.from(data, "base64"): either alphabet, padding optional, white
//     space ignored).
//
// Entries written by the Node adapter (packet {type, data}, opts rooms,
// except, flags) and by @socket.io/redis-streams-emitter (packet {type,
// data, nsp}, opts rooms, flags, except, server-side emits as type 9
// entries) decode alike. The message's Packet and Sockets alias data it
// decoded, never values itself. An entry without nsp is ErrNoNamespace.
func DecodeStreamEntry(values map[string]any) (ClusterMessage, error) {
	var m ClusterMessage
	nsp, _, err := field(values, "nsp")
	if err != nil {
		return m, err
	}
	if nsp == "" {
		return m, ErrNoNamespace
	}
	uid, _, err := field(values, "uid")
	if err != nil {
		return m, err
	}
	typ, ok, err := field(values, "type")
	if err != nil {
		return m, err
	}
	t, okType := parseIntJS(typ)
	if !ok || !okType {
		return m, invalid("stream entry type %q is not a number", typ)
	}
	m.UID, m.Nsp, m.Type = uid, nsp, MessageType(t)
	data, _, err := field(values, "data")
	if err != nil || data == "" {
		return m, err
	}
	return m, decodeStreamData(&m, data)
}

// field returns values[name] as a string.
func field(values map[string]any, name string) (string, bool, error) {
	switch v := values[name].(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case []byte:
		return string(v), true, nil
	default:
		return "", false, invalid("stream entry field %s is a %T", name, v)
	}
}

// decodeStreamData decodes the data field into m, whose Type is set.
func decodeStreamData(m *ClusterMessage, data string) error {
	if data[0] == '{' {
		b := []byte(data)
		if !jsjson.Valid(b) {
			return invalid("stream entry data is not JSON")
		}
		var d jsonClusterData
		if err := d.UnmarshalJSON(b); err != nil {
			return invalid("stream entry data: %v", err)
		}
		return d.fill(m)
	}
	raw, err := decodeBase64JS(data)
	if err != nil {
		return invalid("stream entry data: %v", err)
	}
	r := notepack.NewReader(raw)
	if err := readShardedData(r, m); err != nil {
		return invalid("stream entry data: %v", err)
	}
	if r.Len() != 0 {
		return invalid("trailing data after the stream entry's data")
	}
	return unpackBroadcast(m)
}

// decodeBase64JS decodes base64 as Node's Buffer.from(s, "base64") does for
// well-formed input: the standard and the URL-safe alphabets, padding
// optional, white space ignored. Other characters are an error (Node skips
// them silently; nothing the adapter writes has any).
func decodeBase64JS(s string) ([]byte, error) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r', '\f', '\v':
		case '-':
			clean = append(clean, '+')
		case '_':
			clean = append(clean, '/')
		default:
			clean = append(clean, c)
		}
	}
	for len(clean) > 0 && clean[len(clean)-1] == '=' {
		clean = clean[:len(clean)-1]
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.RawStdEncoding.Decode(out, clean)
	return out[:n], err
}

// parseIntJS is JavaScript's parseInt(s, 10) for the values that fit an
// int: leading white space, an optional sign, then the longest run of
// digits; false when there is no digit (NaN) or the number overflows.
func parseIntJS(s string) (int, bool) {
	i := 0
	for i < len(s) && isJSSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n > (1<<31)/10 {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if i == start {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func isJSSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
