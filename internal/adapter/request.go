package adapter

import (
	"encoding/json"

	"github.com/siorelay/siorelay/internal/notepack"
)

// Request is a decoded classic request, as received on the request channel
// <key>-request#<nsp>#. Fields a request type does not use are zero.
type Request struct {
	// UID is the sender's uid; "" for the Node emitter's join, leave and
	// disconnect requests and for legacy (socket.io-redis 6) requests.
	UID       string
	RequestID string
	Type      RequestType
	// Opts selects sockets (REMOTE_JOIN/LEAVE/DISCONNECT/FETCH, BROADCAST).
	// HasOpts is false for the legacy single-socket forms.
	Opts    Opts
	HasOpts bool
	// Rooms are the rooms to join or leave (REMOTE_JOIN/LEAVE), or the rooms
	// of a legacy SOCKETS request.
	Rooms []string
	// Close is REMOTE_DISCONNECT's close flag.
	Close bool
	// Data is SERVER_SIDE_EMIT's JSON array [event, ...args].
	Data json.RawMessage
	// SID and Room are the legacy single-socket join/leave/disconnect form
	// {requestId, type, sid, room}.
	SID, Room string
	// Packet is BROADCAST's packet (msgpack-encoded requests only).
	Packet Packet
}

// DecodeRequest decodes a message of the request channel: JSON when it
// starts with '{', msgpack otherwise (BROADCAST with ack), as the Node
// adapter tells them apart.
func DecodeRequest(b []byte) (Request, error) {
	if len(b) > 0 && b[0] == '{' {
		return decodeJSONRequest(b)
	}
	return decodeMsgpackRequest(b)
}

// RoomList is a JSON array of rooms that accepts numbers besides strings
// (Node accepts numeric rooms), named by their JavaScript string form.
type RoomList []string

// UnmarshalJSON implements json.Unmarshaler.
func (r *RoomList) UnmarshalJSON(b []byte) error {
	rooms, err := parseJSONRooms(b)
	*r = rooms
	return err
}

type jsonOpts struct {
	Rooms  RoomList        `json:"rooms"`
	Except RoomList        `json:"except"`
	Flags  json.RawMessage `json:"flags"`
}

func (o jsonOpts) opts() (Opts, error) {
	out := Opts{Rooms: o.Rooms, Except: o.Except}
	if len(o.Flags) > 0 && string(o.Flags) != "null" {
		mp, err := notepack.AppendJSON(nil, o.Flags)
		if err != nil {
			return out, err
		}
		if out.Flags, err = readFlags(notepack.NewReader(mp)); err != nil {
			return out, err
		}
	}
	return out, nil
}

func decodeJSONRequest(b []byte) (Request, error) {
	var j struct {
		UID       *string         `json:"uid"`
		RequestID string          `json:"requestId"`
		Type      *int            `json:"type"`
		Opts      *jsonOpts       `json:"opts"`
		Rooms     RoomList        `json:"rooms"`
		Close     bool            `json:"close"`
		Data      json.RawMessage `json:"data"`
		SID       string          `json:"sid"`
		Room      json.RawMessage `json:"room"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return Request{}, invalid("request: %v", err)
	}
	if j.Type == nil {
		return Request{}, invalid("request has no type")
	}
	r := Request{RequestID: j.RequestID, Type: RequestType(*j.Type), Rooms: j.Rooms, Close: j.Close, SID: j.SID}
	if j.UID != nil {
		r.UID = *j.UID
	}
	if j.Opts != nil {
		o, err := j.Opts.opts()
		if err != nil {
			return r, invalid("request opts: %v", err)
		}
		r.Opts, r.HasOpts = o, true
	}
	if len(j.Room) > 0 {
		var rooms RoomList
		if err := rooms.UnmarshalJSON(append(append([]byte{'['}, j.Room...), ']')); err != nil {
			return r, invalid("request room: %v", err)
		}
		r.Room = rooms[0]
	}
	if r.Type == ServerSideEmit {
		if len(j.Data) == 0 || j.Data[0] != '[' {
			return r, invalid("server-side emit data is not an array")
		}
		r.Data = j.Data
	}
	return r, nil
}

func decodeMsgpackRequest(b []byte) (Request, error) {
	var r Request
	rd := notepack.NewReader(b)
	n, err := rd.ReadMapLen()
	if err != nil {
		return r, invalid("request is neither JSON nor a msgpack map")
	}
	hasType := false
	for i := 0; i < n; i++ {
		k, err := rd.ReadStrBytes()
		if err != nil {
			return r, invalid("request key: %v", err)
		}
		switch string(k) {
		case "uid":
			r.UID, err = readRoomName(rd)
		case "requestId":
			r.RequestID, err = readRoomName(rd)
		case "type":
			var f float64
			f, err = rd.ReadNumber()
			r.Type, hasType = RequestType(f), true
		case "packet":
			r.Packet, err = readPacket(rd)
		case "opts":
			r.Opts, err = readOpts(rd)
			r.HasOpts = true
		default:
			err = rd.Skip()
		}
		if err != nil {
			return r, invalid("request %s: %v", k, err)
		}
	}
	if !hasType {
		return r, invalid("request has no type")
	}
	if rd.Len() != 0 {
		return r, invalid("trailing data after the request")
	}
	return r, nil
}

// Response is a decoded classic response (shared or specific response
// channel).
type Response struct {
	RequestID string
	// Type is set on SERVER_SIDE_EMIT (6), BROADCAST_CLIENT_COUNT (8) and
	// BROADCAST_ACK (9) responses; -1 when absent (SOCKETS, ALL_ROOMS,
	// REMOTE_FETCH and legacy responses carry no type).
	Type RequestType
	// Sockets: SOCKETS answers with ids (JSON strings), REMOTE_FETCH with
	// objects {id, handshake, rooms, data}; each element is raw JSON.
	Sockets []json.RawMessage
	// Rooms answers ALL_ROOMS.
	Rooms []string
	// Data is SERVER_SIDE_EMIT's ack argument (raw JSON).
	Data json.RawMessage
	// ClientCount answers BROADCAST_CLIENT_COUNT.
	ClientCount int
	// Packet is BROADCAST_ACK's first ack argument (raw msgpack).
	Packet []byte
}

// DecodeResponse decodes a message of a response channel.
func DecodeResponse(b []byte) (Response, error) {
	if len(b) > 0 && b[0] == '{' {
		var j struct {
			RequestID   string            `json:"requestId"`
			Type        *int              `json:"type"`
			Sockets     []json.RawMessage `json:"sockets"`
			Rooms       RoomList          `json:"rooms"`
			Data        json.RawMessage   `json:"data"`
			ClientCount int               `json:"clientCount"`
		}
		if err := json.Unmarshal(b, &j); err != nil {
			return Response{}, invalid("response: %v", err)
		}
		r := Response{RequestID: j.RequestID, Type: -1, Sockets: j.Sockets, Rooms: j.Rooms, Data: j.Data, ClientCount: j.ClientCount}
		if j.Type != nil {
			r.Type = RequestType(*j.Type)
		}
		return r, nil
	}
	r := Response{Type: -1}
	rd := notepack.NewReader(b)
	n, err := rd.ReadMapLen()
	if err != nil {
		return r, invalid("response is neither JSON nor a msgpack map")
	}
	for i := 0; i < n; i++ {
		k, err := rd.ReadStrBytes()
		if err != nil {
			return r, invalid("response key: %v", err)
		}
		switch string(k) {
		case "type":
			var f float64
			f, err = rd.ReadNumber()
			r.Type = RequestType(f)
		case "requestId":
			r.RequestID, err = readRoomName(rd)
		case "packet":
			r.Packet, err = rd.ReadRaw()
		default:
			err = rd.Skip()
		}
		if err != nil {
			return r, invalid("response %s: %v", k, err)
		}
	}
	return r, nil
}

// --- responses and requests a relay sends ---

// AppendAllRoomsRequest appends {"uid","requestId","type":1}.
func AppendAllRoomsRequest(dst []byte, uid, requestID string) []byte {
	return append(appendRequestHead(dst, uid, requestID, AllRooms), '}')
}

// AppendFetchRequest appends {"uid","requestId","type":5,"opts":{rooms,except}}.
func AppendFetchRequest(dst []byte, uid, requestID string, opts Opts) []byte {
	dst = appendRequestHead(dst, uid, requestID, RemoteFetch)
	dst = append(dst, `,"opts":`...)
	dst = appendOptsJSON(dst, opts, false)
	return append(dst, '}')
}

// AppendRoomsResponse appends an ALL_ROOMS answer {"requestId","rooms":[...]}.
func AppendRoomsResponse(dst []byte, requestID string, rooms []string) []byte {
	dst = append(dst, `{"requestId":`...)
	dst = notepack.AppendJSONString(dst, requestID)
	dst = append(dst, `,"rooms":`...)
	dst = appendJSONStrings(dst, rooms)
	return append(dst, '}')
}

// AppendSocketsResponse appends a SOCKETS or REMOTE_FETCH answer
// {"requestId","sockets":[...]}, each socket already encoded as JSON (an
// id string for SOCKETS, an object for REMOTE_FETCH, see
// [AppendFetchedSocket]).
func AppendSocketsResponse(dst []byte, requestID string, sockets [][]byte) []byte {
	dst = append(dst, `{"requestId":`...)
	dst = notepack.AppendJSONString(dst, requestID)
	dst = append(dst, `,"sockets":[`...)
	for i, s := range sockets {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, s...)
	}
	return append(dst, "]}"...)
}

// AppendFetchedSocket appends one REMOTE_FETCH socket
// {"id","handshake":<json>,"rooms":[...],"data":<json>}; data nil is
// omitted, as JSON.stringify omits undefined.
func AppendFetchedSocket(dst []byte, id string, handshake json.RawMessage, rooms []string, data json.RawMessage) []byte {
	dst = append(dst, `{"id":`...)
	dst = notepack.AppendJSONString(dst, id)
	dst = append(dst, `,"handshake":`...)
	dst = append(dst, handshake...)
	dst = append(dst, `,"rooms":`...)
	dst = appendJSONStrings(dst, rooms)
	if data != nil {
		dst = append(dst, `,"data":`...)
		dst = append(dst, data...)
	}
	return append(dst, '}')
}

// AppendServerSideEmitResponse appends {"type":6,"requestId","data":<json>}.
func AppendServerSideEmitResponse(dst []byte, requestID string, data json.RawMessage) []byte {
	dst = append(dst, `{"type":6,"requestId":`...)
	dst = notepack.AppendJSONString(dst, requestID)
	dst = append(dst, `,"data":`...)
	if data == nil {
		data = json.RawMessage("null")
	}
	dst = append(dst, data...)
	return append(dst, '}')
}

// AppendClientCountResponse appends {"type":8,"requestId","clientCount":N}.
func AppendClientCountResponse(dst []byte, requestID string, count int) []byte {
	dst = append(dst, `{"type":8,"requestId":`...)
	dst = notepack.AppendJSONString(dst, requestID)
	dst = append(dst, `,"clientCount":`...)
	dst = appendJSONInt(dst, int64(count))
	return append(dst, '}')
}

// AppendLegacyResponse appends {"requestId"}, the answer to a legacy
// single-socket join, leave or disconnect.
func AppendLegacyResponse(dst []byte, requestID string) []byte {
	dst = append(dst, `{"requestId":`...)
	dst = notepack.AppendJSONString(dst, requestID)
	return append(dst, '}')
}
