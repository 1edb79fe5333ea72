package main

import (
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram in nanoseconds with 64 sub-buckets
// per power of two (relative error below 1.6 %), mergeable across processes.
// The zero value is empty and ready to use. Not safe for concurrent use.
type hist struct {
	counts []uint64 // len histLen once used
	n      uint64
	max    int64
	sum    float64
}

const (
	histSubBits = 7
	histLen     = (64-histSubBits+1)<<(histSubBits-1) + 1<<(histSubBits-1)
)

func histIndex(v int64) int {
	if v < 0 {
		v = 0
	}
	u := uint64(v)
	if u < 1<<histSubBits {
		return int(u)
	}
	e := bits.Len64(u) - histSubBits
	return e<<(histSubBits-1) + int(u>>e)
}

// histValue returns the midpoint of bucket i.
func histValue(i int) int64 {
	if i < 1<<histSubBits {
		return int64(i)
	}
	e := i>>(histSubBits-1) - 1
	m := i - e<<(histSubBits-1)
	lo := int64(m) << e
	return lo + (int64(1)<<e)/2
}

func (h *hist) record(v int64) {
	if h.counts == nil {
		h.counts = make([]uint64, histLen)
	}
	h.counts[histIndex(v)]++
	h.n++
	h.sum += float64(v)
	if v > h.max {
		h.max = v
	}
}

func (h *hist) merge(o *hist) {
	if o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, histLen)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the value at quantile q in [0, 1]; q == 1 is the exact max.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(q*float64(h.n)) + 1
	if rank > h.n {
		rank = h.n
	}
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			return time.Duration(min(histValue(i), h.max))
		}
	}
	return time.Duration(h.max)
}

func (h *hist) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// histWire is the JSON form exchanged between worker and coordinator.
type histWire struct {
	Counts map[int]uint64 `json:"counts,omitempty"`
	N      uint64         `json:"n"`
	Max    int64          `json:"max"`
	Sum    float64        `json:"sum"`
}

func (h *hist) wire() histWire {
	w := histWire{N: h.n, Max: h.max, Sum: h.sum}
	for i, c := range h.counts {
		if c != 0 {
			if w.Counts == nil {
				w.Counts = make(map[int]uint64)
			}
			w.Counts[i] = c
		}
	}
	return w
}

func (w histWire) hist() *hist {
	h := &hist{n: w.N, max: w.Max, sum: w.Sum}
	if len(w.Counts) > 0 {
		h.counts = make([]uint64, histLen)
		for i, c := range w.Counts {
			if i >= 0 && i < histLen {
				h.counts[i] = c
			}
		}
	}
	return h
}
