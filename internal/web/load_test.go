package web

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rss is this process's resident set in bytes.
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// cpu is this process's user+system CPU time.
func cpu(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skipf("no /proc/self/stat: %v", err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)           // utime, field 14
	s, _ := strconv.ParseInt(f[12], 10, 64)           // stime, field 15
	return time.Duration(u+s) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func settle(t *testing.T) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(200 * time.Millisecond)
	return rss(t)
}

// TestFiftyPages: 50 open pages (each a page load and its live stream)
// cost the station at most 10 MB more RSS, and no measurable CPU while the
// show is idle. The 50 pages are Go HTTP clients in this process, so the
// figures include their side too: an upper bound for the station's.
func TestFiftyPages(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 15 s of idle measurement")
	}
	broker := startMosquitto(t)
	ls := newLiveStation(t, broker, "")
	idle := func() time.Duration {
		c0 := cpu(t)
		time.Sleep(5 * time.Second)
		return cpu(t) - c0
	}
	before := settle(t)
	cpuBefore := idle()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var bodies []*bufio.Reader
	for range 50 {
		resp, err := http.Get(ls.url("/"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		req, _ := http.NewRequestWithContext(ctx, "GET", ls.url("/events"), nil)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		readSSE(t, r, "model")
		bodies = append(bodies, r)
	}
	// one change reaches all 50
	oscsend(t, ls.osc(), "/cuelight/fly/standby", "s", "7")
	for _, r := range bodies {
		readSSE(t, r, "channel")
	}
	after := settle(t)
	cpuAfter := idle()
	grew := after - before
	t.Logf("RSS %.1f MB → %.1f MB with 50 pages open: +%.2f MB; CPU while idle, 5 s: %v without pages, %v with 50 (shared 2-core machine)",
		float64(before)/(1<<20), float64(after)/(1<<20), float64(grew)/(1<<20), cpuBefore, cpuAfter)
	if runtime.GOARCH != "amd64" {
		t.Logf("%s (qemu-user in CI): figures only, the limits are for the amd64 host", runtime.GOARCH)
		return
	}
	if raceEnabled {
		t.Log("-race: the race detector multiplies memory; the RSS limit is not checked")
	} else if grew > 10<<20 {
		t.Errorf("50 pages cost %.1f MB of RSS, want ≤ 10 MB", float64(grew)/(1<<20))
	}
	// 5 s at 0.5 % of a core is 25 ms; the clock counts in 10 ms ticks
	if extra := cpuAfter - cpuBefore; extra > 30*time.Millisecond {
		t.Errorf("50 idle pages cost %v of CPU in 5 s, want none measurable (≤ 30 ms)", extra)
	}
}
