package main

import (
	"context"
	"fmt"
	"strconv"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// grpcPublisher publishes through the relay's gRPC EmitterService
// (EmitBatch, one RPC per batch): the path a relay without Redis offers
// (`siorelay serve --grpc-addr`). Its cost is counted as the relay's only
// for the relay side of the RPC; encoding happens here.
type grpcPublisher struct {
	conn *grpc.ClientConn
	cli  siorelayv1.EmitterServiceClient
	pad  string
}

func newGRPCPublisher(addr string, payloadSize int) (*grpcPublisher, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("grpc %s: %w", addr, err)
	}
	return &grpcPublisher{conn: conn, cli: siorelayv1.NewEmitterServiceClient(conn), pad: padding(payloadSize)}, nil
}

func (p *grpcPublisher) publish(ctx context.Context, msgs []message) error {
	req := &siorelayv1.EmitBatchRequest{Events: make([]*siorelayv1.EmitRequest, 0, len(msgs))}
	for _, m := range msgs {
		arg := strconv.AppendQuote(nil, strconv.FormatInt(m.TS, 10)+" "+strconv.FormatInt(m.Seq, 10))
		args := []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: string(arg)}}}
		if p.pad != "" {
			args = append(args, &siorelayv1.Arg{Value: &siorelayv1.Arg_Json{Json: strconv.Quote(p.pad)}})
		}
		ev := &siorelayv1.EmitRequest{Event: string(m.Ev), Args: args}
		if m.Room != "" {
			ev.Target = &siorelayv1.Target{Rooms: []string{m.Room}}
		}
		req.Events = append(req.Events, ev)
	}
	_, err := p.cli.EmitBatch(ctx, req)
	return err
}

func (p *grpcPublisher) close() error { return p.conn.Close() }
