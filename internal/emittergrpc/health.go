package emittergrpc

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

// watchHealth probes ping every interval and sets the health status of the
// server ("") and of siorelay.v1.EmitterService to SERVING when it succeeds
// and NOT_SERVING when it fails. The first probe runs at once. It logs each
// change, not each probe, and returns when ctx is done.
func watchHealth(ctx context.Context, hs *health.Server, ping func(context.Context) error, interval time.Duration, log *slog.Logger) {
	var last healthpb.HealthCheckResponse_ServingStatus = -1
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, interval)
		err := ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		st := healthpb.HealthCheckResponse_SERVING
		if err != nil {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		if st != last {
			setStatus(hs, st)
			if err != nil {
				log.Warn("backend unreachable, health NOT_SERVING", "err", err)
			} else if last != -1 {
				log.Info("backend reachable again, health SERVING")
			}
			last = st
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func setStatus(hs *health.Server, st healthpb.HealthCheckResponse_ServingStatus) {
	hs.SetServingStatus("", st)
	hs.SetServingStatus(siorelayv1.EmitterService_ServiceDesc.ServiceName, st)
}

// healthService is the standard health service, except that Watch streams
// end when the Server shuts down; otherwise a client watching health would
// hold GracefulStop until the shutdown deadline.
type healthService struct {
	*health.Server
	stopping context.Context // cancelled when Shutdown starts
}

// Watch implements healthpb.HealthServer.
func (h healthService) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	defer context.AfterFunc(h.stopping, cancel)()
	return h.Server.Watch(req, watchStream{stream, ctx})
}

type watchStream struct {
	healthpb.Health_WatchServer
	ctx context.Context
}

func (w watchStream) Context() context.Context { return w.ctx }
