package engineio

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/siorelay/siorelay/internal/jsjson"
)

// Handshake is the content of the Open packet engine.io sends first on every
// session.
type Handshake struct {
	SID          string        // session id, see NewSID
	Upgrades     []string      // ["websocket"] for a polling session, empty for a WebSocket one
	PingInterval time.Duration // engine.io default 25s; sent in whole milliseconds
	PingTimeout  time.Duration // engine.io default 20s; sent in whole milliseconds
	MaxPayload   int           // maxHttpBufferSize, engine.io default 1e6
}

// AppendOpen appends the Open packet for h exactly as engine.io 6.6.12 writes
// it: '0' followed by JSON with the keys sid, upgrades, pingInterval,
// pingTimeout, maxPayload in that order, e.g.
//
//	0{"sid":"OINQgpWBAU4MaTveAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//
// A nil or empty Upgrades is written as []. Durations are truncated to
// milliseconds.
func AppendOpen(dst []byte, h Handshake) []byte {
	dst = append(dst, `0{"sid":`...)
	dst = jsjson.AppendString(dst, h.SID)
	dst = append(dst, `,"upgrades":[`...)
	for i, u := range h.Upgrades {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsjson.AppendString(dst, u)
	}
	dst = append(dst, `],"pingInterval":`...)
	dst = strconv.AppendInt(dst, h.PingInterval.Milliseconds(), 10)
	dst = append(dst, `,"pingTimeout":`...)
	dst = strconv.AppendInt(dst, h.PingTimeout.Milliseconds(), 10)
	dst = append(dst, `,"maxPayload":`...)
	dst = strconv.AppendInt(dst, int64(h.MaxPayload), 10)
	return append(dst, '}')
}

// ParseOpen parses the data of an Open packet (the JSON after the '0'), as a
// client does. It is meant for tests and tools, not hot paths: it uses
// encoding/json and allocates.
func ParseOpen(data []byte) (Handshake, error) {
	var v struct {
		SID          *string  `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval float64  `json:"pingInterval"`
		PingTimeout  float64  `json:"pingTimeout"`
		MaxPayload   float64  `json:"maxPayload"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return Handshake{}, errors.New("engineio: invalid handshake: " + err.Error())
	}
	if v.SID == nil {
		return Handshake{}, errors.New("engineio: invalid handshake: no sid")
	}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	return Handshake{
		SID:          *v.SID,
		Upgrades:     v.Upgrades,
		PingInterval: ms(v.PingInterval),
		PingTimeout:  ms(v.PingTimeout),
		MaxPayload:   int(v.MaxPayload),
	}, nil
}
