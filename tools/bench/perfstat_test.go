package main

import "testing"

func TestParsePerfStat(t *testing.T) {
	// perf stat -x, as perf 6.1 (Debian 12) prints it, and what it prints
	// when it cannot read the tracepoint.
	got, err := parsePerfStat("3152,,raw_syscalls:sys_enter,2177780223,100.00,,\n697,,context-switches,2177780223,100.00,,\n")
	if err != nil || got != (perfCounts{syscalls: 3152, switches: 697}) {
		t.Errorf("parsePerfStat = %+v, %v; want 3152 system calls, 697 switches", got, err)
	}
	if _, err := parsePerfStat("<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n697,,context-switches,2177780223,100.00,,\n"); err == nil {
		t.Error("parsePerfStat accepted output without the system calls' count")
	}
}
