package cues

import (
	"slices"
	"testing"
	"time"
)

// escShow is a show whose positions escalate a late ack
// (docs/protocol.md §10):
//
//	fly   two lamps, call lamp and call out, require_ack, escalate after 10s
//	sl    one lamp, call lamp, escalate after 10s (ack only when asked)
//	sr    two lamps, no escalation
func escShow() []ChannelSpec {
	return []ChannelSpec{
		{Name: "fly", Lamps: 2, HasCallLamp: true, HasCallOut: true, RequireAck: true, EscalateAfter: 10 * time.Second},
		{Name: "sl", Lamps: 1, HasCallLamp: true, EscalateAfter: 10 * time.Second},
		{Name: "sr", Lamps: 2},
	}
}

func newEscEngine(t *testing.T, hb time.Duration) *Engine {
	t.Helper()
	e, err := New(Options{Channels: escShow(), HeartbeatTimeout: hb, Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// follow drives the engine only through NextChange and Advance, as the
// station does, from now until until, and returns every event with the
// time of the Advance call that reported it.
func follow(e *Engine, now, until time.Time) (evs []Event, at []time.Time) {
	for {
		next := e.NextChange(now)
		if next.IsZero() || next.After(until) {
			return evs, at
		}
		if !next.After(now) {
			next = now.Add(time.Millisecond) // never loop on an overdue instant
		}
		now = next
		for _, ev := range e.Advance(now).Events {
			evs = append(evs, ev)
			at = append(at, now)
		}
	}
}

func lateAcks(evs []Event) []Event {
	var out []Event
	for _, ev := range evs {
		if ev.Kind == EventLateAck {
			out = append(out, ev)
		}
	}
	return out
}

// docs/protocol.md §10: a standby with an ack requested that is not
// acknowledged within escalate_after calls the position once.
func TestEscalationLateAck(t *testing.T) {
	t.Parallel()
	e := newEscEngine(t, 0)
	// Off the slow flash's 500 ms edges, so only the escalation deadline
	// itself can wake the station at that instant.
	sb := t0.Add(1130 * ms)
	e.Apply(sb, osc(VerbStandby, "fly", "12"))
	due := sb.Add(10 * time.Second)
	if d, ok := e.Escalating("fly"); !ok || !d.Equal(due) {
		t.Fatalf("Escalating(fly) = %v, %v; want %v", d, ok, due)
	}
	// Driven only by NextChange: the station must wake at the deadline.
	evs, at := follow(e, sb, sb.Add(30*time.Second))
	late := lateAcks(evs)
	if len(late) != 1 {
		t.Fatalf("late_ack events: %v, want exactly one", kinds(evs))
	}
	ev := late[0]
	if !ev.At.Equal(due) || ev.Label != "12" || ev.Source != SourceTimer || ev.ElapsedMs != 10000 || ev.Channel != "fly" {
		t.Errorf("late_ack = %+v; want at %v, label 12, source timer, elapsed 10000 ms", ev, due)
	}
	for i := range evs {
		if evs[i].Kind == EventLateAck && !at[i].Equal(due) {
			t.Errorf("late_ack reported by an Advance at %v, want exactly the deadline %v", at[i], due)
		}
	}
	// The call: call_out driven and call_lamp flashing for call_hold.
	if got := level(t, e, due, "fly", CallOut); got != 1 {
		t.Errorf("call_out at the escalation = %g, want 1", got)
	}
	if !slices.Contains(lampsLit(e, due, due.Add(time.Second), "fly", CallLamp), true) {
		t.Error("call_lamp never lit during the escalation")
	}
	if got := level(t, e, due.Add(DefaultCallHold), "fly", CallOut); got != 0 {
		t.Errorf("call_out after call_hold = %g, want 0", got)
	}
	if cs := mustState(t, e, "fly"); cs.State != StateStandby || cs.Label != "12" {
		t.Errorf("state after escalation = %v %q, want standby 12 (the cue state never changes)", cs.State, cs.Label)
	}
}

// lampsLit samples an output every 10ms from from to to.
func lampsLit(e *Engine, from, to time.Time, ch string, role Role) []bool {
	var out []bool
	for now := from; now.Before(to); now = now.Add(10 * ms) {
		for _, o := range e.Outputs(now, nil) {
			if o.Channel == ch && o.Role == role {
				out = append(out, o.Level > 0)
			}
		}
	}
	return out
}

func TestEscalationCases(t *testing.T) {
	t.Parallel()
	sb := t0.Add(time.Second)
	due := sb.Add(10 * time.Second)
	cases := []struct {
		name  string
		hb    time.Duration
		steps func(e *Engine) []Event // after a standby on fly at sb: their events
		late  int                     // late_ack events on fly from sb to sb+60s
	}{
		{"acked in time", 0, func(e *Engine) []Event { return e.Apply(sb.Add(9*time.Second), button(VerbButtonPress, "fly")).Events }, 0},
		{"acked by software in time", 0, func(e *Engine) []Event { return e.Apply(sb.Add(9999*ms), osc(VerbAck, "fly")).Events }, 0},
		{"cancelled by off", 0, func(e *Engine) []Event { return e.Apply(sb.Add(5*time.Second), osc(VerbOff, "fly")).Events }, 0},
		{"cancelled by hold", 0, func(e *Engine) []Event { return e.Apply(sb.Add(5*time.Second), osc(VerbHold, "")).Events }, 0},
		{"cancelled by go", 0, func(e *Engine) []Event { return e.Apply(sb.Add(5*time.Second), osc(VerbGo, "fly")).Events }, 0},
		{"cancelled by link loss", 8 * time.Second, func(e *Engine) []Event { return nil }, 0},
		{"link loss at the deadline comes first", 10 * time.Second, func(e *Engine) []Event { return nil }, 0}, // heard at sb by the standby
		{"a new standby restarts it", 0, func(e *Engine) []Event {
			return e.Apply(sb.Add(5*time.Second), osc(VerbStandby, "fly", "13")).Events
		}, 1},
		{"a duplicate standby keeps the deadline", 0, func(e *Engine) []Event {
			evs := slices.Clone(e.Apply(sb.Add(5*time.Second), osc(VerbStandby, "fly", "12")).Events)
			return append(evs, e.Apply(sb.Add(15*time.Second), osc(VerbStandbyAck, "fly", "12")).Events...)
		}, 1},
		{"not acknowledged", 0, func(e *Engine) []Event { return nil }, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEscEngine(t, tc.hb)
			if tc.hb > 0 {
				// The booth is heard at start: the link is lost at t0+hb.
				e.Apply(t0, osc(VerbHeartbeat, ""))
			}
			e.Apply(sb, osc(VerbStandby, "fly", "12"))
			evs := slices.Clone(tc.steps(e))
			now := sb
			for _, ev := range evs {
				now = later(now, ev.At)
			}
			more, _ := follow(e, now, sb.Add(60*time.Second))
			evs = append(evs, more...)
			late := lateAcks(evs)
			if len(late) != tc.late {
				t.Fatalf("late_ack events %d (%v), want %d", len(late), kinds(evs), tc.late)
			}
			if tc.name == "a new standby restarts it" && !late[0].At.Equal(sb.Add(15*time.Second)) {
				t.Errorf("late_ack at %v, want 10s after the new standby", late[0].At)
			}
			if tc.name == "a duplicate standby keeps the deadline" && !late[0].At.Equal(due) {
				t.Errorf("late_ack at %v, want %v", late[0].At, due)
			}
		})
	}
}

// docs/protocol.md §10: the ACK clears an escalation that has fired: the
// call stops at once.
func TestEscalationAckClearsCall(t *testing.T) {
	t.Parallel()
	e := newEscEngine(t, 0)
	sb := t0.Add(time.Second)
	e.Apply(sb, osc(VerbStandby, "fly", "12"))
	due := sb.Add(10 * time.Second)
	if evs := e.Advance(due).Events; len(lateAcks(evs)) != 1 {
		t.Fatalf("events at the deadline: %v", kinds(evs))
	}
	ackAt := due.Add(time.Second)
	res := e.Apply(ackAt, button(VerbButtonPress, "fly"))
	if got := kinds(res.Events); !slices.Equal(got, []string{"ack fly"}) {
		t.Errorf("late ack events = %v, want [ack fly]", got)
	}
	if res.Events[0].AckMs != 11000 {
		t.Errorf("ack_ms = %d, want 11000", res.Events[0].AckMs)
	}
	if got := level(t, e, ackAt, "fly", CallOut); got != 0 {
		t.Errorf("call_out after the ack = %g, want 0 (the ACK clears it)", got)
	}
	if slices.Contains(lampsLit(e, ackAt, ackAt.Add(time.Second), "fly", CallLamp), true) {
		t.Error("call_lamp still flashing after the ack")
	}
	// A call from the booth during an escalation is not cut by the ack.
	e.Apply(ackAt.Add(time.Second), osc(VerbStandby, "fly", "13"))
	d2 := ackAt.Add(11 * time.Second)
	e.Advance(d2)
	e.Apply(d2.Add(time.Second), osc(VerbCall, "fly"))
	e.Apply(d2.Add(2*time.Second), osc(VerbAck, "fly"))
	if got := level(t, e, d2.Add(2*time.Second), "fly", CallOut); got != 1 {
		t.Errorf("call_out after ack during a booth call = %g, want 1 (the booth's call runs on)", got)
	}
}

// docs/protocol.md §10: a GO given to a channel that never acknowledged.
func TestGoUnacknowledged(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup []Command
		goCmd Command
		want  bool
	}{
		{"go on standby with ack requested", []Command{osc(VerbStandby, "fly", "5")}, osc(VerbGo, "fly"), true},
		{"force_go on standby_ack", []Command{osc(VerbStandbyAck, "sr", "5")}, osc(VerbForceGo, "sr"), true},
		{"cue go on standby_ack", []Command{osc(VerbStandbyAck, "sr", "5")}, osc(VerbGoCue, "", "5"), true},
		{"go after the ack", []Command{osc(VerbStandby, "fly", "5"), osc(VerbAck, "fly")}, osc(VerbGo, "fly"), false},
		{"go on a standby that asked no ack", []Command{osc(VerbStandby, "sr", "5")}, osc(VerbGo, "sr"), false},
		{"go from off", nil, osc(VerbGo, "sr", "5"), false},
		{"go after escalation", []Command{osc(VerbStandby, "fly", "5")}, osc(VerbGo, "fly"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEscEngine(t, 0)
			now := t0
			for _, c := range tc.setup {
				now = now.Add(100 * ms)
				e.Apply(now, c)
			}
			if tc.name == "go after escalation" {
				now = now.Add(20 * time.Second)
				if late := lateAcks(e.Advance(now).Events); len(late) != 1 {
					t.Fatalf("no escalation before the GO")
				}
			}
			res := e.Apply(now.Add(100*ms), tc.goCmd)
			var got *Event
			for i := range res.Events {
				if res.Events[i].Kind == EventGo {
					got = &res.Events[i]
				}
			}
			if got == nil {
				t.Fatalf("no go event: %v %v", kinds(res.Events), res.Refused)
			}
			if got.Unacknowledged != tc.want {
				t.Errorf("unacknowledged = %v, want %v", got.Unacknowledged, tc.want)
			}
		})
	}
}

// docs/protocol.md §10: a call in flashes call_lamp for call_hold, is a
// call_in event, and never changes the cue state nor drives call_out.
func TestCallIn(t *testing.T) {
	t.Parallel()
	for _, st := range []string{"off", "standby", "hold", "lost"} {
		t.Run(st, func(t *testing.T) {
			t.Parallel()
			hb := time.Duration(0)
			if st == "lost" {
				hb = time.Second
			}
			e := newEscEngine(t, hb)
			now := t0.Add(100 * ms)
			switch st {
			case "standby":
				e.Apply(now, osc(VerbStandby, "fly", "7"))
			case "hold":
				e.Apply(now, osc(VerbHold, ""))
			case "lost":
				now = t0.Add(2 * time.Second)
				e.Advance(now)
			}
			before := mustState(t, e, "fly")
			in := now.Add(100 * ms)
			res := e.Apply(in, button(VerbCallIn, "fly"))
			if len(res.Changed) != 0 || len(res.Refused) != 0 {
				t.Errorf("call in changed %v, refused %v; want nothing", res.Changed, res.Refused)
			}
			if got := kinds(res.Events); !slices.Equal(got, []string{"call_in fly"}) {
				t.Fatalf("events = %v, want [call_in fly]", got)
			}
			if res.Events[0].Label != before.Label || res.Events[0].Source != SourceButton {
				t.Errorf("call_in = %+v, want the channel's label %q and source button", res.Events[0], before.Label)
			}
			if after := mustState(t, e, "fly"); after != before {
				t.Errorf("state %+v → %+v: a call in never changes the cue state", before, after)
			}
			lit := lampsLit(e, in, in.Add(DefaultCallHold), "fly", CallLamp)
			if !slices.Contains(lit, true) || !slices.Contains(lit, false) {
				t.Error("call_lamp does not flash during call_hold")
			}
			if slices.Contains(lampsLit(e, in.Add(DefaultCallHold), in.Add(DefaultCallHold+time.Second), "fly", CallLamp), true) {
				t.Error("call_lamp still lit after call_hold")
			}
			if slices.Contains(lampsLit(e, in, in.Add(DefaultCallHold), "fly", CallOut), true) {
				t.Error("call_out driven by a call in; it answers nobody")
			}
			// NextChange wakes for the flash and for its end.
			if n := e.NextChange(in); n.IsZero() || !n.After(in) || n.After(in.Add(DefaultCallHold)) {
				t.Errorf("NextChange(%v) = %v, want within call_hold", in, n)
			}
		})
	}
}
