package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/relay"
)

// Forwarder forwards a relay's connections, events and disconnects to
// backends. Its methods are the relay's hooks: see the package doc.
type Forwarder struct {
	cfg      Config
	routes   []route
	backends []backend
	sem      chan struct{} // one slot per call in flight or queued (Config.MaxInFlight)
	obs      Observer
	log      *slog.Logger
	ctx      context.Context // cancelled by Close when its ctx ends: aborts calls
	cancel   context.CancelFunc
	wg       sync.WaitGroup // every goroutine started by the Forwarder

	mu      sync.Mutex
	queues  map[*relay.Socket]*queue    // guarded by mu; sockets with calls queued or running
	leaving map[socketKey]chan struct{} // guarded by mu; closed when a socket's Disconnect call is over
	closed  bool                        // guarded by mu

	logMu   sync.Mutex
	logLast map[string]time.Time // guarded by logMu: last failure logged per hook+outcome
	logSkip map[string]int       // guarded by logMu: failures not logged since
}

type route struct {
	pattern string
	b       backend
}

// queue holds one socket's calls, run in order by one goroutine.
type queue struct {
	jobs    []job // guarded by Forwarder.mu
	events  int   // guarded by Forwarder.mu; event jobs in jobs
	running bool  // guarded by Forwarder.mu; a goroutine is draining jobs
}

// job is an Event call (event != nil) or a Disconnect call.
type job struct {
	b      backend
	event  *siorelayv1.EventRequest
	ack    relay.AckFunc
	reason string
	left   chan struct{} // Disconnect: closed when the call is over
}

// socketKey names a socket across its recoveries: a recovered socket is a
// new *relay.Socket with the old id.
type socketKey struct{ nsp, id string }

// New starts a Forwarder: it validates cfg and makes a client for each
// distinct target (gRPC clients connect lazily, on the first call).
func New(cfg Config) (*Forwarder, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	f := &Forwarder{
		cfg:     cfg,
		sem:     make(chan struct{}, cfg.MaxInFlight),
		obs:     cfg.Observer,
		log:     cfg.Logger,
		queues:  make(map[*relay.Socket]*queue),
		leaving: make(map[socketKey]chan struct{}),
		logLast: make(map[string]time.Time),
		logSkip: make(map[string]int),
	}
	if f.obs == nil {
		f.obs = nopObserver{}
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	byTarget := map[string]backend{}
	for _, r := range cfg.Routes {
		b := byTarget[r.Target]
		if b == nil {
			t, err := parseTarget(r.Target)
			if err != nil {
				f.closeBackends()
				return nil, err
			}
			if t.kind == "grpc" {
				gb, err := newGRPCBackend(t, &cfg)
				if err != nil {
					f.closeBackends()
					return nil, fmt.Errorf("hooks: target %q: %w", r.Target, err)
				}
				b = gb
			} else {
				b = newHTTPBackend(t, &cfg)
			}
			byTarget[r.Target] = b
			f.backends = append(f.backends, b)
		}
		f.routes = append(f.routes, route{pattern: r.Namespace, b: b})
	}
	return f, nil
}

// backendFor returns the backend of namespace nsp, or nil.
func (f *Forwarder) backendFor(nsp string) backend {
	for _, r := range f.routes {
		if matchPattern(r.pattern, nsp) {
			return r.b
		}
	}
	return nil
}

// Handles reports whether a route matches namespace nsp.
func (f *Forwarder) Handles(nsp string) bool { return f.backendFor(nsp) != nil }

// Connect is the relay's OnConnect: it runs Config.Authenticate, then asks
// the namespace's backend. It blocks for at most Config.Timeout (twice
// that with Authenticate fetching keys). A refusal is a
// *[relay.ConnectError].
func (f *Forwarder) Connect(ctx context.Context, h *relay.Handshake) (relay.ConnectResult, error) {
	var pre relay.ConnectResult
	if f.cfg.Authenticate != nil {
		var err error
		if pre, err = f.cfg.Authenticate(ctx, h); err != nil {
			return relay.ConnectResult{}, err
		}
	}
	if h.Recovered && pre.Data == nil {
		pre.Data = h.Data
	}
	b := f.backendFor(h.Namespace)
	if b != nil && h.Recovered {
		f.awaitDisconnect(ctx, socketKey{h.Namespace, h.SocketID})
	}
	if b == nil {
		return pre, nil
	}
	if !f.acquire() {
		f.obs.HookCall(HookConnect, OutcomeBusy, 0)
		f.logFailure(HookConnect, OutcomeBusy, errors.New("in-flight limit reached"), "nsp", h.Namespace)
		return relay.ConnectResult{}, &relay.ConnectError{Message: clientMessage(OutcomeBusy)}
	}
	defer f.release()
	// Timed from before the deadline starts, so that a call cut off by
	// it lasts at least Config.Timeout.
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	stop := context.AfterFunc(f.ctx, cancel)
	res, err := b.Connect(cctx, connectRequest(h, dataText(pre.Data)))
	stop()
	cancel()
	d := time.Since(start)
	if err == nil && !res.GetAllow() {
		return relay.ConnectResult{}, f.denied(res, h, d)
	}
	var out relay.ConnectResult
	if err == nil {
		out, err = allowed(res, pre)
	}
	if err != nil {
		o := outcome(err)
		f.obs.HookCall(HookConnect, o, d)
		f.logFailure(HookConnect, o, err, "nsp", h.Namespace, "address", h.Address)
		return relay.ConnectResult{}, &relay.ConnectError{Message: clientMessage(o)}
	}
	f.obs.HookCall(HookConnect, OutcomeOK, d)
	return out, nil
}

// denied turns a refusal into the client's connect_error.
func (f *Forwarder) denied(res *siorelayv1.ConnectResponse, h *relay.Handshake, d time.Duration) error {
	ce := &relay.ConnectError{Message: res.GetErrorMessage()}
	if ce.Message == "" {
		ce.Message = "not authorized"
	}
	o := OutcomeDenied
	if res.GetErrorData() != "" {
		data, err := jsonText(res.GetErrorData(), "connect error_data")
		if err != nil {
			// Still refused, without the data.
			o = OutcomeBadAnswer
			f.logFailure(HookConnect, o, err, "nsp", h.Namespace)
		} else {
			ce.Data = data
		}
	}
	f.obs.HookCall(HookConnect, o, d)
	return ce
}

// allowed builds the relay's result from an allowing answer; pre is the
// result of Config.Authenticate.
func allowed(res *siorelayv1.ConnectResponse, pre relay.ConnectResult) (relay.ConnectResult, error) {
	out := relay.ConnectResult{Rooms: slices.Clip(pre.Rooms), Data: pre.Data}
	if res.GetData() != "" {
		data, err := jsonText(res.GetData(), "connect data")
		if err != nil {
			return relay.ConnectResult{}, err
		}
		out.Data = data
	}
	emits, err := answerEmits(res.GetEmits())
	if err != nil {
		return relay.ConnectResult{}, err
	}
	for _, r := range res.GetRooms() {
		if r != "" { // a room joined twice is joined once: the relay skips repeats
			out.Rooms = append(out.Rooms, r)
		}
	}
	if len(emits) > 0 {
		out.Data = &pendingData{value: out.Data, emits: emits}
	}
	return out, nil
}

// Connection is the relay's OnConnection: it sends the emits of the
// socket's Connect answer, right after the CONNECT reply.
func (f *Forwarder) Connection(ctx context.Context, s *relay.Socket) {
	p, ok := s.Data().(*pendingData)
	if !ok {
		return
	}
	s.SetData(p.value)
	for _, e := range p.emits {
		if err := s.Emit(ctx, e.event, e.args...); err != nil {
			f.log.Debug("hooks: connect emit", "sid", s.ID(), "event", e.event, "err", err)
		}
	}
}

// Event is the relay's OnEvent: it queues the event for the socket's
// backend and returns at once. The call, and the ack, joins, leaves,
// emits and disconnect of its answer, happen on the socket's own
// goroutine, in the order the events came.
func (f *Forwarder) Event(ctx context.Context, s *relay.Socket, ev relay.Event, ack relay.AckFunc) {
	b := f.backendFor(s.Namespace())
	if b == nil {
		f.obs.EventDropped(DropNoHook)
		return
	}
	if !f.cfg.forwards(ev.Name) {
		f.obs.EventDropped(DropNotForwarded)
		return
	}
	if !f.acquire() {
		f.busy(s, ack)
		return
	}
	args, atts := eventArgs(ev)
	j := job{b: b, ack: ack, event: &siorelayv1.EventRequest{
		SocketId:     s.ID(),
		Namespace:    s.Namespace(),
		Event:        ev.Name,
		Args:         args,
		Attachments:  atts,
		AckRequested: ack != nil,
	}}
	switch f.enqueue(s, j) {
	case queued:
	case queueFull:
		f.release()
		f.busy(s, ack)
	case socketGone:
		f.release()
	case closing:
		f.release()
		f.obs.HookCall(HookEvent, OutcomeError, 0)
		if ack != nil {
			_ = ack(errorAck(OutcomeError))
		}
	}
}

// busy drops an event for lack of room.
func (f *Forwarder) busy(s *relay.Socket, ack relay.AckFunc) {
	f.obs.EventDropped(DropBusy)
	f.logFailure(HookEvent, OutcomeBusy, errors.New("event dropped: in-flight limit or socket queue full"), "sid", s.ID())
	if ack != nil {
		_ = ack(errorAck(OutcomeBusy))
	}
}

// Disconnect is the relay's OnDisconnect: it queues the Disconnect call
// behind the socket's events and returns at once.
func (f *Forwarder) Disconnect(s *relay.Socket, reason string) {
	b := f.backendFor(s.Namespace())
	if b == nil {
		return
	}
	left := make(chan struct{})
	f.mu.Lock()
	f.leaving[socketKey{s.Namespace(), s.ID()}] = left
	f.mu.Unlock()
	j := job{b: b, reason: reason, left: left}
	if f.enqueue(s, j) == closing {
		f.obs.HookCall(HookDisconnect, OutcomeError, 0)
		f.disconnected(s, j) // no call: a recovering client need not wait
	}
}

// awaitDisconnect waits, for up to Config.Timeout, until the Disconnect
// call of the socket a recovering client restores is over, so that the
// backend sees the loss before the return.
func (f *Forwarder) awaitDisconnect(ctx context.Context, k socketKey) {
	f.mu.Lock()
	left := f.leaving[k]
	f.mu.Unlock()
	if left == nil {
		return
	}
	t := time.NewTimer(f.cfg.Timeout)
	defer t.Stop()
	select {
	case <-left:
	case <-t.C:
	case <-ctx.Done():
	}
}

// disconnected marks the Disconnect call of j's socket as over.
func (f *Forwarder) disconnected(s *relay.Socket, j job) {
	k := socketKey{s.Namespace(), s.ID()}
	f.mu.Lock()
	if f.leaving[k] == j.left {
		delete(f.leaving, k)
	}
	f.mu.Unlock()
	close(j.left)
}

type enqueueResult int

const (
	queued enqueueResult = iota
	queueFull
	socketGone
	closing // Close has been called: no call is made any more
)

// enqueue adds j to s's queue and starts its goroutine if none runs. Once
// Close has begun, it refuses: a goroutine started then could be added to
// the WaitGroup from zero while Close waits on it, or outlive Close.
func (f *Forwarder) enqueue(s *relay.Socket, j job) enqueueResult {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return closing
	}
	if j.event != nil && s.Context().Err() != nil {
		// The socket left and its Disconnect is queued (the relay marks
		// it closed before calling OnDisconnect): nothing may follow it.
		f.mu.Unlock()
		return socketGone
	}
	q := f.queues[s]
	if q == nil {
		q = &queue{}
		f.queues[s] = q
	}
	if j.event != nil {
		if q.events >= maxSocketQueue {
			f.mu.Unlock()
			return queueFull
		}
		q.events++
	}
	q.jobs = append(q.jobs, j)
	start := !q.running
	q.running = true
	if start {
		f.wg.Add(1)
	}
	f.mu.Unlock()
	if start {
		go f.run(s, q)
	}
	return queued
}

// run makes s's calls in order until its queue is empty. It runs in its
// own goroutine.
func (f *Forwarder) run(s *relay.Socket, q *queue) {
	defer f.wg.Done()
	for {
		f.mu.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			f.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs[0] = job{}
		q.jobs = q.jobs[1:]
		if j.event != nil {
			q.events--
		} else if f.queues[s] == q {
			delete(f.queues, s) // the socket's last call
		}
		f.mu.Unlock()
		if j.event != nil {
			f.callEvent(s, j)
		} else {
			f.callDisconnect(s, j)
			f.disconnected(s, j)
		}
	}
}

// callEvent makes one Event call and applies its answer. It releases the
// slot taken by Event once the call is over (before the ack goes out, so
// that a client that waits for its ack to send the next event finds it).
func (f *Forwarder) callEvent(s *relay.Socket, j job) {
	r := j.event
	r.Rooms = s.Rooms()
	r.Data = dataText(s.Data())
	start := time.Now() // before the deadline starts, as in Connect
	ctx, cancel := context.WithTimeout(f.ctx, f.cfg.Timeout)
	res, err := j.b.Event(ctx, r)
	cancel()
	f.release()
	d := time.Since(start)
	var a eventAnswer
	if err == nil {
		a, err = checkEventAnswer(res, j.ack != nil)
	}
	if err != nil {
		o := outcome(err)
		f.obs.HookCall(HookEvent, o, d)
		f.logFailure(HookEvent, o, err, "sid", r.SocketId, "nsp", r.Namespace, "event", r.Event)
		if j.ack != nil {
			_ = j.ack(errorAck(o))
		}
		return
	}
	f.obs.HookCall(HookEvent, OutcomeOK, d)
	if len(a.join) > 0 {
		s.Join(a.join...)
	}
	if len(a.leave) > 0 {
		s.Leave(a.leave...)
	}
	if j.ack != nil {
		_ = j.ack(a.ack...)
	}
	for _, e := range a.emits {
		if err := s.Emit(f.ctx, e.event, e.args...); err != nil {
			f.log.Debug("hooks: event emit", "sid", r.SocketId, "event", e.event, "err", err)
		}
	}
	if a.disconnect {
		s.Disconnect(false)
	}
}

// eventAnswer is a validated EventResponse.
type eventAnswer struct {
	ack         []any
	join, leave []string
	emits       []emit
	disconnect  bool
}

func checkEventAnswer(res *siorelayv1.EventResponse, wantAck bool) (eventAnswer, error) {
	a := eventAnswer{join: res.GetJoin(), leave: res.GetLeave(), disconnect: res.GetDisconnect()}
	var err error
	if wantAck {
		if a.ack, err = answerArgs(res.GetAck(), "ack"); err != nil {
			return eventAnswer{}, err
		}
	}
	if a.emits, err = answerEmits(res.GetEmits()); err != nil {
		return eventAnswer{}, err
	}
	return a, nil
}

// callDisconnect makes the Disconnect call, retried up to twice: the
// backend learns nothing new from a repeat.
func (f *Forwarder) callDisconnect(s *relay.Socket, j job) {
	select {
	case f.sem <- struct{}{}:
	case <-f.ctx.Done():
		f.obs.HookCall(HookDisconnect, OutcomeError, 0)
		return
	}
	defer f.release()
	r := &siorelayv1.DisconnectRequest{
		SocketId:  s.ID(),
		Namespace: s.Namespace(),
		Reason:    j.reason,
		Rooms:     s.Rooms(),
		Data:      dataText(s.Data()),
	}
	start := time.Now()
	var err error
	for attempt := range 3 {
		if attempt > 0 && !sleepCtx(f.ctx, time.Duration(attempt)*200*time.Millisecond) {
			break
		}
		ctx, cancel := context.WithTimeout(f.ctx, f.cfg.Timeout)
		err = j.b.Disconnect(ctx, r)
		cancel()
		if err == nil || outcome(err) == OutcomeBadAnswer {
			break
		}
	}
	d := time.Since(start)
	if err != nil {
		o := outcome(err)
		f.obs.HookCall(HookDisconnect, o, d)
		f.logFailure(HookDisconnect, o, err, "sid", r.SocketId, "nsp", r.Namespace)
		return
	}
	f.obs.HookCall(HookDisconnect, OutcomeOK, d)
}

func (f *Forwarder) acquire() bool {
	select {
	case f.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

func (f *Forwarder) release() { <-f.sem }

// InFlight returns the number of calls in flight or queued.
func (f *Forwarder) InFlight() int { return len(f.sem) }

// Close waits for the queued and running calls (call it after the relay
// has shut down, so that the Disconnect calls of its last sockets are
// made), then closes the backend connections. When ctx ends first, the
// calls still running are cancelled. From the moment Close is called, no
// new call is made: an event is acked with {"error":"backend unavailable"}
// and a Disconnect is dropped (both counted as errors by the Observer). A
// second call returns nil.
func (f *Forwarder) Close(ctx context.Context) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.mu.Unlock()
	done := make(chan struct{})
	go func() {
		f.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("hooks: close: %w", ctx.Err())
		f.cancel()
		<-done
	}
	f.cancel()
	return errors.Join(err, f.closeBackends())
}

func (f *Forwarder) closeBackends() error {
	var errs []error
	for _, b := range f.backends {
		errs = append(errs, b.Close())
	}
	return errors.Join(errs...)
}

// logFailure logs a failed call at warning level, at most once a second
// per hook and outcome (a down backend fails every call).
func (f *Forwarder) logFailure(hook, outcome string, err error, attrs ...any) {
	key := hook + "/" + outcome
	now := time.Now()
	f.logMu.Lock()
	if now.Sub(f.logLast[key]) < time.Second {
		f.logSkip[key]++
		f.logMu.Unlock()
		return
	}
	f.logLast[key] = now
	skipped := f.logSkip[key]
	f.logSkip[key] = 0
	f.logMu.Unlock()
	attrs = append(attrs, "hook", hook, "outcome", outcome, "err", err)
	if skipped > 0 {
		attrs = append(attrs, "not_logged_since", skipped)
	}
	f.log.Warn("backend call failed", attrs...)
}

type nopObserver struct{}

func (nopObserver) HookCall(string, string, time.Duration) {}
func (nopObserver) EventDropped(string)                    {}

var _ json.Marshaler = (*pendingData)(nil)
