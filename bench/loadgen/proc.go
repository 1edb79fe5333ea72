package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on Linux).
const clockTick = 100

// procRSS returns VmRSS of pid in bytes.
func procRSS(pid int) (int64, error) {
	return procStatusField(pid, "VmRSS:")
}

func procStatusField(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return kbField(b, field)
}

// kbField finds "<field> <n> kB" in a /proc text file and returns n*1024.
func kbField(b []byte, field string) (int64, error) {
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte(field)); ok {
			f := strings.Fields(string(rest))
			if len(f) == 0 {
				break
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return n * 1024, nil
		}
	}
	return 0, fmt.Errorf("loadgen: %s not found", field)
}

// procCPU returns utime+stime of pid (all its threads).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may contain spaces; fields resume after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("loadgen: bad /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("loadgen: short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("loadgen: bad cpu fields in /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTick, nil
}

// kernelMem returns the system-wide Slab from /proc/meminfo plus the TCP
// socket buffer pages from /proc/net/sockstat, in bytes. Deltas of this
// value approximate the kernel memory of new connections (both ends, when
// client and server share the machine); it is noisy, being system-wide.
func kernelMem() (slab, tcpBuf int64, err error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0, err
	}
	slab, err = kbField(b, "Slab:")
	if err != nil {
		return 0, 0, err
	}
	s, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return slab, 0, nil
	}
	for line := range bytes.Lines(s) {
		if rest, ok := bytes.CutPrefix(line, []byte("TCP:")); ok {
			f := strings.Fields(string(rest))
			for i := 0; i+1 < len(f); i += 2 {
				if f[i] == "mem" {
					pages, _ := strconv.ParseInt(f[i+1], 10, 64)
					tcpBuf = pages * int64(os.Getpagesize())
				}
			}
		}
	}
	return slab, tcpBuf, nil
}

// boxBusy returns the CPU time all CPUs spent not idle (the "cpu" line of
// /proc/stat: user nice system irq softirq steal).
func boxBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("loadgen: bad /proc/stat")
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, err
		}
		busy += v
	}
	return time.Duration(busy) * time.Second / clockTick, nil
}

// cpuMeter measures, over a window, the CPU of the server, of Redis, of a
// second server of the same cluster (the peer), of the load generator
// (workers and this process), and of everything else on the machine: other
// work on a shared box shows up as "others".
type cpuMeter struct {
	pids                                [3]int // server, redis, peer (0 = none)
	fl                                  *fleet
	t0                                  time.Time
	box0, srv0, redis0, peer0, lg0, me0 time.Duration
}

// startCPUMeter starts measuring; redis and peer may be 0 (none).
func startCPUMeter(server, redis, peer int, fl *fleet) *cpuMeter {
	m := &cpuMeter{pids: [3]int{server, redis, peer}, fl: fl}
	m.box0, m.srv0, m.redis0, m.peer0, m.lg0, m.me0 = m.sample()
	m.t0 = time.Now()
	return m
}

func (m *cpuMeter) sample() (box, srv, redis, peer, lg, me time.Duration) {
	box, _ = boxBusy()
	srv, _ = procCPU(m.pids[0])
	if m.pids[1] > 0 {
		redis, _ = procCPU(m.pids[1])
	}
	if m.pids[2] > 0 {
		peer, _ = procCPU(m.pids[2])
	}
	if m.fl != nil {
		lg = m.fl.cpu()
	}
	me, _ = procCPU(os.Getpid())
	return
}

// cpuWindow is CPU use over a window, in seconds and in cores (÷ wall).
type cpuWindow struct {
	Wall       float64 `json:"wall_s"`
	Server     float64 `json:"server_s"`
	Peer       float64 `json:"peer_s,omitempty"` // the cluster's second server
	Loadgen    float64 `json:"loadgen_s"`        // workers + coordinator
	Redis      float64 `json:"redis_s"`
	Others     float64 `json:"others_s"` // the rest of the machine
	OthersCore float64 `json:"others_cores"`
}

func (m *cpuMeter) stop() cpuWindow {
	box, srv, redis, peer, lg, me := m.sample()
	w := cpuWindow{
		Wall:    time.Since(m.t0).Seconds(),
		Server:  (srv - m.srv0).Seconds(),
		Peer:    (peer - m.peer0).Seconds(),
		Loadgen: (lg - m.lg0 + me - m.me0).Seconds(),
		Redis:   (redis - m.redis0).Seconds(),
	}
	w.Others = max(0, (box-m.box0).Seconds()-w.Server-w.Peer-w.Loadgen-w.Redis)
	w.OthersCore = w.Others / w.Wall
	return w
}

// selfNice returns this process's nice value (field 19 of /proc/self/stat).
func selfNice() int {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 17 {
		return 0
	}
	n, _ := strconv.Atoi(f[16])
	return n
}
