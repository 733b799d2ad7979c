package drivertest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/drivers"
)

// Kind is what a pin was opened as.
type Kind string

// Kinds of opened pins.
const (
	KindLamp   Kind = "lamp"
	KindSignal Kind = "signal"
	KindButton Kind = "button"
)

// Opened records one pin opened through a Board.
type Opened struct {
	Pin     string
	Kind    Kind
	Options drivers.PinOptions
	// Button holds the options of a button (Kind == KindButton).
	Button drivers.ButtonOptions
}

// Board is a fake drivers.Board. It records every pin opened, with its
// options, and hands out fake Lamps, Signals and Buttons whose state tests
// inspect. Like a real board it opens outputs dark without writing, refuses
// a pin opened twice (drivers.ErrBusy) and, once halted, stays dark.
type Board struct {
	// Clock is given to every fake opened. Set before use; nil means real
	// time.
	Clock clockwork.Clock

	// Lock the mutex before touching the fields below while the board is
	// in use; the Fake* methods do it for you.
	sync.Mutex
	// Opened lists every pin opened, in order.
	Opened []Opened
	// Lamps, Signals and Buttons hold the fakes opened, by pin.
	Lamps   map[string]*Lamp
	Signals map[string]*Signal
	Buttons map[string]*Button
	// OpenErr makes opening a pin fail with the error given (for example
	// drivers.ErrBusy or drivers.ErrUnknownPin).
	OpenErr map[string]error
	// Halted is set by Halt; Halts counts its calls.
	Halted bool
	Halts  int

	strict *Strict
}

// NewBoard returns an empty fake board.
func NewBoard(clk clockwork.Clock) *Board {
	return &Board{
		Clock:   clk,
		Lamps:   map[string]*Lamp{},
		Signals: map[string]*Signal{},
		Buttons: map[string]*Button{},
		OpenErr: map[string]error{},
	}
}

// StrictBoard is a Board whose lamps and signals fail the test on any Set
// that was not declared with Expect. Halt is always allowed.
type StrictBoard struct {
	*Board
	*Strict
}

// NewStrictBoard returns a strict fake board that reports to tb.
func NewStrictBoard(tb testing.TB, clk clockwork.Clock) *StrictBoard {
	s := NewStrict(tb)
	b := NewBoard(clk)
	b.strict = s
	return &StrictBoard{Board: b, Strict: s}
}

func (b *Board) open(pin string, kind Kind) error {
	if b.Halted {
		return fmt.Errorf("drivertest: %s: %w", pin, drivers.ErrHalted)
	}
	if err := b.OpenErr[pin]; err != nil {
		return err
	}
	for _, o := range b.Opened {
		if o.Pin == pin {
			return fmt.Errorf("drivertest: %s: %w: already open as %s", pin, drivers.ErrBusy, o.Kind)
		}
	}
	return nil
}

// Lamp implements drivers.Board: a dark fake Lamp, with no write logged.
func (b *Board) Lamp(pin string, o drivers.PinOptions) (drivers.Lamp, error) {
	b.Lock()
	defer b.Unlock()
	if err := b.open(pin, KindLamp); err != nil {
		return nil, err
	}
	l := NewLamp(pin, b.Clock)
	l.Strict = b.strict
	b.Opened = append(b.Opened, Opened{Pin: pin, Kind: KindLamp, Options: o})
	b.Lamps[pin] = l
	return l, nil
}

// Signal implements drivers.Board: a fake Signal, off, with no write logged.
func (b *Board) Signal(pin string, o drivers.PinOptions) (drivers.Signal, error) {
	b.Lock()
	defer b.Unlock()
	if err := b.open(pin, KindSignal); err != nil {
		return nil, err
	}
	s := NewSignal(pin, b.Clock)
	s.Strict = b.strict
	b.Opened = append(b.Opened, Opened{Pin: pin, Kind: KindSignal, Options: o})
	b.Signals[pin] = s
	return s, nil
}

// Button implements drivers.Board: a fake Button with o's timings. Its
// clock is o.Clock, or the board's.
func (b *Board) Button(pin string, o drivers.ButtonOptions) (drivers.Button, error) {
	b.Lock()
	defer b.Unlock()
	if err := b.open(pin, KindButton); err != nil {
		return nil, err
	}
	clk := o.Clock
	if clk == nil {
		clk = b.Clock
	}
	btn := NewButton(pin, o, clk)
	b.Opened = append(b.Opened, Opened{Pin: pin, Kind: KindButton, Options: o.PinOptions, Button: o})
	b.Buttons[pin] = btn
	return btn, nil
}

// Halt implements drivers.Board: every output halted (logged) and latched
// halted, every button halted.
func (b *Board) Halt() error {
	b.Lock()
	defer b.Unlock()
	b.Halts++
	b.Halted = true
	var errs []error
	for _, o := range b.Opened {
		switch o.Kind {
		case KindLamp:
			errs = append(errs, b.Lamps[o.Pin].halt(true))
		case KindSignal:
			errs = append(errs, b.Signals[o.Pin].halt(true))
		case KindButton:
			errs = append(errs, b.Buttons[o.Pin].Halt())
		}
	}
	return errors.Join(errs...)
}

// FakeLamp returns the fake lamp opened on pin, or nil.
func (b *Board) FakeLamp(pin string) *Lamp {
	b.Lock()
	defer b.Unlock()
	return b.Lamps[pin]
}

// FakeSignal returns the fake signal opened on pin, or nil.
func (b *Board) FakeSignal(pin string) *Signal {
	b.Lock()
	defer b.Unlock()
	return b.Signals[pin]
}

// FakeButton returns the fake button opened on pin, or nil.
func (b *Board) FakeButton(pin string) *Button {
	b.Lock()
	defer b.Unlock()
	return b.Buttons[pin]
}

// Pins returns a copy of the list of pins opened, in order.
func (b *Board) Pins() []Opened {
	b.Lock()
	defer b.Unlock()
	return append([]Opened(nil), b.Opened...)
}

var _ drivers.Board = (*Board)(nil)
var _ drivers.Board = (*StrictBoard)(nil)
