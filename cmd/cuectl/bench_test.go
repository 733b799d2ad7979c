package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cuelight/cuelight/internal/broker"
	"github.com/cuelight/cuelight/internal/peertest"
	"github.com/cuelight/cuelight/internal/testkit"
	"github.com/cuelight/cuelight/osc"
)

// bench runs against a real station with a small N: it prints the
// percentile table and a verdict per target of docs/protocol.md §8. Nothing here asserts
// speed: the exit status is 0 (targets met) or 1 (not), either is fine.
func TestBench(t *testing.T) {
	t.Parallel()
	brokers(t, testBench)
}

func testBench(t *testing.T, s *station) {
	samples := filepath.Join(t.TempDir(), "samples.csv")
	r := ctl(t, s.with("bench", "-n", "5", "--presses", "2", "--press-every", "150ms", "--load", "2000",
		"--states", "30", "--burst", "60", "--relay", cuectlBin, "--samples", samples)...)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d, want 0 or 1\n%s", r.code, r)
	}
	expect(t, r, r.code, []string{
		`^cuectl bench: station 127\.0\.0\.1:\d+ \(OSC over UDP\), channel sl, ACK button GPIO20 on the sim board at 127\.0\.0\.1:\d+, broker tcp://`,
		`^PATH\s+LOAD\s+N\s+P50\s+P90\s+P99\s+MAX$`,
		`^OSC ping → pong \(intake only\)\s+none\s+5\s+\d+\.\d+ ms\s+\d+\.\d+ ms\s+\d+\.\d+ ms\s+\d+\.\d+ ms$`,
		`^OSC GO → /cuelight/state feedback\s+none\s+5\s`,
		`^OSC standby/go/off → feedback \(all\)\s+none\s+15\s`,
		`^button press → MQTT event\s+none\s+2\s`,
		`^OSC GO → /cuelight/state feedback\s+2000/s\s+5\s`,
		`^button press → MQTT event\s+2000/s\s+2\s`,
		`^load 2000/s: sent \d+ datagrams in \d+\.\ds \(\d+/s\); the station received \d+ packets \(0 malformed\), dropped 0 commands$`,
		`^Targets \(docs/protocol.md §8\):$`,
		`^  OSC GO in → /cuelight/state feedback out: p99 ≤ 2 ms$`,
		`^    load none\s+(MET|NOT MET)\s+p99 `,
		`^  OSC datagram in → lamp output written`,
		`^    load 2000/s\s+(MET|NOT SHOWN)\s+p50 `,
		`^  button edge → event at an outside MQTT subscriber`,
		`^    load 2000/s\s+(MET|NOT MET)\s+p99 .* − debounce 1ms`,
		`^OSC standby → MQTT state at an outside subscriber \(broker tcp://127\.0\.0\.1:\d+\)$`,
		// 30 timed in rounds of 10, each after one untimed: 33 sent.
		`^  cuelightd\s+100/s\s+33\s+33\s+\d+\.\d+ ms\s+.*\s+ok$`,
		`^  relay \(paho only\)\s+100/s\s+33\s+33\s+\d+\.\d+ ms\s+.*\s+ok$`,
		`^  cuelightd\s+burst 60 on 4 channels: final states 4 of 4 in \d+\.?\d* ms, \d+ state messages, events 60 of 60$`,
		`^  relay \(paho only\)\s+burst 60 on 4 channels: final states 4 of 4 in `,
		`^  p50 ≤ 1\.2 × the relay's\s+(MET|NOT MET)\s+\d+\.\d+× \(`,
		`^  p99 ≤ 1\.5 × the relay's\s+(MET|NOT MET)\s+\d+\.\d+× \(`,
		`^  at 100/s no state change skipped, in order\s+MET\s+33 of 33 arrived, 0 out of order$`,
		`^  burst: every channel's final state arrives\s+MET\s+4 of 4$`,
		`^  burst: every event arrives \(drops are counted and logged\)\s+MET\s+60 of 60`,
		`^samples: .*samples\.csv$`,
	}, nil)
	checkSamples(t, samples, "cuelightd", 30)
	for ch, st := range s.states() {
		if st.State != "off" {
			t.Errorf("%s is %s after bench, want off", ch, st.State)
		}
	}
	// --calibrate: a second relay in the station's place, on topics of
	// its own (only it can have published what the row timed), no burst.
	r = ctl(t, s.with("bench", "-n", "1", "--presses", "0", "--load", "0", "--states", "10", "--relay", cuectlBin, "--calibrate", "--samples", samples)...)
	if r.code != 0 && r.code != 1 { // 1: the OSC paths' targets, on a slow machine (qemu)
		t.Fatalf("exit %d, want 0 or 1\n%s", r.code, r)
	}
	expect(t, r, r.code, []string{
		`^row: OSC standby → MQTT state, a second relay in the station's place \(calibration\) \.\.\.$`,
		`^  calibration: a second relay \(B\) in the station's place; the ratios are what noise alone gives$`,
		`^  relay B \(paho only\)\s+100/s\s+11\s+11\s+\d+\.\d+ ms\s+.*\s+ok$`,
		`^  relay \(paho only\)\s+100/s\s+11\s+11\s+\d+\.\d+ ms\s+.*\s+ok$`,
		`^  p50 of relay B / the relay's\s+\d+\.\d+× \(`,
		`^  p99 of relay B / the relay's\s+\d+\.\d+× \(`,
		`^  at 100/s no state change skipped, in order\s+MET\s+11 of 11 arrived, 0 out of order$`,
	}, nil)
	for _, l := range strings.Split(r.stdout, "\n") { // no station row, no burst, no target
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "cuelightd ") || strings.Contains(l, "burst") || strings.Contains(l, "× the relay's") {
			t.Errorf("calibration printed %q", l)
		}
	}
	checkSamples(t, samples, "relay-b", 10)
	// A channel with go_requires_ack is driven with force_go, and said so;
	// malformed load is counted by the station.
	r = ctl(t, s.with("bench", "-n", "2", "--presses", "0", "--channel", "fly", "--load", "1000", "--load-kind", "malformed", "--states", "0", "--burst", "0")...)
	expect(t, r, r.code, []string{`^OSC force_go → /cuelight/state feedback\s+none\s+2\s`, `^load 1000/s: sent \d+ datagrams .* \(\d+ malformed\)`}, nil)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r)
	}
}

// checkSamples reads a --samples file: a header, then n timed standbys of
// the first side (the station, or relay B) and n of the relay, each with
// its send time and latency.
func checkSamples(t *testing.T, path, first string, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[0] != "side,sent_unix_us,latency_us" {
		t.Fatalf("samples header %q", lines[0])
	}
	count := map[string]int{}
	var last int64
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) != 3 {
			t.Fatalf("samples line %q", l)
		}
		sent, err1 := strconv.ParseInt(f[1], 10, 64)
		lat, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || lat <= 0 || lat > 60e6 || time.Since(time.UnixMicro(sent)) > time.Hour {
			t.Fatalf("samples line %q: not a send time and a latency", l)
		}
		if f[0] == first {
			if sent < last {
				t.Errorf("samples line %q: the %s's sends are not in order", l, first)
			}
			last = sent
		}
		count[f[0]]++
	}
	if count[first] != n || count["relay"] != n || len(count) != 2 {
		t.Errorf("samples: %v, want %d %s and %d relay", count, n, first, n)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want stats
	}{
		{"empty", nil, stats{}},
		{"one sample", ms(7), stats{n: 1, min: 7 * time.Millisecond, p50: 7 * time.Millisecond, p90: 7 * time.Millisecond, p99: 7 * time.Millisecond, max: 7 * time.Millisecond}},
		{"ten samples, unsorted", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), stats{n: 10, min: 1 * time.Millisecond, p50: 5 * time.Millisecond, p90: 9 * time.Millisecond, p99: 10 * time.Millisecond, max: 10 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := summarize(tc.in); got != tc.want {
				t.Errorf("summarize = %+v, want %+v", got, tc.want)
			}
		})
	}
	// 100 samples 1..100 ms: nearest rank.
	var hundred []time.Duration
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	if s := summarize(hundred); s.p50 != 50*time.Millisecond || s.p90 != 90*time.Millisecond || s.p99 != 99*time.Millisecond {
		t.Errorf("1..100 ms: p50 %s p90 %s p99 %s, want 50 90 99 ms", s.p50, s.p90, s.p99)
	}
}

// TestMemoryUnderStateLoad measures the RSS of a station and its embedded
// broker child (from /proc) while 100 state changes per second go through
// them, and after. It runs only with CUELIGHT_MEMTEST set to a duration
// (docs/performance.md: CUELIGHT_MEMTEST=10m); the limit is the product's
// 30 MB for both processes together.
func TestMemoryUnderStateLoad(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("CUELIGHT_MEMTEST"))
	if err != nil || d <= 0 {
		t.Skip("set CUELIGHT_MEMTEST=10m to run (a long measurement)")
	}
	const limit = 30 << 20
	s := startStation(t, "")
	pid := stationPID(t, s)
	child := childPIDs(pid)
	if len(child) != 1 {
		t.Fatalf("cuelightd %d has children %v, want the one broker child", pid, child)
	}
	rss := func() (station, broker int64) { return rssOf(pid), rssOf(child[0]) }
	st0, br0 := rss()
	t.Logf("before: station %s, broker %s, together %s", mb(st0), mb(br0), mb(st0+br0))

	// An outside subscriber takes every state and event, as a desk would.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &cli{stdout: io.Discard, stderr: io.Discard, clock: realClock(), getenv: noEnv}
	o := c.newOpts("test", "", "", flagsMQTT)
	o.mqtt = mqttFlag{on: true, url: s.broker}
	o.timeout = waitFor
	sess, err := c.dialMQTT(ctx, o, false)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.close()
	var states atomic.Int64
	go func() {
		for m := range sess.in {
			if strings.HasSuffix(m.topic, "/state") && !m.retained {
				states.Add(1)
			}
		}
	}()

	cn, err := net.Dial("udp", s.osc)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	chans := []string{"sl", "sr", "trap"}
	var maxSt, maxBr, maxSum int64
	sample := func() {
		a, b := rss()
		maxSt, maxBr, maxSum = max(maxSt, a), max(maxBr, b), max(maxSum, a+b)
	}
	start := time.Now()
	sent := 0
	for time.Since(start) < d {
		// Paced against the clock: 100 per second on average.
		if due := int(time.Since(start) / (10 * time.Millisecond)); sent >= due {
			time.Sleep(time.Millisecond)
			continue
		}
		ch := chans[sent%len(chans)]
		var m *osc.Message
		if (sent/len(chans))%2 == 0 {
			m = osc.NewMessage("/cuelight/"+ch+"/standby", osc.String("m"+strconv.Itoa(sent)))
		} else {
			m = osc.NewMessage("/cuelight/" + ch + "/off")
		}
		b, _ := m.MarshalBinary()
		if _, err := cn.Write(b); err != nil {
			t.Fatal(err)
		}
		sent++
		if sent%100 == 0 {
			sample()
		}
		if sent%6000 == 0 {
			t.Logf("%s: sent %d, states received %d; max so far: station %s, broker %s, together %s",
				time.Since(start).Round(time.Second), sent, states.Load(), mb(maxSt), mb(maxBr), mb(maxSum))
		}
	}
	took := time.Since(start)
	time.Sleep(10 * time.Second) // after: settled
	st1, br1 := rss()
	t.Logf("during %s (%d state changes, %.0f/s; %d states received live): max station %s, broker %s, together %s",
		took.Round(time.Second), sent, float64(sent)/took.Seconds(), states.Load(), mb(maxSt), mb(maxBr), mb(maxSum))
	t.Logf("after (10 s idle): station %s, broker %s, together %s", mb(st1), mb(br1), mb(st1+br1))
	// RSS counts the program's file pages in both processes (they are one
	// file, shared): PSS shares them out, for reading the figure above.
	t.Logf("after, PSS: station %s, broker %s, together %s", mb(pssOf(pid)), mb(pssOf(child[0])), mb(pssOf(pid)+pssOf(child[0])))
	if maxSum > limit || st1+br1 > limit {
		t.Errorf("station + broker RSS above 30 MB: max %s during, %s after", mb(maxSum), mb(st1+br1))
	}
	if got := states.Load(); got != int64(sent) {
		t.Errorf("%d state changes sent, %d states received: the station's warnings:", sent, got)
		for _, line := range strings.Split(s.log.String(), "\n") {
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				t.Log(line)
			}
		}
	}
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

// The station runs the embedded broker as cuelight-broker, found beside
// cuelightd, not as a second copy of itself: that program maps about 5 MB
// less, which keeps the pair within the 30 MB of TestMemoryUnderStateLoad.
func TestEmbeddedBrokerIsCuelightBroker(t *testing.T) {
	t.Parallel()
	s := startStation(t, "")
	child := childPIDs(stationPID(t, s))
	if len(child) != 1 {
		t.Fatalf("cuelightd has children %v, want the one broker child", child)
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", child[0]))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(daemonBin), broker.ProgramName); exe != want {
		t.Errorf("the broker child runs %s, want %s", exe, want)
	}
	if want := "program=" + exe; !strings.Contains(s.log.String(), want) {
		t.Errorf("the station's log does not say which program runs the broker (%q):\n%s", want, s.log)
	}
}

// stationPID finds the cuelightd process running s's show file.
func stationPID(t *testing.T, s *station) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.Contains(string(cmd), s.config) && strings.HasPrefix(string(cmd), daemonBin) {
			return pid
		}
	}
	t.Fatal("cuelightd not found in /proc")
	return 0
}

// childPIDs lists a process's children (every thread's).
func childPIDs(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// rssOf is a process's VmRSS in bytes (0 when it is gone).
func rssOf(pid int) int64 { return procKB(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:") }

// pssOf is a process's proportional set size in bytes.
func pssOf(pid int) int64 { return procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:") }

// procKB reads the "<key> <n> kB" line of a /proc file, in bytes.
func procKB(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestBenchStateTable runs the state row of cuectl bench against the three
// brokers of docs/performance.md, one after the other, at full size: a
// stock Mosquitto (its default configuration), a Mosquitto with
// set_tcp_nodelay true, and the embedded broker. It runs only with
// CUELIGHT_BENCH_TABLE=1 and asserts nothing about speed: it prints the
// tables for the docs (go test -run TestBenchStateTable -v ./cmd/cuectl).
func TestBenchStateTable(t *testing.T) {
	if os.Getenv("CUELIGHT_BENCH_TABLE") == "" {
		t.Skip("set CUELIGHT_BENCH_TABLE=1 to run (a long measurement; =calibrate adds the relay against itself)")
	}
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) *station
	}{
		{"stock Mosquitto", func(t *testing.T) *station { return startStation(t, startMosquitto(t)) }},
		{"Mosquitto with set_tcp_nodelay true", func(t *testing.T) *station {
			return startStation(t, startMosquittoConf(t, "set_tcp_nodelay true\n"))
		}},
		{"embedded broker", func(t *testing.T) *station { return startStation(t, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, cuectlBin, s.with("bench", "-n", "1", "--presses", "0", "--load", "0",
				"--states", "1000", "--burst", "1000")...).CombinedOutput()
			t.Logf("%s (exit %v):\n%s", tc.name, err, out)
			if os.Getenv("CUELIGHT_BENCH_TABLE") == "calibrate" { // and the relay against itself, right after
				out, err := exec.CommandContext(ctx, cuectlBin, s.with("bench", "-n", "1", "--presses", "0", "--load", "0",
					"--states", "1000", "--calibrate")...).CombinedOutput()
				t.Logf("%s, calibration (exit %v):\n%s", tc.name, err, out)
			}
		})
	}
}

// startMosquittoConf runs a Mosquitto on a free loopback port with extra
// lines in its configuration and returns its URL.
func startMosquittoConf(t *testing.T, extra string) string {
	t.Helper()
	bin := peertest.Need(t, "mosquitto")
	port := freePort(t)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	text := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n%s", port, extra)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	var log testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(waitFor)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "tcp://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto does not listen on %s:\n%s", addr, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRankAndOrdinal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int
		p    float64
		want int
	}{{1000, 99, 990}, {1000, 50, 500}, {30, 99, 30}, {1, 99, 1}, {10, 0, 1}} {
		if got := rank(tc.n, tc.p); got != tc.want {
			t.Errorf("rank(%d, %g) = %d, want %d", tc.n, tc.p, got, tc.want)
		}
	}
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 22: "22nd", 101: "101st", 111: "111th"} {
		if got := ordinal(n); got != want {
			t.Errorf("ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}

// A p99 not met says how few standbys decided it; a p99 met says nothing
// more.
func TestStateReportP99Hint(t *testing.T) {
	t.Parallel()
	series := func(slow time.Duration) []stateSeries {
		st, rl := stateSeries{who: "cuelightd", sent: 1000, got: 1000}, stateSeries{who: "relay (paho only)", sent: 1000, got: 1000}
		for i := range 1000 {
			st.lat = append(st.lat, 500*time.Microsecond)
			rl.lat = append(rl.lat, 500*time.Microsecond)
			if i >= 985 { // the 15 slowest of the station: its p99 is one of them
				st.lat[i] = slow
			}
		}
		return []stateSeries{st, rl}
	}
	for _, tc := range []struct {
		slow time.Duration
		hint bool
	}{{2 * time.Millisecond, true}, {600 * time.Microsecond, false}} {
		var out strings.Builder
		sb := &stateBench{rate: 100, series: series(tc.slow)}
		ok := sb.report(&out)
		hint := strings.Contains(out.String(), "(the station's p99 is its 11th slowest standby of 1000: run again, pool runs with --samples, or see what noise alone gives with --calibrate; docs/performance.md)")
		if ok == tc.hint || hint != tc.hint {
			t.Errorf("slowest %v: report ok %v, hint %v, want ok %v and hint %v:\n%s", tc.slow, ok, hint, !tc.hint, tc.hint, out.String())
		}
	}
}

// --samples refuses what it cannot keep, and leaves no empty file when
// the bench stops before the state row.
func TestBenchSamplesFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	closed := "127.0.0.1:" + strconv.Itoa(freePort(t))
	path := filepath.Join(dir, "run1.csv")
	r := ctl(t, "bench", "--config", "", "--osc", closed, "--timeout", "1s", "-n", "1", "--load", "0", "--samples", path)
	expect(t, r, exitUnreachable, nil, []string{`nothing listens on`})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("after a bench that never ran: %s is there (%v), want no file", path, err)
	}
	r = ctl(t, "bench", "--config", "", "--osc", closed, "--states", "0", "--samples", path)
	expect(t, r, exitUsage, nil, []string{`^cuectl bench: --samples keeps the state row's standbys: it needs --states above 0$`})
	r = ctl(t, "bench", "--config", "", "--osc", closed, "--states", "0", "--calibrate")
	expect(t, r, exitUsage, nil, []string{`^cuectl bench: --calibrate runs the state row: it needs --states above 0$`})
	r = ctl(t, "bench", "--config", "", "--osc", closed, "--samples", filepath.Join(dir, "no", "such", "dir.csv"))
	expect(t, r, exitUsage, nil, []string{`^cuectl bench: --samples: open .*dir\.csv: no such file or directory$`})
}
