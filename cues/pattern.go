package cues

import (
	"fmt"
	"strconv"
	"time"
)

// Pattern is how a lamp is lit over time. Every pattern is a function of
// the offset from the engine's phase origin (Options.Start) alone, so all
// lamps showing one pattern flash in phase, on every channel, without drift
// and without per-channel timers.
//
// Each flashing pattern repeats with a period and starts its period lit
// (except PatternAlternateSecond, the second lamp of an alternation). An
// instant on an edge already shows the new level: a lamp lit on [0, 500ms)
// is dark at exactly 500ms.
type Pattern uint8

// The patterns (docs/protocol.md §2), with the Patterns field that times each.
const (
	PatternOff             Pattern = iota // always dark
	PatternSteady                         // always lit
	PatternSlow                           // lit for the first half of every Slow period
	PatternFast                           // lit for the first half of every Fast period
	PatternWink                           // lit for WinkOn at the start of every WinkEvery
	PatternAlternateFirst                 // lit for the first Alternate of every 2×Alternate
	PatternAlternateSecond                // lit for the second Alternate of every 2×Alternate
	PatternDouble                         // lit 0–120ms and 240–360ms of every DoubleEvery
)

var patternNames = [...]string{"off", "steady", "slow", "fast", "wink", "alternate_first", "alternate_second", "double"}

// String returns "off", "steady", "slow", "fast", "wink", "alternate_first",
// "alternate_second" or "double".
func (p Pattern) String() string {
	if int(p) < len(patternNames) {
		return patternNames[p]
	}
	return "Pattern(" + strconv.Itoa(int(p)) + ")"
}

// DoubleBlink is the length of each of the two blinks of PatternDouble and
// of the dark gap between them.
const DoubleBlink = 120 * time.Millisecond

// MinPatternDuration is the shortest duration Patterns.Validate accepts for
// any field: a lamp (or a relay) cannot usefully flash faster, and a station
// must not be woken more often.
const MinPatternDuration = 10 * time.Millisecond

// Patterns holds the timings of the lamp patterns (configuration key
// `patterns:`). A zero field means its default (DefaultPatterns).
type Patterns struct {
	Slow        time.Duration // period of the slow flash, 50 % duty (default 1s)
	Fast        time.Duration // period of the fast flash, 50 % duty (default 250ms)
	WinkOn      time.Duration // how long a wink is lit (default 150ms)
	WinkEvery   time.Duration // period of the wink (default 2s)
	Alternate   time.Duration // how long each lamp of an alternation is lit (default 500ms)
	DoubleEvery time.Duration // period of the double blink (default 1s)
}

// DefaultPatterns returns the timings of docs/protocol.md §2: slow 1s, fast 250ms,
// wink 150ms every 2s, alternate 500ms, double blink every 1s.
func DefaultPatterns() Patterns {
	return Patterns{
		Slow:        time.Second,
		Fast:        250 * time.Millisecond,
		WinkOn:      150 * time.Millisecond,
		WinkEvery:   2 * time.Second,
		Alternate:   500 * time.Millisecond,
		DoubleEvery: time.Second,
	}
}

// withDefaults returns p with every zero field set to its default.
func (p Patterns) withDefaults() Patterns {
	d := DefaultPatterns()
	for _, f := range []struct{ v, def *time.Duration }{
		{&p.Slow, &d.Slow}, {&p.Fast, &d.Fast}, {&p.WinkOn, &d.WinkOn},
		{&p.WinkEvery, &d.WinkEvery}, {&p.Alternate, &d.Alternate}, {&p.DoubleEvery, &d.DoubleEvery},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return p
}

// Validate checks timings as New will use them (zero fields take their
// defaults): every duration at least MinPatternDuration, WinkOn shorter than
// WinkEvery, and DoubleEvery at least 4×DoubleBlink (two blinks, the gap
// between them, and a gap after them at least as long). The error wraps
// ErrInvalidOptions and names the configuration key.
func (p Patterns) Validate() error {
	p = p.withDefaults()
	for _, f := range []struct {
		key string
		v   time.Duration
	}{
		{"slow", p.Slow}, {"fast", p.Fast}, {"wink_on", p.WinkOn},
		{"wink_every", p.WinkEvery}, {"alternate", p.Alternate}, {"double_every", p.DoubleEvery},
	} {
		if f.v < MinPatternDuration {
			return fmt.Errorf("%w: patterns.%s: %v is shorter than %v", ErrInvalidOptions, f.key, f.v, MinPatternDuration)
		}
	}
	if p.WinkOn >= p.WinkEvery {
		return fmt.Errorf("%w: patterns.wink_on: %v must be shorter than wink_every (%v)", ErrInvalidOptions, p.WinkOn, p.WinkEvery)
	}
	if p.DoubleEvery < 4*DoubleBlink {
		return fmt.Errorf("%w: patterns.double_every: %v is shorter than %v (two %v blinks and their gaps)", ErrInvalidOptions, p.DoubleEvery, 4*DoubleBlink, DoubleBlink)
	}
	return nil
}

// shape describes one period of a flashing pattern: the level at the start
// of the period (lit) and the offsets within the period where the level
// toggles. Every shape has an odd number of toggles, so the wrap to the
// next period is an edge too. steady reports a pattern that never changes.
type shape struct {
	period time.Duration
	toggle [3]time.Duration
	n      int
	lit    bool // level at the start of each period
}

func (p Patterns) shape(pat Pattern) (s shape, steady bool) {
	switch pat {
	case PatternSlow:
		return shape{period: p.Slow, toggle: [3]time.Duration{p.Slow / 2}, n: 1, lit: true}, false
	case PatternFast:
		return shape{period: p.Fast, toggle: [3]time.Duration{p.Fast / 2}, n: 1, lit: true}, false
	case PatternWink:
		return shape{period: p.WinkEvery, toggle: [3]time.Duration{p.WinkOn}, n: 1, lit: true}, false
	case PatternAlternateFirst:
		return shape{period: 2 * p.Alternate, toggle: [3]time.Duration{p.Alternate}, n: 1, lit: true}, false
	case PatternAlternateSecond:
		return shape{period: 2 * p.Alternate, toggle: [3]time.Duration{p.Alternate}, n: 1, lit: false}, false
	case PatternDouble:
		return shape{period: p.DoubleEvery, toggle: [3]time.Duration{DoubleBlink, 2 * DoubleBlink, 3 * DoubleBlink}, n: 3, lit: true}, false
	case PatternSteady:
		return shape{lit: true}, true
	}
	return shape{}, true // PatternOff and anything unknown: dark
}

// phase returns d modulo period, in [0, period), also for negative d
// (instants before the phase origin).
func phase(d, period time.Duration) time.Duration {
	m := d % period
	if m < 0 {
		m += period
	}
	return m
}

// On reports whether pattern pat is lit at offset d from the phase origin.
// p must be valid (see Validate); zero fields take their defaults.
func (p Patterns) On(pat Pattern, d time.Duration) bool {
	s, steady := p.withDefaults().shape(pat)
	if steady {
		return s.lit
	}
	return s.on(d)
}

func (s *shape) on(d time.Duration) bool {
	m := phase(d, s.period)
	lit := s.lit
	for i := 0; i < s.n && s.toggle[i] <= m; i++ {
		lit = !lit
	}
	return lit
}

// Next returns the first offset after d at which pattern pat changes level,
// and false for a pattern that never changes (off, steady).
// p must be valid (see Validate); zero fields take their defaults.
func (p Patterns) Next(pat Pattern, d time.Duration) (time.Duration, bool) {
	s, steady := p.withDefaults().shape(pat)
	if steady {
		return 0, false
	}
	return s.next(d), true
}

func (s *shape) next(d time.Duration) time.Duration {
	m := phase(d, s.period)
	for i := 0; i < s.n; i++ {
		if s.toggle[i] > m {
			return d + s.toggle[i] - m
		}
	}
	return d + s.period - m
}
