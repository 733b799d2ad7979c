package station

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/osc"
)

// BenchmarkOSCToLamp measures docs/protocol.md §8's first row on the real station: an
// OSC datagram sent on loopback until the lamp output is written (the sim
// board stamps each write), alternating standby and off on a one-lamp
// channel, with and without 20,000 other datagrams per second arriving
// (commands for another station's channel: routed, then ignored). It
// reports p50, p99 and max in microseconds; targets: p50 ≤ 100 µs,
// p99 ≤ 1 ms on a 2-core x86 VM.
//
//	go test -run '^$' -bench OSCToLamp -benchtime 2000x ./internal/station/
func BenchmarkOSCToLamp(b *testing.B) {
	for _, load := range []int{0, 20000} {
		b.Run(fmt.Sprintf("load=%d/s", load), func(b *testing.B) { benchOSCToLamp(b, load) })
	}
}

func benchOSCToLamp(b *testing.B, load int) {
	cfg, err := config.Parse(strings.NewReader(`
show: bench
mqtt: {broker: "tcp://127.0.0.1:1"}
osc: {listen: 127.0.0.1:0}
stations:
  wing: {driver: sim}
  far: {driver: sim}
channels:
  sl: {station: wing, standby_lamp: GPIO16}
  trap: {station: far, standby_lamp: GPIO16}
`), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	board := sim.New(sim.Options{TraceLimit: -1})
	st, err := New(Options{Config: cfg, Station: "wing", Board: board, MQTTBroker: "none",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OSCListen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx, nil) }()
	defer func() { cancel(); <-done }()
	for !st.Ready() {
		time.Sleep(time.Millisecond)
	}
	changes, stop := board.Subscribe(16)
	defer stop()
	c, err := osc.DialUDP(st.OSCAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	if load > 0 {
		lctx, lcancel := context.WithCancel(ctx)
		defer lcancel()
		go background(lctx, st.OSCAddr().String(), load)
	}
	msgs := []*osc.Message{
		osc.NewMessage("/cuelight/sl/standby", osc.String("1")),
		osc.NewMessage("/cuelight/sl/off"),
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sent := time.Now()
		if err := c.Send(msgs[i%2]); err != nil {
			b.Fatal(err)
		}
		for ch := range changes {
			if ch.Name == "GPIO16" {
				lat = append(lat, ch.At.Sub(sent))
				break
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds())/1e3, "max-µs")
}

// background sends rate datagrams per second (a command for another
// station's channel) until ctx ends, paced in 1 ms batches.
func background(ctx context.Context, addr string, rate int) {
	c, err := osc.DialUDP(addr)
	if err != nil {
		return
	}
	defer c.Close()
	m := osc.NewMessage("/cuelight/trap/standby", osc.String("x"))
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	perTick := rate / 1000
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for i := 0; i < perTick; i++ {
				_ = c.Send(m)
			}
		}
	}
}

// BenchmarkIntakeCeiling measures how many valid commands a second the
// station takes before its cue loop falls behind: standbys with new labels
// for one channel of this station (each one a state change, a lamp write
// and a reply), paced at a given rate for one second from two senders, or
// as fast as they can ("max"). It reports what arrived, what the cue loop
// applied and what it had to drop (each dropped standby or GO is answered
// with /cuelight/error, docs/station.md). Datagrams the kernel dropped
// before the station read them are sent − received.
//
//	go test -run '^$' -bench IntakeCeiling -benchtime 1x ./internal/station/
func BenchmarkIntakeCeiling(b *testing.B) {
	for _, rate := range []int{5000, 10000, 20000, 40000, 0} {
		name := fmt.Sprintf("rate=%d/s", rate)
		if rate == 0 {
			name = "rate=max"
		}
		b.Run(name, func(b *testing.B) { benchIntake(b, rate) })
	}
}

func benchIntake(b *testing.B, rate int) {
	cfg, err := config.Parse(strings.NewReader(`
show: bench
osc: {listen: 127.0.0.1:0}
stations:
  wing: {driver: sim}
channels:
  sl: {station: wing, standby_lamp: GPIO16}
`), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		board := sim.New(sim.Options{TraceLimit: -1})
		st, err := New(Options{Config: cfg, Station: "wing", Board: board, MQTTBroker: "none",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OSCListen: "127.0.0.1:0"})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- st.Run(ctx, nil) }()
		for !st.Ready() {
			time.Sleep(time.Millisecond)
		}
		const senders = 2
		var sent [senders]int
		start := time.Now()
		var wg sync.WaitGroup
		for k := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := osc.DialUDP(st.OSCAddr().String())
				if err != nil {
					return
				}
				defer c.Close()
				perMs := rate / senders / 1000
				for n := 0; time.Since(start) < time.Second; {
					batch := perMs
					if rate == 0 {
						batch = 1000
					}
					for j := 0; j < batch; j++ {
						if c.Send(osc.NewMessage("/cuelight/sl/standby", osc.String(fmt.Sprint(k, "-", n)))) == nil {
							sent[k]++
						}
						n++
					}
					if rate > 0 {
						time.Sleep(time.Until(start.Add(time.Duration(n/max(perMs, 1)) * time.Millisecond)))
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start).Seconds()
		time.Sleep(200 * time.Millisecond) // let the queues drain before reading the counters
		stats := st.Stats()
		cancel()
		<-done
		total := sent[0] + sent[1]
		b.ReportMetric(float64(total)/elapsed, "sent/s")
		b.ReportMetric(float64(stats.OSC.Received)/elapsed, "received/s")
		b.ReportMetric(float64(stats.OSCCommands)/elapsed, "applied/s")
		b.ReportMetric(100*float64(stats.OSCDropped)/float64(max(stats.OSC.Received, 1)), "dropped-%")
	}
}
