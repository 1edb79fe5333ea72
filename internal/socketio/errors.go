package socketio

import "errors"

// Errors returned by [Decoder.Add] and the validation helpers. Their texts are
// exactly the messages socket.io-parser 4.2.7 throws for the same input (so
// logs and error events read the same as Node's), which is why they lack the
// usual "socketio:" prefix. Node's "unknown packet type" message is followed by
// the offending type (e.g. "unknown packet type NaN"); the sentinel has no
// suffix. socket.io closes the whole connection on any of them.
var (
	// ErrUnknownPacketType: the first character is not a packet type 0-6
	// (also returned for an empty message, on which Node fails with a TypeError).
	ErrUnknownPacketType = errors.New("unknown packet type")
	// ErrIllegalAttachments: a BINARY_EVENT/BINARY_ACK header without "-" or
	// whose attachment count is not an integer >= 1.
	ErrIllegalAttachments = errors.New("Illegal attachments")
	// ErrTooManyAttachments: more attachments announced than Decoder.MaxAttachments.
	ErrTooManyAttachments = errors.New("too many attachments")
	// ErrInvalidPayload: the payload is not JSON, or not the JSON the packet
	// type requires (see Decoder.Add).
	ErrInvalidPayload = errors.New("invalid payload")
	// ErrPlaintextDuringReconstruction: a text message arrived while the
	// attachments of a binary packet were still expected.
	ErrPlaintextDuringReconstruction = errors.New("got plaintext data when reconstructing a packet")
	// ErrUnexpectedBinary: a binary message arrived with no binary packet pending.
	ErrUnexpectedBinary = errors.New("got binary data when not reconstructing a packet")
	// ErrIllegalPlaceholder: a placeholder {"_placeholder":true,"num":N} whose
	// num is not a number in [0, number of attachments). Node's text is the
	// lower-case "illegal attachments".
	ErrIllegalPlaceholder = errors.New("illegal attachments")
	// ErrTooDeep: a binary packet's payload nested deeper than 5000 levels.
	// socket.io-parser reconstructs binary packets recursively and fails
	// with this RangeError at about 5200 levels (Node 20); text-only packets
	// have no nesting limit, as with JSON.parse.
	ErrTooDeep = errors.New("Maximum call stack size exceeded")
)
