package adapter

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
)

// streamsCapture is testdata/streams.json, written by
// testdata/streams-capture.cjs from the real streams adapter (see
// testdata/README.md).
type streamsCapture struct {
	Scenarios []struct {
		Title string          `json:"title"`
		Setup []redisCommand  `json:"setup"`
		Steps []streamsStep   `json:"steps"`
		Recv  json.RawMessage `json:"received"`
	} `json:"scenarios"`
	Hashes []struct {
		Nsp     string `json:"nsp"`
		Hash    int32  `json:"hash"`
		Streams []struct {
			Count int    `json:"count"`
			Name  string `json:"name"`
		} `json:"streams"`
	} `json:"hashes"`
	Dialect []struct {
		Name     string `json:"name"`
		Msgpack  string `json:"msgpack"`
		Notepack string `json:"notepack"`
	} `json:"dialect"`
}

type streamsStep struct {
	Name     string         `json:"name"`
	Commands []redisCommand `json:"commands"`
}

// redisCommand is one command as MONITOR showed it; each argument is a
// JSON string, or {"hex": ...} for bytes that are not printable UTF-8.
type redisCommand []string

func (c *redisCommand) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*c = make(redisCommand, len(raw))
	for i, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			(*c)[i] = s
			continue
		}
		var h struct{ Hex string }
		if err := json.Unmarshal(r, &h); err != nil {
			return err
		}
		bin, err := hex.DecodeString(h.Hex)
		if err != nil {
			return err
		}
		(*c)[i] = string(bin)
	}
	return nil
}

// fields returns an XADD's field/value pairs as go-redis returns them.
func (c redisCommand) fields() map[string]any {
	m := map[string]any{}
	for i := 6; i+1 < len(c); i += 2 {
		m[c[i]] = c[i+1]
	}
	return m
}

var loadCapture = sync.OnceValues(func() (*streamsCapture, error) {
	b, err := os.ReadFile("testdata/streams.json")
	if err != nil {
		return nil, err
	}
	var c streamsCapture
	return &c, json.Unmarshal(b, &c)
})

func capture(t testing.TB) *streamsCapture {
	t.Helper()
	c, err := loadCapture()
	if err != nil {
		t.Fatalf("testdata/streams.json: %v", err)
	}
	return c
}

// step returns the commands of the named step of the scenario whose title
// starts with scenario, keeping those named cmd.
func (c *streamsCapture) step(t testing.TB, scenario, name, cmd string) []redisCommand {
	t.Helper()
	for _, sc := range c.Scenarios {
		if !strings.HasPrefix(sc.Title, scenario) {
			continue
		}
		for _, st := range sc.Steps {
			if st.Name != name {
				continue
			}
			var out []redisCommand
			for _, cm := range st.Commands {
				if strings.EqualFold(cm[0], cmd) {
					out = append(out, cm)
				}
			}
			if len(out) == 0 {
				t.Fatalf("capture: no %s in %s/%s", cmd, scenario, name)
			}
			return out
		}
	}
	t.Fatalf("capture: no step %s/%s", scenario, name)
	return nil
}

// allCommands lists every captured command named cmd.
func (c *streamsCapture) allCommands(cmd string) []redisCommand {
	var out []redisCommand
	for _, sc := range c.Scenarios {
		for _, cm := range sc.Setup {
			if strings.EqualFold(cm[0], cmd) {
				out = append(out, cm)
			}
		}
		for _, st := range sc.Steps {
			for _, cm := range st.Commands {
				if strings.EqualFold(cm[0], cmd) {
					out = append(out, cm)
				}
			}
		}
	}
	return out
}
