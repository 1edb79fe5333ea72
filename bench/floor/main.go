// Command floor measures the machine's floor for the broadcast latency of
// bench/loadgen: how soon the last of N loopback TCP sockets can read a
// message when a writer does nothing but write(2) it to each of them.
//
// No server can fan out faster than this bare writer, so its p99 is the
// lowest p99 a server can show in the broadcast scenario on the same
// machine (bench/README.md, run 7, compares it with the relay and Node).
//
//	go run ./bench/floor [-n 10000] [-writers 2] [-rounds 10] [-period 256ms] [-size 100]
//
// The writer (this process) dials N connections to a reader child process
// (two processes, because 2N sockets would pass the 20,000 open files a
// process may have). Every period it stamps a message with the wall clock
// and writes it to every socket from -writers OS threads, splitting the
// sockets between them. The reader reads its sockets through epoll, as the
// load generator's pollers do (edge-triggered, by default 4 pollers and a
// 200 µs pause after a partial batch), and measures, per socket and round, the time from the
// stamp to the read. A round counts once every socket has read it.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/siorelay/siorelay/bench/internal/rawsock"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "reader" {
		err = runReader(os.Args[2:], os.Stdin, os.Stdout)
	} else {
		err = runWriter(os.Args[1:], os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// result is what the reader reports, in milliseconds.
type result struct {
	Rounds int     `json:"rounds"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// header is the start of every message: the round and the writer's stamp.
const header = 16

func runWriter(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	n := fs.Int("n", 10000, "sockets")
	writers := fs.Int("writers", 2, "OS threads writing, each to its share of the sockets")
	rounds := fs.Int("rounds", 10, "broadcasts measured")
	period := fs.Duration("period", 256*time.Millisecond, "time between broadcasts (256ms ≈ the 3.9/s of the half-of-Node's-maximum scenario)")
	size := fs.Int("size", 100, "bytes per message")
	pollers := fs.Int("pollers", 4, "reader: epoll instances, one thread each")
	batchDelay := fs.Duration("batch-delay", 200*time.Microsecond, "reader: pause after a partial batch of events (bench/loadgen's -batch-delay)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *writers < 1 || *rounds < 1 || *pollers < 1 || *size < header || *period <= 0 || *batchDelay < 0 {
		return errors.New("-n, -writers, -rounds and -pollers must be positive, -size at least 16, -period above 0, -batch-delay not negative")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	reader := exec.Command(exe, "reader", fmt.Sprint(*n), fmt.Sprint(*rounds), fmt.Sprint(*size), fmt.Sprint(*pollers), batchDelay.String())
	reader.Stderr = os.Stderr
	toReader, err := reader.StdinPipe()
	if err != nil {
		return err
	}
	fromReader, err := reader.StdoutPipe()
	if err != nil {
		return err
	}
	if err := reader.Start(); err != nil {
		return err
	}
	defer reader.Process.Kill()
	lines := bufio.NewScanner(fromReader)
	if !lines.Scan() {
		return fmt.Errorf("reader: no address (%v)", lines.Err())
	}
	addr := lines.Text()

	fds := make([]int, *n)
	for i := range fds {
		if fds[i], err = dialRaw(addr); err != nil {
			return fmt.Errorf("socket %d: %w", i, err)
		}
	}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	if !lines.Scan() || lines.Text() != "ready" {
		return fmt.Errorf("reader: not ready (%q, %v)", lines.Text(), lines.Err())
	}

	msg := make([]byte, *size)
	tick := time.NewTicker(*period)
	defer tick.Stop()
	for round := range *rounds {
		<-tick.C
		binary.LittleEndian.PutUint64(msg, uint64(round))
		binary.LittleEndian.PutUint64(msg[8:], uint64(time.Now().UnixNano()))
		if err := fanOut(fds, msg, *writers); err != nil {
			return err
		}
	}
	toReader.Close() // the reader reports once every round has arrived
	if !lines.Scan() {
		return fmt.Errorf("reader: no result (%v)", lines.Err())
	}
	var r result
	if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
		return fmt.Errorf("reader: %w", err)
	}
	if err := reader.Wait(); err != nil {
		return fmt.Errorf("reader: %w", err)
	}
	fmt.Fprintf(out, "%d sockets, %d writers, %d rounds of %d bytes every %v: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		*n, *writers, r.Rounds, *size, *period, r.P50, r.P99, r.Max)
	return nil
}

// fanOut writes msg to every fd from w locked OS threads.
func fanOut(fds []int, msg []byte, w int) error {
	var wg sync.WaitGroup
	errs := make([]error, w)
	for k := range w {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for i := k; i < len(fds); i += w {
				if m, err := unix.Write(fds[i], msg); err != nil || m != len(msg) {
					errs[k] = fmt.Errorf("write: %d of %d bytes, %v", m, len(msg), err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// dialRaw connects to addr and returns a non-blocking socket of its own,
// outside the Go runtime's poller.
func dialRaw(addr string) (int, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return -1, err
	}
	defer c.Close()
	return rawsock.Dup(c)
}

// runReader accepts n sockets, prints its address and then "ready", and
// once stdin closes and all rounds have arrived, prints a result line.
func runReader(args []string, stdin io.Reader, out io.Writer) error {
	var n, rounds, size, pollers int
	if len(args) != 5 {
		return errors.New("reader N ROUNDS SIZE POLLERS BATCH_DELAY")
	}
	for i, p := range []*int{&n, &rounds, &size, &pollers} {
		if _, err := fmt.Sscan(args[i], p); err != nil {
			return err
		}
	}
	batchDelay, err := time.ParseDuration(args[4])
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Fprintln(out, ln.Addr())
	eps := make([]int, pollers)
	for p := range eps {
		if eps[p], err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
			return err
		}
	}
	for i := range n {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		fd, err := rawsock.Dup(c)
		c.Close()
		if err != nil {
			return err
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(fd)}
		if err := unix.EpollCtl(eps[i%pollers], unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return err
		}
	}

	lat := make([][]time.Duration, rounds) // by round
	var mu sync.Mutex
	var got sync.WaitGroup
	got.Add(n * rounds)
	var bad error
	for _, ep := range eps {
		go func() {
			runtime.LockOSThread()
			evs := make([]unix.EpollEvent, 256)
			buf := make([]byte, 64<<10)
			partial := map[int32][]byte{}
			for {
				k, err := unix.EpollWait(ep, evs, -1)
				if err == unix.EINTR {
					continue
				}
				for _, ev := range evs[:k] {
					for {
						m, err := unix.Read(int(ev.Fd), buf)
						if m <= 0 || err != nil {
							break
						}
						now := time.Now().UnixNano()
						data := buf[:m]
						if p := partial[ev.Fd]; len(p) > 0 { // a message split across reads
							data = append(p, data...)
						}
						mu.Lock()
						for len(data) >= size {
							round := binary.LittleEndian.Uint64(data)
							stamp := int64(binary.LittleEndian.Uint64(data[8:]))
							if round < uint64(rounds) {
								lat[round] = append(lat[round], time.Duration(now-stamp))
								got.Done()
							} else if bad == nil {
								bad = fmt.Errorf("message for round %d", round)
							}
							data = data[size:]
						}
						mu.Unlock()
						if len(data) > 0 || len(partial[ev.Fd]) > 0 {
							partial[ev.Fd] = append(partial[ev.Fd][:0], data...)
						}
					}
				}
				if k < len(evs) && batchDelay > 0 {
					time.Sleep(batchDelay)
				}
			}
		}()
	}
	fmt.Fprintln(out, "ready")
	io.Copy(io.Discard, stdin)
	got.Wait()
	mu.Lock()
	defer mu.Unlock()
	if bad != nil {
		return bad
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return json.NewEncoder(out).Encode(result{
		Rounds: rounds,
		P50:    ms(all[len(all)/2]),
		P99:    ms(all[len(all)*99/100]),
		Max:    ms(all[len(all)-1]),
	})
}
