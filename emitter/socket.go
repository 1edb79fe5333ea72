package emitter

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/siorelay/siorelay/internal/adapter"
)

// decodeSocket decodes one socket of a fetch answer,
// {"id","handshake","rooms","data"} as Node's adapters and the relay
// write it. The common shape (string rooms, headers and query values)
// decodes in one pass; anything else (numeric rooms, a repeated header or
// query key) takes the general path.
func decodeSocket(js []byte, nsp string) (Socket, error) {
	var fast struct {
		ID        string          `json:"id"`
		Handshake plainHandshake  `json:"handshake"`
		Rooms     []string        `json:"rooms"`
		Data      json.RawMessage `json:"data"`
	}
	if json.Unmarshal(js, &fast) == nil {
		return newSocket(fast.ID, nsp, fast.Rooms, fast.Data, fast.Handshake.handshake()), nil
	}
	var w struct {
		ID        string           `json:"id"`
		Handshake Handshake        `json:"handshake"`
		Rooms     adapter.RoomList `json:"rooms"`
		Data      json.RawMessage  `json:"data"`
	}
	if err := json.Unmarshal(js, &w); err != nil {
		return Socket{}, err
	}
	return newSocket(w.ID, nsp, w.Rooms, w.Data, w.Handshake), nil
}

func newSocket(id, nsp string, rooms []string, data json.RawMessage, h Handshake) Socket {
	if data == nil {
		data = json.RawMessage("null")
	}
	if rooms == nil {
		rooms = []string{}
	}
	h.fill()
	return Socket{ID: id, Namespace: nsp, Rooms: rooms, Data: data, Handshake: h}
}

// plainHandshake is socket.handshake when every header and query value is
// a string.
type plainHandshake struct {
	Headers map[string]string `json:"headers"`
	Query   map[string]string `json:"query"`
	Address string            `json:"address"`
	XDomain bool              `json:"xdomain"`
	Secure  bool              `json:"secure"`
	Issued  float64           `json:"issued"`
	URL     string            `json:"url"`
	Auth    json.RawMessage   `json:"auth"`
}

func (p *plainHandshake) handshake() Handshake {
	h := Handshake{Address: p.Address, XDomain: p.XDomain, Secure: p.Secure, URL: p.URL, Auth: p.Auth, Headers: p.Headers, Query: p.Query}
	h.Time = issuedTime(p.Issued)
	return h
}

func issuedTime(ms float64) time.Time {
	if ms > 0 && ms < 1<<53 {
		return time.UnixMilli(int64(ms))
	}
	return time.Time{}
}

// UnmarshalJSON decodes socket.handshake as socket.io serializes it:
// {headers, time, address, xdomain, secure, issued, url, query, auth}.
// Header and query values may be strings or arrays of strings (a repeated
// Set-Cookie header, a repeated query key); other JSON values are kept as
// their JSON text. Missing fields are left zero, except Auth, which is {}.
func (h *Handshake) UnmarshalJSON(b []byte) error {
	var p plainHandshake
	if json.Unmarshal(b, &p) == nil {
		*h = p.handshake()
		h.fill()
		return nil
	}
	var w struct {
		Headers map[string]json.RawMessage `json:"headers"`
		Query   map[string]json.RawMessage `json:"query"`
		Address string                     `json:"address"`
		XDomain bool                       `json:"xdomain"`
		Secure  bool                       `json:"secure"`
		Issued  float64                    `json:"issued"`
		URL     string                     `json:"url"`
		Auth    json.RawMessage            `json:"auth"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*h = Handshake{Address: w.Address, XDomain: w.XDomain, Secure: w.Secure, URL: w.URL, Auth: w.Auth}
	h.Time = issuedTime(w.Issued)
	h.Headers = flatten(w.Headers, false)
	h.Query = flatten(w.Query, true)
	h.fill()
	return nil
}

// fill gives absent fields their documented values: Auth {}, empty maps.
func (h *Handshake) fill() {
	if h.Auth == nil || string(h.Auth) == "null" {
		h.Auth = json.RawMessage("{}")
	}
	if h.Headers == nil {
		h.Headers = map[string]string{}
	}
	if h.Query == nil {
		h.Query = map[string]string{}
	}
}

// flatten turns {name: string | [string...]} into one string per name: an
// array's first element (first) or its elements joined with ", ".
func flatten(m map[string]json.RawMessage, first bool) map[string]string {
	out := make(map[string]string, len(m))
	for k, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out[k] = s
			continue
		}
		var list []string
		if json.Unmarshal(raw, &list) == nil {
			if first {
				if len(list) > 0 {
					out[k] = list[0]
				}
			} else {
				out[k] = strings.Join(list, ", ")
			}
			continue
		}
		if string(raw) != "null" {
			out[k] = string(raw)
		}
	}
	return out
}
