package engineio

import "bytes"

// Separator is the record separator (0x1E) between packets of a polling payload.
const Separator = 0x1E

// AppendPayload appends the HTTP long-polling encoding of packets
// (engine.io-parser encodePayload): each packet encoded as by [AppendPacket]
// without binary support (binary messages always become "b<base64>" in v4),
// joined by [Separator]. No packets append nothing.
func AppendPayload(dst []byte, packets ...Packet) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, Separator)
		}
		dst = AppendPacket(dst, p, false)
	}
	return dst
}

// DecodePayload decodes an HTTP long-polling payload (engine.io-parser
// decodePayload): data is split on [Separator] and each record is decoded
// with [DecodePacket] and passed to fn, in order.
//
// Like engine.io-parser, decoding stops at the first invalid record:
// the packets before it have been delivered, and DecodePayload returns
// [ErrInvalidPacket] (engine.io then closes the session with "parse error").
// An empty payload, or an empty record (e.g. a trailing separator), is
// invalid. If fn returns an error, decoding stops and that error is returned.
//
// The packets alias data as described for DecodePacket.
func DecodePayload(data []byte, fn func(Packet) error) error {
	for {
		rec := data
		i := bytes.IndexByte(data, Separator)
		if i >= 0 {
			rec = data[:i]
		}
		p, err := DecodePacket(rec, false)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if i < 0 {
			return nil
		}
		data = data[i+1:]
	}
}
