package nodetest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"
)

// ClientsConfig configures clients.js: stock socket.io-client 4.8.4 clients.
type ClientsConfig struct {
	// URL is the server's base URL, e.g. [Peer.URL] or a Go relay's
	// httptest URL. Each client appends its namespace.
	URL string
	// Path is the Engine.IO path. Zero means "/socket.io/".
	Path string
	// Clients are connected at start, each on its own Engine.IO connection.
	Clients []ClientConfig
	// Reconnection enables socket.io-client's reconnection for all clients.
	// Zero means off, which keeps tests deterministic.
	Reconnection bool
	// AckReply is what a client answers to an event that carries an ack
	// callback. Zero means {"ok":true,"client":<name>}.
	AckReply any
	// Packets makes every client print each Engine.IO message it receives
	// as a "packet" line {client,nsp,data}: data is the Socket.IO packet
	// text, or {"$bin":...} for a binary attachment.
	Packets bool
}

// ClientConfig is one client.
type ClientConfig struct {
	Name string // unique; events report it as "client"
	Nsp  string // zero means "/"
	// Rooms and Data are put in auth.rooms and auth.data; peer.js joins the
	// rooms and sets socket.data before the client counts as connected.
	Rooms []string
	Data  any
	// Auth is the rest of the CONNECT auth payload. peer.js also honours
	// auth.reject = {"message":..., "data":...} by refusing the connection.
	Auth  map[string]any
	Query map[string]string
	// Transports defaults to ["websocket"]; also ["polling"] or
	// ["polling","websocket"] (polling first, then upgrade).
	Transports   []string
	ExtraHeaders map[string]string
	Reconnection *bool // overrides ClientsConfig.Reconnection for this client
	// ReconnectionDelay, with reconnection, is the fixed delay before each
	// attempt (no randomization). Zero means socket.io-client's defaults.
	ReconnectionDelay time.Duration
	// NoAck makes the client never call an event's ack callback (a client
	// that never acknowledges). It still reports the event.
	NoAck bool
}

func (c ClientConfig) wire() map[string]any {
	auth := maps.Clone(c.Auth)
	if auth == nil {
		auth = map[string]any{}
	}
	if c.Rooms != nil {
		auth["rooms"] = c.Rooms
	}
	if c.Data != nil {
		auth["data"] = c.Data
	}
	m := map[string]any{"name": c.Name, "nsp": nspOrRoot(c.Nsp), "auth": auth}
	if c.Query != nil {
		m["query"] = c.Query
	}
	if c.Transports != nil {
		m["transports"] = c.Transports
	}
	if c.ExtraHeaders != nil {
		m["extraHeaders"] = c.ExtraHeaders
	}
	if c.Reconnection != nil {
		m["reconnection"] = *c.Reconnection
	}
	if c.ReconnectionDelay > 0 {
		m["reconnectionDelay"] = c.ReconnectionDelay.Milliseconds()
	}
	if c.NoAck {
		m["noAck"] = true
	}
	return m
}

func (c ClientsConfig) wire() map[string]any {
	clients := make([]map[string]any, len(c.Clients))
	for i, cl := range c.Clients {
		clients[i] = cl.wire()
	}
	m := map[string]any{"url": c.URL, "clients": clients, "reconnection": c.Reconnection}
	if c.Path != "" {
		m["path"] = c.Path
	}
	if c.AckReply != nil {
		m["ackReply"] = c.AckReply
	}
	if c.Packets {
		m["packets"] = true
	}
	return m
}

// Clients is a running clients.js. Its embedded [Proc] sees the lines it
// prints: "connected" {client,nsp,id,recovered,transport} (again after each
// reconnection), "ready", "upgrade"
// {client,nsp,transport}, "event" {client,nsp,event,args,ack}, "disconnect"
// {client,nsp,reason} and "connect_error" {client,nsp,message,data}.
type Clients struct {
	*Proc
	mu  sync.Mutex
	ids map[string]string // guarded by mu: client name → socket id of its first connect
}

// StartClients starts clients.js and returns once every client is connected
// (for peer.js: with its rooms joined). A connect_error fails the test; use
// [StartClientsAsync] to test refused connections.
func StartClients(t testing.TB, cfg ClientsConfig) *Clients {
	t.Helper()
	c := StartClientsAsync(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	l, err := c.WaitFor(ctx, func(l Line) bool { return l.Type == "ready" || l.Type == "connect_error" })
	if err != nil {
		t.Fatalf("nodetest: StartClients: %v", err)
	}
	if l.Type == "connect_error" {
		t.Fatalf("nodetest: StartClients: client %s: connect_error: %s", l.Str("client"), l)
	}
	for range cfg.Clients {
		l, err := c.WaitFor(ctx, func(l Line) bool { return l.Type == "connected" })
		if err != nil {
			t.Fatalf("nodetest: StartClients: %v", err)
		}
		c.mu.Lock()
		c.ids[l.Str("client")] = l.Str("id")
		c.mu.Unlock()
	}
	return c
}

// StartClientsAsync starts clients.js without waiting for any connection.
// [Clients.ID] knows a client once [Clients.WaitConnected] has seen it.
func StartClientsAsync(t testing.TB, cfg ClientsConfig) *Clients {
	t.Helper()
	return &Clients{Proc: StartProc(t, "clients.js", cfg.wire()), ids: make(map[string]string)}
}

// ID returns the socket id a client got on its first connection.
func (c *Clients) ID(client string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[client]
}

// WaitConnected waits for a client's next "connected" line and returns its
// socket id.
func (c *Clients) WaitConnected(ctx context.Context, client string) (string, error) {
	l, err := c.WaitFor(ctx, func(l Line) bool { return l.Type == "connected" && l.Str("client") == client })
	if err != nil {
		return "", err
	}
	id := l.Str("id")
	c.mu.Lock()
	if _, ok := c.ids[client]; !ok {
		c.ids[client] = id
	}
	c.mu.Unlock()
	return id, nil
}

// Event is an event a client received.
type Event struct {
	Client string            `json:"client"`
	Nsp    string            `json:"nsp"`
	Event  string            `json:"event"`
	Args   []json.RawMessage `json:"args"` // binary as {"$bin":...}; see Decode
	Ack    bool              `json:"ack"`  // the event carried an ack callback (answered automatically)
}

// Values decodes Args with [Decode].
func (e Event) Values() ([]any, error) { return DecodeArgs(e.Args) }

// NextEvent removes and returns the oldest received event of any client.
func (c *Clients) NextEvent(ctx context.Context) (Event, error) {
	return c.waitEvent(ctx, func(l Line) bool { return l.Type == "event" })
}

// WaitEvent waits for client to receive event (the oldest such one not yet
// consumed). Other events stay queued.
func (c *Clients) WaitEvent(ctx context.Context, client, event string) (Event, error) {
	return c.waitEvent(ctx, func(l Line) bool {
		return l.Type == "event" && l.Str("client") == client && l.Str("event") == event
	})
}

func (c *Clients) waitEvent(ctx context.Context, match func(Line) bool) (Event, error) {
	l, err := c.WaitFor(ctx, match)
	if err != nil {
		return Event{}, err
	}
	var ev Event
	if err := l.Decode(&ev); err != nil {
		return Event{}, fmt.Errorf("nodetest: event %s: %w", l, err)
	}
	return ev, nil
}

// PendingEvents returns the received events nobody has consumed yet, for
// client ("" for all clients).
func (c *Clients) PendingEvents(client string) []Event {
	var out []Event
	for _, l := range c.Pending() {
		if l.Type != "event" || (client != "" && l.Str("client") != client) {
			continue
		}
		var ev Event
		if l.Decode(&ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}

// WaitDisconnect waits for a client's "disconnect" and returns the reason
// ("io server disconnect", "transport close", ...).
func (c *Clients) WaitDisconnect(ctx context.Context, client string) (string, error) {
	l, err := c.WaitFor(ctx, func(l Line) bool { return l.Type == "disconnect" && l.Str("client") == client })
	if err != nil {
		return "", err
	}
	return l.Str("reason"), nil
}

// WaitConnectError waits for a client's "connect_error" and returns its
// message and data.
func (c *Clients) WaitConnectError(ctx context.Context, client string) (string, json.RawMessage, error) {
	l, err := c.WaitFor(ctx, func(l Line) bool { return l.Type == "connect_error" && l.Str("client") == client })
	if err != nil {
		return "", nil, err
	}
	return l.Str("message"), l.Field("data"), nil
}

// Emit sends socket.emit(event, args...) from a client, without ack.
// []byte arguments are sent as binary.
func (c *Clients) Emit(ctx context.Context, client, event string, args ...any) error {
	_, err := c.Call(ctx, map[string]any{"cmd": "emit", "client": client, "event": event, "args": markArgs(args)})
	return err
}

// EmitWithAck sends socket.timeout(timeout).emit(event, args..., cb) and
// returns the ack's arguments.
func (c *Clients) EmitWithAck(ctx context.Context, client string, timeout time.Duration, event string, args ...any) ([]json.RawMessage, error) {
	return callList(ctx, c.Proc, map[string]any{
		"cmd": "emit", "client": client, "event": event, "args": markArgs(args),
		"ack": true, "timeout": timeout.Milliseconds(),
	})
}

// Add connects one more client; wait for it with [Clients.WaitConnected].
func (c *Clients) Add(ctx context.Context, cl ClientConfig) error {
	cmd := cl.wire()
	cmd["cmd"], cmd["client"] = "add", cl.Name
	delete(cmd, "name")
	_, err := c.Call(ctx, cmd)
	return err
}

// Disconnect closes one client (socket.disconnect()).
func (c *Clients) Disconnect(ctx context.Context, client string) error {
	_, err := c.Call(ctx, map[string]any{"cmd": "disconnect", "client": client})
	return err
}

// Drop closes a client's Engine.IO connection as a network loss would
// (socket.io.engine.close()): the socket sees "transport close" and, with
// reconnection, comes back by itself.
func (c *Clients) Drop(ctx context.Context, client string) error {
	_, err := c.Call(ctx, map[string]any{"cmd": "drop", "client": client})
	return err
}

// Reconnect calls socket.connect() on a client that lost or closed its
// connection; wait for it with [Clients.WaitFor] on its next "connected"
// line.
func (c *Clients) Reconnect(ctx context.Context, client string) error {
	_, err := c.Call(ctx, map[string]any{"cmd": "reconnect", "client": client})
	return err
}

// Close disconnects every client and waits for clients.js to exit.
func (c *Clients) Close(ctx context.Context) error {
	if _, err := c.Call(ctx, map[string]any{"cmd": "close"}); err != nil {
		return err
	}
	return c.Wait(ctx)
}
