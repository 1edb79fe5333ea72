package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// perWorker is how many clients one worker process holds at most: the
// open-file limit on our machines is 20,000 per process and cannot be raised.
const perWorker = 15000

// fleet is the set of worker processes holding the client connections.
type fleet struct {
	procs []*workerProc
}

type workerProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// startFleet starts n worker processes (copies of this executable).
func startFleet(n, pollers int, batchDelay time.Duration) (*fleet, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	f := &fleet{}
	for range n {
		cmd := exec.Command(exe, "worker", fmt.Sprintf("-pollers=%d", pollers), "-batch-delay="+batchDelay.String())
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			f.close()
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			f.close()
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			f.close()
			return nil, err
		}
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		f.procs = append(f.procs, &workerProc{cmd: cmd, in: in, out: sc})
	}
	return f, nil
}

func (w *workerProc) call(req workerRequest) (workerReply, error) {
	var rep workerReply
	b, err := json.Marshal(req)
	if err != nil {
		return rep, err
	}
	if _, err := w.in.Write(append(b, '\n')); err != nil {
		return rep, fmt.Errorf("worker %d: %w", w.cmd.Process.Pid, err)
	}
	if !w.out.Scan() {
		return rep, fmt.Errorf("worker %d exited: %v", w.cmd.Process.Pid, w.out.Err())
	}
	if err := json.Unmarshal(w.out.Bytes(), &rep); err != nil {
		return rep, err
	}
	if rep.Err != "" {
		return rep, fmt.Errorf("worker %d: %s", w.cmd.Process.Pid, rep.Err)
	}
	return rep, nil
}

// each calls fn on every worker in parallel with that worker's index.
func (f *fleet) each(fn func(i int, w *workerProc) (workerReply, error)) ([]workerReply, error) {
	reps := make([]workerReply, len(f.procs))
	errs := make([]error, len(f.procs))
	var wg sync.WaitGroup
	for i, w := range f.procs {
		wg.Go(func() { reps[i], errs[i] = fn(i, w) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return reps, err
		}
	}
	return reps, nil
}

type connectResult struct {
	SIDs      []string
	Connected int // recovery clients ("rconnect") only
	Failed    int
	FirstErr  string
	Took      time.Duration
}

// connect opens total clients spread evenly over the workers.
func (f *fleet) connect(url string, total, conc int, auth string) (connectResult, error) {
	return f.connectOp("connect", url, total, conc, auth)
}

// connectOp opens total clients spread evenly over the workers with op:
// "connect" for the scenarios' clients, "rconnect" for recovery clients.
func (f *fleet) connectOp(op, url string, total, conc int, auth string) (connectResult, error) {
	start := time.Now()
	n := len(f.procs)
	reps, err := f.each(func(i int, w *workerProc) (workerReply, error) {
		share := shareOf(total, n, i)
		if share == 0 {
			return workerReply{}, nil
		}
		return w.call(workerRequest{Op: op, URL: url, N: share, Conc: max(1, conc/n), Auth: auth})
	})
	var r connectResult
	for _, rep := range reps {
		r.SIDs = append(r.SIDs, rep.SIDs...)
		r.Connected += rep.Connected
		r.Failed += rep.Failed
		if r.FirstErr == "" {
			r.FirstErr = rep.FirstErr
		}
	}
	r.Took = time.Since(start)
	return r, err
}

// shareOf is worker i's share when total clients are spread over n workers.
func shareOf(total, n, i int) int {
	if i < total%n {
		return total/n + 1
	}
	return total / n
}

// stats aggregates every worker's counters; expect is the number of measured
// events each client should have received.
func (f *fleet) stats(expect uint32) (*workerStats, *hist, error) {
	reps, err := f.each(func(_ int, w *workerProc) (workerReply, error) {
		return w.call(workerRequest{Op: "stats", Expect: expect})
	})
	if err != nil {
		return nil, nil, err
	}
	agg := &workerStats{Closed: map[string]int{}}
	h := &hist{}
	first := true
	for _, rep := range reps {
		s := rep.Stats
		if s == nil {
			continue
		}
		agg.Clients += s.Clients
		agg.Open += s.Open
		for k, v := range s.Closed {
			agg.Closed[k] += v
		}
		agg.Count += s.Count
		if s.Clients > 0 {
			if first {
				agg.MinCount = s.MinCount
				first = false
			}
			agg.MinCount = min(agg.MinCount, s.MinCount)
		}
		agg.MaxCount = max(agg.MaxCount, s.MaxCount)
		agg.Complete += s.Complete
		agg.Reorder += s.Reorder
		agg.Probed += s.Probed
		agg.Warm += s.Warm
		agg.Pings += s.Pings
		agg.Other += s.Other
		if s.First != 0 && (agg.First == 0 || s.First < agg.First) {
			agg.First = s.First
		}
		agg.Last = max(agg.Last, s.Last)
		h.merge(s.Hist.hist())
	}
	return agg, h, nil
}

func (f *fleet) reset() error {
	_, err := f.each(func(_ int, w *workerProc) (workerReply, error) {
		return w.call(workerRequest{Op: "reset"})
	})
	return err
}

// cpu returns the workers' total CPU time so far.
func (f *fleet) cpu() time.Duration {
	var d time.Duration
	for _, w := range f.procs {
		c, _ := procCPU(w.cmd.Process.Pid)
		d += c
	}
	return d
}

// rss returns the workers' total resident memory.
func (f *fleet) rss() int64 {
	var n int64
	for _, w := range f.procs {
		r, _ := procRSS(w.cmd.Process.Pid)
		n += r
	}
	return n
}

// close ends the workers (closing their stdin) and waits for them; the
// kernel closes their sockets.
func (f *fleet) close() {
	for _, w := range f.procs {
		w.in.Close()
	}
	for _, w := range f.procs {
		done := make(chan struct{})
		go func() { _ = w.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = w.cmd.Process.Kill()
			<-done
		}
	}
	f.procs = nil
}
