// Package devices drives the add-on boards a station names under
// `devices:` (docs/protocol.md §11) on its I²C and SPI buses: PCA9685 PWM
// boards (dimmable lamps), APA102 and WS2812 RGB LED strips (colour
// lamps) and MCP23017 GPIO expanders (buttons and plain lamps).
//
// A Board wraps the station's board (gpio on a Pi, sim for tests): a pin
// named "<device>:<n>" opens on the device, any other name on the wrapped
// board. Every device is written dark when it is opened, before any of
// its pins is driven; a device that does not answer then stops Open with
// an error naming the device and its bus. Halt writes every device dark
// and then halts the wrapped board.
//
// The device facts (kinds, address ranges, pin counts, bus names,
// colours) are in package drivers (device.go), shared with the show
// file's validation.
package devices

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/spi"

	"github.com/cuelight/cuelight/drivers"
)

// DefaultPoll is how often an MCP23017's button inputs are sampled: the
// chip's interrupt line is not used (periph has no edge support for it),
// so buttons are polled and debounced like any other.
const DefaultPoll = 5 * time.Millisecond

// Buses opens the buses devices sit on, by the show file's bus names
// ("i2c1", "spi0.0"). HostBuses opens the Pi's; tests give periph's
// recorded-transaction buses (i2ctest, spitest).
type Buses interface {
	I2C(name string) (i2c.Bus, error)
	SPI(name string) (spi.Port, error)
}

// Options configures Open.
type Options struct {
	// Buses opens the buses; nil means HostBuses.
	Buses Buses
	// Clock times button sampling; nil means real time.
	Clock clockwork.Clock
	// Logger receives device errors that have no caller to return to (a
	// button input that cannot be read). Nil discards them.
	Logger *slog.Logger
	// Poll is the MCP23017 button sampling period (default DefaultPoll).
	Poll time.Duration
}

// device is one opened add-on board.
type device interface {
	spec() drivers.DeviceSpec
	lamp(b *Board, n int, o drivers.PinOptions) (drivers.Lamp, error)
	signal(b *Board, n int, o drivers.PinOptions) (drivers.Signal, error)
	button(b *Board, n int, o drivers.ButtonOptions) (drivers.Button, error)
	// halt writes every pin of the device dark (outputs) or stops it
	// (buttons).
	halt() error
	// check asks the device whether it is still as it was set up; if
	// not, it writes it dark, sets it up again and returns why.
	check() error
}

// Board is a drivers.Board with add-on devices: see the package doc.
type Board struct {
	base  drivers.Board
	clk   clockwork.Clock
	log   *slog.Logger
	poll  time.Duration
	devs  map[string]device
	order []device
	close []io.Closer

	mu     sync.Mutex
	used   map[string]bool
	halted bool
	stop   chan struct{} // closed by Halt: buttons end
}

// Open opens every device of specs, dark, and returns the board that
// routes "<device>:<n>" pins to them and every other pin to base. On an
// error every device already opened is written dark again and the buses
// are closed; base is left as it was.
func Open(base drivers.Board, specs []drivers.DeviceSpec, o Options) (*Board, error) {
	b := &Board{
		base: base, clk: o.Clock, log: o.Logger, poll: o.Poll,
		devs: map[string]device{}, used: map[string]bool{}, stop: make(chan struct{}),
	}
	if b.clk == nil {
		b.clk = clockwork.NewRealClock()
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if b.poll <= 0 {
		b.poll = DefaultPoll
	}
	buses := o.Buses
	if buses == nil {
		buses = HostBuses{}
	}
	i2cs := map[string]i2c.Bus{}
	for _, s := range specs {
		d, err := b.openDevice(buses, i2cs, s)
		if err != nil {
			b.haltDevices()
			b.closeBuses()
			return nil, err
		}
		b.devs[s.Name] = d
		b.order = append(b.order, d)
	}
	return b, nil
}

func (b *Board) openDevice(buses Buses, i2cs map[string]i2c.Bus, s drivers.DeviceSpec) (device, error) {
	if _, dup := b.devs[s.Name]; dup {
		return nil, fmt.Errorf("devices: %s: the name is used twice", s.Name)
	}
	if s.Kind.IsI2C() {
		bus, ok := i2cs[s.Bus]
		if !ok {
			var err error
			if bus, err = buses.I2C(s.Bus); err != nil {
				return nil, fmt.Errorf("devices: %s: cannot open %s: %w", s, s.Bus, err)
			}
			i2cs[s.Bus] = bus
			if c, ok := bus.(io.Closer); ok {
				b.close = append(b.close, c)
			}
		}
		switch s.Kind {
		case drivers.PCA9685:
			return openPCA9685(bus, s)
		case drivers.MCP23017:
			return openMCP23017(bus, s)
		}
	}
	if s.Kind.IsStrip() {
		port, err := buses.SPI(s.Bus)
		if err != nil {
			return nil, fmt.Errorf("devices: %s: cannot open %s: %w", s, s.Bus, err)
		}
		if c, ok := port.(io.Closer); ok {
			b.close = append(b.close, c)
		}
		return openStrip(port, s)
	}
	return nil, fmt.Errorf("devices: %s: unknown kind %q", s.Name, s.Kind)
}

// notAnswering is the start error of a device that did not take its
// first (dark) write.
func notAnswering(s drivers.DeviceSpec, err error) error {
	return fmt.Errorf("devices: %s does not answer: %w (check its wiring, power and address: i2cdetect -y %s)", s, err, busNumber(s.Bus))
}

// checkFailed is the error of a device check: the device did not answer
// (readErr), or it answered as after a reset and was set up again dark
// (setupErr nil) or could not be (setupErr).
func checkFailed(s drivers.DeviceSpec, readErr, setupErr error) error {
	why := "was reset (power lost?)"
	if readErr != nil {
		why, setupErr = "does not answer", readErr
	}
	if setupErr == nil {
		return fmt.Errorf("devices: %s %s: set up again, dark", s, why)
	}
	return fmt.Errorf("devices: %s %s: %w", s, why, setupErr)
}

func busNumber(bus string) string {
	if len(bus) > 3 && bus[:3] == "i2c" {
		return bus[3:]
	}
	return bus
}

// pin finds the device of a "<device>:<n>" pin and claims the pin. ok is
// false for a pin of the wrapped board.
func (b *Board) pin(name string) (d device, n int, ok bool, err error) {
	dev, n, isDev := drivers.ParseDevicePin(name)
	if dev == "" {
		return nil, 0, false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.halted {
		return nil, 0, true, drivers.ErrHalted
	}
	d, known := b.devs[dev]
	if !known {
		return nil, 0, true, fmt.Errorf("%w: %s: no device %q", drivers.ErrUnknownPin, name, dev)
	}
	if !isDev || n >= d.spec().Pins() {
		return nil, 0, true, fmt.Errorf("%w: %s: %s has pins 0 to %d", drivers.ErrUnknownPin, name, d.spec(), d.spec().Pins()-1)
	}
	if b.used[name] {
		return nil, 0, true, fmt.Errorf("%w: %s", drivers.ErrBusy, name)
	}
	b.used[name] = true
	return d, n, true, nil
}

// Lamp implements drivers.Board.
func (b *Board) Lamp(name string, o drivers.PinOptions) (drivers.Lamp, error) {
	d, n, ok, err := b.pin(name)
	if !ok {
		return b.base.Lamp(name, o)
	}
	if err != nil {
		return nil, err
	}
	return d.lamp(b, n, o)
}

// Signal implements drivers.Board.
func (b *Board) Signal(name string, o drivers.PinOptions) (drivers.Signal, error) {
	d, n, ok, err := b.pin(name)
	if !ok {
		return b.base.Signal(name, o)
	}
	if err != nil {
		return nil, err
	}
	return d.signal(b, n, o)
}

// Button implements drivers.Board.
func (b *Board) Button(name string, o drivers.ButtonOptions) (drivers.Button, error) {
	d, n, ok, err := b.pin(name)
	if !ok {
		return b.base.Button(name, o)
	}
	if err != nil {
		return nil, err
	}
	return d.button(b, n, o)
}

// Halt implements drivers.Board: every device dark, every device button
// stopped, then the wrapped board halted; the buses are closed.
func (b *Board) Halt() error {
	b.mu.Lock()
	first := !b.halted
	b.halted = true
	b.mu.Unlock()
	if !first {
		return b.base.Halt()
	}
	close(b.stop)
	err := b.haltDevices()
	err = errors.Join(err, b.base.Halt())
	b.closeBuses()
	return err
}

// Backend is the wrapped board's own name for what drives its pins
// (drivers/gpio's "chardev" or "gpiomem"), for the station's info;
// "devices" when the wrapped board has none.
func (b *Board) Backend() string {
	if n, ok := b.base.(interface{ Backend() string }); ok {
		return n.Backend()
	}
	return "devices"
}

// Check implements drivers.Checker: every device is asked whether it
// still answers and is set up; one that is not is written dark and set
// up again (its outputs dark), and the error names it.
func (b *Board) Check() error {
	if b.isHalted() {
		return nil
	}
	var errs []error
	for _, d := range b.order {
		if err := d.check(); err != nil {
			errs = append(errs, &drivers.DeviceError{Device: d.spec().Name, Err: err})
		}
	}
	return errors.Join(errs...)
}

func (b *Board) haltDevices() error {
	var errs []error
	for _, d := range b.order {
		errs = append(errs, d.halt())
	}
	return errors.Join(errs...)
}

func (b *Board) closeBuses() {
	for _, c := range b.close {
		_ = c.Close()
	}
	b.close = nil
}

// isHalted reports whether Halt was called.
func (b *Board) isHalted() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.halted
}

// errNoSuch is the error of a pin role a device kind cannot be.
func errNoSuch(s drivers.DeviceSpec, what, hint string) error {
	return fmt.Errorf("devices: %s cannot be %s: %s", s, what, hint)
}

// waitPoll waits up to d on the board's clock, or until ctx, halt, the
// board's Halt or tick. It reports whether the caller should sample
// (false: stop) and whether tick delivered.
func (b *Board) waitPoll(ctx context.Context, halt <-chan struct{}, tick <-chan time.Time, d time.Duration) (sample, ticked bool) {
	if d < 0 || d > b.poll {
		d = b.poll
	}
	if d == 0 {
		select {
		case <-tick:
			return true, true
		default:
			return true, false
		}
	}
	t := b.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, false
	case <-halt:
		return false, false
	case <-b.stop:
		return false, false
	case <-tick:
		return true, true
	case <-t.Chan():
		return true, false
	}
}

var (
	_ drivers.Board   = (*Board)(nil)
	_ drivers.Checker = (*Board)(nil)
)
