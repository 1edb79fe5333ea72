package emittergrpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/siorelay/siorelay/emitter"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

// The queries of EmitterService: FetchSockets, ServerCount, AllRooms and
// EmitWithAck. Each waits for the servers of the cluster through the
// Backend, within a deadline a little before the call's (queryContext), so
// that a partial answer still reaches the caller.

// maxAckTimeout bounds EmitWithAckRequest.timeout.
const maxAckTimeout = 10 * time.Minute

// defaultMaxResponseSize is Config.MaxResponseSize's zero value.
const defaultMaxResponseSize = 64 << 20

// queryContext returns ctx with its deadline moved earlier by a tenth of
// the time left, at most 100 ms: the backend stops waiting for servers
// then, and its answer (complete or not) is sent before the caller gives up.
func queryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(time.Until(d)/10, 100*time.Millisecond)
	return context.WithDeadline(ctx, d.Add(-max(margin, 0)))
}

// queryStatus is the status of a failed query. A partial answer
// (ErrIncomplete) is DeadlineExceeded with the answer in the details when
// it fits the size limit.
func (s *Service) queryStatus(ctx context.Context, op string, err error, partial proto.Message) error {
	if !errors.Is(err, ErrIncomplete) {
		return statusOf(ctx, op, err, queryWords)
	}
	msg := fmt.Sprintf("%s: %v", op, err)
	if proto.Size(partial) > s.maxResponseSize {
		return status.Error(codes.DeadlineExceeded, msg+" (the partial answer is too large for the status details)")
	}
	st, derr := status.New(codes.DeadlineExceeded, msg+" (the status details hold the partial answer)").WithDetails(protoadapt.MessageV1Of(partial))
	if derr != nil {
		return status.Error(codes.DeadlineExceeded, msg)
	}
	return st.Err()
}

// checkSize fails an answer past the size limit.
func (s *Service) checkSize(op string, m proto.Message) error {
	if n := proto.Size(m); n > s.maxResponseSize {
		return status.Errorf(codes.ResourceExhausted, "%s: the answer has %d bytes, more than the limit of %d; narrow the target", op, n, s.maxResponseSize)
	}
	return nil
}

// FetchSockets implements siorelayv1.EmitterServiceServer.
func (s *Service) FetchSockets(ctx context.Context, r *siorelayv1.FetchSocketsRequest) (*siorelayv1.FetchSocketsResponse, error) {
	t, err := target(r.GetTarget())
	if err != nil {
		return nil, invalidf("FetchSockets: %v", err)
	}
	qctx, cancel := queryContext(ctx)
	defer cancel()
	socks, err := s.backend.FetchSockets(qctx, t)
	res := &siorelayv1.FetchSocketsResponse{Sockets: make([]*siorelayv1.Socket, len(socks))}
	for i := range socks {
		res.Sockets[i] = socketProto(&socks[i])
	}
	if err != nil {
		return nil, s.queryStatus(ctx, "FetchSockets", err, res)
	}
	if err := s.checkSize("FetchSockets", res); err != nil {
		return nil, err
	}
	return res, nil
}

// ServerCount implements siorelayv1.EmitterServiceServer.
func (s *Service) ServerCount(ctx context.Context, r *siorelayv1.ServerCountRequest) (*siorelayv1.ServerCountResponse, error) {
	nsp, err := namespace(r.GetNamespace())
	if err != nil {
		return nil, invalidf("ServerCount: %v", err)
	}
	n, err := s.backend.ServerCount(ctx, nsp)
	if err != nil {
		return nil, statusOf(ctx, "ServerCount", err, queryWords)
	}
	return &siorelayv1.ServerCountResponse{Count: uint32(max(n, 0))}, nil
}

// AllRooms implements siorelayv1.EmitterServiceServer.
func (s *Service) AllRooms(ctx context.Context, r *siorelayv1.AllRoomsRequest) (*siorelayv1.AllRoomsResponse, error) {
	nsp, err := namespace(r.GetNamespace())
	if err != nil {
		return nil, invalidf("AllRooms: %v", err)
	}
	qctx, cancel := queryContext(ctx)
	defer cancel()
	rooms, err := s.backend.AllRooms(qctx, nsp)
	res := &siorelayv1.AllRoomsResponse{Rooms: rooms}
	if err != nil {
		return nil, s.queryStatus(ctx, "AllRooms", err, res)
	}
	if err := s.checkSize("AllRooms", res); err != nil {
		return nil, err
	}
	return res, nil
}

// EmitWithAck implements siorelayv1.EmitterServiceServer.
func (s *Service) EmitWithAck(ctx context.Context, r *siorelayv1.EmitWithAckRequest) (*siorelayv1.EmitWithAckResponse, error) {
	ev, _, err := s.event(&siorelayv1.EmitRequest{Target: r.GetTarget(), Event: r.GetEvent(), Args: r.GetArgs()}, make([]any, 0, len(r.GetArgs())))
	if err != nil {
		return nil, invalidf("EmitWithAck: %v", err)
	}
	var timeout time.Duration
	if d := r.GetTimeout(); d != nil {
		if err := d.CheckValid(); err != nil {
			return nil, invalidf("EmitWithAck: timeout: %v", err)
		}
		timeout = d.AsDuration()
		if timeout < 0 || timeout > maxAckTimeout {
			return nil, invalidf("EmitWithAck: timeout %v is not between 0 and %v", timeout, maxAckTimeout)
		}
	}
	qctx, cancel := queryContext(ctx)
	defer cancel()
	acks, err := s.backend.EmitWithAck(qctx, ev, timeout)
	if err != nil {
		return nil, statusOf(ctx, "EmitWithAck", err, queryWords)
	}
	res := &siorelayv1.EmitWithAckResponse{
		Acks:     make([]*siorelayv1.Ack, len(acks.Answers)),
		Clients:  uint32(max(acks.Clients, 0)),
		Servers:  uint32(max(acks.Servers, 0)),
		TimedOut: acks.TimedOut,
	}
	for i, a := range acks.Answers {
		res.Acks[i] = &siorelayv1.Ack{SocketId: a.SocketID, Json: string(a.JSON)}
	}
	if err := s.checkSize("EmitWithAck", res); err != nil {
		return nil, err
	}
	return res, nil
}

// socketProto converts a socket for the answer.
func socketProto(sk *emitter.Socket) *siorelayv1.Socket {
	h := &sk.Handshake
	hs := &siorelayv1.Handshake{
		Address: h.Address,
		Headers: h.Headers,
		Query:   h.Query,
		Auth:    string(h.Auth),
		Secure:  h.Secure,
		Xdomain: h.XDomain,
		Url:     h.URL,
	}
	if !h.Time.IsZero() {
		hs.Time = timestamppb.New(h.Time)
	}
	return &siorelayv1.Socket{
		Id:        sk.ID,
		Namespace: sk.Namespace,
		Rooms:     sk.Rooms,
		Data:      string(sk.Data),
		Handshake: hs,
	}
}
