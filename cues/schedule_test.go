package cues

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSchedule checks scheduled commands (docs/protocol.md §3): a command
// held for its time runs then and not before; one that has not run yet is
// dropped, and reported as refused, when a hold latches, the link is lost
// or the engine stops; a GO scheduled before any of those never fires
// after it.
func TestSchedule(t *testing.T) {
	t.Parallel()
	sec := time.Second
	tests := []struct {
		name string
		hb   time.Duration
		// run builds the sequence on e from t0+1s and returns what sr must
		// be at the end, and the refusal reasons seen (in order).
		run       func(t *testing.T, e *Engine, now time.Time) (res []string)
		want      State
		refusals  []string // substrings, in order
		goEvents  int      // go events on sr over the whole run
		scheduled int      // still waiting at the end
	}{
		{
			name: "runs at its time, not before",
			run: func(t *testing.T, e *Engine, now time.Time) []string {
				var log []string
				log = collect(log, e.Apply(now, osc(VerbStandby, "sr", "23")))
				log = collect(log, e.Schedule(now, now.Add(2*sec), osc(VerbGo, "sr", "23")))
				if got := e.NextChange(now); !got.Equal(now.Add(2 * sec)) {
					t.Errorf("NextChange = now+%v, want now+2s (the scheduled GO)", got.Sub(now))
				}
				log = collect(log, e.Advance(now.Add(2*sec-time.Nanosecond)))
				if cs := mustState(t, e, "sr"); cs.State != StateStandby {
					t.Errorf("sr is %s just before the scheduled time, want standby", cs.State)
				}
				return collect(log, e.Advance(now.Add(2*sec)))
			},
			want: StateGo, goEvents: 1,
		},
		{
			name: "a hold latched before its time drops it, and the release does not bring it back",
			run: func(t *testing.T, e *Engine, now time.Time) []string {
				var log []string
				log = collect(log, e.Apply(now, osc(VerbStandby, "sr", "23")))
				log = collect(log, e.Schedule(now, now.Add(3*sec), osc(VerbGo, "sr", "23")))
				log = collect(log, e.Apply(now.Add(sec), osc(VerbHold, "")))
				log = collect(log, e.Apply(now.Add(2*sec), osc(VerbRelease, "")))
				return collect(log, e.Advance(now.Add(5*sec)))
			},
			want: StateOff, refusals: []string{"scheduled go dropped: " + ReasonHold},
		},
		{
			name: "a link lost before its time drops it, and the restore does not fire it",
			hb:   2 * sec,
			run: func(t *testing.T, e *Engine, now time.Time) []string {
				var log []string
				log = collect(log, e.Apply(now, osc(VerbStandby, "sr", "23")))
				// Heard at now; lost at now+2s; the GO is due at now+3s.
				log = collect(log, e.Schedule(now, now.Add(3*sec), osc(VerbGo, "sr", "23")))
				log = collect(log, e.Advance(now.Add(2500*time.Millisecond)))
				log = collect(log, e.Apply(now.Add(2600*time.Millisecond), osc(VerbHeartbeat, "")))
				return collect(log, e.Advance(now.Add(4*sec)))
			},
			want: StateOff, refusals: []string{"scheduled go dropped: " + ReasonLost},
		},
		{
			name: "a link lost at its very time drops it",
			hb:   2 * sec,
			run: func(t *testing.T, e *Engine, now time.Time) []string {
				log := collect(nil, e.Schedule(now, now.Add(2*sec), osc(VerbForceGo, "sr", "9")))
				return collect(log, e.Advance(now.Add(3*sec)))
			},
			want: StateLost, refusals: []string{"scheduled force_go dropped: " + ReasonLost},
		},
		{
			name: "stop drops it",
			run: func(t *testing.T, e *Engine, now time.Time) []string {
				log := collect(nil, e.Schedule(now, now.Add(2*sec), osc(VerbGo, "sr", "23")))
				return collect(log, e.Stop(now.Add(sec)))
			},
			want: StateOff, refusals: []string{"scheduled go dropped: " + ReasonStopping},
		},
		{
			name: "more than 10s ahead is refused at once",
			run: func(t *testing.T, e *Engine, now time.Time) []string {
				return collect(nil, e.Schedule(now, now.Add(MaxScheduleAhead+time.Millisecond), osc(VerbGo, "sr", "23")))
			},
			want: StateOff, refusals: []string{ReasonTooFarAhead},
		},
		{
			name: "exactly 10s ahead is held",
			run: func(t *testing.T, e *Engine, now time.Time) []string {
				return collect(nil, e.Schedule(now, now.Add(MaxScheduleAhead), osc(VerbGo, "sr", "23")))
			},
			want: StateOff, scheduled: 1,
		},
		{
			name: "a past time tag applies at once",
			run: func(t *testing.T, e *Engine, now time.Time) []string {
				return collect(nil, e.Schedule(now, now.Add(-sec), osc(VerbGo, "sr", "23")))
			},
			want: StateGo, goEvents: 1,
		},
		{
			name: "a scheduled show-wide cue go is dropped by a hold",
			run: func(t *testing.T, e *Engine, now time.Time) []string {
				log := collect(nil, e.Apply(now, osc(VerbStandby, "sr", "23")))
				log = collect(log, e.Schedule(now, now.Add(2*sec), osc(VerbGoCue, "", "23")))
				log = collect(log, e.Apply(now.Add(sec), osc(VerbHold, "")))
				return collect(log, e.Advance(now.Add(3*sec)))
			},
			want: StateHold, refusals: []string{"scheduled go_cue dropped: " + ReasonHold},
		},
		{
			name: "a bad label is refused when it arrives",
			run: func(t *testing.T, e *Engine, now time.Time) []string {
				return collect(nil, e.Schedule(now, now.Add(sec), osc(VerbGo, "sr", strings.Repeat("x", 65))))
			},
			want: StateOff, refusals: []string{"65 bytes"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, tc.hb)
			log := tc.run(t, e, t0.Add(time.Second))
			if cs := mustState(t, e, "sr"); cs.State != tc.want {
				t.Errorf("sr is %s, want %s", cs.State, tc.want)
			}
			var refusals []string
			gos := 0
			for _, l := range log {
				if r, ok := strings.CutPrefix(l, "refused: "); ok {
					refusals = append(refusals, r)
				}
				if l == "go sr" {
					gos++
				}
			}
			if len(refusals) != len(tc.refusals) {
				t.Fatalf("refusals %q, want %q", refusals, tc.refusals)
			}
			for i := range refusals {
				if !strings.Contains(refusals[i], tc.refusals[i]) {
					t.Errorf("refusal %d: %q, want it to contain %q", i, refusals[i], tc.refusals[i])
				}
			}
			if gos != tc.goEvents {
				t.Errorf("%d go events on sr, want %d (log %q)", gos, tc.goEvents, log)
			}
			if got := e.Scheduled(); got != tc.scheduled {
				t.Errorf("%d commands still scheduled, want %d", got, tc.scheduled)
			}
		})
	}
}

// collect appends a result's events ("kind channel") and refusals
// ("refused: reason") to log.
func collect(log []string, res Result) []string {
	for _, ev := range res.Events {
		log = append(log, string(ev.Kind)+" "+ev.Channel)
	}
	for _, r := range res.Refused {
		log = append(log, "refused: "+r.Reason)
	}
	return log
}

// TestScheduleRefusedEventOnChannel checks that a dropped channel command
// is a refused event on its channel, carrying its label, so the booth
// sees on MQTT which GO did not fire and why.
func TestScheduleRefusedEventOnChannel(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 0)
	now := t0.Add(time.Second)
	e.Schedule(now, now.Add(time.Second), osc(VerbGo, "sr", "42"))
	res := e.Apply(now.Add(500*time.Millisecond), osc(VerbHold, ""))
	var refused []Event
	for _, ev := range res.Events {
		if ev.Kind == EventRefused {
			refused = append(refused, ev)
		}
	}
	if len(refused) != 1 || refused[0].Channel != "sr" || refused[0].Label != "42" || !strings.Contains(refused[0].Reason, "scheduled go dropped") {
		t.Fatalf("refused events %+v, want one on sr for cue 42", refused)
	}
	// The refusal is reported before the hold itself.
	if got := kinds(res.Events); got[0] != "refused sr" {
		t.Errorf("events %q: the dropped GO should be reported first", got)
	}
}

// TestScheduleOrder checks that commands due at the same instant run in
// the order they arrived, and that a scheduled command is not "the booth
// heard" at its time (it cannot restore a lost link) while its arrival is.
func TestScheduleOrder(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 5*time.Second)
	now := t0.Add(time.Second)
	due := now.Add(2 * time.Second)
	e.Schedule(now, due, osc(VerbStandby, "sr", "1"))
	e.Schedule(now, due, osc(VerbStandby, "sr", "2"))
	e.Schedule(now, due.Add(-time.Second), osc(VerbStandby, "sl", "0"))
	res := e.Advance(due)
	var labels []string
	for _, ev := range res.Events {
		labels = append(labels, ev.Channel+"="+ev.Label)
	}
	if want := []string{"sl=0", "sr=1", "sr=2"}; !slices.Equal(labels, want) {
		t.Errorf("ran %q, want %q", labels, want)
	}
	// Heard at arrival (now), not at the due time: the link is lost 5s
	// after now.
	e.Advance(now.Add(5 * time.Second))
	if e.Link() != "lost" {
		t.Errorf("link %s 5s after the arrival, want lost: a scheduled command's run is not the booth heard", e.Link())
	}
}

// TestStop checks the final states of a clean stop: every channel not off
// goes off with no event, and nothing is left waiting.
func TestStop(t *testing.T) {
	t.Parallel()
	e := newEngine(t, 0)
	now := t0.Add(time.Second)
	e.Apply(now, osc(VerbStandby, "sr", "1"))
	e.Apply(now, osc(VerbGo, "sl", "1"))
	res := e.Stop(now.Add(time.Second))
	var changed []string
	for _, cs := range res.Changed {
		changed = append(changed, cs.Channel+"="+cs.State.String())
	}
	if want := []string{"sl=off", "sr=off"}; !slices.Equal(changed, want) {
		t.Errorf("changed %q, want %q", changed, want)
	}
	if len(res.Events) != 0 {
		t.Errorf("events %q at stop, want none", kinds(res.Events))
	}
	for _, o := range e.Outputs(now.Add(time.Second), nil) {
		if o.Level != 0 {
			t.Errorf("%s/%s at %g after Stop, want dark", o.Channel, o.Role, o.Level)
		}
	}
}

// TestCheckLabel checks the label rule on every path: at most 64 bytes of
// UTF-8, no control characters, refused (never cut) otherwise.
func TestCheckLabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		label string
		ok    bool
	}{
		{"", true},
		{"23", true},
		{"23.5", true},
		{"LX 23 — Act II", true},
		{strings.Repeat("x", 64), true},
		{strings.Repeat("é", 32), true}, // 64 bytes
		{strings.Repeat("x", 65), false},
		{strings.Repeat("x", 2000), false},
		{"23\n", false},
		{"a\x00b", false},
		{"bell\x07", false},
		{"del\x7f", false},
		{"c1\u0085", false},
		{"\xff\xfe", false},
	}
	for _, tc := range tests {
		err := CheckLabel(tc.label)
		if (err == nil) != tc.ok {
			t.Errorf("CheckLabel(%q) = %v, want ok=%v", tc.label, err, tc.ok)
		}
	}
	// Through Apply: refused with a reason, nothing changed, the bad label
	// not echoed.
	e := newEngine(t, 0)
	res := e.Apply(t0.Add(time.Second), osc(VerbStandby, "sr", strings.Repeat("x", 2000)))
	if len(res.Changed) != 0 || len(res.Refused) != 1 || !strings.Contains(res.Refused[0].Reason, "2000 bytes") {
		t.Fatalf("2000-byte label: %+v, want one refusal naming its length", res)
	}
	if len(res.Events) != 1 || res.Events[0].Kind != EventRefused || res.Events[0].Label != "" {
		t.Errorf("events %+v, want one refused event without the label", res.Events)
	}
	if !slices.Equal(res.Touched, []string{"sr"}) {
		t.Errorf("touched %q, want sr (the sender gets its state)", res.Touched)
	}
	res = e.Apply(t0.Add(time.Second), osc(VerbGoCue, "", "a\tb"))
	if len(res.Refused) != 1 || len(res.Events) != 0 {
		t.Errorf("cue go with a tab: %+v, want a show-wide refusal and no event", res)
	}
}
