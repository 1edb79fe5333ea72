package notepack

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Cases shared by the encoder and decoder tests: a JSON text, the bytes
// notepack.encode(JSON.parse(text)) gives, and what JSON.stringify prints
// for the decoded value.
var jsonCases = []struct {
	name, json, hex, stringify string
}{
	{"null", `null`, "c0", ""},
	{"true", `true`, "c3", ""},
	{"false", `false`, "c2", ""},
	{"zero", `0`, "00", ""},
	{"negative zero", `-0`, "00", "0"},
	{"fixint max", `127`, "7f", ""},
	{"uint8", `128`, "cc80", ""},
	{"uint16", `256`, "cd0100", ""},
	{"uint32", `65536`, "ce00010000", ""},
	{"uint64", `4294967296`, "cf0000000100000000", ""},
	{"neg fixint", `-32`, "e0", ""},
	{"int8", `-33`, "d0df", ""},
	{"int16", `-129`, "d1ff7f", ""},
	{"int32", `-32769`, "d2ffff7fff", ""},
	{"int64", `-2147483649`, "d3ffffffff7fffffff", ""},
	{"integral float", `1.0`, "01", "1"},
	{"exponent integer", `1e3`, "cd03e8", "1000"},
	{"float", `1.5`, "cb3ff8000000000000", ""},
	{"max safe", `9007199254740991`, "cf001fffffffffffff", ""},
	{"beyond safe rounds", `9007199254740993`, "cf0020000000000000", "9007199254740992"},
	{"2^64 wraps like notepack", `18446744073709551616`, "cf0000000000000000", "0"},
	{"tiny", `1e-7`, "cb3e7ad7f29abcaf48", ""},
	{"string", `"hi"`, "a26869", ""},
	{"unicode", `"é😀"`, "a6c3a9f09f9880", ""},
	{"escapes", `"a\"\\\/\b\f\n\r\t\u0001"`, "aa61225c2f080c0a0d0901", `"a\"\\/\b\f\n\r\t\u0001"`},
	{"surrogate pair", `"\ud83d\ude00"`, "a4f09f9880", `"😀"`},
	{"lone surrogate eats the next unit, as notepack does", `"\ud800x"`, "a4f09081b8", `"𐁸"`},
	{"lone surrogate at the end", `"a\udc00"`, "a561f0908080", `"a𐀀"`},
	{"lone surrogate before a pair", `"\ud800\ud83d\ude00"`, "a8f09080bdf2908080", `"𐀽򐀀"`},
	{"u2028 stays raw", "\"\u2028\"", "a3e280a8", ""},
	{"str8", `"` + strings.Repeat("x", 32) + `"`, "d920" + strings.Repeat("78", 32), ""},
	{"empty array", `[]`, "90", ""},
	{"array", `[1,"a",[null]]`, "9301a16191c0", ""},
	{"array16", `[` + strings.Repeat("0,", 15) + `0]`, "dc0010" + strings.Repeat("00", 16), ""},
	{"empty object", `{}`, "80", ""},
	{"object", `{"a":1,"b":[true,null]}`, "82a16101a16292c3c0", ""},
	{"index keys first", `{"b":1,"a":2,"1":3}`, "83a13103a16201a16102", `{"1":3,"b":1,"a":2}`},
	{"index keys ascending", `{"10":1,"9":2,"x":3}`, "83a13902a2313001a17803", `{"9":2,"10":1,"x":3}`},
	{"not an index", `{"b":1,"01":2,"4294967295":3}`, "83a16201a2303102aa3432393439363732393503", ""},
	{"duplicate keeps first place, last value", `{"a":1,"b":2,"a":3}`, "82a16103a16202", `{"a":3,"b":2}`},
	{"whitespace", " { \"a\" :\t[ 1 , 2 ]\n} ", "81a1619201" + "02", `{"a":[1,2]}`},
}

func TestAppendJSON(t *testing.T) {
	for _, tt := range jsonCases {
		got, err := AppendJSON(nil, []byte(tt.json))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if want := mustHex(t, tt.hex); !bytes.Equal(got, want) {
			t.Errorf("%s: AppendJSON(%s)\n got %x\nwant %x", tt.name, tt.json, got, want)
		}
	}
}

func TestAppendToJSON(t *testing.T) {
	for _, tt := range jsonCases {
		want := tt.stringify
		if want == "" {
			want = tt.json
		}
		got, n, err := AppendToJSON(nil, mustHex(t, tt.hex), nil)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if string(got) != want || n != len(tt.hex)/2 {
			t.Errorf("%s: AppendToJSON(%s) = %s (%d bytes read), want %s", tt.name, tt.hex, got, n, want)
		}
	}
}

func TestAppendJSONErrors(t *testing.T) {
	bad := []string{``, ` `, `{`, `[1,]`, `{"a"}`, `{"a":1,}`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `"abc`,
		`"\x"`, `"\u12"`, "\"a\x01\"", `nul`, `[1 2]`, `{1:2}`, `1 2`, `NaN`, `Infinity`, `'a'`,
		strings.Repeat("[", 1001) + strings.Repeat("]", 1001)}
	for _, s := range bad {
		dst := []byte("keep")
		out, err := AppendJSON(dst, []byte(s))
		if !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("AppendJSON(%q): err = %v, want ErrInvalidJSON", s, err)
		}
		if string(out) != "keep" {
			t.Errorf("AppendJSON(%q) left %q in dst", s, out)
		}
		if json.Valid([]byte(s)) && !strings.HasPrefix(s, "[[[") {
			t.Errorf("test case %q is valid JSON", s)
		}
	}
}

func TestFloatEdges(t *testing.T) {
	tests := []struct {
		f   float64
		hex string
	}{
		{math.NaN(), "cb7ff8000000000000"},
		{math.Inf(1), "cb7ff0000000000000"},
		{math.Inf(-1), "cbfff0000000000000"},
		{math.Copysign(0, -1), "00"},
		{-1.5, "cbbff8000000000000"},
		{-4294967296, "d3ffffffff00000000"},
		{1 << 63, "cf8000000000000000"},
		{-(1 << 63), "d38000000000000000"},
		{1 << 64, "cf0000000000000000"},
		{1e21, "cf35c9adc5dea00000"}, // notepack's 32-bit arithmetic, not a round trip
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(AppendFloat(nil, tt.f)); got != tt.hex {
			t.Errorf("AppendFloat(%v) = %s, want %s", tt.f, got, tt.hex)
		}
	}
	js, _, err := AppendToJSON(nil, AppendFloat(nil, math.NaN()), nil)
	if err != nil || string(js) != "null" {
		t.Errorf("NaN prints as %s, %v; want null", js, err)
	}
}

type inner struct {
	X int `json:"x"`
}

type Embedded struct {
	E1 string `json:"e1"`
	E2 string
}

type sample struct {
	Name     string          `json:"name"`
	Count    int             `json:"count,omitempty"`
	Skip     string          `json:"-"`
	Dash     string          `json:"-,"`
	Quoted   int64           `json:"quoted,string"`
	Ptr      *inner          `json:"ptr"`
	NilPtr   *inner          `json:"nilptr,omitempty"`
	Map      map[string]int  `json:"map"`
	IntMap   map[int]string  `json:"intmap"`
	Slice    []inner         `json:"slice"`
	NilSlice []int           `json:"nilslice"`
	Array    [2]uint8        `json:"array"`
	Raw      json.RawMessage `json:"raw"`
	Num      json.Number     `json:"num"`
	When     time.Time       `json:"when"`
	Zero     time.Time       `json:"zero,omitzero"`
	Iface    any             `json:"iface"`
	F32      float32         `json:"f32"`
	Bytes    []byte          `json:"bytes"`
	Untagged string
	lower    string
	Embedded
	*inner
	Strs map[string][]string `json:"strs"`
}

// AppendValue names and orders things as encoding/json does: for values
// without []byte, AppendValue(v) == AppendJSON(json.Marshal(v)).
func TestAppendValueMatchesEncodingJSON(t *testing.T) {
	when := time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.UTC)
	values := []any{
		sample{Name: "n", Quoted: 42, Ptr: &inner{1}, Map: map[string]int{"b": 2, "a": 1},
			IntMap: map[int]string{10: "x", 9: "y"}, Slice: []inner{{3}}, Array: [2]uint8{7, 8},
			Raw: json.RawMessage(`{"z":1,"a":[2]}`), Num: "12.5", When: when, Iface: []any{"q", 1.25},
			F32: 0.1, Untagged: "u", Embedded: Embedded{E1: "e", E2: "f"}, inner: &inner{9},
			Strs: map[string][]string{"k": {"v"}}, Dash: "dash"},
		sample{},
		map[string]any{"z": 1, "a": map[string]any{"y": nil, "b": true}},
		[]any{1, int8(-3), uint16(300), int64(math.MaxInt32) + 1, 2.5, "s", nil, false},
		struct {
			A, B int
			C    string `json:"A"` // tagged wins over untagged at the same depth
		}{1, 2, "c"},
		&struct{ P *int }{},
	}
	for i, v := range values {
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		want, err := AppendJSON(nil, js)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendValue(nil, v)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			gotJS, _, _ := AppendToJSON(nil, got, nil)
			t.Errorf("value %d:\n got %s\nwant %s", i, gotJS, js)
		}
	}
}

func TestAppendValueBinary(t *testing.T) {
	got, err := AppendValue(nil, map[string]any{"buf": []byte{0xca, 0xfe}, "nil": []byte(nil), "empty": []byte{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "83a3627566c402cafea5656d707479c400a36e696cc0"; hex.EncodeToString(got) != want {
		t.Errorf("got %x, want %s", got, want)
	}
	var bins [][]byte
	js, _, err := AppendToJSON(nil, got, &bins)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"buf":{"_placeholder":true,"num":0},"empty":{"_placeholder":true,"num":1},"nil":null}`; string(js) != want {
		t.Errorf("placeholders: %s", js)
	}
	if len(bins) != 2 || !bytes.Equal(bins[0], []byte{0xca, 0xfe}) || len(bins[1]) != 0 {
		t.Errorf("attachments: %x", bins)
	}
	js, _, _ = AppendToJSON(nil, got, nil)
	if want := `{"buf":{"type":"Buffer","data":[202,254]},"empty":{"type":"Buffer","data":[]},"nil":null}`; string(js) != want {
		t.Errorf("buffers: %s", js)
	}
}

func TestAppendValueErrors(t *testing.T) {
	type withChan struct{ C chan int }
	bad := []any{make(chan int), func() {}, complex64(1), withChan{make(chan int)},
		map[[2]int]int{{1, 2}: 3}, json.RawMessage(`[`), json.Number("1x")}
	for _, v := range bad {
		dst := []byte("keep")
		out, err := AppendValue(dst, v)
		if err == nil {
			t.Errorf("AppendValue(%T) succeeded", v)
		}
		if string(out) != "keep" {
			t.Errorf("AppendValue(%T) left %q", v, out)
		}
	}
	deep := []any{}
	for i := 0; i < 2000; i++ {
		deep = []any{deep}
	}
	if _, err := AppendValue(nil, deep); !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep value: %v", err)
	}
}

func TestInvalidUTF8(t *testing.T) {
	got := AppendString(nil, "a\xffb")
	if want := "a561efbfbd62"; hex.EncodeToString(got) != want {
		t.Errorf("got %x", got)
	}
}

func TestExtensions(t *testing.T) {
	tests := []struct{ hex, json string }{
		{"d6ff00000000", `"1970-01-01T00:00:00.000Z"`},
		{"d7ff7735940000000001", `"1970-01-01T00:00:01.500Z"`},
		{"92d40000c0", `[null,null]`},                          // legacy undefined in an array
		{"82a161d40000a16201", `{"b":1}`},                      // legacy undefined drops the key
		{"c702000908", `{}`},                                   // legacy ArrayBuffer
		{"d7000000000000000000", `"1970-01-01T00:00:00.000Z"`}, // legacy Date
		{"d40501", `[5,{"type":"Buffer","data":[1]}]`},         // unknown ext
	}
	for _, tt := range tests {
		got, _, err := AppendToJSON(nil, mustHex(t, tt.hex), nil)
		if err != nil || string(got) != tt.json {
			t.Errorf("AppendToJSON(%s) = %s, %v; want %s", tt.hex, got, err, tt.json)
		}
	}
}

func TestContainsBinary(t *testing.T) {
	tests := []struct {
		hex  string
		want bool
	}{
		{"92a362696e01", false},
		{"92a362696ec403010203", true},
		{"91d6ff00000000", false},    // a Date is not binary
		{"91d40501", true},           // an unknown ext decodes to a Buffer
		{"91d9" + "03c4c4c4", false}, // bin codes inside a string
		{"81a161cb3ff8000000000000", false},
	}
	for _, tt := range tests {
		if got := ContainsBinary(mustHex(t, tt.hex)); got != tt.want {
			t.Errorf("ContainsBinary(%s) = %v", tt.hex, got)
		}
	}
}

func TestDecode(t *testing.T) {
	v, err := Decode(mustHex(t, "83a16101a16292c3c0a163c40101"))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if m["a"] != 1.0 || len(m["b"].([]any)) != 2 || !bytes.Equal(m["c"].([]byte), []byte{1}) {
		t.Errorf("Decode = %#v", v)
	}
	if _, err := Decode(mustHex(t, "0101")); !errors.Is(err, ErrTrailingData) {
		t.Errorf("trailing data: %v", err)
	}
	for _, h := range []string{"", "c1", "92", "dc0010", "c4ff", "dd7fffffff", "df7fffffff"} {
		if _, err := Decode(mustHex(t, h)); err == nil {
			t.Errorf("Decode(%s) succeeded", h)
		}
	}
}
