package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// medianOf returns the median of get over the OK records of one target in
// one group.
func medianOf(records []record, scenario, tgt string, n int, get func(record) (float64, bool)) (float64, bool) {
	var vs []float64
	for _, r := range records {
		if r.Scenario != scenario || r.Target != tgt || r.N != n || !recordOK(r) {
			continue
		}
		if v, ok := get(r); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	m, _, _ := stats3(vs)
	return m, true
}

// allRecovered reports whether every client of a recovery run was
// recovered, whether or not it then got every packet exactly once: the
// streams cluster tables give their figures over such runs, so that a
// server that recovers every client but repeats packets is still measured
// (its duplicates and gaps have rows of their own).
func allRecovered(r record) bool {
	return r.Err == "" && r.Recovery != nil && r.Recovery.N > 0 && r.Recovery.Recovered == r.Recovery.N
}

func recordOK(r record) bool {
	switch {
	case r.Err != "":
		return false
	case r.Idle != nil:
		return r.Idle.OK
	case r.Fanout != nil:
		return r.Fanout.OK
	case r.Recovery != nil:
		return r.Recovery.OK
	}
	return false
}

// stats3 returns median, min and max of vs (len > 0).
func stats3(vs []float64) (med, lo, hi float64) {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}

type metric struct {
	name string
	get  func(record) (float64, bool)
	fmt  string
}

var idleMetrics = []metric{
	{"RSS/conn (KB)", func(r record) (float64, bool) { return r.Idle.RSSPerConn / 1024, true }, "%.2f"},
	{"GC heap/conn (KB)", func(r record) (float64, bool) { return r.Idle.HeapPerConn / 1024, r.Idle.HeapPerConn != 0 }, "%.2f"},
	{"kernel/conn, both ends (KB)", func(r record) (float64, bool) { return r.Idle.KernelPerConn / 1024, true }, "%.2f"},
	{"idle CPU (µs/conn/s)", func(r record) (float64, bool) { return r.Idle.IdleCPUus, true }, "%.3f"},
	{"server RSS at N (MB)", func(r record) (float64, bool) { return float64(r.Idle.RSSN) / (1 << 20), true }, "%.1f"},
	{"other load on the box (cores)", func(r record) (float64, bool) { return r.Idle.OthersCores, true }, "%.2f"},
}

var fanoutMetrics = []metric{
	{"deliveries/s", func(r record) (float64, bool) { return r.Fanout.Rate, true }, "%.0f"},
	{"p50 (ms)", func(r record) (float64, bool) { return r.Fanout.P50, true }, "%.2f"},
	{"p99 (ms)", func(r record) (float64, bool) { return r.Fanout.P99, true }, "%.2f"},
	{"p99.9 (ms)", func(r record) (float64, bool) { return r.Fanout.P999, true }, "%.2f"},
	{"max (ms)", func(r record) (float64, bool) { return r.Fanout.Max, true }, "%.2f"},
	{"deliveries per server CPU-s", func(r record) (float64, bool) { return r.Fanout.PerCPUSecond, r.Fanout.PerCPUSecond > 0 }, "%.0f"},
	{"server CPU (s)", func(r record) (float64, bool) { return r.Fanout.ServerCPU, true }, "%.2f"},
	{"loadgen CPU (cores)", func(r record) (float64, bool) { return r.Fanout.LoadgenShare, true }, "%.2f"},
	{"other load on the box (cores)", func(r record) (float64, bool) { return r.Fanout.OthersCores, true }, "%.2f"},
}

// printTable prints one markdown table: every group (scenario, N, rate), every
// metric, each target's median [min–max] over OK runs, and the ratio of the
// second target to the first.
func printTable(w io.Writer, c compareConfig, records []record) {
	type key struct {
		scenario string
		n        int
		rate     float64
	}
	var keys []key
	for _, r := range records {
		k := key{r.Scenario, r.N, r.Rate}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	tg := c.Targets
	fmt.Fprintf(w, "\nmedian [min–max] over OK runs (recovery-streams: over runs with every client recovered, duplicates or not)")
	if len(tg) >= 2 {
		fmt.Fprintf(w, "; ratio = %s ÷ %s", tg[1], tg[0])
	}
	fmt.Fprintf(w, "; server CPUs %q; nice %d\n", c.ServerCPUs, selfNice())
	fmt.Fprintf(w, "node:  %s %s %s\n", c.Node, strings.Join(c.NodeArgs, " "), c.NodeScript)
	fmt.Fprintf(w, "relay: %s %s (gc: %s)\n", c.RelayBin, c.RelayArgs, c.RelayGC)
	fmt.Fprintf(w, "loadgen: batch delay %s, %d reps, hold %s, window %s + warm-up %s, %d-byte packets\n\n",
		c.Opts.Batch, c.Reps, c.Hold, c.Duration, c.Warmup, c.Size)
	fmt.Fprintf(w, "| scenario | N | offered/s | metric |")
	for _, t := range tg {
		fmt.Fprintf(w, " %s |", t)
	}
	fmt.Fprintf(w, " ratio |\n|---|---|---|---|")
	for range tg {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintf(w, "---|\n")
	for _, k := range keys {
		group := func(t string) []record {
			var out []record
			for _, r := range records {
				if r.Scenario == k.scenario && r.N == k.n && r.Rate == k.rate && r.Target == t {
					out = append(out, r)
				}
			}
			return out
		}
		metrics := fanoutMetrics
		measured := recordOK
		offered := fmt.Sprintf("%.0f", k.rate)
		streams := strings.HasPrefix(k.scenario, "recovery-streams/")
		switch k.scenario {
		case "idle":
			metrics = idleMetrics
			offered = "–"
		case "recovery":
			metrics = recoveryMetrics
		default:
			if streams {
				metrics = append(slices.Clone(recoveryMetrics), clusterMetrics(group(tg[0]), group(tg[len(tg)-1]))...)
				measured = allRecovered
			}
		}
		// OK-run counts and failures first.
		fmt.Fprintf(w, "| %s | %d | %s | OK runs |", k.scenario, k.n, offered)
		for _, t := range tg {
			g := group(t)
			ok := 0
			why := ""
			for _, r := range g {
				if recordOK(r) {
					ok++
				} else if why == "" {
					why = failText(r)
				}
			}
			cell := fmt.Sprintf("%d/%d", ok, len(g))
			if why != "" {
				cell += " (" + why + ")"
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		fmt.Fprintf(w, " |\n")
		if streams {
			fmt.Fprintf(w, "| | | | runs with every client recovered |")
			for _, t := range tg {
				g := group(t)
				fmt.Fprintf(w, " %d/%d |", len(slices.DeleteFunc(slices.Clone(g), func(r record) bool { return !allRecovered(r) })), len(g))
			}
			fmt.Fprintf(w, " |\n")
		}
		for _, m := range metrics {
			fmt.Fprintf(w, "| | | | %s |", m.name)
			var meds []float64
			for _, t := range tg {
				var vs []float64
				for _, r := range group(t) {
					if !measured(r) {
						continue
					}
					if v, ok := m.get(r); ok {
						vs = append(vs, v)
					}
				}
				if len(vs) == 0 {
					fmt.Fprintf(w, " – |")
					meds = append(meds, 0)
					continue
				}
				med, lo, hi := stats3(vs)
				meds = append(meds, med)
				fmt.Fprintf(w, " "+m.fmt+" ["+m.fmt+"–"+m.fmt+"] |", med, lo, hi)
			}
			ratio := "–"
			if len(meds) >= 2 && meds[0] != 0 && meds[1] != 0 {
				ratio = fmt.Sprintf("%.2f×", meds[1]/meds[0])
			}
			fmt.Fprintf(w, " %s |\n", ratio)
		}
	}
}

func failText(r record) string {
	s := r.Err
	switch {
	case s != "":
	case r.Idle != nil:
		s = r.Idle.Fail
	case r.Fanout != nil:
		s = r.Fanout.Fail
	case r.Recovery != nil:
		s = r.Recovery.Fail
	}
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return strings.ReplaceAll(s, "|", "/")
}

// clusterMetrics are the recovery figures of a streams cluster: the second
// server's and Redis's CPU, and the commands Redis ran in the recovery
// window (every command that one of the groups' records shows).
func clusterMetrics(groups ...[]record) []metric {
	ms := []metric{
		{"duplicates (all clients)", func(r record) (float64, bool) { return float64(r.Recovery.Dups), true }, "%.0f"},
		{"gaps (all clients)", func(r record) (float64, bool) { return float64(r.Recovery.Gaps), true }, "%.0f"},
		{"drop→all sessions in Redis (ms)", func(r record) (float64, bool) { return r.Recovery.SessionsStored, r.Recovery.SessionsStored > 0 }, "%.0f"},
		{"peer server CPU drop→all recovered (s)", func(r record) (float64, bool) { return r.Recovery.Window.Peer, true }, "%.2f"},
		{"Redis CPU drop→all recovered (s)", func(r record) (float64, bool) { return r.Recovery.Window.Redis, true }, "%.2f"},
		{"Redis commands drop→all recovered, total", func(r record) (float64, bool) { return float64(r.Recovery.RedisTotal.Calls), true }, "%.0f"},
		{"Redis time running them (ms)", func(r record) (float64, bool) { return float64(r.Recovery.RedisTotal.Usec) / 1e3, true }, "%.1f"},
	}
	var ds []map[string]redisCmdStat
	for _, g := range groups {
		for _, r := range g {
			if r.Recovery != nil {
				ds = append(ds, r.Recovery.Redis)
			}
		}
	}
	for _, name := range commandNames(ds...) {
		ms = append(ms, metric{"Redis " + name, func(r record) (float64, bool) { return float64(r.Recovery.Redis[name].Calls), true }, "%.0f"})
	}
	return ms
}
