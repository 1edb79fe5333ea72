package adapter

import (
	"strconv"

	"github.com/siorelay/siorelay/internal/notepack"
)

// StreamSession is a socket's state as the streams adapter persists it for
// connection state recovery: on a recoverable disconnect, under
// [StreamsOptions.SessionKey](PID), written
//
//	SET <key> <AppendStreamSession> PX <maxDisconnectionDuration>
//
// and read back by MULTI, GET <key>, DEL <key>, EXEC (not GETDEL) together
// with XRANGE <stream> <offset> <offset> (the offset the client last saw
// must still be in its namespace's stream).
type StreamSession struct {
	SID   string   // the socket id, kept on recovery
	PID   string   // the private session id the client presents
	Rooms []string // every room, the socket's own id included
	// Data is socket.data as msgpack (@msgpack/msgpack; nil when the
	// session had none). Socket.IO's default is {} (0x80).
	Data []byte
}

// AppendStreamSession appends the stored form of s: base64 (with padding)
// of the msgpack map {sid, pid, rooms, data}, in that key order.
func AppendStreamSession(dst []byte, s StreamSession) []byte {
	start := len(dst)
	dst = append(dst, 0x84, 0xa3, 's', 'i', 'd')
	dst = notepack.AppendString(dst, s.SID)
	dst = append(dst, 0xa3, 'p', 'i', 'd')
	dst = notepack.AppendString(dst, s.PID)
	dst = append(dst, 0xa5, 'r', 'o', 'o', 'm', 's')
	dst = appendStringArray(dst, s.Rooms)
	dst = append(dst, 0xa4, 'd', 'a', 't', 'a')
	dst = appendRawOrNil(dst, s.Data)
	return appendBase64InPlace(dst, start)
}

// DecodeStreamSession decodes a stored session. sid, pid and rooms are
// required (socket.io could not restore a session without them); keys may
// come in any order, and unknown keys are skipped.
func DecodeStreamSession(stored []byte) (StreamSession, error) {
	var s StreamSession
	raw, err := decodeBase64JS(string(stored))
	if err != nil {
		return s, invalid("session: %v", err)
	}
	r := notepack.NewReader(raw)
	n, err := r.ReadMapLen()
	if err != nil {
		return s, invalid("session is not a msgpack map")
	}
	var hasSID, hasPID, hasRooms bool
	for i := 0; i < n; i++ {
		k, err := r.ReadStrBytes()
		if err != nil {
			return s, invalid("session key: %v", err)
		}
		switch string(k) {
		case "sid":
			s.SID, err = r.ReadString()
			hasSID = true
		case "pid":
			s.PID, err = r.ReadString()
			hasPID = true
		case "rooms":
			s.Rooms, err = readRooms(r)
			hasRooms = err == nil
		case "data":
			if r.ReadNil() {
				continue
			}
			s.Data, err = r.ReadRaw()
		default:
			err = r.Skip()
		}
		if err != nil {
			return s, invalid("session %s: %v", k, err)
		}
	}
	if r.Len() != 0 {
		return s, invalid("trailing data after the session")
	}
	if !hasSID || !hasPID || !hasRooms {
		return s, invalid("session lacks sid, pid or rooms")
	}
	return s, nil
}

// ValidStreamOffset reports whether offset is what the adapter accepts as
// a client's last offset: /^[0-9]+-[0-9]+$/, a stream entry id.
func ValidStreamOffset(offset string) bool {
	dash := -1
	for i := 0; i < len(offset); i++ {
		switch c := offset[i]; {
		case c == '-' && dash < 0:
			dash = i
		case c < '0' || c > '9':
			return false
		}
	}
	return dash > 0 && dash < len(offset)-1
}

// NextStreamOffset is the adapter's nextOffset: the id right after offset
// (same milliseconds, sequence plus one), the start of the inclusive
// XRANGE that reads what a client missed. False when offset is not a
// valid entry id or its sequence is at the uint64 maximum.
func NextStreamOffset(offset string) (string, bool) {
	if !ValidStreamOffset(offset) {
		return "", false
	}
	for i := 0; i < len(offset); i++ {
		if offset[i] == '-' {
			seq, err := strconv.ParseUint(offset[i+1:], 10, 64)
			if err != nil || seq == ^uint64(0) {
				return "", false
			}
			return offset[:i+1] + strconv.FormatUint(seq+1, 10), true
		}
	}
	return "", false
}

// SessionIncludes is the adapter's shouldIncludePacket: whether a
// broadcast with opts reaches a socket in rooms (a recovering session's
// rooms). A broadcast to no room reaches everyone not excluded.
func SessionIncludes(rooms []string, opts Opts) bool {
	included := len(opts.Rooms) == 0
	for _, r := range rooms {
		for _, x := range opts.Except {
			if r == x {
				return false
			}
		}
		if !included {
			for _, t := range opts.Rooms {
				if r == t {
					included = true
					break
				}
			}
		}
	}
	return included
}
