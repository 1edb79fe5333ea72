package adapter

import (
	"encoding/json"
	"strconv"

	"github.com/siorelay/siorelay/internal/notepack"
)

// Value is a value inside a sharded message, kept in the encoding it came
// in: JSON text when the message was JSON, msgpack when it was msgpack
// (which the Node adapter uses when binary is present).
type Value struct {
	B    []byte // aliases the decoded message
	JSON bool
}

// AppendJSON appends v as JSON text. For a msgpack value, bins works as in
// notepack.AppendToJSON: nil writes binary as a Node Buffer's JSON, non-nil
// turns it into Socket.IO attachment placeholders.
func (v Value) AppendJSON(dst []byte, bins *[][]byte) ([]byte, error) {
	if v.JSON {
		return append(dst, v.B...), nil
	}
	out, _, err := notepack.AppendToJSON(dst, v.B, bins)
	return out, err
}

// AppendMsgpack appends v as msgpack.
func (v Value) AppendMsgpack(dst []byte) ([]byte, error) {
	if !v.JSON {
		return append(dst, v.B...), nil
	}
	return notepack.AppendJSON(dst, v.B)
}

// IsZero reports whether the message had no such value.
func (v Value) IsZero() bool { return v.B == nil }

// ShardedMessage is a decoded sharded adapter message
// {type, data, uid, nsp}. Fields a type does not use are zero.
type ShardedMessage struct {
	Type MessageType
	UID  string
	Nsp  string
	// RequestID is set on requests that expect answers and on responses.
	RequestID string
	// Packet is BROADCAST's packet data ([event, ...args]), SERVER_SIDE_EMIT's
	// [event, ...args], and the first argument of a SERVER_SIDE_EMIT_RESPONSE
	// or BROADCAST_ACK.
	Packet Value
	// PacketType is BROADCAST's packet type (2 for events).
	PacketType int
	Opts       Opts
	// Rooms are SOCKETS_JOIN/LEAVE's rooms.
	Rooms []string
	Close bool
	// Sockets are FETCH_SOCKETS_RESPONSE's sockets.
	Sockets     []Value
	ClientCount int
}

// DecodeShardedMessage decodes a message of a sharded adapter channel:
// JSON when it starts with '{', msgpack otherwise.
func DecodeShardedMessage(b []byte) (ShardedMessage, error) {
	if len(b) > 0 && b[0] == '{' {
		return decodeShardedJSON(b)
	}
	mp := notepack.NewReader(b)
	return decodeShardedMsgpack(mp)
}

// jsonClusterData is the "data" object of a ClusterAdapter message in JSON.
type jsonClusterData struct {
	RequestID   string            `json:"requestId"`
	Packet      json.RawMessage   `json:"packet"`
	Opts        *jsonOpts         `json:"opts"`
	Rooms       RoomList          `json:"rooms"`
	Close       bool              `json:"close"`
	Sockets     []json.RawMessage `json:"sockets"`
	ClientCount int               `json:"clientCount"`
}

func decodeShardedJSON(b []byte) (ShardedMessage, error) {
	var j struct {
		Type *int             `json:"type"`
		UID  string           `json:"uid"`
		Nsp  string           `json:"nsp"`
		Data *jsonClusterData `json:"data"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return ShardedMessage{}, invalid("sharded message: %v", err)
	}
	if j.Type == nil {
		return ShardedMessage{}, invalid("sharded message has no type")
	}
	m := ShardedMessage{Type: MessageType(*j.Type), UID: j.UID, Nsp: j.Nsp}
	if m.Nsp == "" {
		m.Nsp = "/"
	}
	if j.Data == nil {
		return m, nil
	}
	return m, j.Data.fill(&m)
}

// fill copies d into m, whose Type must be set.
func (d *jsonClusterData) fill(m *ShardedMessage) error {
	m.RequestID, m.Rooms, m.Close, m.ClientCount = d.RequestID, d.Rooms, d.Close, d.ClientCount
	if d.Opts != nil {
		o, err := d.Opts.opts()
		if err != nil {
			return invalid("opts: %v", err)
		}
		m.Opts = o
	}
	for _, s := range d.Sockets {
		m.Sockets = append(m.Sockets, Value{B: s, JSON: true})
	}
	if len(d.Packet) > 0 {
		if m.Type == ShardedBroadcast {
			var data []byte
			err := eachField(d.Packet, func(k string, v []byte) error {
				switch k {
				case "type":
					f, err := strconv.ParseFloat(string(v), 64)
					if err != nil || f != float64(int(f)) {
						return invalid("packet type %s", v)
					}
					m.PacketType = int(f)
				case "data":
					data = v
				}
				return nil
			})
			if err != nil {
				return invalid("broadcast packet: %v", err)
			}
			m.Packet = Value{B: data, JSON: true}
		} else {
			m.Packet = Value{B: d.Packet, JSON: true}
		}
	}
	return nil
}

func decodeShardedMsgpack(r *notepack.Reader) (ShardedMessage, error) {
	m := ShardedMessage{Nsp: "/"}
	n, err := r.ReadMapLen()
	if err != nil {
		return m, invalid("sharded message is neither JSON nor a msgpack map")
	}
	hasType := false
	for i := 0; i < n; i++ {
		k, err := r.ReadStrBytes()
		if err != nil {
			return m, invalid("sharded message key: %v", err)
		}
		switch string(k) {
		case "type":
			var f float64
			f, err = r.ReadNumber()
			m.Type, hasType = MessageType(f), true
		case "uid":
			m.UID, err = readRoomName(r)
		case "nsp":
			m.Nsp, err = r.ReadString()
		case "data":
			err = readShardedData(r, &m)
		default:
			err = r.Skip()
		}
		if err != nil {
			return m, invalid("sharded message %s: %v", k, err)
		}
	}
	if !hasType {
		return m, invalid("sharded message has no type")
	}
	if r.Len() != 0 {
		return m, invalid("trailing data after the sharded message")
	}
	return m, unpackBroadcast(&m)
}

// unpackBroadcast replaces a msgpack BROADCAST's raw packet {type, data}
// by its data, setting PacketType.
func unpackBroadcast(m *ShardedMessage) error {
	if m.Type != ShardedBroadcast || m.Packet.IsZero() {
		return nil
	}
	p, err := readPacket(notepack.NewReader(m.Packet.B))
	if err != nil {
		return err
	}
	m.PacketType, m.Packet = p.Type, Value{B: p.Data}
	return nil
}

// readShardedData reads the data map; the packet is kept raw, since its
// meaning depends on the message type.
func readShardedData(r *notepack.Reader, m *ShardedMessage) error {
	if r.ReadNil() {
		return nil
	}
	n, err := r.ReadMapLen()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		k, err := r.ReadStrBytes()
		if err != nil {
			return err
		}
		switch string(k) {
		case "requestId":
			m.RequestID, err = readRoomName(r)
		case "packet":
			var raw []byte
			if raw, err = r.ReadRaw(); err == nil {
				m.Packet = Value{B: raw}
			}
		case "opts":
			m.Opts, err = readOpts(r)
		case "rooms":
			m.Rooms, err = readRooms(r)
		case "close":
			m.Close, err = r.ReadBool()
		case "clientCount":
			var f float64
			f, err = r.ReadNumber()
			m.ClientCount = int(f)
		case "sockets":
			var cnt int
			if cnt, err = r.ReadArrayLen(); err == nil {
				for j := 0; j < cnt && err == nil; j++ {
					var raw []byte
					if raw, err = r.ReadRaw(); err == nil {
						m.Sockets = append(m.Sockets, Value{B: raw})
					}
				}
			}
		default:
			err = r.Skip()
		}
		if err != nil {
			return err
		}
	}
	return nil
}
