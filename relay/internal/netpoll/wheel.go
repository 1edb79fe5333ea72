package netpoll

import (
	"sync"
	"time"
)

// Timer is one schedulable entry of a [Wheel]. The zero value plus F is
// ready to use; a Timer must not be copied after first use.
type Timer struct {
	// F is called from the wheel's goroutine when the timer is due.
	F func()

	when int64  // guarded by Wheel.mu; due time in wheel time
	gen  uint32 // guarded by Wheel.mu; bumped on every (re)schedule or stop
}

type wheelEntry struct {
	t   *Timer
	gen uint32
}

// Wheel is a hashed timing wheel: one goroutine and one ticker serve any
// number of coarse timers (resolution = the tick). Each Timer has at most one
// pending deadline; rescheduling replaces it.
type Wheel struct {
	tick  time.Duration
	start time.Time

	mu    sync.Mutex
	slots [][]wheelEntry // guarded by mu
	pos   int            // guarded by mu; slot of the current tick
	now   int64          // guarded by mu; wheel time of the current tick

	stop chan struct{}
	done chan struct{}
}

// NewWheel starts a wheel with the given tick whose slots cover at least
// span; longer delays are re-queued as they come around.
func NewWheel(tick, span time.Duration) *Wheel {
	if tick <= 0 {
		tick = 100 * time.Millisecond
	}
	n := int(span/tick) + 2
	w := &Wheel{
		tick:  tick,
		start: time.Now(),
		slots: make([][]wheelEntry, n),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go w.run()
	return w
}

// Schedule makes t fire after d (rounded up to the tick), replacing any
// earlier schedule of t.
func (w *Wheel) Schedule(t *Timer, d time.Duration) {
	w.mu.Lock()
	t.gen++
	t.when = int64(time.Since(w.start) + d)
	w.insertLocked(t)
	w.mu.Unlock()
}

// ScheduleFromDue makes t fire d after the time it was last due (not after
// now), so that a chain of timers does not accumulate the wheel's lateness.
// If t ran more than d/2 late (a stalled process), it fires d after now
// instead, so a stall never shortens the next wait to nothing.
func (w *Wheel) ScheduleFromDue(t *Timer, d time.Duration) {
	now := int64(time.Since(w.start))
	w.mu.Lock()
	t.gen++
	t.when += int64(d)
	if t.when < now+int64(d)/2 {
		t.when = now + int64(d)
	}
	w.insertLocked(t)
	w.mu.Unlock()
}

// Passed reports whether the time t was last scheduled for has come,
// whether or not the wheel has run F yet (it runs up to half a tick late).
func (w *Wheel) Passed(t *Timer) bool {
	now := int64(time.Since(w.start))
	w.mu.Lock()
	defer w.mu.Unlock()
	return t.when <= now
}

// Stop cancels t. It does not wait for a running F.
func (w *Wheel) Stop(t *Timer) {
	w.mu.Lock()
	t.gen++
	w.mu.Unlock()
}

func (w *Wheel) insertLocked(t *Timer) {
	// Round to the nearest tick: a timer fires at most half a tick early
	// or late (plus scheduling delay), rather than up to a whole tick late.
	ticks := (t.when - w.now + int64(w.tick)/2) / int64(w.tick)
	ticks = max(ticks, 1)
	ticks = min(ticks, int64(len(w.slots)-1))
	i := (w.pos + int(ticks)) % len(w.slots)
	w.slots[i] = append(w.slots[i], wheelEntry{t, t.gen})
}

// Close stops the wheel's goroutine and waits for it. Pending timers never
// fire.
func (w *Wheel) Close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

func (w *Wheel) run() {
	defer close(w.done)
	tk := time.NewTicker(w.tick)
	defer tk.Stop()
	var due []*Timer
	var spare []wheelEntry
	for {
		select {
		case <-w.stop:
			return
		case <-tk.C:
		}
		now := int64(time.Since(w.start))
		w.mu.Lock()
		for w.now+int64(w.tick) <= now {
			w.now += int64(w.tick)
			w.pos = (w.pos + 1) % len(w.slots)
			slot := w.slots[w.pos]
			w.slots[w.pos] = spare[:0]
			for _, e := range slot {
				if e.gen != e.t.gen {
					continue
				}
				if e.t.when > now+int64(w.tick)/2 {
					w.insertLocked(e.t)
					continue
				}
				e.t.gen++
				due = append(due, e.t)
			}
			clear(slot)
			if cap(slot) > 1024 {
				slot = nil
			}
			spare = slot[:0]
		}
		w.mu.Unlock()
		for i, t := range due {
			t.F()
			due[i] = nil
		}
		due = due[:0]
	}
}
