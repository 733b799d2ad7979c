// Package drivers defines the hardware a cuelight station touches, behind
// small interfaces: lamps, buttons and signal outputs. Every output has
// Halt(), a return to its safe state (dark, off). The station calls the
// board's Halt (Board.Halt: every output safe, every button stopped, the
// board latched halted) when it stops, cleanly or not, and when it fails
// to start. A lost controller link is not a halt: the lamps show the
// `lost` pattern (docs/protocol.md §6.3).
//
// Backends live in subpackages: drivers/gpio (periph.io, a Raspberry Pi),
// drivers/sim (a simulated board for demos and tests). Fakes for tests live
// in drivers/drivertest. Every backend watches its buttons with the same
// loop, RunButton, over a backend-specific Contact. The Raspberry Pi's
// board facts (header map, pin names, boot pulls) are in drivers/rpi.
//
// Levels here are logical: "on" means lit, driven or pressed, whatever
// active_low makes of it on the wire. Backends translate.
package drivers

import (
	"context"
	"errors"
	"time"
)

// ErrBusy is returned when a pin is already owned by another user
// (another process, a kernel overlay, or this station twice).
var ErrBusy = errors.New("drivers: pin busy")

// ErrUnknownPin is returned when a backend has no pin of the given name.
var ErrUnknownPin = errors.New("drivers: unknown pin")

// Lamp is one cue lamp output.
//
// Set(0) is dark; any level in (0, 1] is lit at that brightness. A backend
// without dimming lights the lamp fully for any level > 0. Implementations
// never read an output pin back: they keep what they wrote.
type Lamp interface {
	// Set drives the lamp at level, 0 (dark) to 1 (full).
	Set(level float64) error
	// Halt turns the lamp dark and leaves the output driven low (logical).
	Halt() error
	// Name is the pin name, e.g. "GPIO17".
	Name() string
}

// Signal is an on/off output that is not a lamp: a relay or opto-coupler on
// an intercom call input, a buzzer, a beacon.
type Signal interface {
	// Set drives the signal on or off.
	Set(on bool) error
	// Halt releases the signal (off).
	Halt() error
	// Name is the pin name.
	Name() string
}

// ButtonEventKind says what happened to a debounced button.
type ButtonEventKind uint8

const (
	// Press: the button went down (after debouncing).
	Press ButtonEventKind = iota + 1
	// Release: the button came up (after debouncing).
	Release
	// Stuck: the button has been held longer than its stuck_after limit.
	// Reported once; no press is reported again until it has been released.
	Stuck
)

// String returns "press", "release" or "stuck".
func (k ButtonEventKind) String() string {
	switch k {
	case Press:
		return "press"
	case Release:
		return "release"
	case Stuck:
		return "stuck"
	}
	return "unknown"
}

// ButtonEvent is one debounced change of a button.
type ButtonEvent struct {
	Pin  string          // pin name, e.g. "GPIO22"
	Kind ButtonEventKind // press, release or stuck
	At   time.Time       // when the change was first seen (before debouncing settled)
}

// Button is one debounced input.
type Button interface {
	// Run watches the button until ctx is done and sends each debounced
	// event to out. It returns ctx.Err() after a clean stop, or the error
	// that stopped it. Run must not be called twice concurrently.
	Run(ctx context.Context, out chan<- ButtonEvent) error
	// Halt stops watching and releases the input.
	Halt() error
	// Name is the pin name.
	Name() string
}
