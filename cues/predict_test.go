package cues

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// predictStart is the start of every engine in the Quiet test.
var predictStart = time.Date(2025, 3, 1, 19, 0, 0, 0, time.UTC)

// Quiet against the real engine: each kind of channel is driven into each
// state it can reach, every command is applied to a fresh copy, and
// whether the engine changed the channel or reported an event on it must
// be what Quiet says. So the rule clients use cannot drift from the one
// the engine follows.
func TestQuietMatchesEngine(t *testing.T) {
	t.Parallel()
	const hb = 10 * time.Second // lost after 10 s without the booth
	specs := []ChannelSpec{
		{Name: "a", Lamps: 2},
		{Name: "a", Lamps: 2, RequireAck: true},
		{Name: "a", Lamps: 1, GoRequiresAck: true},
		{Name: "a", Lamps: 2, RequireAck: true, GoRequiresAck: true, HasCallLamp: true, HasCallOut: true},
	}
	booth := func(v Verb, label ...string) Command {
		c := Command{Verb: v, Channel: "a", Source: SourceOSC, FromBooth: true}
		if len(label) > 0 {
			c.Label, c.HasLabel = label[0], true
		}
		return c
	}
	// How to reach each state, from the start; lost is reached by silence.
	setups := []struct {
		name string
		cmds []Command
		lost bool
	}{
		{name: "off"},
		{name: "standby 23", cmds: []Command{booth(VerbStandby, "23")}},
		{name: "standby 23 asking for an ack", cmds: []Command{booth(VerbStandbyAck, "23")}},
		{name: "standby without a label", cmds: []Command{booth(VerbStandby)}},
		{name: "standby with an empty label, asking for an ack", cmds: []Command{booth(VerbStandbyAck, "")}},
		{name: "ack 23", cmds: []Command{booth(VerbStandbyAck, "23"), booth(VerbAck)}},
		{name: "ack of a plain standby", cmds: []Command{booth(VerbStandby, "23"), booth(VerbAck)}},
		{name: "go 23", cmds: []Command{booth(VerbForceGo, "23")}},
		{name: "go without a label", cmds: []Command{booth(VerbForceGo)}},
		{name: "hold", cmds: []Command{booth(VerbStandby, "23"), booth(VerbHold)}},
		{name: "lost", cmds: []Command{booth(VerbStandby, "23")}, lost: true},
	}
	// Every command, with each kind of label and value it can carry.
	var cmds []Command
	for v := Verb(0); v <= VerbCallIn+1; v++ {
		for _, fromBooth := range []bool{true, false} {
			base := Command{Verb: v, Channel: "a", Source: SourceMQTT, FromBooth: fromBooth, Reason: "stuck"}
			switch v {
			case VerbBrightness:
				for _, val := range []float64{0, 0.5, 1, -0.1, 1.5, math.NaN()} {
					c := base
					c.Value = val
					cmds = append(cmds, c)
				}
				continue
			}
			cmds = append(cmds, base)
			for _, label := range []string{"", "23", "24"} {
				c := base
				c.Label, c.HasLabel = label, true
				cmds = append(cmds, c)
			}
		}
	}
	reached := map[State]bool{}
	outcomes := map[bool]int{}
	for _, spec := range specs {
		for _, setup := range setups {
			for _, cmd := range cmds {
				e, err := New(Options{Channels: []ChannelSpec{spec, {Name: "b", Lamps: 2}}, HeartbeatTimeout: hb, Start: predictStart})
				if err != nil {
					t.Fatal(err)
				}
				now := predictStart
				for _, c := range setup.cmds {
					now = now.Add(100 * time.Millisecond)
					e.Apply(now, c)
				}
				if setup.lost {
					now = now.Add(2 * hb)
					e.Advance(now)
				}
				now = now.Add(100 * time.Millisecond) // well inside go_hold and the heartbeat timeout
				st, _ := e.Snapshot("a")
				if !setup.lost && st.State == StateLost || setup.lost && st.State != StateLost {
					t.Fatalf("%s: the set-up reached %v", setup.name, st.State)
				}
				reached[st.State] = true
				res := e.Apply(now, cmd)
				engineQuiet := true
				for _, ch := range res.Changed {
					engineQuiet = engineQuiet && ch.Channel != "a"
				}
				for _, ev := range res.Events {
					engineQuiet = engineQuiet && ev.Channel != "a"
				}
				outcomes[engineQuiet]++
				if got := Quiet(st, cmd); got != engineQuiet {
					t.Errorf("%+v, %s: %s: Quiet says %v, the engine changed %v and reported %v",
						spec, setup.name, describeCommand(cmd), got, res.Changed, res.Events)
				}
			}
		}
	}
	for s := StateOff; s <= StateLost; s++ {
		if !reached[s] {
			t.Errorf("no set-up reached %v", s)
		}
	}
	if outcomes[true] == 0 || outcomes[false] == 0 {
		t.Errorf("outcomes %v: the table does not test both answers", outcomes)
	}
}

func describeCommand(c Command) string {
	s := c.Verb.String()
	if c.HasLabel {
		s += fmt.Sprintf(" label %q", c.Label)
	}
	if c.Verb == VerbBrightness {
		s += fmt.Sprintf(" value %v", c.Value)
	}
	if c.FromBooth {
		s += " from the booth"
	}
	return s
}
