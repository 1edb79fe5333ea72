package adapter

import (
	"strconv"

	"github.com/siorelay/siorelay/internal/notepack"
)

// Decoding of the JSON forms of the adapters' opts and ClusterAdapter
// data, with the scanner of jsonscan.go: keys match exactly, as in
// JavaScript, and a null value counts as absent.

func isNull(v []byte) bool { return string(v) == "null" }

func (o *jsonOpts) UnmarshalJSON(b []byte) error {
	return eachField(b, func(k string, v []byte) error {
		var err error
		switch k {
		case "rooms":
			o.Rooms, err = parseJSONRooms(v)
		case "except":
			o.Except, err = parseJSONRooms(v)
		case "flags":
			o.Flags = v
		}
		return err
	})
}

// parseJSONRooms reads an array of rooms (strings, or numbers named by
// their JavaScript string form); null is no room.
func parseJSONRooms(v []byte) ([]string, error) {
	if isNull(v) {
		return nil, nil
	}
	var rooms []string
	err := eachElement(v, func(x []byte) error {
		if x[0] == '"' {
			s, err := jsonString(x)
			rooms = append(rooms, s)
			return err
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !isRangeError(err) {
			return invalid("room %s is neither a string nor a number", x)
		}
		rooms = append(rooms, notepack.FormatNumber(f))
		return nil
	})
	if err == nil && rooms == nil {
		rooms = []string{}
	}
	return rooms, err
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func (d *jsonClusterData) UnmarshalJSON(b []byte) error {
	return eachField(b, func(k string, v []byte) error {
		var err error
		switch k {
		case "requestId":
			if !isNull(v) {
				d.RequestID, err = jsonString(v)
			}
		case "packet":
			d.Packet = v
		case "opts":
			if isNull(v) {
				d.Opts = nil
				return nil
			}
			d.Opts = new(jsonOpts)
			err = d.Opts.UnmarshalJSON(v)
		case "rooms":
			d.Rooms, err = parseJSONRooms(v)
		case "close":
			switch string(v) {
			case "true", "false", "null":
				d.Close = string(v) == "true"
			default:
				err = invalid("close is %s", v)
			}
		case "sockets":
			d.Sockets = nil
			if !isNull(v) {
				err = eachElement(v, func(x []byte) error {
					d.Sockets = append(d.Sockets, x)
					return nil
				})
			}
		case "clientCount":
			if !isNull(v) {
				var f float64
				if f, err = strconv.ParseFloat(string(v), 64); err == nil {
					d.ClientCount = int(f)
				}
			}
		}
		return err
	})
}
