package emittergrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// codec encodes the messages of one Content-Type of the HTTP API.
type codec struct {
	name        string
	contentType string
	unmarshal   func([]byte, proto.Message) error
	marshal     func(proto.Message) ([]byte, error)
}

// jsonOut writes every field, zero values included, so that callers
// without protobuf see a count of 0 as 0 and an empty list as [] rather
// than an absent field (protobuf JSON readers accept either).
var jsonOut = protojson.MarshalOptions{EmitUnpopulated: true}

var (
	// jsonCodec is protobuf JSON. Unknown fields are an error, so that a
	// misspelt field ("except" for "exceptRooms") is reported instead of
	// ignored; an empty body is the empty message.
	jsonCodec = codec{
		name:        "JSON",
		contentType: "application/json",
		unmarshal: func(b []byte, m proto.Message) error {
			if len(bytes.TrimSpace(b)) == 0 {
				return nil
			}
			return protojson.Unmarshal(b, m)
		},
		marshal: func(m proto.Message) ([]byte, error) {
			b, err := jsonOut.Marshal(m)
			if err != nil {
				return nil, err
			}
			// protojson varies its whitespace on purpose; compact output is
			// the same on every call, which scripts comparing it rely on.
			var out bytes.Buffer
			if err := json.Compact(&out, b); err != nil {
				return nil, err
			}
			return out.Bytes(), nil
		},
	}
	protoCodec = codec{
		name:        "protobuf",
		contentType: "application/proto",
		unmarshal:   func(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) },
		marshal:     func(m proto.Message) ([]byte, error) { return proto.Marshal(m) },
	}
)

// httpStatus maps a gRPC code to the HTTP status of the Connect protocol
// (the same table as google.rpc.Code's HTTP mapping).
func httpStatus(c codes.Code) int {
	switch c {
	case codes.Canceled:
		return 499 // Client Closed Request
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError // Unknown, Internal, DataLoss
}

// connectCodes are the Connect names of the gRPC codes, by number.
var connectCodes = [...]string{"ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
	"already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range",
	"unimplemented", "internal", "unavailable", "data_loss", "unauthenticated"}

// connectCode is the Connect name of a gRPC code: "invalid_argument".
func connectCode(c codes.Code) string {
	if int(c) < len(connectCodes) {
		return connectCodes[c]
	}
	return "unknown"
}

// wireError is the JSON body of an error answer.
type wireError struct {
	Code    string       `json:"code"`
	Message string       `json:"message,omitempty"`
	Details []wireDetail `json:"details,omitempty"`
}

// wireDetail is one status detail: its message type's full name, its
// binary encoding in base64 (without padding), and, for callers without
// protobuf, the same message as protobuf JSON (Connect's "debug").
type wireDetail struct {
	Type  string          `json:"type"`
	Value string          `json:"value"`
	Debug json.RawMessage `json:"debug,omitempty"`
}

// writeStatus answers st with the HTTP status of its code, and returns
// the code.
func writeStatus(w http.ResponseWriter, st *status.Status) codes.Code {
	return writeError(w, httpStatus(st.Code()), st)
}

// writeError answers st with httpCode, which may differ from the code's
// usual status where HTTP has a more precise one (404, 405, 413, 415).
func writeError(w http.ResponseWriter, httpCode int, st *status.Status) codes.Code {
	e := wireError{Code: connectCode(st.Code()), Message: st.Message()}
	for _, d := range st.Proto().GetDetails() {
		typ := d.GetTypeUrl()
		if i := strings.LastIndexByte(typ, '/'); i >= 0 {
			typ = typ[i+1:]
		}
		wd := wireDetail{Type: typ, Value: base64.RawStdEncoding.EncodeToString(d.GetValue())}
		if m, err := d.UnmarshalNew(); err == nil {
			wd.Debug, _ = jsonCodec.marshal(m) // nil on error: no debug field
		}
		e.Details = append(e.Details, wd)
	}
	body, _ := json.Marshal(e) // strings and slices of strings only: cannot fail
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(httpCode)
	_, _ = w.Write(body)
	return st.Code()
}

// httpStream is the grpc.ServerTransportStream of a call over HTTP: what a
// method sets with grpc.SetHeader or grpc.SetTrailer becomes response
// headers, trailers prefixed with "Trailer-" as Connect's unary form has
// them.
type httpStream struct {
	method string

	mu      sync.Mutex
	header  metadata.MD // guarded by mu
	trailer metadata.MD // guarded by mu
}

func (s *httpStream) Method() string { return s.method }

func (s *httpStream) SetHeader(md metadata.MD) error {
	s.mu.Lock()
	s.header = metadata.Join(s.header, md)
	s.mu.Unlock()
	return nil
}

func (s *httpStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }

func (s *httpStream) SetTrailer(md metadata.MD) error {
	s.mu.Lock()
	s.trailer = metadata.Join(s.trailer, md)
	s.mu.Unlock()
	return nil
}

// writeHeaders copies what the method set into h.
func (s *httpStream) writeHeaders(h http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	add := func(prefix string, md metadata.MD) {
		for k, vs := range md {
			if strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") {
				continue
			}
			for _, v := range vs {
				if strings.HasSuffix(k, "-bin") {
					v = base64.RawStdEncoding.EncodeToString([]byte(v))
				}
				h.Add(prefix+k, v)
			}
		}
	}
	add("", s.header)
	add("Trailer-", s.trailer)
}
