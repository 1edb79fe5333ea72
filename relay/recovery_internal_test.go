package relay

import (
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/socketio"
)

func TestAppendOffset(t *testing.T) {
	for in, want := range map[string]string{
		`["a"]`:                               `["a","z"]`,
		`["a",1,{"b":[2]}]`:                   `["a",1,{"b":[2]},"z"]`,
		`["a",{"_placeholder":true,"num":0}]`: `["a",{"_placeholder":true,"num":0},"z"]`,
		`["a"] `:                              `["a","z"]`,
	} {
		if got := string(appendOffset([]byte(in), offset{seq: 35}, false)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	for _, s := range []string{"1", "z", "10", "3w5e11264sgsf"} {
		v, ok := parseLocalOffset(s)
		if !ok || string(appendOffset([]byte(`[]`), v, false)) != `["`+s+`"]` {
			t.Errorf("%s: %d %v", s, v, ok)
		}
	}
	for _, s := range []string{"", "0", "-1", "+1", "A", "3w5e11264sgsg", "zzzzzzzzzzzzzz", "1.5"} {
		if v, ok := parseLocalOffset(s); ok {
			t.Errorf("%q parsed as %d", s, v)
		}
	}
	for s, want := range map[string]offset{"1733500000000-0": {1733500000000, 0}, "0-1": {0, 1}, "5-18446744073709551615": {5, 1<<64 - 1}} {
		if got, ok := parseStreamOffset(s); !ok || got != want || got.streamID() != s {
			t.Errorf("stream offset %q: %v %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "1", "1-", "-1", "1-2-3", "a-1", "1-18446744073709551616", " 1-2"} {
		if got, ok := parseStreamOffset(s); ok {
			t.Errorf("stream offset %q parsed as %v", s, got)
		}
	}
}

// TestLogIndex: the offsets a restore accepts as the log is trimmed.
func TestLogIndex(t *testing.T) {
	srv, err := NewServer(Config{Recovery: &Recovery{MaxBytes: 3 * (logEntryOverhead + 40)}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	r := srv.recovery
	ns := srv.namespace("/", false)
	p := socketio.Packet{Type: socketio.Event, Data: []byte(`["e"]`)}
	check := func(what string, valid ...uint64) {
		t.Helper()
		r.mu.Lock()
		defer r.mu.Unlock()
		l := r.logs[""]
		for seq := uint64(0); seq <= r.seq+1; seq++ {
			_, ok := l.after(offset{seq: seq})
			want := false
			for _, v := range valid {
				want = want || v == seq
			}
			if ok != want {
				t.Errorf("%s: offset %d accepted %v, want %v (floor %v, seq %d)", what, seq, ok, want, l.floor, r.seq)
			}
		}
	}
	check("empty log")
	r.deliver(ns, p, broadcastOpts{})
	check("one packet", 1)
	r.deliver(ns, p, broadcastOpts{})
	r.deliver(ns, p, broadcastOpts{})
	check("three packets", 1, 2, 3)
	r.deliver(ns, p, broadcastOpts{})
	// Over MaxBytes: packet 1 went; a client at 1 missed nothing since.
	check("one trimmed", 1, 2, 3, 4)
	r.deliver(ns, p, broadcastOpts{})
	check("two trimmed", 2, 3, 4, 5)
	// firstAfter: the live entries are 3, 4, 5; any offset maps to the
	// first of them that is later.
	r.mu.Lock()
	l := r.logs[""]
	for seq, want := range []uint64{0: 3, 1: 3, 2: 3, 3: 4, 4: 5, 5: 0, 6: 0} {
		i := l.firstAfter(offset{seq: uint64(seq)})
		got := uint64(0) // none
		if i < len(l.entries) {
			got = l.entries[i].off.seq
		}
		if got != want {
			t.Errorf("firstAfter(%d) is entry %d, want %d (0: none)", seq, got, want)
		}
	}
	r.mu.Unlock()
	if st := r.stats(); st.Trimmed != 2 || st.Packets != 3 {
		t.Errorf("stats %+v", st)
	}
	// Everything older than MaxDisconnection goes; the last offset stays
	// valid (nothing after it is missing).
	r.mu.Lock()
	r.trimLocked(r.now() + r.cfg.MaxDisconnection + time.Second)
	r.mu.Unlock()
	check("all expired", 5)
	r.mu.Lock()
	i, _ := r.logs[""].after(offset{seq: 5})
	n := len(r.logs[""].entries) - i
	r.mu.Unlock()
	if n != 0 {
		t.Errorf("replay after the last offset: %d entries", n)
	}
}

func TestSelects(t *testing.T) {
	for _, tc := range []struct {
		rooms, to, except []string
		want              bool
	}{
		{[]string{"id"}, nil, nil, true},
		{[]string{"id", "a"}, []string{"b"}, nil, false},
		{[]string{"id", "a"}, []string{"b", "a"}, nil, true},
		{[]string{"id", "a"}, []string{"id"}, nil, true},
		{[]string{"id", "a"}, nil, []string{"a"}, false},
		{[]string{"id", "a"}, []string{"a"}, []string{"id"}, false},
	} {
		if got := selects(tc.rooms, tc.to, tc.except); got != tc.want {
			t.Errorf("selects(%v, %v, %v) = %v", tc.rooms, tc.to, tc.except, got)
		}
	}
}
