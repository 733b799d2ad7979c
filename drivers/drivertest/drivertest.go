// Package drivertest has fakes of the drivers interfaces for tests, in the
// style of periph.io's gpiotest: exported state guarded by an embedded
// mutex, a write log with timestamps from an injected clock, and an
// edge-injection channel for buttons.
//
// Strict fakes (NewStrictBoard, NewStrictLamp) fail the test on any write
// nobody declared with Expect: that is how "no spurious cue" and "dark at
// start" become unit tests.
//
//	clk := clockwork.NewFakeClock()
//	b := drivertest.NewStrictBoard(t, clk)
//	station := newStation(b) // opens GPIO17 dark: no write, nothing expected
//	b.Expect("GPIO17", 1)    // the only write allowed: the standby lamp lit
//	station.Standby("fly")
//
// Unmet expectations are reported when the test ends.
package drivertest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/drivers"
)

// Write is one write to a fake output.
type Write struct {
	At    time.Time // the fake's clock when it was written
	Level float64   // lamp level 0..1; a signal writes 0 (off) or 1 (on)
	Halt  bool      // written by Halt (Level is 0)
}

// String returns "1@19:30:00.020" or "halt@19:30:00.020".
func (w Write) String() string {
	at := w.At.Format("15:04:05.000")
	if w.Halt {
		return "halt@" + at
	}
	return fmt.Sprintf("%g@%s", w.Level, at)
}

// Lamp is a fake drivers.Lamp.
type Lamp struct {
	// N is the pin name. Immutable.
	N string
	// Clock stamps the writes. Set before use; nil means real time.
	Clock clockwork.Clock
	// Strict, when set, checks every Set against its expectations.
	Strict *Strict

	// Lock the mutex before touching the fields below while the lamp is in
	// use; Level and Writes do it for you.
	sync.Mutex
	// L is the last level written.
	L float64
	// Log is every write, in order, Halt included.
	Log []Write
	// Err, when set, is returned by Set, which then writes nothing.
	Err error
	// Halted is set by the board's Halt: Set fails with drivers.ErrHalted.
	Halted bool
}

// NewLamp returns a dark fake lamp on pin name.
func NewLamp(name string, clk clockwork.Clock) *Lamp {
	return &Lamp{N: name, Clock: clk}
}

// Set implements drivers.Lamp. A level above 1 is taken as 1, below 0 as
// 0; NaN is an error.
func (l *Lamp) Set(level float64) error {
	level, err := clampLevel(l.N, level)
	if err != nil {
		return err
	}
	l.Lock()
	if l.Err != nil || l.Halted {
		err := l.Err
		if l.Halted {
			err = fmt.Errorf("drivertest: %s: %w", l.N, drivers.ErrHalted)
		}
		l.Unlock()
		return err
	}
	at := now(l.Clock)
	l.L = level
	l.Log = append(l.Log, Write{At: at, Level: level})
	l.Unlock()
	if l.Strict != nil {
		l.Strict.check(l.N, level, at)
	}
	return nil
}

// Halt implements drivers.Lamp: dark, always allowed, logged.
func (l *Lamp) Halt() error { return l.halt(false) }

// halt drives the lamp dark; latch also refuses every later Set, in the
// same critical section, so no Set can slip in between.
func (l *Lamp) halt(latch bool) error {
	l.Lock()
	defer l.Unlock()
	l.Halted = l.Halted || latch
	l.L = 0
	l.Log = append(l.Log, Write{At: now(l.Clock), Halt: true})
	return nil
}

// Name implements drivers.Lamp.
func (l *Lamp) Name() string { return l.N }

// Level returns the last level written.
func (l *Lamp) Level() float64 {
	l.Lock()
	defer l.Unlock()
	return l.L
}

// Writes returns a copy of the write log.
func (l *Lamp) Writes() []Write {
	l.Lock()
	defer l.Unlock()
	return append([]Write(nil), l.Log...)
}

// Signal is a fake drivers.Signal.
type Signal struct {
	// N is the pin name. Immutable.
	N string
	// Clock stamps the writes. Set before use; nil means real time.
	Clock clockwork.Clock
	// Strict, when set, checks every Set against its expectations
	// (1 for on, 0 for off).
	Strict *Strict

	// Lock the mutex before touching the fields below while the signal is
	// in use; On and Writes do it for you.
	sync.Mutex
	// Driven is the last state written.
	Driven bool
	// Log is every write, in order, Halt included.
	Log []Write
	// Err, when set, is returned by Set, which then writes nothing.
	Err error
	// Halted is set by the board's Halt: Set fails with drivers.ErrHalted.
	Halted bool
}

// NewSignal returns a fake signal on pin name, off.
func NewSignal(name string, clk clockwork.Clock) *Signal {
	return &Signal{N: name, Clock: clk}
}

// Set implements drivers.Signal.
func (s *Signal) Set(on bool) error {
	s.Lock()
	if s.Err != nil || s.Halted {
		err := s.Err
		if s.Halted {
			err = fmt.Errorf("drivertest: %s: %w", s.N, drivers.ErrHalted)
		}
		s.Unlock()
		return err
	}
	at := now(s.Clock)
	s.Driven = on
	level := 0.0
	if on {
		level = 1
	}
	s.Log = append(s.Log, Write{At: at, Level: level})
	s.Unlock()
	if s.Strict != nil {
		s.Strict.check(s.N, level, at)
	}
	return nil
}

// Halt implements drivers.Signal: off, always allowed, logged.
func (s *Signal) Halt() error { return s.halt(false) }

func (s *Signal) halt(latch bool) error {
	s.Lock()
	defer s.Unlock()
	s.Halted = s.Halted || latch
	s.Driven = false
	s.Log = append(s.Log, Write{At: now(s.Clock), Halt: true})
	return nil
}

// Name implements drivers.Signal.
func (s *Signal) Name() string { return s.N }

// On returns the last state written.
func (s *Signal) On() bool {
	s.Lock()
	defer s.Unlock()
	return s.Driven
}

// Writes returns a copy of the write log.
func (s *Signal) Writes() []Write {
	s.Lock()
	defer s.Unlock()
	return append([]Write(nil), s.Log...)
}

func now(clk clockwork.Clock) time.Time {
	if clk == nil {
		return time.Now()
	}
	return clk.Now()
}

func clampLevel(pin string, level float64) (float64, error) {
	switch {
	case math.IsNaN(level):
		return 0, fmt.Errorf("drivertest: %s: level is NaN", pin)
	case level < 0:
		return 0, nil
	case level > 1:
		return 1, nil
	}
	return level, nil
}

// Button is a fake drivers.Button.
//
// Edge injects a raw level (true = pressed): Run stamps it with
// Clock.Now() and debounces it in drivers.RunButton on Clock, the loop of
// every real backend, so a test sees settling, lock-out and stuck faults
// exactly as a station would. Events injects events that are already
// debounced: Run forwards them unchanged (an empty Pin becomes N, a zero
// At becomes Clock.Now()). Events is unbuffered: a send returns once Run
// has taken it. Never close it.
type Button struct {
	// N is the pin name. Immutable.
	N string
	// Options are the debouncer's timings. Set before Run.
	Options drivers.ButtonOptions
	// Clock times the debouncer and stamps edges. Set before Run; nil
	// means real time.
	Clock clockwork.Clock
	// Events injects debounced events.
	Events chan drivers.ButtonEvent

	// Lock the mutex before touching the fields below while the button
	// is in use.
	sync.Mutex
	// Err, when set, is returned by Run at once.
	Err error
	// Runs counts the calls of Run.
	Runs int
	// Running is true while Run watches.
	Running bool
	// Halted is set by Halt: Run returns, and later calls fail with
	// drivers.ErrHalted.
	Halted bool

	halt  chan struct{}
	edges chan edge
}

// edge is a raw level on its way to Run, with a channel closed once Run
// has stamped it.
type edge struct {
	pressed bool
	stamped chan struct{}
}

// Edge injects a raw level (true = pressed) and returns once Run has
// stamped it with Clock.Now(): a test that advances the clock after Edge
// returns never moves an edge's time. Edge blocks until Run takes it.
func (b *Button) Edge(pressed bool) {
	e := edge{pressed: pressed, stamped: make(chan struct{})}
	b.edges <- e
	<-e.stamped
}

// NewButton returns a fake button on pin name.
func NewButton(name string, o drivers.ButtonOptions, clk clockwork.Clock) *Button {
	return &Button{
		N: name, Options: o, Clock: clk,
		edges: make(chan edge), Events: make(chan drivers.ButtonEvent),
		halt: make(chan struct{}),
	}
}

// errRunTwice is returned by Run called while it already runs.
var errRunTwice = errors.New("drivertest: Run called while running")

// Run implements drivers.Button. It returns nil when stopped by Halt.
func (b *Button) Run(ctx context.Context, out chan<- drivers.ButtonEvent) error {
	b.Lock()
	switch {
	case b.Err != nil:
		b.Runs++
		b.Unlock()
		return b.Err
	case b.Running:
		b.Unlock()
		return fmt.Errorf("drivertest: %s: %w", b.N, errRunTwice)
	case b.Halted:
		b.Unlock()
		return fmt.Errorf("drivertest: %s: %w", b.N, drivers.ErrHalted)
	}
	if b.halt == nil {
		b.halt = make(chan struct{})
	}
	b.Runs++
	b.Running = true
	halt := b.halt
	b.Unlock()
	defer func() {
		b.Lock()
		b.Running = false
		b.Unlock()
	}()

	clk := b.Clock
	if clk == nil {
		clk = clockwork.NewRealClock()
	}
	return drivers.RunButton(ctx, halt, (*contact)(b), drivers.LoopOptions{
		Pin: b.N, Button: b.Options, Clock: clk, Baseline: drivers.RawSample{At: clk.Now()},
	}, out)
}

// contact is the fake button as drivers.RunButton sees it: raw levels
// from Edge, stamped with the clock, and debounced events from Events.
type contact Button

// Wait implements drivers.Contact.
func (c *contact) Wait(ctx context.Context, halt <-chan struct{}, tick <-chan time.Time, _ time.Duration) drivers.Batch {
	b := (*Button)(c)
	clk := b.Clock
	if clk == nil {
		clk = clockwork.NewRealClock()
	}
	select {
	case <-ctx.Done():
	case <-halt:
	case e := <-b.edges:
		at := clk.Now()
		close(e.stamped)
		return drivers.Batch{Samples: []drivers.RawSample{{Pressed: e.pressed, At: at}}}
	case ev := <-b.Events:
		return drivers.Batch{Events: []drivers.ButtonEvent{ev}}
	case <-tick:
		return drivers.Batch{Ticked: true}
	}
	return drivers.Batch{}
}

// Halt implements drivers.Button: Run returns nil, and later calls fail.
func (b *Button) Halt() error {
	b.Lock()
	defer b.Unlock()
	if b.halt == nil {
		b.halt = make(chan struct{})
	}
	if !b.Halted {
		b.Halted = true
		close(b.halt)
	}
	return nil
}

// Name implements drivers.Button.
func (b *Button) Name() string { return b.N }

var (
	_ drivers.Lamp   = (*Lamp)(nil)
	_ drivers.Signal = (*Signal)(nil)
	_ drivers.Button = (*Button)(nil)
)
