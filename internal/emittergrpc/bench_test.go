package emittergrpc

import (
	"testing"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

// BenchmarkEvents measures validating and converting one EmitStream
// message of 100 events (the per-message work of the service itself,
// before the backend encodes and publishes), with and without the
// service's own JSON check.
func BenchmarkEvents(b *testing.B) {
	b.Run("checkJSON", func(b *testing.B) { benchmarkEvents(b, &Service{checkJSON: true}) })
	b.Run("backendChecksJSON", func(b *testing.B) { benchmarkEvents(b, &Service{}) })
}

func benchmarkEvents(b *testing.B, s *Service) {
	req := &siorelayv1.EmitRequest{
		Target: &siorelayv1.Target{Rooms: []string{"room-1"}},
		Event:  "chat",
		Args:   []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: `{"user":"alice","text":"hello, world","n":12345}`}}},
	}
	msg := make([]*siorelayv1.EmitRequest, 100)
	for i := range msg {
		msg[i] = req
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.events(msg); err != nil {
			b.Fatal(err)
		}
	}
}
