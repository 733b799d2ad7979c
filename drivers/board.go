package drivers

import (
	"errors"
	"time"

	"github.com/jonboulle/clockwork"
)

// ErrHalted is returned by an output or button of a board that has been
// halted (Board.Halt), and by a board asked to open a pin after Halt. A
// halted board stays dark: nothing can light it again by accident while
// the station shuts down.
var ErrHalted = errors.New("drivers: halted")

// Roles of a pin in a channel: the configuration keys of docs/protocol.md §5.
const (
	RoleStandbyLamp = "standby_lamp"
	RoleGoLamp      = "go_lamp"
	RoleCallLamp    = "call_lamp"
	RoleCallOut     = "call_out"
	RoleAckButton   = "ack_button"
	RoleCallButton  = "call_button"
	RoleCallIn      = "call_in" // an input from an intercom's call signal
)

// Default button timings (docs/protocol.md §6.7).
const (
	// DefaultDebounce is how long a raw level must stay unchanged to count.
	DefaultDebounce = 20 * time.Millisecond
	// DefaultLockout is the shortest time between two debounced changes.
	DefaultLockout = 50 * time.Millisecond
	// DefaultStuckAfter is how long a button may be held before it is a
	// stuck fault.
	DefaultStuckAfter = 10 * time.Second
)

// PinOptions describes one pin opened through a Board.
type PinOptions struct {
	// Channel is the channel the pin belongs to ("fly"); for logs and the
	// simulated board's pin list. May be empty.
	Channel string
	// Role is the configuration key that named the pin: one of the Role*
	// constants. May be empty.
	Role string
	// ActiveLow inverts the pin on the wire: a lit lamp, a driven signal or
	// a pressed button is electrically low. Levels seen through the
	// interfaces stay logical.
	ActiveLow bool
}

// Pull is the bias of a button input. The values are the configuration's
// (button key pull:), so a config value converts with Pull(v).
type Pull string

// Pulls of a button.
const (
	// PullDefault is up for an active-low button (wired to ground), down
	// for an active-high one.
	PullDefault Pull = ""
	// PullUp is the internal pull-up.
	PullUp Pull = "up"
	// PullDown is the internal pull-down.
	PullDown Pull = "down"
	// PullNone asks for no internal bias: the circuit has its own
	// resistor. (On the Pi's character device periph.io cannot switch a
	// bias off; it leaves the line's bias as it was: see drivers/gpio.)
	PullNone Pull = "none"
)

// Valid reports whether p is one of the Pull constants.
func (p Pull) Valid() bool {
	switch p {
	case PullDefault, PullUp, PullDown, PullNone:
		return true
	}
	return false
}

// ButtonOptions describes one button opened through a Board.
//
// The zero value of each duration selects its default; a negative value
// turns that stage off (no settling time, no lock-out, no stuck detection).
type ButtonOptions struct {
	PinOptions
	// Pull is the input's bias (default: up when ActiveLow, else down).
	Pull Pull
	// Debounce is how long a raw level must stay unchanged before it
	// counts (default DefaultDebounce, 20 ms).
	Debounce time.Duration
	// Lockout is the shortest time between two debounced changes, counted
	// from the last one (default DefaultLockout, 50 ms). It rejects contacts
	// that chatter with gaps longer than Debounce.
	Lockout time.Duration
	// StuckAfter is how long a button may be held before it is reported
	// Stuck (default DefaultStuckAfter, 10 s).
	StuckAfter time.Duration
	// Clock times the debouncer. Nil means the board's clock (real time
	// unless the board was given another).
	Clock clockwork.Clock
}

// WithDefaults returns o with every zero duration replaced by its
// default. Negative durations (off) are kept, so applying it twice changes
// nothing.
func (o ButtonOptions) WithDefaults() ButtonOptions {
	o.Debounce = orDefault(o.Debounce, DefaultDebounce)
	o.Lockout = orDefault(o.Lockout, DefaultLockout)
	o.StuckAfter = orDefault(o.StuckAfter, DefaultStuckAfter)
	return o
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Board opens the pins of one station.
//
// Every output is requested with its initial, safe level in the same call
// (docs/protocol.md §6.1): a lamp opens dark, a signal opens off. Nothing else is
// written until the caller sets it. Opening the same pin twice through one
// board fails with ErrBusy.
//
// A Board is safe for concurrent use.
type Board interface {
	// Lamp opens pin as a lamp, dark.
	Lamp(pin string, o PinOptions) (Lamp, error)
	// Signal opens pin as an on/off output, off.
	Signal(pin string, o PinOptions) (Signal, error)
	// Button opens pin as a debounced input. Nothing is watched until the
	// button's Run is called.
	Button(pin string, o ButtonOptions) (Button, error)
	// Halt drives every output opened through this board to its safe
	// state (dark, off) and stops every button. It returns the errors of
	// the outputs that could not be driven safe, joined. After Halt the
	// board stays halted: outputs refuse Set and new pins cannot be
	// opened (ErrHalted). Calling Halt again is safe.
	Halt() error
}
