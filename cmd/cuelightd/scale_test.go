package main

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestScale is the scale run of issue 13 (make scale; docs/performance.md):
// CUELIGHT_SCALE_STATIONS stations (default 50) of 4 channels, each a
// cuelightd process with the sim driver, on one Mosquitto, driven through
// one gateway by a scripted show of CUELIGHT_SCALE_CUES cues (default 40):
// per cue, a standby on every channel (with ACK requested on the first
// channel of each station), an ACK press on every station's board through
// its web API, and a cue GO spanning every station (every fifth cue: a GO
// per channel instead, one at a time, each waited for); halfway, a hold with a GO refused during it, and
// the release. It prints commands sent and carried out, uncommanded GOs,
// ACK events published and seen, CPU and RSS per process, the GO latency
// from the OSC GO at the gateway to the state change on the remote
// station, and the spread between the first and the last channel of a
// cue-wide GO. It is not part of go test ./...: it needs CUELIGHT_SCALE=1.
func TestScale(t *testing.T) {
	if os.Getenv("CUELIGHT_SCALE") != "1" {
		t.Skip("the scale run starts 50 processes: run it with make scale (CUELIGHT_SCALE=1)")
	}
	n := envInt(t, "CUELIGHT_SCALE_STATIONS", 50)
	cues := envInt(t, "CUELIGHT_SCALE_CUES", 40)
	// The broker as shipped (deploy/mosquitto/cuelight.conf): with
	// Nagle's algorithm left on, a command to a station can wait ~40 ms
	// for a delayed ACK (docs/mqtt.md); CUELIGHT_SCALE_STOCK=1 measures that.
	extra := "set_tcp_nodelay true\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
	if os.Getenv("CUELIGHT_SCALE_STOCK") == "1" {
		extra = "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
	}
	m := startMosquittoWith(t, extra)
	f := showFile{Name: "scale", Brokers: []string{m.url()}, Gateways: []string{"booth"}, PerStation: 4, GoHold: "300ms"}
	for i := 1; i <= n; i++ {
		f.Stations = append(f.Stations, fmt.Sprintf("s%02d", i))
	}
	begin := time.Now()
	r := startShow(t, f)
	t.Logf("%d stations × 4 channels and a gateway started and seen at the gateway in %v", n, time.Since(begin).Round(time.Millisecond))
	all := f.allChannels()
	firsts := make([]string, 0, n)
	for _, s := range f.Stations {
		firsts = append(firsts, f.channelsOf(s)[0])
	}
	cpu0, wall0 := cpuTimes(t, r, m), time.Now()

	var (
		cueSpread   []float64 // ms: last - first state change of a cue-wide GO
		cueLatency  []float64 // ms: OSC cue GO at the gateway → each channel's change
		chanLatency []float64 // ms: OSC GO for one channel → its change
		seenLatency []float64 // ms: OSC GO → the state at the observer (through the broker again)
		presses     int
	)
	holdAt := cues / 2
	for k := 1; k <= cues; k++ {
		label := strconv.Itoa(k)
		for _, ch := range all {
			if slices.Contains(firsts, ch) {
				r.send("/cuelight/"+ch+"/standby_ack", label)
			} else {
				r.send("/cuelight/"+ch+"/standby", label)
			}
		}
		r.waitObserved(all, "standby", label)
		presses += r.pressAll(f.Stations, "GPIO22")
		r.waitObserved(firsts, "ack", label)
		for _, s := range f.Stations { // released, so that the next press is one
			r.stations[s].waitPin(t, "GPIO22", false)
		}

		if k == holdAt {
			// A hold clears every standby; a cue GO during it does nothing;
			// the release brings every channel back to off.
			r.send("/cuelight/all/hold")
			r.waitObserved(all, "hold", "")
			r.booths[0].send(t, "/cuelight/cue/"+label+"/go") // not recorded: must not act
			r.send("/cuelight/all/release")
			r.waitObserved(all, "off", "")
			for _, ch := range all {
				if e, ok := r.obs.firstEvent(ch, "go", label); ok {
					t.Errorf("GO during the hold acted: %+v", e)
				}
			}
			continue
		}

		sent := map[string]time.Time{}
		if k%5 == 0 {
			// One GO at a time, each waited for: the latency of a single
			// GO, not of a queue.
			for _, ch := range all {
				sent[ch] = time.Now()
				r.send("/cuelight/"+ch+"/go", label)
				r.waitEvents([]string{ch}, "go", label)
			}
		} else {
			t0 := time.Now()
			for _, ch := range all {
				sent[ch] = t0
			}
			r.send("/cuelight/cue/" + label + "/go")
		}
		// Wait for the events, not the states: with go_hold 300ms the first
		// channels may be off again before the last one went.
		gos := r.waitEvents(all, "go", label)
		first, last := time.Time{}, time.Time{}
		for _, ch := range all {
			e := gos[ch]
			at, err := time.Parse(time.RFC3339Nano, e.At)
			if err != nil {
				t.Fatalf("%s: go event at %q: %v", ch, e.At, err)
			}
			lat := ms(at.Sub(sent[ch]))
			if k%5 == 0 {
				chanLatency = append(chanLatency, lat)
			} else {
				cueLatency = append(cueLatency, lat)
			}
			seenLatency = append(seenLatency, ms(e.Arrived.Sub(sent[ch])))
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
		}
		if k%5 != 0 {
			cueSpread = append(cueSpread, ms(last.Sub(first)))
		}
		r.waitObserved(all, "off", "") // go_hold
	}
	wall := time.Since(wall0)
	cpu1 := cpuTimes(t, r, m)
	uncommanded := r.check()

	// The figures.
	counts := map[string]int{}
	sources := map[string]int{}
	for _, e := range r.obs.allEvents() {
		counts[e.Event]++
		sources[e.Event+" "+e.Source]++
	}
	normal := cues - 1 // the hold cue has no GO
	t.Logf("show: %d cues (%d cue-wide GOs, %d with a GO per channel, 1 hold and release) in %v; machine shared with other jobs",
		cues, len(cueSpread), normal-len(cueSpread), wall.Round(time.Millisecond))
	t.Logf("OSC commands sent to the gateway: %d", r.sent)
	t.Logf("state changes carried out (events seen at the observer): standby %d (want %d), ack %d (want %d), go %d (want %d), hold %d (want %d), release %d (want %d), off %d",
		counts["standby"], cues*len(all), counts["ack"], cues*n, counts["go"], normal*len(all), counts["hold"], len(all), counts["release"], len(all), counts["off"])
	t.Logf("refused %d, rejected %d", counts["refused"], counts["rejected"])
	t.Logf("ACK presses through the sim boards' web API: %d; ack events published (source button) seen by the outside subscriber: %d", presses, sources["ack button"])
	if presses != sources["ack button"] {
		t.Errorf("ACK presses %d, ack events seen %d", presses, sources["ack button"])
	}
	if counts["go"] != normal*len(all) {
		t.Errorf("go events %d, want %d", counts["go"], normal*len(all))
	}
	t.Logf("uncommanded GOs: %d", uncommanded)
	t.Logf("latency, OSC GO for one channel at the gateway → state change (lamps written) on its station (ms, 1 ms resolution): %s", summary(chanLatency))
	t.Logf("latency, OSC cue GO at the gateway → each channel's state change (ms): %s", summary(cueLatency))
	t.Logf("latency, OSC GO → the new state at an outside subscriber (ms): %s", summary(seenLatency))
	t.Logf("spread of a cue-wide GO across %d stations, first to last channel's change (ms, per cue): %s", n, summary(cueSpread))
	var stCPU, stRSS, stHWM []float64
	for _, s := range f.Stations {
		pid := r.stations[s].pid()
		stCPU = append(stCPU, 100*(cpu1[pid]-cpu0[pid])/wall.Seconds())
		rss, hwm := rssOf(t, pid)
		stRSS, stHWM = append(stRSS, rss), append(stHWM, hwm)
	}
	t.Logf("per station (%d processes): CPU %% of one core over the show: %s; RSS MB: %s; peak RSS MB: %s", n, summary(stCPU), summary(stRSS), summary(stHWM))
	gw := r.stations["booth"].pid()
	gwRSS, gwHWM := rssOf(t, gw)
	t.Logf("gateway: CPU %.1f%%, RSS %.1f MB (peak %.1f MB)", 100*(cpu1[gw]-cpu0[gw])/wall.Seconds(), gwRSS, gwHWM)
	mRSS, mHWM := rssOf(t, m.pid())
	t.Logf("mosquitto: CPU %.1f%%, RSS %.1f MB (peak %.1f MB)", 100*(cpu1[m.pid()]-cpu0[m.pid()])/wall.Seconds(), mRSS, mHWM)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summary is "p50 x, p99 y, max z (n samples)".
func summary(v []float64) string {
	if len(v) == 0 {
		return "no samples"
	}
	s := slices.Clone(v)
	slices.Sort(s)
	q := func(p float64) float64 { return s[int(math.Ceil(p*float64(len(s))))-1] }
	return fmt.Sprintf("p50 %.1f, p99 %.1f, max %.1f (%d samples)", q(0.5), q(0.99), s[len(s)-1], len(s))
}

// waitObserved waits until the observer has every channel of chs in state
// with label.
func (r *showRun) waitObserved(chs []string, state, label string) {
	r.t.Helper()
	waitFor(r.t, fmt.Sprintf("%d channels in %s %q at the observer", len(chs), state, label), func() bool {
		for _, ch := range chs {
			if st, ok := r.obs.state(ch); !ok || st.State != state || st.Label != label {
				return false
			}
		}
		return true
	})
}

// waitEvents waits until the observer has an event of kind with label
// for every channel of chs, and returns them by channel (the first).
func (r *showRun) waitEvents(chs []string, kind, label string) map[string]observed {
	r.t.Helper()
	got := map[string]observed{}
	waitFor(r.t, fmt.Sprintf("%s %q events of %d channels at the observer", kind, label, len(chs)), func() bool {
		for _, ch := range chs {
			if _, ok := got[ch]; ok {
				continue
			}
			e, ok := r.obs.firstEvent(ch, kind, label)
			if !ok {
				return false
			}
			got[ch] = e
		}
		return true
	})
	return got
}

// pressAll presses a button on every station at once (the sim boards'
// web API) and returns how many presses were accepted.
func (r *showRun) pressAll(stations []string, pin string) int {
	r.t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	var errs []string
	for _, s := range stations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := httpClient.Post(r.stations[s].base+"/api/v1/pins/"+pin+"/press", "", nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err.Error())
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				errs = append(errs, s+": "+resp.Status)
				return
			}
			ok++
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		r.t.Fatalf("presses failed: %v", errs)
	}
	return ok
}

// cpuTimes returns the CPU seconds (user + system) used so far by every
// station process and the broker, by pid.
func cpuTimes(t *testing.T, r *showRun, m *mosquitto) map[int]float64 {
	t.Helper()
	out := map[int]float64{}
	pids := []int{m.pid()}
	for _, d := range r.stations {
		pids = append(pids, d.pid())
	}
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// The fields after the command name, which is in parentheses.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		out[pid] = (utime + stime) / 100 // USER_HZ
	}
	return out
}

// rssOf returns VmRSS and VmHWM of a process in MB.
func rssOf(t *testing.T, pid int) (rss, hwm float64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmRSS":
			rss = kb / 1024
		case "VmHWM":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
