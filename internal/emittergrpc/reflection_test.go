package emittergrpc_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/siorelay/siorelay/emitter"
)

// TestReflectionJSONCalls makes the README's grpcurl calls the way grpcurl
// does: it learns the service from server reflection (not from the
// generated Go code), decodes the exact JSON bodies with protojson into
// dynamic messages, and invokes the methods by name. It then checks what
// reached Redis.
func TestReflectionJSONCalls(t *testing.T) {
	must := mustMessage(t)
	e := startEnv(t)
	sub := e.subscribe(t)
	svc := reflectService(t, e.conn, "siorelay.v1.EmitterService")

	calls := []struct {
		method, body string
		want         emitter.Message
	}{
		{"Emit", `{"target":{"rooms":["r1"],"exceptRooms":["r2"]},"event":"chat","args":[{"json":"\"hi\""},{"binary":"AQID"}]}`,
			must(e.em.To("r1").Except("r2").EmitMessage("chat", json.RawMessage(`"hi"`), []byte{1, 2, 3}))},
		{"SocketsJoin", `{"target":{"rooms":["r2"]},"rooms":["r3"]}`, e.em.To("r2").SocketsJoinMessage("r3")},
		{"SocketsLeave", `{"target":{"rooms":["r2"]},"rooms":["r3"]}`, e.em.To("r2").SocketsLeaveMessage("r3")},
		{"DisconnectSockets", `{"target":{"rooms":["r3"]},"close":true}`, e.em.To("r3").DisconnectSocketsMessage(true)},
		{"ServerSideEmit", `{"namespace":"/","event":"ping","args":[{"json":"42"}]}`, must(e.em.ServerSideEmitMessage("ping", json.RawMessage("42")))},
	}
	for _, c := range calls {
		t.Run(c.method, func(t *testing.T) {
			m := svc.Methods().ByName(protoreflect.Name(c.method))
			if m == nil {
				t.Fatalf("reflection does not list %s", c.method)
			}
			in := dynamicpb.NewMessage(m.Input())
			if err := protojson.Unmarshal([]byte(c.body), in); err != nil {
				t.Fatalf("protojson %s: %v", c.body, err)
			}
			out := dynamicpb.NewMessage(m.Output())
			if err := e.conn.Invoke(ctxT(t), "/siorelay.v1.EmitterService/"+c.method, in, out); err != nil {
				t.Fatalf("%s: %v", c.method, err)
			}
			if diff := cmp.Diff([]published{msg(c.want)}, sub.next(1)); diff != "" {
				t.Errorf("published (-want +got):\n%s", diff)
			}
		})
	}
	e.expectNothingBefore(t, sub)
}

// reflectService asks the server for the file defining service and
// returns its descriptor, built without the generated code's registry.
func reflectService(t *testing.T, conn *grpc.ClientConn, service string) protoreflect.ServiceDescriptor {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.CloseSend()
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: service},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	fds := resp.GetFileDescriptorResponse().GetFileDescriptorProto()
	if len(fds) == 0 {
		t.Fatalf("reflection: no file for %s: %v", service, resp)
	}
	// The files come with their dependencies, in no particular order
	// (emitter.proto first, then google/protobuf/duration.proto, ...).
	set := new(descriptorpb.FileDescriptorSet)
	for _, b := range fds {
		fdp := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(b, fdp); err != nil {
			t.Fatal(err)
		}
		set.File = append(set.File, fdp)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	var found protoreflect.ServiceDescriptor
	if d, err := files.FindDescriptorByName(protoreflect.FullName(service)); err == nil {
		found, _ = d.(protoreflect.ServiceDescriptor)
	}
	if found == nil {
		t.Fatalf("reflection: %s not in the returned files", service)
	}
	return found
}
