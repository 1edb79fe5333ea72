package socketio

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The files read here were produced by testdata/capture.js from
// socket.io-parser 4.2.7 (see testdata/README.md).

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// vecMsg is one Engine.IO message: a JSON string (text) or {"hex": ...} (binary).
type vecMsg struct {
	text   string
	binary bool
	data   []byte
}

func (m *vecMsg) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &m.text)
	}
	var v struct{ Hex string }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	d, err := hex.DecodeString(v.Hex)
	m.binary, m.data = true, d
	return err
}

func (m vecMsg) bytes() []byte {
	if m.binary {
		return m.data
	}
	return []byte(m.text)
}

type vecDecoded struct {
	Type int             `json:"type"`
	Nsp  string          `json:"nsp"`
	ID   json.RawMessage `json:"id"`
	Data *string         `json:"data"`
	// DataTooDeep: the capture script could not stringify the data (too deep).
	DataTooDeep bool `json:"dataTooDeep"`
}

// jsonValue parses JSON text the way JSON.parse+JSON.stringify would leave
// it: numbers as float64 (out-of-range ones become nil like Infinity → null).
func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("json %q: %v", b, err)
	}
	var norm func(any) any
	norm = func(v any) any {
		switch x := v.(type) {
		case json.Number:
			f, err := strconv.ParseFloat(string(x), 64)
			if err != nil && math.IsInf(f, 0) {
				return nil
			}
			return f
		case []any:
			for i := range x {
				x[i] = norm(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = norm(x[k])
			}
		}
		return v
	}
	return norm(v)
}

// inline replaces placeholders with {"_buf": hex} like the capture script's
// view of Node's reconstructed packet; ok=false means undefined (a placeholder
// with a non-integer num).
func inline(v any, atts [][]byte) (any, bool) {
	switch x := v.(type) {
	case []any:
		for i := range x {
			e, ok := inline(x[i], atts)
			if !ok {
				e = nil
			}
			x[i] = e
		}
	case map[string]any:
		if x["_placeholder"] == true {
			f, _ := x["num"].(float64)
			if f != math.Trunc(f) {
				return nil, false
			}
			return map[string]any{"_buf": hex.EncodeToString(atts[int(f)])}, true
		}
		for k := range x {
			e, ok := inline(x[k], atts)
			if !ok {
				delete(x, k)
				continue
			}
			x[k] = e
		}
	}
	return v, true
}

func baseType(t PacketType) PacketType {
	switch t {
	case BinaryEvent:
		return Event
	case BinaryAck:
		return Ack
	}
	return t
}

// knownDeviation explains where this decoder deliberately differs from
// socket.io-parser 4.2.7 on the captured input (doc: Decoder.Add, README).
func knownDeviation(msgs []vecMsg, want []vecDecoded, pendingID json.RawMessage) string {
	if string(pendingID) == `"NaN"` {
		return "ack id with white space between digits (Node: NaN id)"
	}
	for _, m := range msgs {
		if !m.binary && m.text == "" {
			return "empty text message (Node never passes one: engine.io gives undefined, a TypeError)"
		}
	}
	for _, p := range want {
		if string(p.ID) == `"NaN"` || string(p.ID) == "null" {
			return "ack id with white space between digits (Node: NaN id)"
		}
		if len(p.ID) > 0 {
			if f, err := strconv.ParseFloat(string(p.ID), 64); err != nil || f >= math.MaxInt64 {
				return "ack id beyond int64"
			}
		}
	}
	return ""
}

func TestCapturedDecode(t *testing.T) {
	testCapturedDecode(t, "decode.json", 1000)
}

// TestCapturedDecodeFuzz replays inputs found by FuzzDecode (fuzz_inputs.json)
// through Node and compares.
func TestCapturedDecodeFuzz(t *testing.T) {
	testCapturedDecode(t, "decode_fuzz.json", 300)
}

func testCapturedDecode(t *testing.T, file string, min int) {
	var recs []struct {
		Msgs           []vecMsg        `json:"msgs"`
		Packets        []vecDecoded    `json:"packets"`
		Error          string          `json:"error"`
		Pending        bool            `json:"pending"`
		MaxAttachments *int            `json:"maxAttachments"`
		PendingID      json.RawMessage `json:"pendingId"`
	}
	readJSON(t, file, &recs)
	if len(recs) < min {
		t.Fatalf("only %d records", len(recs))
	}
	deviations := map[string]int{}
	for _, r := range recs {
		var d Decoder
		if r.MaxAttachments != nil {
			d.MaxAttachments = *r.MaxAttachments
			if d.MaxAttachments == 0 {
				d.MaxAttachments = -1 // Node's 0 is a real limit; ours means "default"
				continue
			}
		}
		var got []Packet
		var gotErr error
		for _, m := range r.Msgs {
			p, done, err := d.Add(m.bytes(), m.binary)
			if err != nil {
				gotErr = err
				break
			}
			if done {
				got = append(got, p)
			}
		}
		name := strings.ReplaceAll(strings.ReplaceAll(string(mustJSON(r.Msgs)), "\n", ""), "\t", "")
		if len(name) > 200 {
			name = name[:200] + "…"
		}
		if dev := knownDeviation(r.Msgs, r.Packets, r.PendingID); dev != "" {
			deviations[dev]++
			if gotErr == nil || len(got) > len(r.Packets) {
				t.Errorf("%s: deviation %q should be rejected, got %+v, %v", name, dev, got, gotErr)
				continue
			}
			// The packets before the deviating message must still agree.
			r.Packets, r.Error, r.Pending, gotErr = r.Packets[:len(got)], "", false, nil
		}
		if r.Error != "" {
			if gotErr == nil || !strings.HasPrefix(r.Error, gotErr.Error()) {
				t.Errorf("%s: err = %v, Node: %q (Go: %d packets)", name, gotErr, r.Error, len(got))
				continue
			}
			if r.Error != gotErr.Error() && gotErr != ErrUnknownPacketType {
				t.Errorf("%s: err text %q, Node %q", name, gotErr, r.Error)
			}
		} else if gotErr != nil {
			t.Errorf("%s: err = %v, Node: ok %+v", name, gotErr, r.Packets)
			continue
		}
		if r.Pending != (d.Pending() > 0) && r.Error == "" {
			t.Errorf("%s: pending = %d, Node pending %v", name, d.Pending(), r.Pending)
		}
		if len(got) != len(r.Packets) {
			t.Errorf("%s: %d packets, Node %d: %+v", name, len(got), len(r.Packets), r.Packets)
			continue
		}
		for i, w := range r.Packets {
			g := got[i]
			if int(baseType(g.Type)) != w.Type || g.Namespace != w.Nsp {
				t.Errorf("%s: packet %d = %+v, Node %+v", name, i, g, w)
			}
			if len(w.ID) > 0 {
				// Node holds ids as float64: above 2^53 it has rounded them.
				id, _ := strconv.ParseFloat(string(w.ID), 64)
				if !g.HasID || float64(g.ID) != id {
					t.Errorf("%s: id = %d/%v, Node %s", name, g.ID, g.HasID, w.ID)
				}
			} else if g.HasID {
				t.Errorf("%s: id = %d, Node none", name, g.ID)
			}
			if w.DataTooDeep {
				continue
			}
			if (w.Data == nil) != (g.Data == nil) {
				t.Errorf("%s: data %q, Node %v", name, g.Data, w.Data)
				continue
			}
			if w.Data == nil {
				continue
			}
			gv := jsonValue(t, g.Data)
			if g.Type.IsBinary() {
				gv, _ = inline(gv, g.Attachments)
			}
			if diff := cmp.Diff(jsonValue(t, []byte(*w.Data)), gv); diff != "" {
				t.Errorf("%s: data (-node +go):\n%s", name, diff)
			}
		}
	}
	t.Logf("known deviations skipped: %v", deviations)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (m vecMsg) MarshalJSON() ([]byte, error) {
	if m.binary {
		return json.Marshal(map[string]string{"hex": hex.EncodeToString(m.data)})
	}
	return json.Marshal(m.text)
}

func TestCapturedEncode(t *testing.T) {
	var recs []struct {
		Type        int      `json:"type"`
		Nsp         string   `json:"nsp"`
		ID          *int64   `json:"id"`
		Data        *string  `json:"data"`
		Attachments []string `json:"attachments"`
		Encoded     []vecMsg `json:"encoded"`
	}
	readJSON(t, "encode.json", &recs)
	if len(recs) < 10 {
		t.Fatalf("only %d records", len(recs))
	}
	for _, r := range recs {
		p := Packet{Type: PacketType(r.Type), Namespace: r.Nsp}
		if r.ID != nil {
			p.ID, p.HasID = *r.ID, true
		}
		if r.Data != nil {
			p.Data = []byte(*r.Data)
		}
		for _, a := range r.Attachments {
			b, _ := hex.DecodeString(a)
			p.Attachments = append(p.Attachments, b)
		}
		if got := AppendPacket(nil, p); string(got) != r.Encoded[0].text {
			t.Errorf("AppendPacket(%+v) = %q, Node %q", p, got, r.Encoded[0].text)
		}
		if len(r.Encoded)-1 != len(p.Attachments) {
			t.Errorf("%+v: Node sent %d attachments", p, len(r.Encoded)-1)
		}
		// And the decoder accepts what Node encodes, giving back the packet.
		var d Decoder
		var got Packet
		for i, m := range r.Encoded {
			q, done, err := d.Add(m.bytes(), m.binary)
			if err != nil {
				t.Fatalf("decode Node output %q: %v", m.text, err)
			}
			if done != (i == len(r.Encoded)-1) {
				t.Fatalf("decode Node output: done=%v at message %d", done, i)
			}
			got = q
		}
		want := p
		if len(want.Attachments) > 0 {
			want.Type += BinaryEvent - Event
		}
		if want.Namespace == "" {
			want.Namespace = "/"
		}
		if diff := cmp.Diff(want, got, cmpPacket); diff != "" {
			t.Errorf("decode(encode(%+v)) (-want +got):\n%s", p, diff)
		}
	}
}

func TestCapturedStrings(t *testing.T) {
	var recs []struct {
		S    string `json:"s"`
		JSON string `json:"json"`
	}
	readJSON(t, "strings.json", &recs)
	if len(recs) < 300 {
		t.Fatalf("only %d records", len(recs))
	}
	for _, r := range recs {
		if got := AppendJSONString(nil, r.S); string(got) != r.JSON {
			t.Errorf("AppendJSONString(%q) = %s, Node %s", r.S, got, r.JSON)
		}
		if got := unquote([]byte(r.JSON)); string(got) != r.S {
			t.Errorf("unquote(%s) = %q, want %q", r.JSON, got, r.S)
		}
	}
}
