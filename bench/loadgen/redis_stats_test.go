package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// INFO commandstats as Redis 7 writes it, and the deltas the recovery
// scenario reports.
func TestCommandStats(t *testing.T) {
	before, err := parseCommandStats("# Commandstats\r\n" +
		"cmdstat_set:calls=10,usec=50,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_info:calls=3,usec=90,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_xread:calls=7,usec=70,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n")
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseCommandStats("# Commandstats\r\n" +
		"cmdstat_set:calls=1010,usec=2050,usec_per_call=2.03,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_info:calls=5,usec=150,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_dbsize:calls=40,usec=40,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_xread:calls=7,usec=70,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_client|setinfo:calls=2,usec=4,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_xrange:calls=3000,usec=90000,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n")
	if err != nil {
		t.Fatal(err)
	}
	d := commandDelta(before, after)
	want := map[string]redisCmdStat{"SET": {1000, 2000}, "CLIENT|SETINFO": {2, 4}, "XRANGE": {3000, 90000}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("delta (-want +got), INFO and DBSIZE left out, XREAD unchanged:\n%s", diff)
	}
	if got := commandTotal(d); got != (redisCmdStat{4002, 92004}) {
		t.Errorf("total %+v", got)
	}
	if got := commandNames(d, map[string]redisCmdStat{"GET": {1, 1}}); !cmp.Equal(got, []string{"CLIENT|SETINFO", "GET", "SET", "XRANGE"}) {
		t.Errorf("names %v", got)
	}
	if _, err := parseCommandStats("cmdstat_get:calls=x,usec=1\r\n"); err == nil {
		t.Error("a bad count parsed")
	}
	if _, err := parseCommandStats("cmdstat_get\r\n"); err == nil {
		t.Error("a line without fields parsed")
	}
}
