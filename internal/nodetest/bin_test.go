package nodetest

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBinRoundTrip(t *testing.T) {
	b, err := json.Marshal([]any{Bin{1, 2, 3}, Bin{}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `[{"$bin":"AQID"},{"$bin":""}]`; got != want {
		t.Fatalf("Marshal = %s, want %s", got, want)
	}
	var back []Bin
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Bin{{1, 2, 3}, {}}, back); diff != "" {
		t.Fatalf("Unmarshal (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`{"x":1}`), new(Bin)); err == nil {
		t.Fatal("Unmarshal of a non-marker succeeded")
	}
}

func TestDecode(t *testing.T) {
	got, err := Decode(json.RawMessage(`["e",1.5,4294967296,{"b":{"$bin":"yv4="},"n":null},[{"$bin":"AA=="}],{"$bin":"AQ==","x":1}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		"e", json.Number("1.5"), json.Number("4294967296"),
		map[string]any{"b": []byte{0xca, 0xfe}, "n": nil},
		[]any{[]byte{0}},
		map[string]any{"$bin": "AQ==", "x": json.Number("1")}, // not a marker: two keys
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Decode (-want +got):\n%s", diff)
	}
	if _, err := Decode(json.RawMessage(`{"$bin":"!!"}`)); err == nil {
		t.Fatal("Decode accepted invalid base64")
	}
}

func TestMarkArgs(t *testing.T) {
	b, err := json.Marshal(markArgs([]any{[]byte{1}, map[string]any{"k": []byte{2}}, []any{[]byte{3}}, "s"}))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"$bin":"AQ=="},{"k":{"$bin":"Ag=="}},[{"$bin":"Aw=="}],"s"]`
	if string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}
