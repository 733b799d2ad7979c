package cues

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStateLamps checks what each state shows on a two-lamp and a one-lamp
// channel (docs/protocol.md §2), at instants of known phase: the commands are given at
// t0+10s, where every default pattern starts a period.
func TestStateLamps(t *testing.T) {
	t.Parallel()
	base := t0.Add(10 * time.Second)
	at := func(c Command) step { return step{cmd: c} }
	// samples: offset from base → levels of [standby lamp, go lamp].
	type sample struct {
		off       time.Duration
		standby   float64
		goLamp    float64
		oneLamp   float64 // the one-lamp channel's only lamp
		oneLampOK bool
	}
	tests := []struct {
		name    string
		hb      time.Duration
		steps   []step // at base; the two-lamp channel is sr, the one-lamp channel sl
		samples []sample
	}{
		{name: "off is dark", steps: []step{at(osc(VerbOff, "sr")), at(osc(VerbOff, "sl"))},
			samples: []sample{{100 * ms, 0, 0, 0, true}, {600 * ms, 0, 0, 0, true}}},
		{name: "standby with ack requested flashes slowly", steps: []step{at(osc(VerbStandbyAck, "sr", "1")), at(osc(VerbStandbyAck, "sl", "1"))},
			samples: []sample{{100 * ms, 1, 0, 1, true}, {499 * ms, 1, 0, 1, true}, {600 * ms, 0, 0, 0, true}, {1100 * ms, 1, 0, 1, true}}},
		{name: "standby without ack requested is steady", steps: []step{at(osc(VerbStandby, "sr", "1")), at(osc(VerbStandby, "sl", "1"))},
			samples: []sample{{100 * ms, 1, 0, 1, true}, {600 * ms, 1, 0, 1, true}}},
		{name: "ack is steady", steps: []step{at(osc(VerbStandbyAck, "sr", "1")), at(button(VerbButtonPress, "sr")), at(osc(VerbStandbyAck, "sl", "1")), at(button(VerbButtonPress, "sl"))},
			samples: []sample{{100 * ms, 1, 0, 1, true}, {600 * ms, 1, 0, 1, true}}},
		{name: "go lights the go lamp and fast-flashes a single lamp", steps: []step{at(osc(VerbGo, "sr", "1")), at(osc(VerbGo, "sl", "1"))},
			samples: []sample{{0, 0, 1, 1, true}, {100 * ms, 0, 1, 1, true}, {130 * ms, 0, 1, 0, true}, {260 * ms, 0, 1, 1, true}, {2999 * ms, 0, 1, 0, true}}},
		{name: "hold alternates two lamps and double-blinks one", steps: []step{at(osc(VerbHold, ""))},
			samples: []sample{{100 * ms, 1, 0, 1, true}, {200 * ms, 1, 0, 0, true}, {300 * ms, 1, 0, 1, true}, {600 * ms, 0, 1, 0, true}, {1050 * ms, 1, 0, 1, true}}},
		{name: "lost winks the standby lamp", hb: 10 * time.Second, steps: []step{{tick: true}},
			samples: []sample{{0, 1, 0, 1, true}, {100 * ms, 1, 0, 1, true}, {200 * ms, 0, 0, 0, true}, {1900 * ms, 0, 0, 0, true}, {2100 * ms, 1, 0, 1, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, tc.hb)
			run(e, base, tc.steps)
			for _, s := range tc.samples {
				now := base.Add(s.off)
				if got := level(t, e, now, "sr", StandbyLamp); got != s.standby {
					t.Errorf("+%v: sr standby lamp %g, want %g", s.off, got, s.standby)
				}
				if got := level(t, e, now, "sr", GoLamp); got != s.goLamp {
					t.Errorf("+%v: sr go lamp %g, want %g", s.off, got, s.goLamp)
				}
				if got := level(t, e, now, "sl", StandbyLamp); got != s.oneLamp {
					t.Errorf("+%v: sl lamp %g, want %g", s.off, got, s.oneLamp)
				}
			}
		})
	}
}

// TestPhaseAlignment checks that channels showing one pattern flash in
// phase, however far apart their commands came.
func TestPhaseAlignment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []step
		a, b  string
		role  Role
		from  time.Duration
	}{
		{"slow flash", []step{doAfter(137*ms, osc(VerbStandbyAck, "sr", "1")), doAfter(474*ms, osc(VerbStandby, "fly", "2"))}, "sr", "fly", StandbyLamp, time.Second},
		{"fast flash of two one-lamp GOs", []step{doAfter(1037*ms, osc(VerbGo, "sl", "1")), doAfter(164*ms, osc(VerbGo, "trap", "2"))}, "sl", "trap", StandbyLamp, 1300 * ms},
		{"double blink", []step{doAfter(333*ms, osc(VerbHold, ""))}, "sl", "trap", StandbyLamp, 400 * ms},
		{"alternate, first lamp", []step{doAfter(333*ms, osc(VerbHold, ""))}, "fly", "sr", StandbyLamp, 400 * ms},
		{"alternate, second lamp", []step{doAfter(333*ms, osc(VerbHold, ""))}, "fly", "sr", GoLamp, 400 * ms},
		{"call lamp and slow flash share the origin", []step{doAfter(77*ms, osc(VerbCall, "fly")), doAfter(5*ms, osc(VerbStandbyAck, "sr", "1"))}, "fly", "sr", CallLamp, 100 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, 0)
			run(e, t0, tc.steps)
			ps := DefaultPatterns()
			changes := 0
			var prev float64
			for d := tc.from; d < tc.from+1700*ms; d += ms {
				now := t0.Add(d)
				a := level(t, e, now, tc.a, tc.role)
				if tc.role == CallLamp { // sr has no call lamp: check both against the origin's phase
					b := level(t, e, now, tc.b, StandbyLamp)
					if want := ps.On(PatternFast, d); (a == 1) != want {
						t.Fatalf("+%v: call lamp %g, want fast flash phase %v", d, a, want)
					}
					if wantB := ps.On(PatternSlow, d); (b == 1) != wantB {
						t.Fatalf("+%v: slow flash %g, want phase %v", d, b, wantB)
					}
					continue
				}
				b := level(t, e, now, tc.b, tc.role)
				if a != b {
					t.Fatalf("+%v: %s %g, %s %g: out of phase", d, tc.a, a, tc.b, b)
				}
				if d > tc.from && a != prev {
					changes++
				}
				prev = a
			}
			if tc.role != CallLamp && changes == 0 {
				t.Fatal("the lamps never changed: nothing was compared")
			}
		})
	}
}

// TestOneLampGoNeverDark checks a one-lamp channel over its whole go_hold,
// at 1 ms steps, for GOs starting at many phases: the lamp is never dark for
// longer than half a fast-flash period, and it is lit in every fast-flash
// period.
func TestOneLampGoNeverDark(t *testing.T) {
	t.Parallel()
	fast := DefaultPatterns().Fast
	for start := time.Duration(0); start < fast; start += 7 * ms {
		e := newEngine(t, 0)
		goAt := t0.Add(5*time.Second + start)
		e.Apply(goAt, osc(VerbGo, "sl", "1"))
		var dark, longest time.Duration
		for d := time.Duration(0); d < DefaultGoHold; d += ms {
			now := goAt.Add(d)
			if s := e.Advance(now); len(s.Changed) > 0 {
				t.Fatalf("GO at +%v: changed at +%v, before go_hold", start, d)
			}
			if level(t, e, now, "sl", StandbyLamp) == 0 {
				dark += ms
				longest = max(longest, dark)
			} else {
				dark = 0
			}
		}
		if longest > fast/2 {
			t.Errorf("GO at +%v: dark for %v in a row, longer than %v", start, longest, fast/2)
		}
		end := goAt.Add(DefaultGoHold)
		res := e.Advance(end)
		if got := kinds(res.Events); !slices.Equal(got, []string{"off sl"}) {
			t.Errorf("GO at +%v: events at go_hold end %q, want [off sl]", start, got)
		}
		if got := level(t, e, end, "sl", StandbyLamp); got != 0 {
			t.Errorf("GO at +%v: lamp %g after go_hold, want dark", start, got)
		}
	}
}

// TestBrightness checks that brightness scales every lamp of the channel
// and never the call signal.
func TestBrightness(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 0)
	now := t0.Add(10 * time.Second) // fast-flash phase 0: lit
	for _, c := range []Command{bright("fly", 0.25), bright("sr", 0.5), osc(VerbStandby, "sr", "1"), osc(VerbGo, "sl", "1"), osc(VerbCall, "fly"), osc(VerbCall, "trap")} {
		res := e.Apply(now, c)
		if c.Verb == VerbBrightness && (len(res.Events) != 0 || len(res.Changed) != 0) {
			t.Fatalf("brightness reported %+v; it changes no state and has no event", res)
		}
	}
	want := []string{
		"fly/standby_lamp=0", "fly/go_lamp=0", "fly/call_lamp=0.25", "fly/call_out=1",
		"sl/standby_lamp=1",
		"sr/standby_lamp=0.5", "sr/go_lamp=0",
		"trap/standby_lamp=0", "trap/call_out=1",
	}
	if got := levels(e, now); !slices.Equal(got, want) {
		t.Errorf("outputs\n%q, want\n%q", got, want)
	}
	e.Apply(now, osc(VerbGo, "sr"))
	if got := level(t, e, now, "sr", GoLamp); got != 0.5 {
		t.Errorf("sr go lamp %g, want 0.5", got)
	}
	// Brightness 0 is refused: a GO must never show on a dark lamp.
	res := e.Apply(now, bright("sr", 0))
	if len(res.Refused) != 1 || res.Refused[0].Reason != ReasonBrightness {
		t.Errorf("brightness 0: refused %+v, want one refusal %q", res.Refused, ReasonBrightness)
	}
	if got := level(t, e, now, "sr", GoLamp); got != 0.5 {
		t.Errorf("sr go lamp after a refused brightness 0: %g, want 0.5 (unchanged)", got)
	}
	// Below the minimum brightness a lit lamp shows the minimum.
	e.Apply(now, bright("sr", 0.01))
	if got := level(t, e, now, "sr", GoLamp); got != DefaultMinBrightness {
		t.Errorf("sr go lamp at brightness 0.01: %g, want the minimum %g", got, DefaultMinBrightness)
	}
	if cs := mustState(t, e, "sr"); cs.State != StateGo {
		t.Errorf("sr is %s after brightness commands, want go", cs.State)
	}
}

// TestMinBrightness checks the station's floor: no lit lamp below it, a
// dark lamp stays dark, and an invalid floor is refused by New.
func TestMinBrightness(t *testing.T) {
	t.Parallel()
	e, err := New(Options{Channels: testShow(), Start: t0, MinBrightness: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(10 * time.Second)
	e.Apply(now, bright("sr", 0.05))
	e.Apply(now, osc(VerbGo, "sr", "7"))
	if got := level(t, e, now, "sr", GoLamp); got != 0.3 {
		t.Errorf("go lamp at brightness 0.05 with floor 0.3: %g, want 0.3", got)
	}
	if got := level(t, e, now, "sr", StandbyLamp); got != 0 {
		t.Errorf("dark standby lamp shows %g, want 0", got)
	}
	for _, bad := range []float64{-0.1, 1.5, math.NaN()} {
		if _, err := New(Options{Channels: testShow(), Start: t0, MinBrightness: bad}); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("MinBrightness %g: err %v, want ErrInvalidOptions", bad, err)
		}
	}
}

// TestCall checks the call outputs: call_out on and call_lamp fast-flashing
// for call_hold, a repeated call extending it, the cue lamps untouched.
func TestCall(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 0)
	start := t0.Add(2 * time.Second)
	e.Apply(start, osc(VerbStandbyAck, "fly", "7"))
	e.Apply(start, osc(VerbCall, "fly"))
	ps := DefaultPatterns()
	for d := time.Duration(0); d < DefaultCallHold; d += 5 * ms {
		now := start.Add(d)
		if got := level(t, e, now, "fly", CallOut); got != 1 {
			t.Fatalf("+%v: call_out %g, want 1", d, got)
		}
		wantLamp := 0.0
		if ps.On(PatternFast, now.Sub(t0)) {
			wantLamp = 1
		}
		if got := level(t, e, now, "fly", CallLamp); got != wantLamp {
			t.Fatalf("+%v: call lamp %g, want %g", d, got, wantLamp)
		}
		wantStandby := 0.0
		if ps.On(PatternSlow, now.Sub(t0)) {
			wantStandby = 1
		}
		if got := level(t, e, now, "fly", StandbyLamp); got != wantStandby {
			t.Fatalf("+%v: standby lamp %g, want the slow flash %g", d, got, wantStandby)
		}
	}
	end := start.Add(DefaultCallHold)
	if res := e.Advance(end); len(res.Events)+len(res.Changed) != 0 {
		t.Errorf("call_hold end reported %+v; it reports nothing", res)
	}
	if got := level(t, e, end, "fly", CallOut); got != 0 {
		t.Errorf("call_out %g after call_hold, want 0", got)
	}
	if got := level(t, e, end, "fly", CallLamp); got != 0 {
		t.Errorf("call lamp %g after call_hold, want 0", got)
	}

	// A second call during the first extends it from the second.
	e.Apply(end, osc(VerbCall, "trap"))
	e.Apply(end.Add(4*time.Second), osc(VerbCall, "trap"))
	if got := level(t, e, end.Add(8*time.Second), "trap", CallOut); got != 1 {
		t.Errorf("trap call_out %g 8s after the first of two calls 4s apart, want 1", got)
	}
	if got := level(t, e, end.Add(9*time.Second), "trap", CallOut); got != 0 {
		t.Errorf("trap call_out %g 9s after the first call, want 0", got)
	}
}

// TestSeqAndSince checks that every change adds one to the channel's seq
// and sets since, that events carry the seq of their change, and that
// events without a change carry the current seq.
func TestSeqAndSince(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 0)
	if cs := mustState(t, e, "sr"); cs.Seq != 0 || !cs.Since.Equal(t0) || cs.State != StateOff {
		t.Fatalf("new channel %+v, want off, seq 0, since start", cs)
	}
	type want struct {
		seq   uint64
		state State
		event EventKind
	}
	steps := []struct {
		after time.Duration
		c     Command
		tick  bool
		want  want
	}{
		{time.Second, osc(VerbStandbyAck, "sr", "1"), false, want{1, StateStandby, "standby"}},
		{time.Second, osc(VerbStandbyAck, "sr", "1"), false, want{1, StateStandby, ""}}, // duplicate
		{time.Second, button(VerbButtonPress, "sr"), false, want{2, StateAck, "ack"}},
		{time.Second, button(VerbButtonPress, "sr"), false, want{2, StateAck, "press"}},
		{time.Second, button(VerbCallButton, "sr"), false, want{2, StateAck, "call"}},
		{time.Second, osc(VerbGo, "sr"), false, want{3, StateGo, "go"}},
		{DefaultGoHold, Command{}, true, want{4, StateOff, "off"}},
		{time.Second, osc(VerbHold, ""), false, want{5, StateHold, "hold"}},
		{time.Second, osc(VerbGo, "sr"), false, want{5, StateHold, "refused"}},
		{time.Second, osc(VerbRelease, ""), false, want{6, StateOff, "release"}},
	}
	now := t0
	for i, s := range steps {
		now = now.Add(s.after)
		var res Result
		if s.tick {
			res = e.Advance(now)
		} else {
			res = e.Apply(now, s.c)
		}
		cs := mustState(t, e, "sr")
		if cs.Seq != s.want.seq || cs.State != s.want.state {
			t.Fatalf("step %d: sr %s seq %d, want %s seq %d", i, cs.State, cs.Seq, s.want.state, s.want.seq)
		}
		var evs []Event
		for _, ev := range res.Events {
			if ev.Channel == "sr" {
				evs = append(evs, ev)
			}
		}
		if s.want.event == "" {
			if len(evs) != 0 {
				t.Fatalf("step %d: events %+v, want none", i, evs)
			}
			continue
		}
		if len(evs) != 1 || evs[0].Kind != s.want.event || evs[0].Seq != s.want.seq {
			t.Fatalf("step %d: events %+v, want one %s with seq %d", i, evs, s.want.event, s.want.seq)
		}
		for _, ch := range res.Changed {
			if ch.Channel == "sr" && (ch.Seq != cs.Seq || !ch.Since.Equal(cs.Since)) {
				t.Fatalf("step %d: Changed %+v disagrees with Snapshot %+v", i, ch, cs)
			}
		}
		changed := slices.ContainsFunc(res.Changed, func(c ChannelState) bool { return c.Channel == "sr" })
		if changed && !cs.Since.Equal(now) && !s.tick {
			t.Fatalf("step %d: since %v, want %v", i, cs.Since, now)
		}
		if s.tick && !cs.Since.Equal(now) {
			t.Fatalf("step %d: go_hold expiry since %v, want its deadline %v", i, cs.Since, now)
		}
	}
	// Show-wide changes counted on every channel too.
	if cs := mustState(t, e, "fly"); cs.Seq != 2 {
		t.Errorf("fly seq %d after a hold and a release, want 2", cs.Seq)
	}
}

// TestAckMs checks the time from standby to ack carried by the ack event.
func TestAckMs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []step
		want  int64
	}{
		{"from the standby", []step{doAfter(time.Second, osc(VerbStandbyAck, "sr", "1")), doAfter(1234*ms, button(VerbButtonPress, "sr"))}, 1234},
		{"immediate", []step{doAfter(time.Second, osc(VerbStandbyAck, "sr", "1")), doAfter(0, button(VerbButtonPress, "sr"))}, 0},
		{"sub-millisecond truncates", []step{doAfter(time.Second, osc(VerbStandbyAck, "sr", "1")), doAfter(999*time.Microsecond, button(VerbButtonPress, "sr"))}, 0},
		{"from a new standby for another cue", []step{doAfter(time.Second, osc(VerbStandbyAck, "sr", "1")), doAfter(time.Second, osc(VerbStandbyAck, "sr", "2")), doAfter(300*ms, osc(VerbAck, "sr"))}, 300},
		{"from the upgrade to standby_ack", []step{doAfter(time.Second, osc(VerbStandby, "sr", "1")), doAfter(time.Second, osc(VerbStandbyAck, "sr", "1")), doAfter(450*ms, osc(VerbAck, "sr"))}, 450},
		{"a duplicate standby does not restart it", []step{doAfter(time.Second, osc(VerbStandbyAck, "sr", "1")), doAfter(time.Second, osc(VerbStandbyAck, "sr", "1")), doAfter(450*ms, osc(VerbAck, "sr"))}, 1450},
		{"minutes", []step{doAfter(time.Second, osc(VerbStandby, "fly", "1")), doAfter(3*time.Minute+7*ms, button(VerbButtonPress, "fly"))}, 180007},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, res := run(newEngine(t, 0), t0, tc.steps)
			if len(res.Events) != 1 || res.Events[0].Kind != EventAck {
				t.Fatalf("events %+v, want one ack", res.Events)
			}
			if got := res.Events[0].AckMs; got != tc.want {
				t.Errorf("ack_ms %d, want %d", got, tc.want)
			}
		})
	}
}

// TestUnwarned checks which GOs are marked unwarned.
func TestUnwarned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []step
		want  []bool // Unwarned of each go event of the last step
	}{
		{"go from off", []step{do(osc(VerbGo, "sr", "1"))}, []bool{true}},
		{"go from off without label", []step{do(osc(VerbGo, "sl"))}, []bool{true}},
		{"go from standby", []step{do(osc(VerbStandby, "sr", "1")), do(osc(VerbGo, "sr", "1"))}, []bool{false}},
		{"go without label from standby", []step{do(osc(VerbStandby, "sr", "1")), do(osc(VerbGo, "sr"))}, []bool{false}},
		{"go from ack", []step{do(osc(VerbStandby, "sr", "1")), do(osc(VerbAck, "sr")), do(osc(VerbGo, "sr"))}, []bool{false}},
		{"go for another cue than the standby", []step{do(osc(VerbStandby, "sr", "1")), do(osc(VerbGo, "sr", "2"))}, []bool{true}},
		{"go with label after a blank standby", []step{do(osc(VerbStandby, "sr")), do(osc(VerbGo, "sr", "2"))}, []bool{false}},
		{"new go while in go", []step{do(osc(VerbStandby, "sr", "1")), do(osc(VerbGo, "sr")), do(osc(VerbGo, "sr", "2"))}, []bool{true}},
		{"force_go from off", []step{do(osc(VerbForceGo, "fly", "1"))}, []bool{true}},
		{"force_go from standby", []step{do(osc(VerbStandby, "fly", "1")), do(osc(VerbForceGo, "fly"))}, []bool{false}},
		{"go_cue", []step{do(osc(VerbStandby, "sl", "1")), do(osc(VerbStandby, "sr", "1")), do(osc(VerbAck, "sr")), do(osc(VerbGoCue, "", "1"))}, []bool{false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, res := run(newEngine(t, 0), t0, tc.steps)
			var got []bool
			for _, ev := range res.Events {
				if ev.Kind == EventGo {
					got = append(got, ev.Unwarned)
				} else if ev.Unwarned {
					t.Errorf("%s event marked unwarned", ev.Kind)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("unwarned %v, want %v (events %+v)", got, tc.want, res.Events)
			}
		})
	}
}

// TestEventFields checks label, source, time, id and reason of each kind
// of event.
func TestEventFields(t *testing.T) {
	t.Parallel()
	idc := func(c Command, id string) Command { c.ID = id; return c }
	tests := []struct {
		name  string
		hb    time.Duration
		steps []step
		want  Event // Channel, Kind, Label, Source, ID, Reason compared; At is the last step's time unless atSet
		atOff time.Duration
		atSet bool
	}{
		{name: "standby carries its label and id", steps: []step{do(idc(mqtt(VerbStandby, "sr", "23"), "c1"))},
			want: Event{Kind: EventStandby, Channel: "sr", Label: "23", Source: SourceMQTT, ID: "c1"}},
		{name: "ack carries the standby's label and the button source", steps: []step{do(osc(VerbStandby, "sr", "23")), do(button(VerbButtonPress, "sr"))},
			want: Event{Kind: EventAck, Channel: "sr", Label: "23", Source: SourceButton, AckMs: 100}},
		{name: "press carries the current label", steps: []step{do(osc(VerbGo, "sr", "23")), do(button(VerbButtonPress, "sr"))},
			want: Event{Kind: EventPress, Channel: "sr", Label: "23", Source: SourceButton}},
		{name: "off carries the label it cleared", steps: []step{do(osc(VerbStandby, "sr", "23")), do(idc(osc(VerbOff, "sr"), "x"))},
			want: Event{Kind: EventOff, Channel: "sr", Label: "23", Source: SourceOSC, ID: "x"}},
		{name: "go_hold expiry is a timer off at its deadline", steps: []step{doAfter(time.Second, idc(osc(VerbGo, "sr", "23"), "g")), tick(10 * time.Second)},
			want: Event{Kind: EventOff, Channel: "sr", Label: "23", Source: SourceTimer}, atOff: time.Second + DefaultGoHold, atSet: true},
		{name: "refused go carries the command's label and the reason", steps: []step{do(osc(VerbStandby, "fly", "23")), do(osc(VerbGo, "fly", "24"))},
			want: Event{Kind: EventRefused, Channel: "fly", Label: "24", Source: SourceOSC, Reason: "fly needs an acknowledged standby before GO; use force_go to override"}},
		{name: "refused command without label carries the channel's", steps: []step{do(osc(VerbStandby, "fly", "23")), do(osc(VerbGo, "fly"))},
			want: Event{Kind: EventRefused, Channel: "fly", Label: "23", Source: SourceOSC, Reason: "fly needs an acknowledged standby before GO; use force_go to override"}},
		{name: "fault carries the driver's reason", steps: []step{do(Command{Verb: VerbButtonStuck, Channel: "sl", Source: SourceButton, Reason: "ack button GPIO20 held 10s"})},
			want: Event{Kind: EventFault, Channel: "sl", Source: SourceButton, Reason: "ack button GPIO20 held 10s"}},
		{name: "fault without a reason says so", steps: []step{do(button(VerbButtonStuck, "sl"))},
			want: Event{Kind: EventFault, Channel: "sl", Source: SourceButton, Reason: "button stuck"}},
		{name: "hold has no label", steps: []step{do(osc(VerbStandby, "fly", "23")), do(idc(mqtt(VerbHold, ""), "h"))},
			want: Event{Kind: EventHold, Channel: "fly", Source: SourceMQTT, ID: "h"}},
		{name: "lost is a timer event at the deadline", hb: 5 * time.Second, steps: []step{doAfter(2*time.Second, osc(VerbStandby, "fly", "23")), tick(time.Minute)},
			want: Event{Kind: EventLost, Channel: "fly", Source: SourceTimer}, atOff: 7 * time.Second, atSet: true},
		{name: "restored carries the source and id of what was heard", hb: 5 * time.Second, steps: []step{tick(time.Minute), do(idc(osc(VerbHeartbeat, ""), "hb1"))},
			want: Event{Kind: EventRestored, Channel: "fly", Source: SourceOSC, ID: "hb1"}},
		{name: "call from the wing", steps: []step{do(button(VerbCallButton, "trap"))},
			want: Event{Kind: EventCall, Channel: "trap", Source: SourceButton}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now, res := run(newEngine(t, tc.hb), t0, tc.steps)
			if len(res.Events) == 0 {
				t.Fatal("no events")
			}
			got := res.Events[0]
			wantAt := now
			if tc.atSet {
				wantAt = t0.Add(tc.atOff)
			}
			if !got.At.Equal(wantAt) {
				t.Errorf("at %v, want %v", got.At, wantAt)
			}
			got.At, got.Seq = time.Time{}, 0
			if got != tc.want {
				t.Errorf("event\n%+v, want\n%+v", got, tc.want)
			}
		})
	}
}

// TestLateTimersFireInOrder checks that an Apply long after several timers
// were due fires them at their deadlines, in order, before the command.
func TestLateTimersFireInOrder(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 5*time.Second)
	e.Apply(t0.Add(time.Second), osc(VerbGo, "sr", "1")) // go_hold ends at 4s; heard at 1s: lost at 6s
	res := e.Apply(t0.Add(20*time.Second), osc(VerbStandby, "sl", "2"))
	want := cat([]string{"off sr"}, each("lost"), each("restored"), []string{"standby sl"})
	if got := kinds(res.Events); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if at := res.Events[0].At; !at.Equal(t0.Add(4 * time.Second)) {
		t.Errorf("off at %v, want t0+4s", at)
	}
	if at := res.Events[1].At; !at.Equal(t0.Add(6 * time.Second)) {
		t.Errorf("lost at %v, want t0+6s", at)
	}
	if len(res.Changed) != len(res.Events) {
		t.Errorf("%d changes for %d events that all report a change", len(res.Changed), len(res.Events))
	}
	if cs := mustState(t, e, "sr"); cs.Seq != 4 || cs.State != StateOff {
		t.Errorf("sr %+v, want off with seq 4 (go, off, lost, restored)", cs)
	}
}

// TestRestoredNeverFiresGo checks docs/protocol.md §6.2: after a link loss, the booth
// heard again brings every channel to off, never back to its standby; a GO
// for the old cue finds nothing; the lamps stay dark.
func TestRestoredNeverFiresGo(t *testing.T) {
	t.Parallel()
	hb := 5 * time.Second
	e := newEngine(t, hb)
	now := t0.Add(time.Second)
	e.Apply(now, osc(VerbStandby, "sr", "23"))
	e.Apply(now, osc(VerbStandby, "fly", "23"))
	e.Apply(now, button(VerbButtonPress, "fly"))
	e.Apply(now, osc(VerbGo, "sl", "22"))
	e.Advance(now.Add(time.Minute))
	back := now.Add(2 * time.Minute)
	res := e.Apply(back, osc(VerbHeartbeat, ""))
	if got := kinds(res.Events); !slices.Equal(got, each("restored")) {
		t.Fatalf("events %q, want a restored per channel", got)
	}
	for _, cs := range e.States(nil) {
		if cs.State != StateOff || cs.Label != "" || cs.AckRequested {
			t.Errorf("%+v after restore, want off with no label", cs)
		}
	}
	if next := e.NextChange(back); !next.Equal(back.Add(hb)) {
		t.Errorf("NextChange %v, want only the heartbeat deadline %v", next, back.Add(hb))
	}
	for d := time.Duration(0); d < hb; d += 10 * ms {
		for _, o := range e.Outputs(back.Add(d), nil) {
			if o.Level != 0 {
				t.Fatalf("+%v: %s/%s lit %g after restore", d, o.Channel, o.Role, o.Level)
			}
		}
	}
	res = e.Apply(back.Add(time.Second), osc(VerbGoCue, "", "23"))
	if len(res.Changed) != 0 || len(res.Refused) != 1 {
		t.Errorf("cue go for a standby from before the loss: %+v, want refused and nothing changed", res)
	}
}

// TestNothingPendingAfterLost checks docs/protocol.md §6.2 on link loss: standbys, GOs,
// calls and the hold are dropped; nothing fires later; only the wink shows.
func TestNothingPendingAfterLost(t *testing.T) {
	t.Parallel()
	hb := 5 * time.Second
	e := newEngine(t, hb)
	now := t0.Add(time.Second)
	for _, c := range []Command{osc(VerbStandbyAck, "sr", "1"), osc(VerbCall, "fly"), osc(VerbStandby, "fly", "3")} {
		e.Apply(now, c)
	}
	// Not from the booth, so the deadline stays: a GO and a call still
	// running at the loss.
	e.Apply(now.Add(4*time.Second), inner(VerbGo, "sl", "2"))
	e.Apply(now.Add(4*time.Second), inner(VerbCall, "trap"))
	lostAt := now.Add(hb)
	if cs := mustState(t, e, "sl"); cs.State != StateGo {
		t.Fatalf("sl is %s before the loss, want go", cs.State)
	}
	res := e.Advance(lostAt)
	if got := kinds(res.Events); !slices.Equal(got, each("lost")) {
		t.Fatalf("events %q, want a lost per channel", got)
	}
	if e.Link() != "lost" {
		t.Errorf("Link() = %q, want lost", e.Link())
	}
	for _, cs := range e.States(nil) {
		if cs.State != StateLost || cs.Label != "" || cs.AckRequested {
			t.Errorf("%+v, want lost with no label and no ack requested", cs)
		}
	}
	// Follow NextChange for a minute: no event ever fires, and only the
	// standby lamps wink.
	ps := DefaultPatterns()
	for t1 := lostAt; t1.Before(lostAt.Add(time.Minute)); {
		next := e.NextChange(t1)
		if next.IsZero() || !next.After(t1) {
			t.Fatalf("NextChange(%v) = %v while winking", t1, next)
		}
		if res := e.Advance(next); len(res.Events) != 0 {
			t.Fatalf("at %v after the loss: events %q; nothing may be pending", next.Sub(lostAt), kinds(res.Events))
		}
		for _, o := range e.Outputs(next, nil) {
			want := 0.0
			if o.Role == StandbyLamp && ps.On(PatternWink, next.Sub(t0)) {
				want = 1
			}
			if o.Level != want {
				t.Fatalf("at %v after the loss: %s/%s = %g, want %g", next.Sub(lostAt), o.Channel, o.Role, o.Level, want)
			}
		}
		t1 = next
	}
}

// TestNewEngineIsDarkAndIdle checks docs/protocol.md §6.1/§6.2 for a (re)started
// station: every channel off, every output dark, nothing pending.
func TestNewEngineIsDarkAndIdle(t *testing.T) {
	t.Parallel()
	for _, hb := range []time.Duration{0, 5 * time.Second} {
		e := newEngine(t, hb)
		for i, cs := range e.States(nil) {
			want := ChannelState{Channel: testShow()[i].Name, State: StateOff, Since: t0}
			if cs != want {
				t.Errorf("hb %v: %+v, want %+v", hb, cs, want)
			}
		}
		limit := hb
		if limit == 0 {
			limit = time.Minute
		}
		for d := time.Duration(0); d < limit; d += 5 * ms {
			for _, o := range e.Outputs(t0.Add(d), nil) {
				if o.Level != 0 {
					t.Fatalf("hb %v, +%v: %s/%s lit before any command", hb, d, o.Channel, o.Role)
				}
			}
		}
		next := e.NextChange(t0)
		switch {
		case hb == 0 && !next.IsZero():
			t.Errorf("NextChange = %v on an idle engine without heartbeat, want zero", next)
		case hb > 0 && !next.Equal(t0.Add(hb)):
			t.Errorf("NextChange = %v, want the heartbeat deadline %v", next, t0.Add(hb))
		}
		if hb == 0 {
			if res := e.Advance(t0.Add(24 * time.Hour)); len(res.Events)+len(res.Changed) != 0 {
				t.Errorf("an idle engine did something after a day: %+v", res)
			}
		}
	}
}

// TestDuplicatesReportOnce checks that repeated commands give one event.
func TestDuplicatesReportOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		c      Command
		ch     string
		events int
		seq    uint64
	}{
		{"standby", osc(VerbStandby, "sr", "1"), "sr", 1, 1},
		{"standby_ack", osc(VerbStandbyAck, "sr", "1"), "sr", 1, 1},
		{"go", osc(VerbGo, "sr", "1"), "sr", 1, 1},
		{"force_go", osc(VerbForceGo, "fly", "1"), "fly", 1, 1},
		{"off", osc(VerbOff, "sr"), "sr", 0, 0},
		{"hold", osc(VerbHold, ""), "sr", 1, 1},
		{"release", osc(VerbRelease, ""), "sr", 0, 0},
		{"button release", button(VerbButtonRelease, "sr"), "sr", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, 0)
			events := 0
			for i := range 5 {
				res := e.Apply(t0.Add(time.Duration(i)*100*ms), tc.c)
				for _, ev := range res.Events {
					if ev.Channel == tc.ch {
						events++
					}
				}
				if !slices.Contains(res.Touched, tc.ch) {
					t.Errorf("repeat %d: %s not touched: the sender would get no feedback", i, tc.ch)
				}
			}
			if events != tc.events {
				t.Errorf("%d events on %s for five identical commands, want %d", events, tc.ch, tc.events)
			}
			if cs := mustState(t, e, tc.ch); cs.Seq != tc.seq {
				t.Errorf("seq %d, want %d", cs.Seq, tc.seq)
			}
		})
	}
}

// TestRefusedGoChangesNoOutput compares the output trace of a show with
// and without a refused GO in it.
func TestRefusedGoChangesNoOutput(t *testing.T) {
	t.Parallel()
	script := func(withGo bool) []string {
		e := newEngine(t, 0)
		e.Apply(t0.Add(100*ms), osc(VerbStandby, "fly", "5"))
		e.Apply(t0.Add(200*ms), osc(VerbGo, "sl", "4"))
		if withGo {
			res := e.Apply(t0.Add(700*ms), osc(VerbGo, "fly", "5"))
			if len(res.Refused) != 1 || len(res.Changed) != 0 {
				t.Fatalf("GO without ack on fly: %+v, want refused", res)
			}
		}
		var trace []string
		for d := 700 * ms; d < 5*time.Second; d += 10 * ms {
			now := t0.Add(d)
			e.Advance(now)
			trace = append(trace, strings.Join(levels(e, now), " "))
		}
		return trace
	}
	without, with := script(false), script(true)
	for i := range without {
		if without[i] != with[i] {
			t.Fatalf("at step %d the refused GO changed the outputs:\n%s\n%s", i, without[i], with[i])
		}
	}
}

// TestNextChange checks NextChange in chosen situations.
func TestNextChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		hb    time.Duration
		steps []step
		at    time.Duration // NextChange is asked at t0+at
		want  time.Duration // from t0; -1 = zero time
	}{
		{name: "idle", at: time.Second, want: -1},
		{name: "heartbeat deadline", hb: 5 * time.Second, at: time.Second, want: 5 * time.Second},
		{name: "heartbeat deadline moves with the booth", hb: 5 * time.Second, steps: []step{doAfter(3*time.Second, osc(VerbHeartbeat, ""))}, at: 3 * time.Second, want: 8 * time.Second},
		{name: "steady standby", steps: []step{doAfter(time.Second, osc(VerbStandby, "sr", "1"))}, at: time.Second, want: -1},
		{name: "slow flash edge", steps: []step{doAfter(1100*ms, osc(VerbStandbyAck, "sr", "1"))}, at: 1100 * ms, want: 1500 * ms},
		{name: "go_hold on a two-lamp channel", steps: []step{doAfter(1100*ms, osc(VerbGo, "sr", "1"))}, at: 1100 * ms, want: 4100 * ms},
		{name: "fast flash edge of a one-lamp go", steps: []step{doAfter(1100*ms, osc(VerbGo, "sl", "1"))}, at: 1100 * ms, want: 1125 * ms},
		{name: "overdue timer is now", steps: []step{doAfter(time.Second, osc(VerbGo, "sr", "1"))}, at: 10 * time.Second, want: 10 * time.Second},
		{name: "brightness 0 is refused and the flash goes on", steps: []step{doAfter(time.Second, osc(VerbStandbyAck, "sr", "1")), do(bright("sr", 0))}, at: 1200 * ms, want: 1500 * ms},
		{name: "call out ends", steps: []step{doAfter(time.Second, osc(VerbCall, "trap"))}, at: time.Second, want: 6 * time.Second},
		{name: "call lamp edge", steps: []step{doAfter(time.Second, osc(VerbCall, "fly"))}, at: 1010 * ms, want: 1125 * ms},
		{name: "hold alternation", steps: []step{doAfter(time.Second, osc(VerbHold, ""))}, at: 1001 * ms, want: 1120 * ms},
		{name: "lost wink", hb: 4 * time.Second, steps: []step{tick(4 * time.Second)}, at: 4 * time.Second, want: 4150 * ms},
		{name: "lost wink from its dark part", hb: 5 * time.Second, steps: []step{tick(5 * time.Second)}, at: 5 * time.Second, want: 6 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, tc.hb)
			run(e, t0, tc.steps)
			got := e.NextChange(t0.Add(tc.at))
			if tc.want < 0 {
				if !got.IsZero() {
					t.Errorf("NextChange = t0+%v, want zero (nothing pending)", got.Sub(t0))
				}
				return
			}
			if !got.Equal(t0.Add(tc.want)) {
				t.Errorf("NextChange = t0+%v, want t0+%v", got.Sub(t0), tc.want)
			}
		})
	}
}

// TestNextChangeProperty drives random shows and checks, after every input,
// that no output changes and no timer fires before NextChange, and that at
// NextChange an output changes or a timer fires.
func TestNextChangeProperty(t *testing.T) {
	t.Parallel()
	show := append(testShow(), ChannelSpec{Name: "spot", Lamps: 2, HasCallLamp: true, GoHold: 1700 * ms, CallHold: 900 * ms})
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 99))
		hb := time.Duration(0)
		if seed%2 == 1 {
			hb = time.Duration(2+rng.IntN(8)) * time.Second
		}
		e, err := New(Options{Channels: show, HeartbeatTimeout: hb, Start: t0, Patterns: Patterns{Fast: 200 * ms, Alternate: 300 * ms}})
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		for i := range 300 {
			now = now.Add(time.Duration(rng.Int64N(int64(1500 * ms))))
			if rng.IntN(3) == 0 {
				e.Advance(now)
			} else {
				e.Apply(now, randomCommand(rng, show))
			}
			outs := levels(e, now)
			next := e.NextChange(now)
			if next.IsZero() {
				for _, d := range []time.Duration{time.Millisecond, time.Minute, 24 * time.Hour} {
					if res := e.Advance(now.Add(d)); len(res.Events)+len(res.Changed) != 0 {
						t.Fatalf("seed %d step %d: nothing pending, yet +%v fired %q", seed, i, d, kinds(res.Events))
					}
					if got := levels(e, now.Add(d)); !slices.Equal(got, outs) {
						t.Fatalf("seed %d step %d: nothing pending, yet outputs changed at +%v", seed, i, d)
					}
				}
				continue
			}
			if !next.After(now) {
				t.Fatalf("seed %d step %d: NextChange %v not after now %v although timers ran", seed, i, next, now)
			}
			span := next.Sub(now)
			for _, d := range []time.Duration{span / 4, span / 2, span - 1} {
				if d <= 0 {
					continue
				}
				if res := e.Advance(now.Add(d)); len(res.Events)+len(res.Changed) != 0 {
					t.Fatalf("seed %d step %d: timer fired at +%v, before NextChange +%v", seed, i, d, span)
				}
				if got := levels(e, now.Add(d)); !slices.Equal(got, outs) {
					t.Fatalf("seed %d step %d: outputs changed at +%v, before NextChange +%v:\n%q\n%q", seed, i, d, span, outs, got)
				}
			}
			res := e.Advance(next)
			if len(res.Events)+len(res.Changed) == 0 && slices.Equal(levels(e, next), outs) {
				t.Fatalf("seed %d step %d: nothing changed at NextChange +%v (outputs %q)", seed, i, span, outs)
			}
			now = next
		}
	}
}

// randomCommand returns a random command for a channel of show (or an
// unknown one), from a random source.
func randomCommand(rng *rand.Rand, show []ChannelSpec) Command {
	labels := []string{"", "1", "2", "23.5"}
	c := Command{
		Verb:   Verb(1 + rng.IntN(int(VerbButtonStuck))),
		Source: Source(1 + rng.IntN(4)),
		Value:  rng.Float64()*1.4 - 0.2,
	}
	c.FromBooth = c.Source == SourceOSC
	if n := rng.IntN(len(show) + 1); n < len(show) {
		c.Channel = show[n].Name
	} else {
		c.Channel = "nope"
	}
	if rng.IntN(4) > 0 {
		c.Label, c.HasLabel = labels[rng.IntN(len(labels))], true
	}
	return c
}

func TestOutputsLayout(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 0)
	want := []string{
		"fly/standby_lamp=0", "fly/go_lamp=0", "fly/call_lamp=0", "fly/call_out=0",
		"sl/standby_lamp=0",
		"sr/standby_lamp=0", "sr/go_lamp=0",
		"trap/standby_lamp=0", "trap/call_out=0",
	}
	if got := levels(e, t0); !slices.Equal(got, want) {
		t.Errorf("outputs\n%q, want\n%q", got, want)
	}
	dst := []Output{{Channel: "keep"}}
	if got := e.Outputs(t0, dst); len(got) != 1+len(want) || got[0].Channel != "keep" {
		t.Errorf("Outputs does not append to dst: %+v", got)
	}
}

func TestSnapshotStatesLink(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 0)
	if _, ok := e.Snapshot("nope"); ok {
		t.Error("Snapshot of an unknown channel reports ok")
	}
	var names []string
	for _, cs := range e.States([]ChannelState{{Channel: "keep"}}) {
		names = append(names, cs.Channel)
	}
	if want := []string{"keep", "fly", "sl", "sr", "trap"}; !slices.Equal(names, want) {
		t.Errorf("States order %q, want %q", names, want)
	}
	if e.Link() != "none" {
		t.Errorf("Link() = %q without heartbeat, want none", e.Link())
	}
	e = newEngine(t, time.Second)
	if e.Link() != "ok" {
		t.Errorf("Link() = %q at start, want ok", e.Link())
	}
	e.Advance(t0.Add(time.Second))
	if e.Link() != "lost" {
		t.Errorf("Link() = %q after the timeout, want lost", e.Link())
	}
	e.Apply(t0.Add(2*time.Second), osc(VerbHeartbeat, ""))
	if e.Link() != "ok" {
		t.Errorf("Link() = %q after a heartbeat, want ok", e.Link())
	}
}

// TestResultReuse documents the ownership rule: a Result is valid until the
// next call.
func TestResultReuse(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 0)
	first := e.Apply(t0, osc(VerbStandby, "sr", "1"))
	kept := copyResult(first)
	e.Apply(t0, osc(VerbStandby, "sl", "2"))
	if kept.Events[0].Channel != "sr" {
		t.Fatal("a copied result changed")
	}
	if first.Events[0].Channel != "sl" {
		t.Fatal("the engine did not reuse its buffers (the allocation-free path is broken)")
	}
}

// TestApplyOutputsDoNotAllocate checks the hot path: a command in, the
// outputs out, with no allocation once the buffers have grown.
func TestApplyOutputsDoNotAllocate(t *testing.T) {
	e := newEngine(t, 5*time.Second)
	buf := make([]Output, 0, 16)
	now := t0
	cmds := []Command{osc(VerbStandbyAck, "sr", "12"), osc(VerbAck, "sr"), osc(VerbGo, "sr"), osc(VerbOff, "sr"), osc(VerbGo, "fly", "3")}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		now = now.Add(10 * ms)
		e.Apply(now, cmds[i%len(cmds)])
		buf = e.Outputs(now, buf[:0])
		i++
	})
	if allocs != 0 {
		t.Errorf("Apply+Outputs allocate %.1f times per command, want 0", allocs)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	one := func(sp ChannelSpec) Options { return Options{Channels: []ChannelSpec{sp}, Start: t0} }
	tests := []struct {
		name string
		opts Options
		want string // substring of the error; "" = valid
	}{
		{"test show", Options{Channels: testShow(), Start: t0}, ""},
		{"no channels", Options{Start: t0}, ""},
		{"no start", Options{Channels: testShow()}, "Start is required"},
		{"negative heartbeat", Options{Start: t0, HeartbeatTimeout: -time.Second}, "negative"},
		{"empty name", one(ChannelSpec{Lamps: 1}), "1 to 32 characters"},
		{"long name", one(ChannelSpec{Name: strings.Repeat("a", 33), Lamps: 1}), "1 to 32 characters"},
		{"32-character name", one(ChannelSpec{Name: strings.Repeat("a", 32), Lamps: 1}), ""},
		{"upper case", one(ChannelSpec{Name: "Fly", Lamps: 1}), "only lowercase"},
		{"space", one(ChannelSpec{Name: "fly rail", Lamps: 1}), "only lowercase"},
		{"slash", one(ChannelSpec{Name: "fly/1", Lamps: 1}), "only lowercase"},
		{"all punctuation allowed", one(ChannelSpec{Name: "spot-1_b", Lamps: 1}), ""},
		{"reserved all", one(ChannelSpec{Name: "all", Lamps: 1}), "reserved"},
		{"reserved heartbeat", one(ChannelSpec{Name: "heartbeat", Lamps: 1}), "reserved"},
		{"duplicate", Options{Start: t0, Channels: []ChannelSpec{{Name: "sl", Lamps: 1}, {Name: "sl", Lamps: 2}}}, "listed twice"},
		{"no lamps", one(ChannelSpec{Name: "sl"}), "lamps must be 1 or 2"},
		{"three lamps", one(ChannelSpec{Name: "sl", Lamps: 3}), "lamps must be 1 or 2"},
		{"negative go_hold", one(ChannelSpec{Name: "sl", Lamps: 2, GoHold: -1}), "must not be negative"},
		{"negative call_hold", one(ChannelSpec{Name: "sl", Lamps: 2, CallHold: -1}), "must not be negative"},
		{"one-lamp go_hold shorter than a fast flash", one(ChannelSpec{Name: "sl", Lamps: 1, GoHold: 200 * ms}), "could show GO dark"},
		{"two-lamp short go_hold", one(ChannelSpec{Name: "sl", Lamps: 2, GoHold: 200 * ms}), ""},
		{"bad patterns", Options{Start: t0, Patterns: Patterns{WinkOn: 3 * time.Second}}, "patterns.wink_on"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := New(tc.opts)
			if tc.want == "" {
				if err != nil || e == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error %v, want one containing %q", err, tc.want)
			}
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("error %v does not wrap ErrInvalidOptions", err)
			}
			if !strings.HasPrefix(err.Error(), "cues: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestDefaultHolds(t *testing.T) {
	t.Parallel()
	e, err := New(Options{Start: t0, Channels: []ChannelSpec{{Name: "a", Lamps: 2, HasCallOut: true}, {Name: "b", Lamps: 2, HasCallOut: true, GoHold: time.Second, CallHold: 2 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{"a", "b"} {
		e.Apply(t0, osc(VerbGo, ch))
		e.Apply(t0, osc(VerbCall, ch))
	}
	check := func(d time.Duration, ch string, st State, call float64) {
		t.Helper()
		e.Advance(t0.Add(d))
		if cs := mustState(t, e, ch); cs.State != st {
			t.Errorf("+%v: %s is %s, want %s", d, ch, cs.State, st)
		}
		if got := level(t, e, t0.Add(d), ch, CallOut); got != call {
			t.Errorf("+%v: %s call_out %g, want %g", d, ch, got, call)
		}
	}
	check(999*ms, "b", StateGo, 1)
	check(time.Second, "b", StateOff, 1)
	check(2*time.Second, "b", StateOff, 0)
	check(3*time.Second-1, "a", StateGo, 1)
	check(3*time.Second, "a", StateOff, 1)
	check(5*time.Second-1, "a", StateOff, 1)
	check(5*time.Second, "a", StateOff, 0)
}

func TestCheckChannelName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{"fly": true, "spot-1_b": true, "a": true, "": false, "Fly": false, "cue": false, "sync": false, "fly.rail": false, strings.Repeat("x", 32): true, strings.Repeat("x", 33): false} {
		err := CheckChannelName(name)
		if (err == nil) != ok {
			t.Errorf("CheckChannelName(%q) = %v, want ok %v", name, err, ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "cues: channel name ") {
			t.Errorf("CheckChannelName(%q) error %q lacks its prefix", name, err)
		}
	}
}
