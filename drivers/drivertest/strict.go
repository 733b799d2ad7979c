package drivertest

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// Strict holds the writes a test expects, per pin and in order, and fails
// the test (tb.Errorf) on any other: a write to a pin with nothing
// expected, or a level other than the next one expected. Expectations
// still unmet when the test ends fail it too. Halt is never checked: a
// return to dark is always allowed.
//
// Expectations are per pin, so the order of writes to different pins is
// free (goroutines); compare the fakes' write logs when it matters.
type Strict struct {
	tb testing.TB

	mu   sync.Mutex
	want map[string][]float64
	done bool
}

// NewStrict returns a Strict that reports to tb and checks, when tb's
// test ends, that every expected write happened.
func NewStrict(tb testing.TB) *Strict {
	s := &Strict{tb: tb, want: map[string][]float64{}}
	tb.Cleanup(s.finish)
	return s
}

// Expect declares the next writes to pin, in order: a lamp's level, or 1
// and 0 for a signal on and off.
func (s *Strict) Expect(pin string, levels ...float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.want[pin] = append(s.want[pin], levels...)
}

// Pending returns the expected writes not yet seen, as "GPIO17=1", sorted
// by pin.
func (s *Strict) Pending() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	pins := make([]string, 0, len(s.want))
	for p := range s.want {
		pins = append(pins, p)
	}
	sort.Strings(pins)
	for _, p := range pins {
		for _, l := range s.want[p] {
			out = append(out, fmt.Sprintf("%s=%g", p, l))
		}
	}
	return out
}

// check is called by the fakes for every Set.
func (s *Strict) check(pin string, level float64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return // the test is over; tb must not be used any more
	}
	q := s.want[pin]
	if len(q) == 0 {
		s.tb.Errorf("drivertest: unexpected write %s = %g at %s (nothing expected)", pin, level, at.Format("15:04:05.000"))
		return
	}
	next := q[0]
	s.want[pin] = slices.Delete(q, 0, 1)
	if len(s.want[pin]) == 0 {
		delete(s.want, pin)
	}
	if math.Abs(next-level) > 1e-9 {
		s.tb.Errorf("drivertest: unexpected write %s = %g at %s (expected %g)", pin, level, at.Format("15:04:05.000"), next)
	}
}

func (s *Strict) finish() {
	pending := s.Pending()
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	for _, p := range pending {
		s.tb.Errorf("drivertest: expected write %s never happened", p)
	}
}

// StrictLamp is a fake Lamp that fails the test on any Set not expected.
type StrictLamp struct {
	*Lamp
	*Strict
}

// NewStrictLamp returns a dark strict fake lamp on pin name that reports
// to tb.
func NewStrictLamp(tb testing.TB, name string, clk clockwork.Clock) *StrictLamp {
	s := NewStrict(tb)
	l := NewLamp(name, clk)
	l.Strict = s
	return &StrictLamp{Lamp: l, Strict: s}
}
