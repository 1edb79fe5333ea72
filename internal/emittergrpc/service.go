package emittergrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/siorelay/siorelay/emitter"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

// Service implements siorelayv1.EmitterServiceServer over a [Backend]:
// it validates each request, converts it, calls the Backend and translates
// its error into a status code. It holds no state of its own and is safe
// for concurrent use.
type Service struct {
	siorelayv1.UnimplementedEmitterServiceServer
	backend         Backend
	checkJSON       bool // the backend does not check JSON arguments itself
	maxResponseSize int  // bytes of a query's answer
}

var _ siorelayv1.EmitterServiceServer = (*Service)(nil)

// NewService returns the service for b. Register it with
// siorelayv1.RegisterEmitterServiceServer, or use [NewServer], which also
// adds authentication, health and reflection.
func NewService(b Backend) *Service {
	_, checks := b.(JSONChecker)
	return &Service{backend: b, checkJSON: !checks, maxResponseSize: defaultMaxResponseSize}
}

// JSONChecker is implemented by a Backend that rejects a JSON argument
// that is not valid JSON itself, before anything of the call is published,
// with an error wrapping [ErrInvalidArgument] or [emitter.ErrEncode]. The
// service then does not scan JSON arguments a second time. [EmitterBackend]
// implements it: the emitter parses every JSON argument while encoding,
// and encodes a whole batch before publishing any of it.
type JSONChecker interface {
	ChecksJSON()
}

// reservedServerEvents are the names io.serverSideEmit refuses.
var reservedServerEvents = map[string]bool{"connect": true, "connection": true, "new_namespace": true}

func namespace(nsp string) (string, error) {
	if nsp == "" {
		return "/", nil
	}
	if !strings.HasPrefix(nsp, "/") {
		return "", fmt.Errorf("namespace %q must start with \"/\" (or be empty for \"/\")", nsp)
	}
	return nsp, nil
}

func target(t *siorelayv1.Target) (Target, error) {
	nsp, err := namespace(t.GetNamespace())
	if err != nil {
		return Target{}, fmt.Errorf("target: %w", err)
	}
	return Target{Namespace: nsp, Rooms: t.GetRooms(), Except: t.GetExceptRooms()}, nil
}

// args converts and validates in, appending to dst (which may be shared
// by the events of one message, to allocate once per message).
func (s *Service) args(dst []any, in []*siorelayv1.Arg) ([]any, error) {
	for i, a := range in {
		switch v := a.GetValue().(type) {
		case *siorelayv1.Arg_Json:
			b := stringBytes(v.Json)
			if len(b) == 0 {
				// Checked here even for a JSONChecker: encoding/json (and so
				// the emitter) would send an empty RawMessage as null.
				return nil, fmt.Errorf("args[%d]: invalid JSON: empty text (null is \"null\", a string \"\\\"hi\\\"\")", i)
			}
			if s.checkJSON && !json.Valid(b) {
				return nil, fmt.Errorf("args[%d]: invalid JSON: %s (a string needs quotes: \"\\\"hi\\\"\")", i, jsonProblem(v.Json))
			}
			dst = append(dst, json.RawMessage(b))
		case *siorelayv1.Arg_Binary:
			b := v.Binary
			if b == nil {
				b = []byte{}
			}
			dst = append(dst, b)
		default:
			return nil, fmt.Errorf("args[%d]: set one of json or binary", i)
		}
	}
	return dst, nil
}

// stringBytes returns the bytes of s without copying them (one allocation
// and copy less per JSON argument). The result must never be modified;
// like s, it stays valid as long as it is referenced.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// jsonProblem describes why s is not valid JSON (slow path, errors only).
func jsonProblem(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return err.Error()
	}
	return "invalid"
}

// event converts and validates r; its arguments are appended to argBuf.
func (s *Service) event(r *siorelayv1.EmitRequest, argBuf []any) (Event, []any, error) {
	name := r.GetEvent()
	if name == "" {
		return Event{}, argBuf, errors.New("event name is empty")
	}
	if emitter.IsReservedEvent(name) {
		return Event{}, argBuf, fmt.Errorf("event name %q is reserved by Socket.IO", name)
	}
	t, err := target(r.GetTarget())
	if err != nil {
		return Event{}, argBuf, err
	}
	t.Volatile = r.GetVolatile()
	if r.Compress != nil {
		c := r.GetCompress()
		t.Compress = &c
	}
	start := len(argBuf)
	argBuf, err = s.args(argBuf, r.GetArgs())
	if err != nil {
		return Event{}, argBuf, err
	}
	var a []any
	if len(argBuf) > start {
		a = argBuf[start:len(argBuf):len(argBuf)]
	}
	return Event{Target: t, Name: name, Args: a}, argBuf, nil
}

// events converts and validates a whole list; the error names the first
// invalid element.
func (s *Service) events(in []*siorelayv1.EmitRequest) ([]Event, error) {
	out := make([]Event, len(in))
	n := 0
	for _, r := range in {
		n += len(r.GetArgs())
	}
	argBuf := make([]any, 0, n)
	for i, r := range in {
		ev, buf, err := s.event(r, argBuf)
		argBuf = buf
		if err != nil {
			return nil, fmt.Errorf("events[%d]: %w", i, err)
		}
		out[i] = ev
	}
	return out, nil
}

// Emit implements siorelayv1.EmitterServiceServer.
func (s *Service) Emit(ctx context.Context, r *siorelayv1.EmitRequest) (*siorelayv1.EmitResponse, error) {
	ev, _, err := s.event(r, make([]any, 0, len(r.GetArgs())))
	if err != nil {
		return nil, invalidf("Emit: %v", err)
	}
	if err := s.backend.Emit(ctx, ev); err != nil {
		return nil, toStatus(ctx, "Emit", err)
	}
	return &siorelayv1.EmitResponse{}, nil
}

// EmitBatch implements siorelayv1.EmitterServiceServer.
func (s *Service) EmitBatch(ctx context.Context, r *siorelayv1.EmitBatchRequest) (*siorelayv1.EmitBatchResponse, error) {
	evs, err := s.events(r.GetEvents())
	if err != nil {
		return nil, invalidf("EmitBatch: nothing published: %v", err)
	}
	if len(evs) > 0 {
		if err := s.backend.EmitBatch(ctx, evs); err != nil {
			return nil, toStatus(ctx, "EmitBatch", err)
		}
	}
	return &siorelayv1.EmitBatchResponse{Count: uint64(len(evs))}, nil
}

// EmitStream implements siorelayv1.EmitterServiceServer.
//
// A stream publishes one message at a time, in order, on a publisher
// goroutine of its own, while the handler receives and validates the next
// message: Redis's round trip for message n overlaps with the decoding of
// message n+1, and at most one message is in flight. The handler returns
// only after the publisher is idle, so no publish outlives the call.
func (s *Service) EmitStream(stream grpc.ClientStreamingServer[siorelayv1.EmitStreamRequest, siorelayv1.EmitStreamResponse]) error {
	ctx := stream.Context()
	jobs := make(chan []Event)
	results := make(chan error, 1) // at most one job is in flight
	go func() {
		for evs := range jobs {
			results <- s.backend.EmitBatch(ctx, evs)
		}
	}()
	defer close(jobs)

	var (
		count    uint64 // events published
		inFlight int    // events of the message being published; 0 if none
		n        int    // index of the message received last
	)
	// settle waits for the message in flight, if any.
	settle := func() error {
		if inFlight == 0 {
			return nil
		}
		err := <-results
		if err != nil {
			st := status.Convert(toStatus(ctx, "EmitStream", err))
			return status.Errorf(st.Code(), "%s; message %d: %d events of earlier messages were published, none of this one or later ones", st.Message(), n-1, count)
		}
		count += uint64(inFlight)
		inFlight = 0
		return nil
	}
	for ; ; n++ {
		r, err := stream.Recv()
		if err == io.EOF {
			if err := settle(); err != nil {
				return err
			}
			return stream.SendAndClose(&siorelayv1.EmitStreamResponse{Count: count})
		}
		if err != nil {
			_ = settle()
			return err // the stream broke; the status is the transport's
		}
		evs, verr := s.events(r.GetEvents())
		if err := settle(); err != nil {
			return err
		}
		if verr != nil {
			return invalidf("EmitStream: message %d: %v; %d events of earlier messages were published, none of this one", n, verr, count)
		}
		if len(evs) > 0 {
			jobs <- evs
			inFlight = len(evs)
		}
	}
}

// SocketsJoin implements siorelayv1.EmitterServiceServer.
func (s *Service) SocketsJoin(ctx context.Context, r *siorelayv1.SocketsJoinRequest) (*siorelayv1.SocketsJoinResponse, error) {
	t, err := target(r.GetTarget())
	if err != nil {
		return nil, invalidf("SocketsJoin: %v", err)
	}
	if err := s.backend.SocketsJoin(ctx, t, r.GetRooms()); err != nil {
		return nil, toStatus(ctx, "SocketsJoin", err)
	}
	return &siorelayv1.SocketsJoinResponse{}, nil
}

// SocketsLeave implements siorelayv1.EmitterServiceServer.
func (s *Service) SocketsLeave(ctx context.Context, r *siorelayv1.SocketsLeaveRequest) (*siorelayv1.SocketsLeaveResponse, error) {
	t, err := target(r.GetTarget())
	if err != nil {
		return nil, invalidf("SocketsLeave: %v", err)
	}
	if err := s.backend.SocketsLeave(ctx, t, r.GetRooms()); err != nil {
		return nil, toStatus(ctx, "SocketsLeave", err)
	}
	return &siorelayv1.SocketsLeaveResponse{}, nil
}

// DisconnectSockets implements siorelayv1.EmitterServiceServer.
func (s *Service) DisconnectSockets(ctx context.Context, r *siorelayv1.DisconnectSocketsRequest) (*siorelayv1.DisconnectSocketsResponse, error) {
	t, err := target(r.GetTarget())
	if err != nil {
		return nil, invalidf("DisconnectSockets: %v", err)
	}
	if err := s.backend.DisconnectSockets(ctx, t, r.GetClose()); err != nil {
		return nil, toStatus(ctx, "DisconnectSockets", err)
	}
	return &siorelayv1.DisconnectSocketsResponse{}, nil
}

// ServerSideEmit implements siorelayv1.EmitterServiceServer.
func (s *Service) ServerSideEmit(ctx context.Context, r *siorelayv1.ServerSideEmitRequest) (*siorelayv1.ServerSideEmitResponse, error) {
	nsp, err := namespace(r.GetNamespace())
	if err != nil {
		return nil, invalidf("ServerSideEmit: %v", err)
	}
	name := r.GetEvent()
	if name == "" {
		return nil, invalidf("ServerSideEmit: event name is empty")
	}
	if reservedServerEvents[name] {
		return nil, invalidf("ServerSideEmit: event name %q is reserved by Socket.IO", name)
	}
	a, err := s.args(nil, r.GetArgs())
	if err != nil {
		return nil, invalidf("ServerSideEmit: %v", err)
	}
	if err := s.backend.ServerSideEmit(ctx, nsp, name, a); err != nil {
		return nil, toStatus(ctx, "ServerSideEmit", err)
	}
	return &siorelayv1.ServerSideEmitResponse{}, nil
}
