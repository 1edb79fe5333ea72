package adapter

import (
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The streams decoders take their input split the way Redis delivers it:
// an entry's fields separately (uid, nsp, type, data), a pub/sub payload
// and a stored session as bytes. Each fuzz target is seeded with the
// captured vectors and checks that whatever decodes encodes again to
// something that decodes to the same message.

func FuzzDecodeStreamEntry(f *testing.F) {
	for _, x := range capture(f).allCommands("XADD") {
		v := x.fields()
		data, _ := v["data"].(string)
		f.Add(v["uid"].(string), v["nsp"].(string), v["type"].(string), []byte(data))
	}
	f.Add("emitter", "/", "3", []byte(`{"packet":{"type":2,"data":["e"],"nsp":"/"},"opts":{"rooms":["a"],"flags":{"volatile":true},"except":[]}}`))
	f.Add("emitter", "/", "9", []byte(`{"packet":["sse",1]}`))
	f.Add("", "/", " 3x", []byte("gqZwYWNrZXSCpHR5cGUCpGRhdGGRxAH7pG9wdHOA"))
	f.Fuzz(func(t *testing.T, uid, nsp, typ string, data []byte) {
		values := map[string]any{"uid": uid, "nsp": nsp, "type": typ, "data": string(data)}
		m, err := DecodeStreamEntry(values)
		if err != nil || !utf8.ValidString(uid) || !utf8.ValidString(nsp) || !validRooms(m) {
			return
		}
		var again []byte
		switch m.Type {
		case ShardedBroadcast:
			if m.PacketType != EventPacket || m.Packet.IsZero() {
				return
			}
			if again, err = AppendStreamBroadcast(nil, m.Packet, m.Opts); err != nil {
				return // JSON text that is not JSON (a msgpack value holds none)
			}
		case SocketsJoin, SocketsLeave:
			again = AppendStreamSocketsRequest(nil, m.Opts, m.Rooms)
		case DisconnectSockets:
			again = AppendStreamDisconnect(nil, m.Opts, m.Close)
		default:
			return
		}
		m2, err := DecodeStreamEntry(map[string]any{"uid": uid, "nsp": nsp, "type": typeString(m.Type), "data": string(again)})
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", again, err)
		}
		sameMessage(t, m, m2)
	})
}

func FuzzDecodeStreamsMessage(f *testing.F) {
	c := capture(f)
	for _, p := range append(c.allCommands("PUBLISH"), c.allCommands("SPUBLISH")...) {
		f.Add([]byte(p[2]))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeStreamsMessage(b)
		if err != nil || !utf8.ValidString(m.UID) || !utf8.ValidString(m.Nsp) || !utf8.ValidString(m.RequestID) || !validRooms(m) {
			return
		}
		var again []byte
		if m.Packet.IsZero() && m.Type != FetchSockets && m.Type != ShardedBroadcastCount {
			return // undefined: written back as nil (null)
		}
		switch m.Type {
		case ShardedServerSideEmit:
			again = AppendStreamsServerSideEmit(nil, m.UID, m.Nsp, m.RequestID, m.Packet.B)
		case ShardedBroadcast:
			if m.PacketType != EventPacket || m.Packet.IsZero() {
				return
			}
			again = AppendStreamsBroadcastWithAck(nil, m.UID, m.Nsp, m.RequestID, m.Packet.B, m.Opts)
		case FetchSockets:
			again = AppendStreamsFetchSockets(nil, m.UID, m.Nsp, m.RequestID, m.Opts)
		case ServerSideEmitResponse, ShardedBroadcastAck:
			again = AppendStreamsPacketResponse(nil, m.UID, m.Nsp, m.Type, m.RequestID, m.Packet.B)
		case ShardedBroadcastCount:
			if float64(m.ClientCount) > 1<<53 || float64(m.ClientCount) < -(1<<53) {
				return
			}
			again = AppendStreamsClientCount(nil, m.UID, m.Nsp, m.RequestID, m.ClientCount)
		default:
			return
		}
		m2, err := DecodeStreamsMessage(again)
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", again, err)
		}
		sameMessage(t, m, m2)
	})
}

func FuzzDecodeStreamSession(f *testing.F) {
	for _, set := range capture(f).allCommands("SET") {
		f.Add([]byte(set[2]))
	}
	f.Add([]byte("hKNzaWShc6NwaWShcKVyb29tc5GhcqRkYXRhwA"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeStreamSession(b)
		if err != nil || !utf8.ValidString(s.SID) || !utf8.ValidString(s.PID) {
			return
		}
		for _, r := range s.Rooms {
			if !utf8.ValidString(r) {
				return
			}
		}
		s2, err := DecodeStreamSession(AppendStreamSession(nil, s))
		if err != nil {
			t.Fatalf("re-encoded session does not decode: %v", err)
		}
		if d := cmp.Diff(s, s2, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
	})
}

func validRooms(m ClusterMessage) bool {
	for _, s := range [][]string{m.Rooms, m.Opts.Rooms, m.Opts.Except} {
		for _, r := range s {
			if !utf8.ValidString(r) {
				return false
			}
		}
	}
	return true
}

// used keeps the fields of m that its type uses.
func used(m ClusterMessage) ClusterMessage {
	k := ClusterMessage{Type: m.Type, UID: m.UID, Nsp: m.Nsp}
	switch m.Type {
	case ShardedBroadcast:
		k.Packet, k.PacketType, k.Opts, k.RequestID = m.Packet, m.PacketType, m.Opts, m.RequestID
	case SocketsJoin, SocketsLeave:
		k.Opts, k.Rooms = m.Opts, m.Rooms
	case DisconnectSockets:
		k.Opts, k.Close = m.Opts, m.Close
	case FetchSockets:
		k.Opts, k.RequestID = m.Opts, m.RequestID
	case ShardedServerSideEmit, ServerSideEmitResponse, ShardedBroadcastAck:
		k.Packet, k.RequestID = m.Packet, m.RequestID
	case ShardedBroadcastCount:
		k.RequestID, k.ClientCount = m.RequestID, m.ClientCount
	}
	return k
}

// sameMessage compares the fields two decodings use, the packets by their
// JSON form.
func sameMessage(t *testing.T, a, b ClusterMessage) {
	t.Helper()
	a, b = used(a), used(b)
	ja, errA := a.Packet.AppendJSON(nil, nil)
	jb, errB := b.Packet.AppendJSON(nil, nil)
	if (errA == nil) != (errB == nil) || string(ja) != string(jb) {
		t.Fatalf("packet changed: %s (%v) -> %s (%v)", ja, errA, jb, errB)
	}
	a.Packet, b.Packet = Value{}, Value{}
	if d := cmp.Diff(a, b, cmpFlags, cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("round trip (-first +second):\n%s", d)
	}
}
