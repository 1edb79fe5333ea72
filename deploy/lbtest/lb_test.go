//go:build linux

package lbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/siorelay/siorelay/internal/adapter"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/proctest"
	"github.com/siorelay/siorelay/internal/redistest"
)

func TestHAProxy(t *testing.T) {
	t.Parallel()
	testBalancer(t, haproxyLB)
}

func TestNginx(t *testing.T) {
	t.Parallel()
	testBalancer(t, nginxLB)
}

// clientSpec is one client of testdata/lbclients.mjs.
type clientSpec struct {
	Name         string   `json:"name"`
	Transports   []string `json:"transports"`
	LocalAddress string   `json:"localAddress"`
}

func (s clientSpec) polling() bool { return s.Transports[0] == "polling" }

// client is what the test knows of one client.
type client struct {
	clientSpec
	id     string // current socket id
	cookie string // current SERVERID cookie ("" without one)
	server int    // index of the FETCH_SOCKETS answer it appeared in
}

// Two clients of each kind, each from its own address, connected one after
// the other: round-robin (HAProxy) alternates them between the relays, and
// ip_hash (nginx) hashes 127.0.1, 127.0.2, ... to alternate relays too.
var specs = []clientSpec{
	{Name: "poll-1", Transports: []string{"polling", "websocket"}, LocalAddress: "127.0.1.1"},
	{Name: "poll-2", Transports: []string{"polling", "websocket"}, LocalAddress: "127.0.2.1"},
	{Name: "ws-1", Transports: []string{"websocket"}, LocalAddress: "127.0.3.1"},
	{Name: "ws-2", Transports: []string{"websocket"}, LocalAddress: "127.0.4.1"},
}

func testBalancer(t *testing.T, lb balancer) {
	nodetest.Require(t)
	bin := siorelayBin(t)
	rds := redistest.Start(t)
	rdb := rds.Client(t)
	relays := [2]*relayProc{startRelay(t, bin, "relay1", rds.URL()), startRelay(t, bin, "relay2", rds.URL())}
	ec := startSidecar(t, bin, rds.URL())
	fe := lb.start(t, [2]string{relays[0].addr, relays[1].addr})
	for _, p := range []string{"/metrics", "/readyz", "/healthz"} {
		if code := httpStatus(t, fe.url+p); code != http.StatusNotFound {
			t.Errorf("GET %s through the balancer: %d, want 404 (only /socket.io/ is public)", p, code)
		}
	}

	script, err := filepath.Abs(filepath.Join("testdata", "lbclients.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	cl := nodetest.StartProc(t, script, map[string]any{"url": fe.url, "clients": specs})
	clients := make([]*client, len(specs))
	for i, s := range specs {
		clients[i] = &client{clientSpec: s}
		l := waitLine(t, cl, "connected", s.Name)
		clients[i].id, clients[i].cookie = l.Str("id"), l.Str("cookie")
		if got := l.Str("opened"); got != s.Transports[0] {
			t.Fatalf("%s connected over %s, want %s", s.Name, got, s.Transports[0])
		}
	}
	waitUpgrades(t, cl, clients)

	// Both relays have clients: each answers FETCH_SOCKETS with its own.
	answers := fetchSockets(t, rdb, 2)
	for i, a := range answers {
		if len(a) == 0 {
			t.Fatalf("relay answer %d has no sockets: every client landed on the same relay: %v", i, answers)
		}
	}
	locate(t, clients, answers)
	if fe.cookies {
		checkCookies(t, clients)
	}
	// Each relay's own /metrics agrees.
	counts := [2]int{relaySockets(t, relays[0]), relaySockets(t, relays[1])}
	if counts[0] == 0 || counts[1] == 0 || counts[0]+counts[1] != len(clients) {
		t.Fatalf("the relays' siorelay_sockets gauges are %v, want both non-zero and %d in all", counts, len(clients))
	}

	// Broadcasts and room emits through the sidecar reach clients on both relays.
	emit(t, ec, nil, "news", `"to everyone"`)
	for _, c := range clients {
		waitEvent(t, cl, c.Name, "news", `"to everyone"`)
	}
	members := []*client{firstOn(clients, 0), firstOn(clients, 1)}
	joinRoom(t, ec, rdb, 2, members, "vip")
	checkRoomEmit(t, ec, cl, clients, members, "vip", "fence")

	// Stop relay1 with SIGTERM, as an orchestrator does. Exactly the clients
	// of one FETCH_SOCKETS answer are disconnected; they reconnect through
	// the balancer to the other relay.
	victim := relays[0]
	if err := victim.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := victim.Wait(ctx); err != nil {
		t.Fatalf("%s after SIGTERM: %v (want a clean exit within --shutdown-timeout)", victim.Name, err)
	}
	if fe.cookies {
		// Before the health checks notice (two failures, 2s apart).
		checkStaleCookie(t, fe, "relay2")
	}
	first, err := cl.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "disconnect" })
	if err != nil {
		t.Fatalf("no client was disconnected by stopping %s: %v", victim.Name, err)
	}
	stopped := clients[slices.IndexFunc(clients, func(c *client) bool { return c.Name == first.Str("client") })].server
	var moved, stayed []*client
	for _, c := range clients {
		if c.server == stopped {
			moved = append(moved, c)
		} else {
			stayed = append(stayed, c)
		}
	}
	for _, c := range moved {
		l := first
		if c.Name != first.Str("client") {
			l = waitLine(t, cl, "disconnect", c.Name)
		}
		if r := l.Str("reason"); r != "transport close" {
			t.Errorf("%s disconnected with %q, want \"transport close\" (the relay closed it; the client reconnects)", c.Name, r)
		}
	}
	for _, c := range clients {
		r := "relay2"
		if slices.Contains(moved, c) {
			r = "relay1"
		}
		t.Logf("%s (%s from %s) was on %s, SERVERID cookie %q", c.Name, strings.Join(c.Transports, "+"), c.LocalAddress, r, c.cookie)
	}
	if len(moved) != counts[0] {
		t.Errorf("stopping relay1 disconnected %d clients; its /metrics said it had %d", len(moved), counts[0])
	}
	if fe.serverState != nil {
		// The balancer's /readyz checks take the stopped relay out.
		err := poll(ctx, func() error {
			s, err := fe.serverState(0)
			if err == nil && !strings.HasPrefix(s, "DOWN") {
				err = fmt.Errorf("%s is %q in the balancer's stats, want DOWN", victim.Name, s)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	oldCookie := map[string]string{}
	for _, c := range moved {
		oldCookie[c.Name] = c.cookie
		if fe.cookies && c.polling() && c.cookie != "relay1" {
			t.Errorf("%s was disconnected by stopping relay1 but had SERVERID %q", c.Name, c.cookie)
		}
		l := waitLine(t, cl, "connected", c.Name)
		c.id, c.cookie = l.Str("id"), l.Str("cookie")
	}
	waitUpgrades(t, cl, moved)
	answers = fetchSockets(t, rdb, 1)
	var want []string
	for _, c := range clients {
		want = append(want, c.id)
	}
	if got := socketIDs(answers[0]); !sameSet(got, want) {
		t.Fatalf("after the failover the remaining relay has sockets %v, want %v", got, want)
	}
	if n := relaySockets(t, relays[1]); n != len(clients) {
		t.Errorf("after the failover relay2's siorelay_sockets gauge is %d, want %d", n, len(clients))
	}
	if fe.cookies {
		for _, c := range moved {
			if c.polling() && (c.cookie == oldCookie[c.Name] || c.cookie != survivorCookie(stayed)) {
				t.Errorf("%s: SERVERID cookie %q after reconnecting (was %q), want the remaining relay's %q", c.Name, c.cookie, oldCookie[c.Name], survivorCookie(stayed))
			}
		}
	}

	// Everyone receives again; the moved member gets its room back from the
	// application (SocketsJoin), as a backend does when a client connects.
	emit(t, ec, nil, "news-2", `"after the failover"`)
	for _, c := range clients {
		waitEvent(t, cl, c.Name, "news-2", `"after the failover"`)
	}
	var rejoin []*client
	for _, m := range members {
		if slices.Contains(moved, m) {
			rejoin = append(rejoin, m)
		}
	}
	joinRoom(t, ec, rdb, 1, rejoin, "vip")
	checkRoomEmit(t, ec, cl, clients, members, "vip-2", "fence-2")

	// The clients of the remaining relay were never disconnected.
	for _, l := range cl.Pending() {
		if l.Type == "disconnect" || l.Type == "connected" || l.Type == "connect_error" {
			t.Errorf("unexpected line %s", l)
		}
	}
}

func waitUpgrades(t *testing.T, cl *nodetest.Proc, clients []*client) {
	t.Helper()
	for _, c := range clients {
		if c.polling() {
			if l := waitLine(t, cl, "upgrade", c.Name); l.Str("transport") != "websocket" {
				t.Fatalf("%s upgraded to %s", c.Name, l)
			}
		}
	}
}

// locate sets each client's server from the FETCH_SOCKETS answers and
// checks that every client is on exactly one relay, with its own address
// in X-Forwarded-For.
func locate(t *testing.T, clients []*client, answers [][]fetchedSocket) {
	t.Helper()
	seen := map[string]int{}
	for i, a := range answers {
		for _, s := range a {
			if _, dup := seen[s.ID]; dup {
				t.Fatalf("socket %s is on two relays", s.ID)
			}
			seen[s.ID] = i
		}
	}
	if len(seen) != len(clients) {
		t.Fatalf("the relays hold %d sockets, want %d", len(seen), len(clients))
	}
	for _, a := range answers {
		for _, s := range a {
			c := clients[slices.IndexFunc(clients, func(c *client) bool { return c.id == s.ID })]
			c.server = seen[s.ID]
			if xff := s.Handshake.Headers["x-forwarded-for"]; xff != c.LocalAddress {
				t.Errorf("%s: the relay saw X-Forwarded-For %q, want %q", c.Name, xff, c.LocalAddress)
			}
		}
	}
}

// checkCookies checks HAProxy's SERVERID cookies: polling clients have one,
// and it names the relay they are on.
func checkCookies(t *testing.T, clients []*client) {
	t.Helper()
	byCookie := map[string]int{}
	for _, c := range clients {
		if !c.polling() {
			continue
		}
		if c.cookie != "relay1" && c.cookie != "relay2" {
			t.Fatalf("%s has SERVERID %q, want relay1 or relay2", c.Name, c.cookie)
		}
		if i, ok := byCookie[c.cookie]; ok && i != c.server {
			t.Fatalf("SERVERID %s is on two relays", c.cookie)
		}
		byCookie[c.cookie] = c.server
	}
}

// checkStaleCookie opens an Engine.IO session the way a browser that kept
// its cookie does after its relay died (SERVERID=relay1): the balancer must
// not pin it to the stopped relay, even before its health checks see it
// down, but open it on the other one, and set that relay's cookie.
func checkStaleCookie(t *testing.T, fe *frontend, survivor string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fe.url+"/socket.io/?EIO=4&transport=polling", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", "SERVERID=relay1")
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), `0{"sid":`) {
		t.Fatalf("handshake with a stale SERVERID=relay1: %s %q, want an Engine.IO open packet", res.Status, body)
	}
	got := ""
	for _, c := range res.Cookies() {
		if c.Name == "SERVERID" {
			got = c.Value
		}
	}
	if got != survivor {
		t.Errorf("handshake with a stale SERVERID=relay1 got SERVERID %q, want %q", got, survivor)
	}
}

func survivorCookie(stayed []*client) string {
	for _, c := range stayed {
		if c.polling() {
			return c.cookie
		}
	}
	return ""
}

func firstOn(clients []*client, server int) *client {
	return clients[slices.IndexFunc(clients, func(c *client) bool { return c.server == server })]
}

// checkRoomEmit sends event to room through the sidecar, then fence to
// everyone: members get event; the others get fence with no event before it
// (both go through the same Redis subscription of each relay, in order).
func checkRoomEmit(t *testing.T, ec siorelayv1.EmitterServiceClient, cl *nodetest.Proc, clients, members []*client, event, fence string) {
	t.Helper()
	emit(t, ec, []string{"vip"}, event, `"members only"`)
	emit(t, ec, nil, fence, `1`)
	for _, c := range clients {
		if slices.Contains(members, c) {
			waitEvent(t, cl, c.Name, event, `"members only"`)
		}
		waitEvent(t, cl, c.Name, fence, `1`)
	}
	for _, l := range cl.Pending() {
		if l.Type == "event" && l.Str("event") == event {
			t.Errorf("a client outside the room got %s", l)
		}
	}
}

// --- relays and the sidecar ---

type relayProc struct {
	*proctest.Process
	addr string // host:port
}

// startRelay runs `siorelay serve` on a free port and waits until /readyz
// answers 200 (Redis subscriptions live).
func startRelay(t *testing.T, bin, name, redisURL string) *relayProc {
	t.Helper()
	p := startProc(t, name, bin, "serve", "--addr=127.0.0.1:0", "--redis="+redisURL, "--demo=false", "--shutdown-timeout=5s")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	line, err := p.WaitLine(ctx, "serving Socket.IO on http://")
	if err != nil {
		t.Fatal(err)
	}
	r := &relayProc{Process: p, addr: strings.TrimSuffix(line, "/socket.io/")}
	err = poll(ctx, func() error {
		res, err := httpClient.Get("http://" + r.addr + "/readyz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s /readyz: %s", name, res.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// relaySockets returns the relay's siorelay_sockets{namespace="/"} gauge
// from its own /metrics.
func relaySockets(t *testing.T, r *relayProc) int {
	t.Helper()
	res, err := httpClient.Get("http://" + r.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	const series = `siorelay_sockets{namespace="/"} `
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s /metrics: %q: %v", r.Name, line, err)
			}
			return n
		}
	}
	t.Fatalf("%s /metrics has no %s", r.Name, series)
	return 0
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	res, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// startSidecar runs `siorelay emitter` and returns a client of its
// EmitterService once its health service reports SERVING.
func startSidecar(t *testing.T, bin, redisURL string) siorelayv1.EmitterServiceClient {
	t.Helper()
	p := startProc(t, "emitter", bin, "emitter", "--redis="+redisURL, "--grpc-addr=127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	addr, err := p.WaitLine(ctx, "serving gRPC EmitterService on ")
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	hc := healthpb.NewHealthClient(cc)
	err = poll(ctx, func() error {
		res, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: siorelayv1.EmitterService_ServiceDesc.ServiceName})
		if err == nil && res.Status != healthpb.HealthCheckResponse_SERVING {
			err = fmt.Errorf("emitter health: %s", res.Status)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return siorelayv1.NewEmitterServiceClient(cc)
}

func emit(t *testing.T, ec siorelayv1.EmitterServiceClient, rooms []string, event, jsonArg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err := ec.Emit(ctx, &siorelayv1.EmitRequest{
		Target: &siorelayv1.Target{Rooms: rooms},
		Event:  event,
		Args:   []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: jsonArg}}},
	})
	if err != nil {
		t.Fatalf("Emit %s: %v", event, err)
	}
}

// joinRoom makes members join room with a SocketsJoin through the sidecar
// and waits until the relays (servers of them) report it.
func joinRoom(t *testing.T, ec siorelayv1.EmitterServiceClient, rdb *redis.Client, servers int, members []*client, room string) {
	t.Helper()
	var ids []string
	for _, m := range members {
		ids = append(ids, m.id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := ec.SocketsJoin(ctx, &siorelayv1.SocketsJoinRequest{Target: &siorelayv1.Target{Rooms: ids}, Rooms: []string{room}}); err != nil {
		t.Fatalf("SocketsJoin: %v", err)
	}
	err := poll(ctx, func() error {
		answers, err := fetch(ctx, rdb, servers)
		if err != nil {
			return err
		}
		for _, a := range answers {
			for _, s := range a {
				if slices.Contains(ids, s.ID) && !slices.Contains(s.Rooms, room) {
					return fmt.Errorf("socket %s is not in %s yet", s.ID, room)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// --- FETCH_SOCKETS: each relay's own view of its sockets ---

// fetchedSocket is one socket of a FETCH_SOCKETS answer (the shape of
// io.fetchSockets()).
type fetchedSocket struct {
	ID        string   `json:"id"`
	Rooms     []string `json:"rooms"`
	Handshake struct {
		Headers map[string]string `json:"headers"`
	} `json:"handshake"`
}

// fetchSockets asks every relay of the cluster for its sockets, as a
// member of the Redis adapter cluster does for io.fetchSockets(), and
// returns one answer per relay. servers is how many relays must answer.
func fetchSockets(t *testing.T, rdb *redis.Client, servers int) [][]fetchedSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	answers, err := fetch(ctx, rdb, servers)
	if err != nil {
		t.Fatal(err)
	}
	return answers
}

func fetch(ctx context.Context, rdb *redis.Client, servers int) ([][]fetchedSocket, error) {
	reqCh := adapter.RequestChannel(adapter.DefaultKey, "/")
	n, err := rdb.PubSubNumSub(ctx, reqCh).Result()
	if err != nil {
		return nil, err
	}
	if int(n[reqCh]) != servers {
		return nil, fmt.Errorf("%d relays subscribe to %s, want %d", n[reqCh], reqCh, servers)
	}
	uid, reqID := randomHex(), randomHex()
	sub := rdb.Subscribe(ctx, adapter.SpecificResponseChannel(adapter.DefaultKey, "/", uid))
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription is confirmed
		return nil, err
	}
	if err := rdb.Publish(ctx, reqCh, adapter.AppendFetchRequest(nil, uid, reqID, adapter.Opts{})).Err(); err != nil {
		return nil, err
	}
	var answers [][]fetchedSocket
	for len(answers) < servers {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			return nil, fmt.Errorf("FETCH_SOCKETS: %d of %d answers: %w", len(answers), servers, err)
		}
		res, err := adapter.DecodeResponse([]byte(msg.Payload))
		if err != nil {
			return nil, err
		}
		if res.RequestID != reqID {
			continue
		}
		socks := make([]fetchedSocket, len(res.Sockets))
		for i, raw := range res.Sockets {
			if err := json.Unmarshal(raw, &socks[i]); err != nil {
				return nil, fmt.Errorf("FETCH_SOCKETS answer %s: %w", raw, err)
			}
		}
		answers = append(answers, socks)
	}
	return answers, nil
}

func socketIDs(a []fetchedSocket) []string {
	var ids []string
	for _, s := range a {
		ids = append(ids, s.ID)
	}
	return ids
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// --- client output ---

func waitLine(t *testing.T, cl *nodetest.Proc, typ, name string) nodetest.Line {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	l, err := cl.WaitFor(ctx, func(l nodetest.Line) bool {
		return l.Type == typ && l.Str("client") == name || l.Type == "fatal"
	})
	if err != nil {
		t.Fatalf("waiting for %s of %s: %v", typ, name, err)
	}
	if l.Type == "fatal" {
		t.Fatalf("lbclients.mjs: %s", l)
	}
	return l
}

func waitEvent(t *testing.T, cl *nodetest.Proc, name, event, arg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	l, err := cl.WaitFor(ctx, func(l nodetest.Line) bool {
		return l.Type == "event" && l.Str("client") == name && l.Str("event") == event
	})
	if err != nil {
		t.Fatalf("%s did not get %s: %v", name, event, err)
	}
	var args []json.RawMessage
	if err := json.Unmarshal(l.Field("args"), &args); err != nil || len(args) != 1 || string(args[0]) != arg {
		t.Fatalf("%s got %s, want one argument %s", name, l, arg)
	}
}
