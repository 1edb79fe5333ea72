package adapter

import (
	"errors"
	"fmt"

	"github.com/siorelay/siorelay/internal/notepack"
)

// ErrInvalidMessage wraps every decoding error of this package.
var ErrInvalidMessage = errors.New("adapter: invalid message")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...)
}

// Packet is the Socket.IO packet inside an adapter message.
type Packet struct {
	Type int
	// Data is the raw msgpack of the packet's data (for an EVENT, the array
	// [event, ...args]); it aliases the decoded message.
	Data []byte
	// Nsp is the namespace, "/" when the message has none.
	Nsp string
	// ID is the ack id, meaningful when HasID.
	ID    int64
	HasID bool
}

// Broadcast is a decoded classic broadcast message [uid, packet, opts], as
// published by classic adapters, the Node emitter (uid "emitter", opts key
// order rooms, flags, except) and legacy socket.io-emitter 3.x (no except).
type Broadcast struct {
	UID    string
	Packet Packet
	Opts   Opts
}

// DecodeBroadcast decodes a message received on a classic broadcast channel.
func DecodeBroadcast(b []byte) (Broadcast, error) {
	var m Broadcast
	r := notepack.NewReader(b)
	n, err := r.ReadArrayLen()
	if err != nil || n != 3 {
		return m, invalid("broadcast is not a 3-element array")
	}
	if m.UID, err = readRoomName(r); err != nil {
		return m, invalid("broadcast uid: %v", err)
	}
	if m.Packet, err = readPacket(r); err != nil {
		return m, err
	}
	if m.Opts, err = readOpts(r); err != nil {
		return m, err
	}
	if r.Len() != 0 {
		return m, invalid("trailing data after the broadcast")
	}
	return m, nil
}

// readPacket reads {type, data, nsp[, id]} in any key order.
func readPacket(r *notepack.Reader) (Packet, error) {
	p := Packet{Nsp: "/"}
	n, err := r.ReadMapLen()
	if err != nil {
		return p, invalid("packet is not a map")
	}
	hasType := false
	for i := 0; i < n; i++ {
		k, err := r.ReadStrBytes()
		if err != nil {
			return p, invalid("packet key: %v", err)
		}
		switch string(k) {
		case "type":
			f, err := r.ReadNumber()
			if err != nil || f != float64(int(f)) {
				return p, invalid("packet type is not an integer")
			}
			p.Type, hasType = int(f), true
		case "data":
			if p.Data, err = r.ReadRaw(); err != nil {
				return p, invalid("packet data: %v", err)
			}
		case "nsp":
			if r.ReadNil() {
				continue
			}
			if p.Nsp, err = r.ReadString(); err != nil {
				return p, invalid("packet nsp: %v", err)
			}
		case "id":
			if r.ReadNil() {
				continue
			}
			f, err := r.ReadNumber()
			if err != nil || f != float64(int64(f)) || f < 0 {
				return p, invalid("packet id is not a non-negative integer")
			}
			p.ID, p.HasID = int64(f), true
		default:
			if err := r.Skip(); err != nil {
				return p, invalid("packet: %v", err)
			}
		}
	}
	if !hasType {
		return p, invalid("packet has no type")
	}
	return p, nil
}

// readOpts reads {rooms, except, flags} in any key order; a missing key is
// an empty value.
func readOpts(r *notepack.Reader) (Opts, error) {
	var o Opts
	n, err := r.ReadMapLen()
	if err != nil {
		return o, invalid("opts is not a map")
	}
	for i := 0; i < n; i++ {
		k, err := r.ReadStrBytes()
		if err != nil {
			return o, invalid("opts key: %v", err)
		}
		switch string(k) {
		case "rooms":
			o.Rooms, err = readRooms(r)
		case "except":
			o.Except, err = readRooms(r)
		case "flags":
			o.Flags, err = readFlags(r)
		default:
			err = r.Skip()
		}
		if err != nil {
			return o, invalid("opts %s: %v", k, err)
		}
	}
	return o, nil
}

// readRooms reads an array of rooms; numbers are accepted as Node accepts
// numeric rooms, and named by their JavaScript string form.
func readRooms(r *notepack.Reader) ([]string, error) {
	if r.ReadNil() {
		return nil, nil
	}
	n, err := r.ReadArrayLen()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	rooms := make([]string, n)
	for i := range rooms {
		if rooms[i], err = readRoomName(r); err != nil {
			return nil, err
		}
	}
	return rooms, nil
}

func readRoomName(r *notepack.Reader) (string, error) {
	c, err := r.Peek()
	if err != nil {
		return "", err
	}
	if c >= 0xa0 && c <= 0xbf || c == 0xd9 || c == 0xda || c == 0xdb {
		return r.ReadString()
	}
	f, err := r.ReadNumber()
	if err != nil {
		return "", errors.New("room is neither a string nor a number")
	}
	return notepack.FormatNumber(f), nil
}

func readFlags(r *notepack.Reader) (Flags, error) {
	var fs Flags
	if r.ReadNil() {
		return fs, nil
	}
	n, err := r.ReadMapLen()
	if err != nil {
		return fs, err
	}
	for i := 0; i < n; i++ {
		k, err := r.ReadStrBytes()
		if err != nil {
			return fs, err
		}
		switch string(k) {
		case "volatile":
			if truthy(r) {
				fs = fs.WithVolatile()
			}
		case "compress":
			c, err := r.ReadBool()
			if err != nil {
				return fs, err
			}
			fs = fs.WithCompress(c)
		case "local":
			if truthy(r) {
				fs = fs.WithLocal()
			}
		case "timeout":
			f, err := r.ReadNumber()
			if err != nil {
				return fs, err
			}
			fs = fs.WithTimeout(int64(f))
		default:
			if err := r.Skip(); err != nil {
				return fs, err
			}
		}
	}
	return fs, nil
}

// truthy consumes a value and reports JavaScript truthiness for the values
// a flag can hold (booleans and numbers); anything else counts as true.
func truthy(r *notepack.Reader) bool {
	c, _ := r.Peek()
	switch {
	case c == 0xc2, c == 0xc0:
		_ = r.Skip()
		return false
	case c == 0xc3:
		_ = r.Skip()
		return true
	}
	if f, err := r.ReadNumber(); err == nil {
		return f != 0 && f == f
	}
	_ = r.Skip()
	return true
}
