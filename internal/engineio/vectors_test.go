package engineio

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The files read here were produced by testdata/capture.js from
// engine.io-parser 5.2.3 (see testdata/README.md).

type vecPacket struct {
	Error  string  `json:"error"`
	Type   string  `json:"type"`
	Data   *string `json:"data"`
	B64    string  `json:"b64"`
	Binary bool    `json:"binary"`
}

type vecEncoded struct {
	Text   string `json:"text"`
	B64    string `json:"b64"`
	Binary bool   `json:"binary"`
}

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

func typeByName(t *testing.T, name string) PacketType {
	for i, n := range typeNames {
		if n == name {
			return Open + PacketType(i)
		}
	}
	t.Fatalf("unknown type %q", name)
	return 0
}

// want converts a captured decode result to a Packet (ok=false for an error packet).
func (v vecPacket) want(t *testing.T) (Packet, bool) {
	if v.Error != "" {
		return Packet{}, false
	}
	p := Packet{Type: typeByName(t, v.Type), Binary: v.Binary}
	if v.Binary {
		d, err := base64.StdEncoding.DecodeString(v.B64)
		if err != nil {
			t.Fatal(err)
		}
		p.Data = d
	} else if v.Data != nil {
		p.Data = []byte(*v.Data)
	}
	return p, true
}

func (v vecEncoded) bytes(t *testing.T) []byte {
	if v.Binary {
		d, err := base64.StdEncoding.DecodeString(v.B64)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	return []byte(v.Text)
}

func TestCapturedPackets(t *testing.T) {
	var recs []struct {
		Text          string      `json:"text"`
		B64           string      `json:"b64"`
		Binary        bool        `json:"binary"`
		Decoded       vecPacket   `json:"decoded"`
		EncodedBinary *vecEncoded `json:"encodedBinary"`
		EncodedText   *vecEncoded `json:"encodedText"`
	}
	readJSON(t, "packets.json", &recs)
	if len(recs) < 20 {
		t.Fatalf("only %d records", len(recs))
	}
	for _, r := range recs {
		in := []byte(r.Text)
		if r.Binary {
			in, _ = base64.StdEncoding.DecodeString(r.B64)
		}
		got, err := DecodePacket(in, r.Binary)
		want, ok := r.Decoded.want(t)
		if !ok {
			if !errors.Is(err, ErrInvalidPacket) {
				t.Errorf("DecodePacket(%q) = %+v, %v; Node: parser error", in, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("DecodePacket(%q) error %v; Node: %+v", in, err, want)
			continue
		}
		if diff := cmp.Diff(want, got, cmpPacket); diff != "" {
			t.Errorf("DecodePacket(%q) (-node +go):\n%s", in, diff)
		}
		for _, enc := range []struct {
			supportsBinary bool
			v              *vecEncoded
		}{{true, r.EncodedBinary}, {false, r.EncodedText}} {
			wantEnc := enc.v.bytes(t)
			if gotEnc := AppendPacket(nil, got, enc.supportsBinary); string(gotEnc) != string(wantEnc) {
				t.Errorf("AppendPacket(%+v, %v) = %q, Node %q", got, enc.supportsBinary, gotEnc, wantEnc)
			}
			if bf := got.IsBinaryFrame(enc.supportsBinary); bf != enc.v.Binary {
				t.Errorf("IsBinaryFrame(%+v, %v) = %v, Node %v", got, enc.supportsBinary, bf, enc.v.Binary)
			}
		}
	}
}

func TestCapturedPayloads(t *testing.T) { testCapturedPayloads(t, "payloads.json", 100) }

// TestCapturedPayloadsFuzz replays inputs found by the fuzzers
// (fuzz_inputs.json) through engine.io-parser and compares.
func TestCapturedPayloadsFuzz(t *testing.T) { testCapturedPayloads(t, "payloads_fuzz.json", 50) }

func testCapturedPayloads(t *testing.T, file string, min int) {
	var recs []struct {
		Text    string      `json:"text"`
		Decoded []vecPacket `json:"decoded"`
		Encoded *string     `json:"encoded"`
	}
	readJSON(t, file, &recs)
	if len(recs) < min {
		t.Fatalf("only %d records", len(recs))
	}
	for _, r := range recs {
		got, err := decodeAll([]byte(r.Text))
		var want []Packet
		nodeErr := false
		for _, v := range r.Decoded {
			p, ok := v.want(t)
			if !ok {
				nodeErr = true
				break
			}
			want = append(want, p)
		}
		if nodeErr != (err != nil) {
			t.Errorf("DecodePayload(%q) err = %v; Node error: %v", r.Text, err, nodeErr)
		}
		if diff := cmp.Diff(want, got, cmpPacket); diff != "" {
			t.Errorf("DecodePayload(%q) (-node +go):\n%s", r.Text, diff)
		}
		if r.Encoded != nil {
			if enc := AppendPayload(nil, got...); string(enc) != *r.Encoded {
				t.Errorf("AppendPayload(decode(%q)) = %q, Node %q", r.Text, enc, *r.Encoded)
			}
		}
	}
}

func TestCapturedBase64(t *testing.T) {
	var recs []struct {
		Text string `json:"text"`
		Hex  string `json:"hex"`
	}
	readJSON(t, "base64.json", &recs)
	if len(recs) < 500 {
		t.Fatalf("only %d records", len(recs))
	}
	for _, r := range recs {
		if got := hex.EncodeToString(DecodeBase64([]byte(r.Text))); got != r.Hex {
			t.Errorf("DecodeBase64(%q) = %s, Node %s", r.Text, got, r.Hex)
		}
		if got := hex.EncodeToString(decodeBase64Lenient([]byte(r.Text))); got != r.Hex {
			t.Errorf("decodeBase64Lenient(%q) = %s, Node %s", r.Text, got, r.Hex)
		}
	}
}
