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
