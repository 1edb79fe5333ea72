package netpoll

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestWheel(t *testing.T) {
	w := NewWheel(5*time.Millisecond, 50*time.Millisecond)
	defer w.Close()

	fired := make(chan string, 10)
	a := &Timer{F: func() { fired <- "a" }}
	b := &Timer{F: func() { fired <- "b" }}
	c := &Timer{F: func() { fired <- "c" }}
	long := &Timer{F: func() { fired <- "long" }}

	start := time.Now()
	w.Schedule(a, 20*time.Millisecond)
	w.Schedule(b, 10*time.Millisecond)
	w.Schedule(b, 30*time.Millisecond) // replaces the 10ms schedule
	w.Schedule(c, 10*time.Millisecond)
	w.Stop(c)
	w.Schedule(long, 120*time.Millisecond) // beyond the span: re-queued

	var got []string
	for len(got) < 3 {
		select {
		case s := <-fired:
			got = append(got, s)
		case <-time.After(2 * time.Second):
			t.Fatalf("only %v fired", got)
		}
	}
	if want := []string{"a", "b", "long"}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if el := time.Since(start); el < 117*time.Millisecond { // at most half a tick early
		t.Fatalf("long timer fired after %v, want ≥ 120ms", el)
	}
	select {
	case s := <-fired:
		t.Fatalf("%s fired again", s)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestWheelManyTimers(t *testing.T) {
	w := NewWheel(time.Millisecond, 20*time.Millisecond)
	defer w.Close()
	var n atomic.Int64
	done := make(chan struct{})
	const total = 5000
	timers := make([]Timer, total)
	for i := range timers {
		timers[i].F = func() {
			if n.Add(1) == total {
				close(done)
			}
		}
		w.Schedule(&timers[i], time.Duration(i%30)*time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%d of %d timers fired", n.Load(), total)
	}
}

func TestWheelScheduleFromDue(t *testing.T) {
	w := NewWheel(time.Millisecond, time.Second)
	defer w.Close()
	fired := make(chan time.Time, 4)
	tm := &Timer{}
	start := time.Now()
	tm.F = func() { fired <- time.Now() }
	w.Schedule(tm, 20*time.Millisecond)
	<-fired
	// Chained from the due time: about 40ms after start, not 20ms after the
	// (possibly late) firing.
	w.ScheduleFromDue(tm, 20*time.Millisecond)
	at := <-fired
	if el := at.Sub(start); el < 39*time.Millisecond {
		t.Fatalf("second firing after %v, want ≥ 40ms", el)
	}
	// Far too late (as after a stall): the full delay counts from now.
	time.Sleep(100 * time.Millisecond)
	before := time.Now()
	w.ScheduleFromDue(tm, 20*time.Millisecond)
	at = <-fired
	if el := at.Sub(before); el < 19*time.Millisecond {
		t.Fatalf("after a stall the timer fired after %v, want ≥ 20ms", el)
	}
}

// TestWheelPassed: Passed tells that a timer's time has come before the
// wheel's coarse tick runs it.
func TestWheelPassed(t *testing.T) {
	w := NewWheel(time.Hour, 2*time.Hour) // F never runs during the test
	defer w.Close()
	tm := &Timer{F: func() { t.Error("F ran") }}
	w.Schedule(tm, 20*time.Millisecond)
	if w.Passed(tm) {
		t.Fatal("Passed right after Schedule")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !w.Passed(tm) {
		if time.Now().After(deadline) {
			t.Fatal("Passed still false 5s after a 20ms schedule")
		}
		time.Sleep(time.Millisecond)
	}
	w.Schedule(tm, time.Minute)
	if w.Passed(tm) {
		t.Fatal("Passed after rescheduling a minute ahead")
	}
}
