package jwtauth

import "testing"

// FuzzParseJWKS: any key set parses or fails without panicking, and every
// key it keeps is usable.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","alg":"ES256","use":"sig","kid":"1"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"},null,1,"x",{"kty":"RSA","e":"","n":""}]}`))
	f.Add([]byte(`{"keys":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := parseJWKS(data)
		if err == nil && len(set) == 0 {
			t.Fatal("no error and no key")
		}
		for _, k := range set {
			if k.material == nil || (k.family != familyRSA && k.family != familyEC) {
				t.Fatalf("unusable key %+v", k)
			}
		}
	})
}

// FuzzTemplate: any room template parses or fails, and a parsed one
// expands without panicking.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"user:{sub}", "{rooms}", "{a}{b}", "{", "}", "{}", "x{y}z{w.v}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseTemplate(s)
		if err != nil {
			return
		}
		v := &Verifier{cfg: Config{MaxRooms: 16}, rooms: []template{tm}}
		rooms, err := v.Rooms(map[string]any{"sub": "s", "rooms": []any{"a", "b"}, "a": map[string]any{"b": "c"}})
		if err == nil && len(rooms) > 16 {
			t.Fatalf("%d rooms", len(rooms))
		}
	})
}
