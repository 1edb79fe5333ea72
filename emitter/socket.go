package emitter

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/siorelay/siorelay/internal/adapter"
)

// decodeSocket decodes one socket of a fetch answer,
// {"id","handshake","rooms","data"} as Node's adapters and the relay
// write it.
func decodeSocket(js []byte, nsp string) (Socket, error) {
	var w struct {
		ID        string           `json:"id"`
		Handshake Handshake        `json:"handshake"`
		Rooms     adapter.RoomList `json:"rooms"`
		Data      json.RawMessage  `json:"data"`
	}
	if err := json.Unmarshal(js, &w); err != nil {
		return Socket{}, err
	}
	if w.Data == nil {
		w.Data = json.RawMessage("null")
	}
	if w.Rooms == nil {
		w.Rooms = []string{}
	}
	w.Handshake.fill()
	return Socket{ID: w.ID, Namespace: nsp, Rooms: w.Rooms, Data: w.Data, Handshake: w.Handshake}, nil
}

// UnmarshalJSON decodes socket.handshake as socket.io serializes it:
// {headers, time, address, xdomain, secure, issued, url, query, auth}.
// Header and query values may be strings or arrays of strings (a repeated
// Set-Cookie header, a repeated query key); other JSON values are kept as
// their JSON text. Missing fields are left zero, except Auth, which is {}.
func (h *Handshake) UnmarshalJSON(b []byte) error {
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
	if w.Issued > 0 && w.Issued < 1<<53 {
		h.Time = time.UnixMilli(int64(w.Issued))
	}
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
