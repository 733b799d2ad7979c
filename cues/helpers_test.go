package cues

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

const ms = time.Millisecond

// t0 is the phase origin and start-up time of every test engine.
var t0 = time.Date(2025, 3, 1, 19, 30, 0, 0, time.UTC)

// testShow is the show most tests use:
//
//	fly   two lamps, require_ack, go_requires_ack, call lamp and call out
//	sl    one lamp
//	sr    two lamps
//	trap  one lamp, call out
func testShow() []ChannelSpec {
	return []ChannelSpec{
		{Name: "fly", Label: "Fly rail", Lamps: 2, HasCallLamp: true, HasCallOut: true, RequireAck: true, GoRequiresAck: true},
		{Name: "sl", Label: "Stage left", Lamps: 1},
		{Name: "sr", Label: "Stage right", Lamps: 2},
		{Name: "trap", Label: "Trap room", Lamps: 1, HasCallOut: true},
	}
}

func newEngine(t testing.TB, hb time.Duration) *Engine {
	t.Helper()
	e, err := New(Options{Channels: testShow(), HeartbeatTimeout: hb, Start: t0})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// osc builds a command as the station builds it for an OSC message from an
// allowed booth address.
func osc(v Verb, ch string, label ...string) Command {
	c := Command{Verb: v, Channel: ch, Source: SourceOSC, FromBooth: true}
	if len(label) > 0 {
		c.Label, c.HasLabel = label[0], true
	}
	return c
}

// mqtt builds a command as the station builds it for a valid MQTT command:
// from the booth, like OSC (docs/protocol.md §6.3: cuectl, the desk page and
// a gateway reach a station through MQTT).
func mqtt(v Verb, ch string, label ...string) Command {
	c := osc(v, ch, label...)
	c.Source = SourceMQTT
	return c
}

// inner builds a command that is not "the booth heard": what a scheduled
// command is at its due time.
func inner(v Verb, ch string, label ...string) Command {
	c := osc(v, ch, label...)
	c.FromBooth = false
	return c
}

// button builds a button input.
func button(v Verb, ch string) Command {
	return Command{Verb: v, Channel: ch, Source: SourceButton}
}

func bright(ch string, v float64) Command {
	return Command{Verb: VerbBrightness, Channel: ch, Value: v, Source: SourceOSC, FromBooth: true}
}

// step is one input of a scripted sequence: a command (or, with tick, an
// Advance) after a delay from the previous step.
type step struct {
	after time.Duration
	cmd   Command
	tick  bool
}

func do(c Command) step                       { return step{after: 100 * ms, cmd: c} }
func doAfter(d time.Duration, c Command) step { return step{after: d, cmd: c} }
func tick(after time.Duration) step           { return step{after: after, tick: true} }

// run applies the steps from time from and returns the time and a copy of
// the result of the last one.
func run(e *Engine, from time.Time, steps []step) (time.Time, Result) {
	now := from
	var res Result
	for _, s := range steps {
		now = now.Add(s.after)
		if s.tick {
			res = e.Advance(now)
		} else {
			res = e.Apply(now, s.cmd)
		}
	}
	return now, copyResult(res)
}

func copyResult(r Result) Result {
	return Result{
		Changed: slices.Clone(r.Changed),
		Events:  slices.Clone(r.Events),
		Refused: slices.Clone(r.Refused),
		Touched: slices.Clone(r.Touched),
	}
}

// kinds lists a result's events as "kind channel".
func kinds(evs []Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, string(ev.Kind)+" "+ev.Channel)
	}
	return out
}

// each returns "kind ch" for every channel of the test show.
func each(kind string) []string {
	var out []string
	for _, sp := range testShow() {
		out = append(out, kind+" "+sp.Name)
	}
	return out
}

func cat(parts ...[]string) []string { return slices.Concat(parts...) }

// levels returns Outputs at now as "channel/role=level" strings.
func levels(e *Engine, now time.Time) []string {
	var out []string
	for _, o := range e.Outputs(now, nil) {
		out = append(out, fmt.Sprintf("%s/%s=%g", o.Channel, o.Role, o.Level))
	}
	return out
}

// level returns the level of one output at now.
func level(t testing.TB, e *Engine, now time.Time, ch string, role Role) float64 {
	t.Helper()
	for _, o := range e.Outputs(now, nil) {
		if o.Channel == ch && o.Role == role {
			return o.Level
		}
	}
	t.Fatalf("no output %s/%s", ch, role)
	return 0
}

func mustState(t testing.TB, e *Engine, ch string) ChannelState {
	t.Helper()
	cs, ok := e.Snapshot(ch)
	if !ok {
		t.Fatalf("Snapshot(%q): no such channel", ch)
	}
	return cs
}
