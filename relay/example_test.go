package relay_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/siorelay/siorelay/relay"
)

// A server whose clients join the room named in their auth payload, and a
// broadcast to that room. The client here speaks raw Engine.IO over
// WebSocket to show the frames; a browser would use socket.io-client.
func Example() {
	connected := make(chan *relay.Socket, 1)
	srv, err := relay.NewServer(relay.Config{
		OnConnect: func(ctx context.Context, h *relay.Handshake) (relay.ConnectResult, error) {
			if !strings.Contains(string(h.Auth), `"room":"news"`) {
				return relay.ConnectResult{}, &relay.ConnectError{Message: "which room?"}
			}
			return relay.ConnectResult{Rooms: []string{"news"}}, nil
		},
		OnConnection: func(ctx context.Context, s *relay.Socket) { connected <- s },
	})
	if err != nil {
		panic(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	wsutil.ReadServerText(conn) // the Engine.IO open packet
	wsutil.WriteClientText(conn, []byte(`40{"room":"news"}`))
	<-connected
	wsutil.ReadServerText(conn) // the CONNECT reply, 40{"sid":"..."}

	srv.Of("/").To("news").Emit(ctx, "headline", "Go relay speaks Socket.IO", []byte{1, 2})
	text, _ := wsutil.ReadServerText(conn)
	bin, _, _ := wsutil.ReadServerData(conn)
	fmt.Printf("%s\n%v\n", text, bin)
	// Output:
	// 451-["headline","Go relay speaks Socket.IO",{"_placeholder":true,"num":0}]
	// [1 2]
}
