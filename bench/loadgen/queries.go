package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/siorelay/siorelay/emitter"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

// `loadgen queries` measures the cluster queries of issue 14 side by side,
// in one cluster and one run: a redis-server, two relays (`siorelay serve
// --redis --grpc-addr`) holding the clients, the Node baseline server
// (bench/node/server.js, classic adapter, no clients) and the gRPC sidecar
// (`siorelay emitter`). Each repetition runs, in turn:
//
//   - FetchSockets of the whole namespace (every client of both relays):
//     from the sidecar (gRPC), from relay 1 (gRPC; its own sockets plus
//     relay 2's), from the Go emitter in this process, and Node's own
//     io.fetchSockets() from the Node server (timed inside Node);
//   - EmitWithAck to a room of AckClients clients (half on each relay; the
//     load generator's clients ack at once) from the same four places
//     (Node: io.to(room).timeout(t).emitWithAck()).
//
// gRPC and Go times are the caller's wall time of one call; Node's is the
// duration of the promise inside Node. Every answer is checked (all
// sockets, all acks); a short one fails the run.

type queriesConfig struct {
	cmp        compareConfig // Redis, Node and worker settings
	Siorelay   string
	PerRelay   int
	AckClients int
	Reps       int
	Warmup     int
	AckTimeout time.Duration
	Out        string
}

func queries(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("queries", flag.ExitOnError)
	var c queriesConfig
	fs.StringVar(&c.Siorelay, "siorelay", ".tmp/bin/siorelay", "siorelay binary (serve and emitter)")
	fs.IntVar(&c.PerRelay, "per-relay", 10000, "clients on each of the two relays")
	fs.IntVar(&c.AckClients, "ack-clients", 1000, "clients in the EmitWithAck room (half on each relay)")
	fs.IntVar(&c.Reps, "reps", 30, "measured repetitions of every query from every caller")
	fs.IntVar(&c.Warmup, "warmup", 3, "unmeasured repetitions first")
	fs.DurationVar(&c.AckTimeout, "ack-timeout", 10*time.Second, "EmitWithAck timeout (a run whose acks time out fails)")
	fs.StringVar(&c.Out, "out", "", "write the results as JSON lines to this file")
	fs.StringVar(&c.cmp.Redis, "redis-server", "redis-server", "redis-server binary")
	fs.StringVar(&c.cmp.RedisCPUs, "redis-cpus", "", "taskset -c list for redis-server")
	fs.StringVar(&c.cmp.ServerCPUs, "server-cpus", "", "taskset -c list for the relays, Node and the sidecar")
	fs.StringVar(&c.cmp.Node, "node", "node", "node binary")
	fs.StringVar(&c.cmp.NodeScript, "node-script", "bench/node/server.js", "Node baseline server")
	nodeArgs := fs.String("node-args", "--max-old-space-size=8192", "node flags")
	fs.IntVar(&c.cmp.Opts.Workers, "workers", 0, "loadgen worker processes (0 = one per 15000 clients)")
	fs.IntVar(&c.cmp.Opts.Pollers, "pollers", 0, "epoll goroutines per worker (0 = GOMAXPROCS)")
	fs.IntVar(&c.cmp.Opts.Conc, "conc", 64, "handshakes in flight")
	_ = fs.Parse(args)
	c.cmp.NodeArgs = strings.Fields(*nodeArgs)
	c.cmp.Opts.Log = os.Stderr
	if c.AckClients > 2*c.PerRelay || c.Reps < 1 {
		return fmt.Errorf("-ack-clients must be at most 2 × -per-relay, -reps at least 1")
	}
	return runQueries(ctx, c)
}

// queryResult is one caller's latencies for one query.
type queryResult struct {
	Query   string          `json:"query"`
	Caller  string          `json:"caller"`
	Sockets int             `json:"sockets"` // clients in the cluster
	Target  int             `json:"target"`  // sockets the query selects
	Reps    int             `json:"reps"`
	P50     time.Duration   `json:"p50_ns"`
	P99     time.Duration   `json:"p99_ns"`
	Max     time.Duration   `json:"max_ns"`
	All     []time.Duration `json:"all_ns"`
}

// caller runs one query once and returns its duration and the number of
// sockets or acks it got back.
type caller struct {
	name string
	run  func(ctx context.Context) (time.Duration, int, error)
}

func runQueries(ctx context.Context, c queriesConfig) error {
	o := c.cmp.Opts
	redisAddr, _, stopRedis, err := startRedis(ctx, c.cmp)
	if err != nil {
		return err
	}
	defer stopRedis()
	var relays []servedRelay
	for i := range 2 {
		r, err := startServedRelay(ctx, c, redisAddr)
		if err != nil {
			return fmt.Errorf("relay %d: %w", i+1, err)
		}
		defer r.stop()
		relays = append(relays, r)
	}
	node, stopNode, err := startNode(ctx, c.cmp, redisAddr)
	if err != nil {
		return err
	}
	defer stopNode()
	sidecarAddr, stopSidecar, err := startSidecarProc(ctx, c, redisAddr)
	if err != nil {
		return err
	}
	defer stopSidecar()

	big := grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1 << 30))
	dial := func(addr string) (siorelayv1.EmitterServiceClient, func(), error) {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), big)
		if err != nil {
			return nil, nil, err
		}
		return siorelayv1.NewEmitterServiceClient(cc), func() { cc.Close() }, nil
	}
	sidecar, closeSidecar, err := dial(sidecarAddr)
	if err != nil {
		return err
	}
	defer closeSidecar()
	serve, closeServe, err := dial(relays[0].grpc)
	if err != nil {
		return err
	}
	defer closeServe()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	em, err := emitter.New(rdb, emitter.Config{RequestsTimeout: c.AckTimeout})
	if err != nil {
		return err
	}
	defer em.Close()

	total := 2 * c.PerRelay
	f, err := o.fleetFor(total)
	if err != nil {
		return err
	}
	defer f.close()
	var sids [2][]string
	for i, r := range relays {
		res, err := f.connect(r.target.url(), c.PerRelay, o.Conc, "")
		if err != nil || res.Failed > 0 {
			return fmt.Errorf("connect to relay %d: %d failed (%s), %v", i+1, res.Failed, res.FirstErr, err)
		}
		sids[i] = res.SIDs
		o.logf("queries: %d clients on relay %d in %v", len(res.SIDs), i+1, res.Took.Round(time.Millisecond))
	}
	// The EmitWithAck room: half of its members on each relay, joined
	// through the service.
	members := append(slices.Clone(sids[0][:c.AckClients/2]), sids[1][:c.AckClients-c.AckClients/2]...)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := sidecar.SocketsJoin(sctx, &siorelayv1.SocketsJoinRequest{Target: &siorelayv1.Target{Rooms: members}, Rooms: []string{"ack"}}); err != nil {
		return fmt.Errorf("join the ack room: %w", err)
	}
	for {
		res, err := sidecar.FetchSockets(sctx, &siorelayv1.FetchSocketsRequest{Target: &siorelayv1.Target{Rooms: []string{"ack"}}})
		if err == nil && len(res.GetSockets()) == c.AckClients {
			break
		}
		if sctx.Err() != nil {
			return fmt.Errorf("the ack room never had %d members: %v", c.AckClients, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n, err := sidecar.ServerCount(sctx, &siorelayv1.ServerCountRequest{}); err != nil || n.GetCount() != 3 {
		return fmt.Errorf("server count %v, %v; want 3 (two relays and Node)", n, err)
	}

	grpcFetch := func(cli siorelayv1.EmitterServiceClient) func(context.Context) (time.Duration, int, error) {
		return func(ctx context.Context) (time.Duration, int, error) {
			start := time.Now()
			res, err := cli.FetchSockets(ctx, &siorelayv1.FetchSocketsRequest{})
			return time.Since(start), len(res.GetSockets()), err
		}
	}
	grpcAck := func(cli siorelayv1.EmitterServiceClient) func(context.Context) (time.Duration, int, error) {
		return func(ctx context.Context) (time.Duration, int, error) {
			start := time.Now()
			res, err := cli.EmitWithAck(ctx, &siorelayv1.EmitWithAckRequest{
				Target: &siorelayv1.Target{Rooms: []string{"ack"}}, Event: "q", Timeout: durationpb.New(c.AckTimeout),
			})
			d := time.Since(start)
			if err == nil && res.GetTimedOut() {
				err = fmt.Errorf("timed out: %d of %d acks", len(res.GetAcks()), res.GetClients())
			}
			return d, len(res.GetAcks()), err
		}
	}
	nodeCall := func(path string) func(context.Context) (time.Duration, int, error) {
		return func(ctx context.Context) (time.Duration, int, error) {
			var r struct {
				MS    float64 `json:"ms"`
				Count int     `json:"count"`
				Error string  `json:"error"`
			}
			if err := getJSON(ctx, "http://"+node.Addr+path, &r); err != nil {
				return 0, 0, err
			}
			if r.Error != "" {
				return 0, 0, fmt.Errorf("node: %s", r.Error)
			}
			return time.Duration(r.MS * float64(time.Millisecond)), r.Count, nil
		}
	}
	plans := []struct {
		query   string
		want    int
		callers []caller
	}{
		{"FetchSockets", total, []caller{
			{"sidecar (gRPC)", grpcFetch(sidecar)},
			{"relay serve (gRPC)", grpcFetch(serve)},
			{"Go emitter", func(ctx context.Context) (time.Duration, int, error) {
				start := time.Now()
				socks, err := em.FetchSockets(ctx)
				return time.Since(start), len(socks), err
			}},
			{"Node fetchSockets()", nodeCall("/bench/fetch")},
		}},
		{"EmitWithAck", c.AckClients, []caller{
			{"sidecar (gRPC)", grpcAck(sidecar)},
			{"relay serve (gRPC)", grpcAck(serve)},
			{"Go emitter", func(ctx context.Context) (time.Duration, int, error) {
				start := time.Now()
				acks, err := em.To("ack").Timeout(c.AckTimeout).EmitWithAck(ctx, "q")
				return time.Since(start), len(acks.Answers), err
			}},
			{"Node emitWithAck()", nodeCall(fmt.Sprintf("/bench/ack?room=ack&timeout=%d", c.AckTimeout.Milliseconds()))},
		}},
	}
	var results []queryResult
	for _, p := range plans {
		lat := make([][]time.Duration, len(p.callers))
		// Round robin, so that the machine's load drifts over all callers alike.
		for rep := range c.Warmup + c.Reps {
			for i, cl := range p.callers {
				cctx, cancel := context.WithTimeout(ctx, c.AckTimeout+30*time.Second)
				d, n, err := cl.run(cctx)
				cancel()
				if err != nil {
					return fmt.Errorf("%s from %s: %w", p.query, cl.name, err)
				}
				if n != p.want {
					return fmt.Errorf("%s from %s: got %d, want %d", p.query, cl.name, n, p.want)
				}
				if rep >= c.Warmup {
					lat[i] = append(lat[i], d)
				}
			}
		}
		for i, cl := range p.callers {
			results = append(results, summarize(p.query, cl.name, total, p.want, lat[i]))
		}
	}
	printQueries(os.Stdout, c, results)
	enc, closeOut, err := createJSONL(c.Out)
	if err != nil {
		return err
	}
	defer closeOut()
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

func summarize(query, caller string, sockets, target int, lat []time.Duration) queryResult {
	s := slices.Clone(lat)
	slices.Sort(s)
	pick := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return queryResult{Query: query, Caller: caller, Sockets: sockets, Target: target, Reps: len(s),
		P50: pick(0.50), P99: pick(0.99), Max: s[len(s)-1], All: lat}
}

func printQueries(w io.Writer, c queriesConfig, rs []queryResult) {
	fmt.Fprintf(w, "\n%d clients on two relays; EmitWithAck to %d of them; %d repetitions per caller (p99 of %d is close to the max)\n\n",
		2*c.PerRelay, c.AckClients, c.Reps, c.Reps)
	fmt.Fprintln(w, "| query | caller | answers | p50 | p99 | max |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s |\n", r.Query, r.Caller, r.Target, ms(r.P50), ms(r.P99), ms(r.Max))
	}
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(v)
}

// servedRelay is a `siorelay serve --redis --grpc-addr` process.
type servedRelay struct {
	target target
	grpc   string
	stop   func()
}

func startServedRelay(ctx context.Context, c queriesConfig, redisAddr string) (servedRelay, error) {
	addr, err := freeAddr()
	if err != nil {
		return servedRelay{}, err
	}
	gaddr, err := freeAddr()
	if err != nil {
		return servedRelay{}, err
	}
	argv := pinned(c.cmp.ServerCPUs, c.Siorelay, "serve", "--addr", addr, "--grpc-addr", gaddr, "--redis", "redis://"+redisAddr,
		"--demo=false", "--metrics=false", "--log-level", "warn", "--requests-timeout", c.AckTimeout.String())
	p, err := startProcess(argv, nil, io.Discard)
	if err != nil {
		return servedRelay{}, err
	}
	for _, a := range []string{addr, gaddr} {
		if err := waitTCP(ctx, a, 30*time.Second, p.exited); err != nil {
			p.stop()
			return servedRelay{}, err
		}
	}
	// Subscribed to the cluster once /readyz says so.
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return servedRelay{}, fmt.Errorf("not ready after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t := target{Name: "relay", Addr: addr, Path: "/socket.io/", PID: p.cmd.Process.Pid, Redis: redisAddr}
	return servedRelay{target: t, grpc: gaddr, stop: p.stop}, nil
}

// startSidecarProc starts `siorelay emitter` and returns its gRPC address.
func startSidecarProc(ctx context.Context, c queriesConfig, redisAddr string) (string, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	argv := pinned(c.cmp.ServerCPUs, c.Siorelay, "emitter", "--grpc-addr", addr, "--redis", "redis://"+redisAddr,
		"--log-level", "warn", "--requests-timeout", c.AckTimeout.String())
	p, err := startProcess(argv, nil, io.Discard)
	if err != nil {
		return "", nil, err
	}
	if err := waitTCP(ctx, addr, 30*time.Second, p.exited); err != nil {
		p.stop()
		return "", nil, err
	}
	return addr, p.stop, nil
}
