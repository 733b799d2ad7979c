package cues

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

var allPatterns = []Pattern{PatternOff, PatternSteady, PatternSlow, PatternFast, PatternWink, PatternAlternateFirst, PatternAlternateSecond, PatternDouble}

// TestPatternLevels checks every pattern at chosen instants with the
// default timings of docs/protocol.md §2, edges and instants before the origin
// included.
func TestPatternLevels(t *testing.T) {
	t.Parallel()
	type at struct {
		d  time.Duration
		on bool
	}
	tests := []struct {
		name string
		p    Pattern
		at   []at
	}{
		{"off is always dark", PatternOff, []at{{0, false}, {time.Hour, false}, {-time.Second, false}}},
		{"steady is always lit", PatternSteady, []at{{0, true}, {time.Hour, true}, {-time.Second, true}}},
		{"slow flash is lit the first half of 1s", PatternSlow, []at{
			{0, true}, {499 * ms, true}, {500 * ms, false}, {999 * ms, false}, {time.Second, true},
			{3600*time.Second + 250*ms, true}, {-1 * ms, false}, {-500 * ms, false}, {-501 * ms, true}, {-1000 * ms, true}}},
		{"fast flash is lit the first half of 250ms", PatternFast, []at{
			{0, true}, {124 * ms, true}, {125 * ms, false}, {249 * ms, false}, {250 * ms, true}, {375 * ms, false}, {-1 * ms, false}}},
		{"wink is lit 150ms every 2s", PatternWink, []at{
			{0, true}, {149 * ms, true}, {150 * ms, false}, {1999 * ms, false}, {2 * time.Second, true}, {2149 * ms, true}, {2150 * ms, false}}},
		{"first alternate lamp is lit the first 500ms of 1s", PatternAlternateFirst, []at{
			{0, true}, {499 * ms, true}, {500 * ms, false}, {999 * ms, false}, {1000 * ms, true}}},
		{"second alternate lamp is lit the second 500ms of 1s", PatternAlternateSecond, []at{
			{0, false}, {499 * ms, false}, {500 * ms, true}, {999 * ms, true}, {1000 * ms, false}}},
		{"double blink is two 120ms blinks every 1s", PatternDouble, []at{
			{0, true}, {119 * ms, true}, {120 * ms, false}, {239 * ms, false}, {240 * ms, true}, {359 * ms, true},
			{360 * ms, false}, {999 * ms, false}, {1000 * ms, true}, {1120 * ms, false}, {1240 * ms, true}}},
	}
	ps := DefaultPatterns()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, a := range tc.at {
				if got := ps.On(tc.p, a.d); got != a.on {
					t.Errorf("On(%s, %v) = %v, want %v", tc.p, a.d, got, a.on)
				}
			}
		})
	}
}

// TestPatternDuty measures, millisecond by millisecond over one period, how
// long each pattern is lit.
func TestPatternDuty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		p      Pattern
		period time.Duration
		lit    time.Duration
	}{
		{"slow 50%", PatternSlow, time.Second, 500 * ms},
		{"fast 50%", PatternFast, 250 * ms, 125 * ms},
		{"wink 150ms", PatternWink, 2 * time.Second, 150 * ms},
		{"alternate first 500ms", PatternAlternateFirst, time.Second, 500 * ms},
		{"alternate second 500ms", PatternAlternateSecond, time.Second, 500 * ms},
		{"double 2×120ms", PatternDouble, time.Second, 240 * ms},
	}
	ps := DefaultPatterns()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, origin := range []time.Duration{0, 7 * tc.period, -3 * tc.period} {
				var lit time.Duration
				for d := origin; d < origin+tc.period; d += ms {
					if ps.On(tc.p, d) {
						lit += ms
					}
				}
				if lit != tc.lit {
					t.Errorf("period from %v: lit %v, want %v", origin, lit, tc.lit)
				}
			}
		})
	}
}

// TestAlternateLampsNeverTogether checks that the two lamps of an
// alternation are never lit together nor dark together.
func TestAlternateLampsNeverTogether(t *testing.T) {
	t.Parallel()
	ps := Patterns{Alternate: 333 * ms}
	for d := -2 * time.Second; d < 2*time.Second; d += ms {
		if ps.On(PatternAlternateFirst, d) == ps.On(PatternAlternateSecond, d) {
			t.Fatalf("at %v both alternate lamps are %v", d, ps.On(PatternAlternateFirst, d))
		}
	}
}

// TestPatternNext checks the next edge at chosen instants.
func TestPatternNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Pattern
		d    time.Duration
		want time.Duration
	}{
		{"slow from origin", PatternSlow, 0, 500 * ms},
		{"slow on an edge goes to the following edge", PatternSlow, 500 * ms, time.Second},
		{"slow mid dark half", PatternSlow, 700 * ms, time.Second},
		{"slow before origin", PatternSlow, -200 * ms, 0},
		{"fast", PatternFast, 130 * ms, 250 * ms},
		{"wink lit", PatternWink, 100 * ms, 150 * ms},
		{"wink dark", PatternWink, 151 * ms, 2 * time.Second},
		{"alternate first", PatternAlternateFirst, 10 * ms, 500 * ms},
		{"alternate second", PatternAlternateSecond, 600 * ms, time.Second},
		{"double first blink", PatternDouble, 0, 120 * ms},
		{"double gap", PatternDouble, 120 * ms, 240 * ms},
		{"double second blink", PatternDouble, 300 * ms, 360 * ms},
		{"double rest", PatternDouble, 360 * ms, time.Second},
		{"double late period", PatternDouble, 5*time.Second + 999*ms, 6 * time.Second},
	}
	ps := DefaultPatterns()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ps.Next(tc.p, tc.d)
			if !ok || got != tc.want {
				t.Errorf("Next(%s, %v) = %v, %v; want %v, true", tc.p, tc.d, got, ok, tc.want)
			}
		})
	}
	for _, p := range []Pattern{PatternOff, PatternSteady} {
		if _, ok := ps.Next(p, 0); ok {
			t.Errorf("Next(%s) reports an edge; it never changes", p)
		}
	}
}

// TestPatternNextProperty checks, for random timings and instants, that a
// pattern holds its level from d up to Next(d) and changes exactly there.
func TestPatternNextProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		ps := Patterns{
			Slow:        time.Duration(10+rng.IntN(3000)) * ms,
			Fast:        time.Duration(10+rng.IntN(500))*ms + time.Duration(rng.IntN(1000)),
			WinkOn:      time.Duration(10+rng.IntN(200)) * ms,
			WinkEvery:   time.Duration(300+rng.IntN(3000)) * ms,
			Alternate:   time.Duration(10+rng.IntN(1000)) * ms,
			DoubleEvery: time.Duration(480+rng.IntN(2000)) * ms,
		}
		if err := ps.Validate(); err != nil {
			t.Fatalf("Validate(%+v): %v", ps, err)
		}
		for _, p := range allPatterns[2:] {
			d := time.Duration(rng.Int64N(int64(20*time.Second))) - 10*time.Second
			next, ok := ps.Next(p, d)
			if !ok || next <= d {
				t.Fatalf("%+v: Next(%s, %v) = %v, %v", ps, p, d, next, ok)
			}
			on := ps.On(p, d)
			for _, s := range []time.Duration{d + (next-d)/3, d + (next-d)/2, next - 1} {
				if ps.On(p, s) != on {
					t.Fatalf("%+v: %s changes at %v, before Next(%v) = %v", ps, p, s, d, next)
				}
			}
			if ps.On(p, next) == on {
				t.Fatalf("%+v: %s does not change at Next(%v) = %v", ps, p, d, next)
			}
		}
	}
}

// TestPatternsZeroFieldsTakeDefaults checks that a show changing one timing
// keeps the defaults of the others.
func TestPatternsZeroFieldsTakeDefaults(t *testing.T) {
	t.Parallel()
	ps := Patterns{Slow: 2 * time.Second}
	if !ps.On(PatternSlow, 999*ms) || ps.On(PatternSlow, time.Second) {
		t.Error("slow flash does not use the show's 2s period")
	}
	if ps.On(PatternFast, 125*ms) || !ps.On(PatternFast, 250*ms) {
		t.Error("fast flash does not keep its default 250ms period")
	}
	if got := (Patterns{}).withDefaults(); got != DefaultPatterns() {
		t.Errorf("zero Patterns = %+v, want the defaults %+v", got, DefaultPatterns())
	}
}

func TestPatternsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ps   Patterns
		ok   bool
	}{
		{"defaults", DefaultPatterns(), true},
		{"zero is defaults", Patterns{}, true},
		{"shortest allowed", Patterns{Slow: MinPatternDuration, Fast: MinPatternDuration, WinkOn: MinPatternDuration, WinkEvery: 2 * MinPatternDuration, Alternate: MinPatternDuration, DoubleEvery: 4 * DoubleBlink}, true},
		{"negative slow", Patterns{Slow: -time.Second}, false},
		{"fast too short", Patterns{Fast: time.Millisecond}, false},
		{"wink on as long as its period", Patterns{WinkOn: 2 * time.Second}, false},
		{"wink period below wink on", Patterns{WinkEvery: 100 * ms}, false},
		{"double blink period too short for two blinks", Patterns{DoubleEvery: 400 * ms}, false},
		{"alternate too short", Patterns{Alternate: 5 * ms}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.ps.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate(%+v) = %v, want ok %v", tc.ps, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("error %v does not wrap ErrInvalidOptions", err)
			}
		})
	}
}

func TestPatternString(t *testing.T) {
	t.Parallel()
	want := []string{"off", "steady", "slow", "fast", "wink", "alternate_first", "alternate_second", "double"}
	for i, p := range allPatterns {
		if p.String() != want[i] {
			t.Errorf("Pattern(%d).String() = %q, want %q", p, p.String(), want[i])
		}
	}
	if got := Pattern(99).String(); got != "Pattern(99)" {
		t.Errorf("Pattern(99).String() = %q", got)
	}
}
