package web

import (
	"testing"
	"time"

	"github.com/cuelight/cuelight/cues"
)

// TestLampPatternsMatchEngine holds the pages' lamp patterns to the
// engine's: for every state, on a one-lamp and a two-lamp channel, the
// levels the engine writes over two seconds are the levels of the patterns
// the pages draw.
func TestLampPatternsMatchEngine(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 19, 30, 0, 0, time.UTC)
	specs := []cues.ChannelSpec{{Name: "one", Lamps: 1}, {Name: "two", Lamps: 2}}
	cmd := func(verb, ch, label string) cues.Command {
		v, err := cues.ParseVerb(verb)
		if err != nil {
			t.Fatal(err)
		}
		return cues.Command{Verb: v, Channel: ch, Label: label, HasLabel: label != "", Source: cues.SourceOSC, FromBooth: true}
	}
	type step struct{ verb, label string }
	cases := []struct {
		name  string
		steps []step
		lost  bool
	}{
		{"off", nil, false},
		{"standby, ack requested", []step{{"standby_ack", "1"}}, false},
		{"standby, no ack", []step{{"standby", "1"}}, false},
		{"ack", []step{{"standby_ack", "1"}, {"ack", ""}}, false},
		{"go", []step{{"standby", "1"}, {"go", "1"}}, false},
		{"hold", []step{{"standby", "1"}, {"hold", ""}}, false},
		{"lost", nil, true},
	}
	for _, c := range cases {
		hb := time.Duration(0)
		if c.lost {
			hb = time.Second
		}
		e, err := cues.New(cues.Options{Channels: specs, Start: start, HeartbeatTimeout: hb})
		if err != nil {
			t.Fatal(err)
		}
		now := start.Add(10 * time.Millisecond)
		if c.lost {
			e.Apply(now, cmd("heartbeat", "", ""))
			now = now.Add(1500 * time.Millisecond)
			e.Advance(now)
		}
		for _, s := range c.steps {
			for _, ch := range []string{"one", "two"} {
				e.Apply(now, cmd(s.verb, ch, s.label))
			}
		}
		for _, spec := range specs {
			st, _ := e.Snapshot(spec.Name)
			want := lampPatterns(st.State.String(), st.AckRequested, spec.Lamps)
			p := cues.DefaultPatterns()
			for d := time.Duration(0); d < 2*time.Second; d += 10 * time.Millisecond {
				at := now.Add(d)
				if c.name == "go" && d >= 2*time.Second { // go_hold (3s) not reached
					break
				}
				var out []cues.Output
				out = e.Outputs(at, out)
				lamp := 0
				for _, o := range out {
					if o.Channel != spec.Name || (o.Role != cues.StandbyLamp && o.Role != cues.GoLamp) {
						continue
					}
					if o.Role == cues.GoLamp {
						lamp = 1
					} else {
						lamp = 0
					}
					if got, drawn := o.Level > 0, p.On(want[lamp], at.Sub(start)); got != drawn {
						t.Fatalf("%s, %s (%s), lamp %d at %v: engine lit %v, the page draws %s lit %v", c.name, spec.Name, st.State, lamp, at.Sub(start), got, want[lamp], drawn)
					}
				}
			}
		}
	}
}
