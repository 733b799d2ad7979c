package cues

import (
	"strconv"
	"testing"
	"time"
)

// benchShow returns n channels: alternately two lamps with a call lamp and
// call out, and one lamp; every fourth requires an acknowledged standby.
func benchShow(n int) []ChannelSpec {
	show := make([]ChannelSpec, n)
	for i := range show {
		sp := ChannelSpec{Name: "ch" + strconv.Itoa(i), Lamps: 1 + i%2}
		if sp.Lamps == 2 {
			sp.HasCallLamp, sp.HasCallOut = true, true
		}
		sp.RequireAck = i%4 == 0
		show[i] = sp
	}
	return show
}

// BenchmarkApplyOutputs measures the engine's share of the hot path: one
// command in (Apply), then the level of every output decided (Outputs).
// The commands cycle through standby_ack, ack, go and off, spread over the
// channels, with 7 ms between commands so that patterns and timers move.
func BenchmarkApplyOutputs(b *testing.B) {
	for _, n := range []int{1, 64} {
		b.Run("channels="+strconv.Itoa(n), func(b *testing.B) {
			show := benchShow(n)
			e, err := New(Options{Channels: show, Start: t0, HeartbeatTimeout: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			verbs := []Verb{VerbStandbyAck, VerbAck, VerbGo, VerbOff}
			cmds := make([]Command, 0, 4*n)
			for i := range n {
				for _, v := range verbs {
					cmds = append(cmds, Command{Verb: v, Channel: show[i].Name, Label: "23.5", HasLabel: v == VerbStandbyAck, Source: SourceOSC, FromBooth: true})
				}
			}
			// Interleave channels: command k goes to channel k%n.
			order := make([]Command, 0, len(cmds))
			for v := range verbs {
				for i := range n {
					order = append(order, cmds[i*len(verbs)+v])
				}
			}
			outs := make([]Output, 0, 4*n)
			now := t0
			changes := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				now = now.Add(7 * time.Millisecond)
				res := e.Apply(now, order[i%len(order)])
				changes += len(res.Changed)
				outs = e.Outputs(now, outs[:0])
			}
			if changes == 0 {
				b.Fatal("no command changed anything: the benchmark measured nothing")
			}
		})
	}
}

// BenchmarkNextChange measures the station's "how long may I sleep"
// question with 64 channels, most of them flashing.
func BenchmarkNextChange(b *testing.B) {
	show := benchShow(64)
	e, err := New(Options{Channels: show, Start: t0, HeartbeatTimeout: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	for i, sp := range show {
		v := VerbStandbyAck
		if i%3 == 0 {
			v = VerbGo
		}
		e.Apply(t0, Command{Verb: v, Channel: sp.Name, Source: SourceOSC, FromBooth: true})
	}
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		if now.Sub(t0) > 2*time.Second {
			now = t0
		}
		if e.NextChange(now).IsZero() {
			b.Fatal("nothing pending")
		}
	}
}
