package cues

import (
	"testing"
	"time"
)

// fuzzShow is testShow plus a channel with a call lamp and no call out
// that escalates a late ack after 2s.
func fuzzShow() []ChannelSpec {
	return append(testShow(), ChannelSpec{Name: "spot", Lamps: 2, HasCallLamp: true, GoHold: time.Second, CallHold: 2 * time.Second,
		EscalateAfter: 2 * time.Second})
}

// Fuzz input: one configuration byte, then 4 bytes per input.
//
//	cfg: bits 0-1 heartbeat (none, 3s, 10s, none); bit 2 fast flash 100ms
//	b0:  bits 5-7 zero: Advance, else Apply; bits 0-4 mod 19: the verb (0 and 18 are not verbs)
//	b1:  bits 0-2 channel (fly sl sr trap spot "" nope fly); bits 3-4 label (none, "", "1", "2");
//	     bit 5 FromBooth; bits 6-7 source (button osc mqtt web)
//	b2:  time since the previous input, in 50 ms
//	b3:  plus this many ms; and b3/200 is the brightness value
var (
	fuzzChannels = [8]string{"fly", "sl", "sr", "trap", "spot", "", "nope", "fly"}
	fuzzLabels   = [4]string{"", "", "1", "2"}
)

// maxFuzzInputs caps the inputs decoded from one fuzz case: longer
// sequences find nothing new and make minimisation crawl.
const maxFuzzInputs = 200

type fuzzInput struct {
	tick bool
	dt   time.Duration
	cmd  Command
}

func decodeFuzz(data []byte) (hb time.Duration, ps Patterns, in []fuzzInput) {
	if len(data) == 0 {
		return 0, ps, nil
	}
	hb = [4]time.Duration{0, 3 * time.Second, 10 * time.Second, 0}[data[0]&3]
	if data[0]&4 != 0 {
		ps.Fast = 100 * ms
	}
	for b := data[1:]; len(b) >= 4 && len(in) < maxFuzzInputs; b = b[4:] {
		lab := (b[1] >> 3) & 3
		c := Command{
			Verb:      Verb((b[0] & 0x1f) % 19),
			Channel:   fuzzChannels[b[1]&7],
			Label:     fuzzLabels[lab],
			HasLabel:  lab != 0,
			Value:     float64(b[3]) / 200,
			Source:    Source(1 + b[1]>>6),
			FromBooth: b[1]&0x20 != 0,
		}
		in = append(in, fuzzInput{
			tick: b[0]>>5 == 0,
			dt:   time.Duration(b[2])*50*ms + time.Duration(b[3])*ms,
			cmd:  c,
		})
	}
	return hb, ps, in
}

// FuzzEngine feeds random sequences of commands, button inputs and clock
// ticks to an engine and checks the safety invariants after each:
//   - it never panics;
//   - a channel enters go only by an accepted go, force_go or go_cue command;
//   - a go_requires_ack channel never enters go from an unacknowledged
//     standby or from off, except by force_go;
//   - no output is lit before the first accepted command, except the wink
//     of a lost link;
//   - while the hold is latched nothing goes to go, and only release (or a
//     link loss) unlatches it;
//   - seq grows by exactly one per change; labels and ack_requested follow
//     docs/protocol.md §4; levels are in range; NextChange is never in the past.
func FuzzEngine(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzEngine, one named scenario per file.
	f.Fuzz(checkEngine)
}

// checkEngine is the body of FuzzEngine.
func checkEngine(t *testing.T, data []byte) {
	hb, ps, inputs := decodeFuzz(data)
	show := fuzzShow()
	e, err := New(Options{Channels: show, HeartbeatTimeout: hb, Start: t0, Patterns: ps})
	if err != nil {
		t.Fatal(err)
	}
	n := len(show)
	seq := make([]uint64, n)
	prev := make([]State, n) // state before each change of this input
	nOutputs := len(e.Outputs(t0, nil))
	accepted := false
	now := t0
	var outs []Output
	var states []ChannelState
	for i, in := range inputs {
		now = now.Add(in.dt)
		states = e.States(states[:0])
		held := n > 0
		for k, cs := range states {
			prev[k] = cs.State
			held = held && cs.State == StateHold
		}
		var res Result
		if in.tick {
			res = e.Advance(now)
		} else {
			res = e.Apply(now, in.cmd)
		}
		c := in.cmd
		for _, ev := range res.Events {
			if ev.Kind == EventLost {
				held = false // the link was lost by this input's timers: the latch is gone
			}
		}

		goVerb := !in.tick && (c.Verb == VerbGo || c.Verb == VerbForceGo || c.Verb == VerbGoCue)
		for _, ch := range res.Changed {
			k := e.idx[ch.Channel]
			if ch.Seq != seq[k]+1 {
				t.Fatalf("input %d: %s seq %d after %d", i, ch.Channel, ch.Seq, seq[k])
			}
			seq[k] = ch.Seq
			if ch.State == StateGo {
				if !goVerb {
					t.Fatalf("input %d (%+v tick %v): %s went to go without a go command", i, c, in.tick, ch.Channel)
				}
				if held {
					t.Fatalf("input %d: %s went to go while the hold was latched", i, ch.Channel)
				}
				if p := prev[k]; show[k].GoRequiresAck && c.Verb != VerbForceGo && (p == StateStandby || p == StateOff) {
					t.Fatalf("input %d: go_requires_ack channel %s went from %s to go by %s", i, ch.Channel, p, c.Verb)
				}
			}
			if (ch.State == StateOff || ch.State == StateHold || ch.State == StateLost) && ch.Label != "" {
				t.Fatalf("input %d: %s in %s with label %q", i, ch.Channel, ch.State, ch.Label)
			}
			if ch.AckRequested && ch.State != StateStandby && ch.State != StateAck {
				t.Fatalf("input %d: %s in %s with ack_requested", i, ch.Channel, ch.State)
			}
			prev[k] = ch.State
			if ch.State != StateLost && ch.State != StateOff {
				accepted = true
			}
		}
		for _, ev := range res.Events {
			switch ev.Kind {
			case EventCall:
				if !in.tick && c.Verb == VerbCall {
					accepted = true
				}
			case EventCallIn:
				if in.tick || c.Verb != VerbCallIn {
					t.Fatalf("input %d: call_in event without a call in", i)
				}
				accepted = true
			case EventLateAck:
				// docs/protocol.md §10: only a standby still waiting for its
				// requested ack escalates, after escalate_after.
				k := e.idx[ev.Channel]
				cs := states[k]
				if !show[k].HasCallLamp || show[k].EscalateAfter == 0 || cs.State != StateStandby || !cs.AckRequested ||
					ev.ElapsedMs != show[k].EscalateAfter.Milliseconds() || ev.Seq != cs.Seq {
					t.Fatalf("input %d: late_ack on %s in %s (ack requested %v) after %d ms", i, ev.Channel, cs.State, cs.AckRequested, ev.ElapsedMs)
				}
			case EventGo:
				if before := states[e.idx[ev.Channel]]; ev.Unacknowledged && (before.State != StateStandby || !before.AckRequested) {
					t.Fatalf("input %d: unacknowledged go on %s from %s", i, ev.Channel, before.State)
				}
			}
			switch ev.Kind {
			case EventCallIn: // no change: the current seq
				if k := e.idx[ev.Channel]; ev.Seq != seq[k] {
					t.Fatalf("input %d: %s event seq %d, channel seq %d", i, ev.Kind, ev.Seq, seq[k])
				}
			}
			switch ev.Kind {
			case EventPress, EventCall, EventRefused, EventFault: // no change: the current seq
				if k := e.idx[ev.Channel]; ev.Seq != seq[k] {
					t.Fatalf("input %d: %s event seq %d, channel seq %d", i, ev.Kind, ev.Seq, seq[k])
				}
			}
		}
		states = e.States(states[:0])
		for _, cs := range states {
			if held && !(c.Verb == VerbRelease && !in.tick) && cs.State != StateHold {
				t.Fatalf("input %d (%s): %s left hold as %s", i, c.Verb, cs.Channel, cs.State)
			}
			if e.Link() == "lost" && cs.State != StateLost {
				t.Fatalf("input %d: link lost but %s is %s", i, cs.Channel, cs.State)
			}
		}

		next := e.NextChange(now)
		if !next.IsZero() && next.Before(now) {
			t.Fatalf("input %d: NextChange %v before now %v", i, next, now)
		}
		for _, at := range [2]time.Time{now, now.Add(in.dt / 2)} {
			outs = e.Outputs(at, outs[:0])
			if len(outs) != nOutputs {
				t.Fatalf("input %d: %d outputs, want %d", i, len(outs), nOutputs)
			}
			for _, o := range outs {
				if !(o.Level >= 0 && o.Level <= 1) || (o.Role == CallOut && o.Level != 0 && o.Level != 1) {
					t.Fatalf("input %d: %s/%s level %v", i, o.Channel, o.Role, o.Level)
				}
				if !accepted && o.Level != 0 {
					if cs := states[e.idx[o.Channel]]; cs.State != StateLost || o.Role != StandbyLamp {
						t.Fatalf("input %d: %s/%s lit %v before any accepted command (%s)", i, o.Channel, o.Role, o.Level, cs.State)
					}
				}
			}
		}
	}
}
