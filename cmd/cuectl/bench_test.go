package main

import (
	"testing"
	"time"
)

// bench runs against a real station with a small N: it prints the
// percentile table and a verdict per SPEC §8 target. Nothing here asserts
// speed: the exit status is 0 (targets met) or 1 (not), either is fine.
func TestBench(t *testing.T) {
	t.Parallel()
	brokers(t, testBench)
}

func testBench(t *testing.T, s *station) {
	r := ctl(t, s.with("bench", "-n", "5", "--presses", "2", "--press-every", "150ms", "--load", "2000")...)
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
		`^SPEC §8 targets:$`,
		`^  OSC GO in → /cuelight/state feedback out: p99 ≤ 2 ms$`,
		`^    load none\s+(MET|NOT MET)\s+p99 `,
		`^  OSC datagram in → lamp output written`,
		`^    load 2000/s\s+(MET|NOT SHOWN)\s+p50 `,
		`^  button edge → event at an outside MQTT subscriber`,
		`^    load 2000/s\s+(MET|NOT MET)\s+p99 .* − debounce 1ms`,
	}, nil)
	if st := s.states()["sl"]; st.State != "off" {
		t.Errorf("sl is %s after bench, want off", st.State)
	}
	// A channel with go_requires_ack is driven with force_go, and said so;
	// malformed load is counted by the station.
	r = ctl(t, s.with("bench", "-n", "2", "--presses", "0", "--channel", "fly", "--load", "1000", "--load-kind", "malformed")...)
	expect(t, r, r.code, []string{`^OSC force_go → /cuelight/state feedback\s+none\s+2\s`, `^load 1000/s: sent \d+ datagrams .* \(\d+ malformed\)`}, nil)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r)
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
