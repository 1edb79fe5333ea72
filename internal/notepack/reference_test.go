package notepack

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/siorelay/siorelay/internal/nodetest"
)

type refCase struct {
	Codec string  `json:"codec,omitempty"` // "" is notepack.io, "msgpack" @msgpack/msgpack
	JSON  *string `json:"json,omitempty"`
	Hex   *string `json:"hex,omitempty"`
	Error string  `json:"error,omitempty"`
}

// askNotepack runs testdata/reference.mjs against the pinned notepack.io
// (or, for cases with Codec "msgpack", @msgpack/msgpack).
func askNotepack(t *testing.T, cases []refCase) []refCase {
	t.Helper()
	nodetest.Require(t)
	in, _ := json.Marshal(cases)
	script, _ := filepath.Abs("testdata/reference.mjs")
	cmd := exec.Command("node", script)
	cmd.Dir = nodetest.Dir()
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node reference: %v\n%s", err, stderr.String())
	}
	var res []refCase
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(cases) {
		t.Fatalf("node reference answered %d of %d cases: %v", len(res), len(cases), err)
	}
	return res
}

// randomJSON builds JSON texts that stress the codec: every number range,
// unicode, escapes, index-like and repeated keys, nesting.
func randomJSON(r *rand.Rand, depth int) string {
	switch k := r.IntN(10); {
	case depth > 3 || k < 3:
		return randomScalar(r)
	case k < 6:
		n := r.IntN(8)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = randomJSON(r, depth+1)
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		n := r.IntN(8)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = randomKey(r) + ":" + randomJSON(r, depth+1)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
}

func randomKey(r *rand.Rand) string {
	keys := []string{`"a"`, `"b"`, `"0"`, `"1"`, `"10"`, `"9"`, `"01"`, `"-1"`, `"4294967294"`, `"4294967295"`, `"é"`, `"__proto__x"`, `"k\u0000"`, `"1.5"`}
	return keys[r.IntN(len(keys))]
}

func randomScalar(r *rand.Rand) string {
	switch r.IntN(12) {
	case 0:
		return []string{"null", "true", "false"}[r.IntN(3)]
	case 1:
		return strconv.FormatInt(r.Int64N(1<<62)-(1<<61), 10)
	case 2:
		return strconv.FormatInt(int64(r.IntN(70000))-35000, 10)
	case 3:
		return strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(40)-20)), 'g', -1, 64)
	case 4:
		return []string{"1e400", "-1e400", "1e-400", "-0", "0.1", "1e21", "1e-7", "123456789012345678901234567890", "18446744073709551615", "-9223372036854775809", "4294967295.5"}[r.IntN(11)]
	case 5:
		return strconv.FormatFloat(float64(r.Uint64()>>r.IntN(64)), 'f', -1, 64)
	case 6:
		return `"` + strings.Repeat("x", r.IntN(300)) + `"`
	case 7:
		return `"\ud83d\ude00 \u00e9 \u2028 \" \\ \n \u0007 \/"`
	case 8:
		return `"` + string(rune(0x80+r.IntN(0x10000))) + `"`
	case 9:
		return "-" + strconv.Itoa(r.IntN(1<<31))
	case 10:
		return strconv.FormatFloat(-float64(r.Uint64()>>r.IntN(64)), 'f', -1, 64)
	}
	return `""`
}

// TestAgainstNotepack checks AppendJSON and AppendToJSON against the real
// notepack.io 3.0.1, on the table cases and on thousands of random values.
func TestAgainstNotepack(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var texts []string
	for _, tt := range jsonCases {
		texts = append(texts, tt.json)
	}
	for i := 0; i < 2000; i++ {
		texts = append(texts, randomJSON(r, 0))
	}
	var cases []refCase
	for i := range texts {
		cases = append(cases, refCase{JSON: &texts[i]})
	}
	// Decoding direction: what we encode, plus hand-made msgpack with
	// binary, extensions and non-string keys.
	var hexes []string
	for _, s := range texts[:500] {
		b, err := AppendJSON(nil, []byte(s))
		if err != nil {
			t.Fatalf("AppendJSON(%s): %v", s, err)
		}
		hexes = append(hexes, hex.EncodeToString(b))
	}
	hexes = append(hexes,
		"93a362696ec403010203a1c3", "d6ff00000000", "d7ff7735940000000001", "c70cff000000010000000000000001",
		"92d40000c0", "82a161d40000a16201", "c702000908", "d7000000000000000000", "d40501",
		"8201a161c3a162", "81c0c0", "82a161c3a161c2", "ca3fc00000", "cf0020000000000001", "81cb3ff8000000000000c0")
	for i := range hexes {
		cases = append(cases, refCase{Hex: &hexes[i]})
	}
	compareReference(t, cases, askNotepack(t, cases), AppendJSON)
	t.Log(fmt.Sprintf("%d cases agree with notepack.io", len(cases)))
}

// compareReference checks every case against the reference's answer:
// encodeJSON for the JSON cases, AppendToJSON for the msgpack ones.
func compareReference(t *testing.T, cases, res []refCase, encodeJSON func(dst, src []byte) ([]byte, error)) {
	t.Helper()
	failures := 0
	for i, c := range cases {
		want := res[i]
		if want.Error != "" {
			t.Errorf("case %d: the reference failed: %s", i, want.Error)
			continue
		}
		if c.JSON != nil {
			b, err := encodeJSON(nil, []byte(*c.JSON))
			if err != nil {
				t.Errorf("encode %s: %v", *c.JSON, err)
				continue
			}
			if got := hex.EncodeToString(b); got != *want.Hex {
				failures++
				t.Errorf("encode %s\n got %s\nwant %s", *c.JSON, got, *want.Hex)
			}
		} else {
			b, _ := hex.DecodeString(*c.Hex)
			js, _, err := AppendToJSON(nil, b, nil)
			if err != nil {
				t.Errorf("AppendToJSON(%s): %v", *c.Hex, err)
				continue
			}
			if string(js) != *want.JSON {
				failures++
				t.Errorf("AppendToJSON(%s)\n got %s\nwant %s", *c.Hex, js, *want.JSON)
			}
		}
		if failures > 20 {
			t.Fatal("too many differences")
		}
	}
}
