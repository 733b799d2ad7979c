// Package gpio is the drivers.Board of a Raspberry Pi (3, 4, 5, Zero 2 W),
// on periph.io (periph.io/x/host/v3 and periph.io/x/conn/v3).
//
// Pins are named as periph.io's registry names them: the BCM number,
// "GPIO17". On a Pi 5 and on a Pi 0–4 without /dev/gpiomem access every
// pin goes through the GPIO character device (gpioioctl); on a Pi 0–4 with
// /dev/gpiomem, levels go through registers and edges through the
// character device. Either way the daemon's user needs rw access to
// /dev/gpiochip* (Raspberry Pi OS: the gpio group).
//
// Backend. Which of periph.io's paths drives the pins is reported by
// Board.Backend and logged once by New ("gpio backend"): "gpiomem" when
// periph's bcm283x-gpio driver loaded (registers through /dev/gpiomem,
// edges through the character device), "chardev" when every access goes
// through the GPIO character device. A Pi on Debian's or another mainline
// kernel (not Raspberry Pi OS) is "chardev": the mainline device tree names
// GPIO40/41 PWM0_OUT/PWM1_OUT, periph's bcm283x-gpio fails to register
// its alias of that name, and its pins fall back to the character device.
// This is the backend the project's QEMU test runs on
// (docs/hardware-test.md).
//
// Outputs. periph.io has no separate "request" step: the first Out() of a
// pin requests the line as an output and sets its level in the same call.
// So opening a lamp or a signal IS its first Out(), at the safe level (dark,
// off); nothing else is written until the caller sets it. The written
// level is kept in memory and never read back: on the character device,
// Read() on an output silently turns it into a pulled-up input.
// With active_low the level is inverted on the wire.
//
// Brightness. A level strictly between 0 and 1 is written as PWM(duty, f)
// with an explicit frequency (Options.PWMFrequency, 1 kHz by default; a
// zero frequency panics in periph). If the pin cannot do PWM (the
// character device never can, so no Pi 5; a Pi 0–4 only as root with the
// DMA driver loaded) the first failure is logged once and from then on
// any level above 0 lights the lamp fully. Options.NoPWM skips PWM
// altogether; use it on a Pi 4 run as root, where periph's DMA PWM is
// known to be unreliable (periph/host#34, #44).
//
// Buttons. A button is set up once with In(PullUp, BothEdges) when
// active_low (a button to ground, the usual wiring) or In(PullDown,
// BothEdges) otherwise, unless ButtonOptions.Pull says otherwise.
// PullNone is periph's Float: on a Pi 0–4 with /dev/gpiomem it switches the
// internal resistor off; on the character device (Pi 5) periph cannot
// disable a bias and leaves the line's as it was (the Pi's reset default:
// pull-up on GPIO0–8, pull-down on GPIO9–27). Run is drivers.RunButton,
// the loop every backend shares, on a contact that calls WaitForEdge with
// a finite timeout (never -1 or 0: their meaning differs between periph
// backends) and then Read()s the level whether an edge came or not. So
// the button is sampled at least every Options.PollInterval and at the
// debouncer's deadlines: a button held with no further edge is found stuck
// on time, and a button whose edges never come (periph does not promise
// them; QEMU's GPIO model has no edge detection) still works, as long as a
// press lasts longer than the debounce time plus PollInterval.
//
// A pin the registry does not have (every pin, off a Pi) is an error
// wrapping drivers.ErrUnknownPin; a line another process or a kernel
// overlay holds is an error wrapping drivers.ErrBusy. (On a Pi 0–4 with
// /dev/gpiomem, periph.io drives outputs through registers without
// requesting the line, so another program on the same output pin goes
// unnoticed there; buttons are always requested.) A pin opened twice
// through one Board is ErrBusy too.
package gpio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/host/v3"

	"github.com/cuelight/cuelight/drivers"
)

// Defaults of Options.
const (
	// DefaultPWMFrequency is the PWM frequency used to dim a lamp.
	DefaultPWMFrequency = physic.KiloHertz
	// DefaultPollInterval is the longest a button waits for an edge before
	// it samples its level anyway.
	DefaultPollInterval = 100 * time.Millisecond
)

// PinSource returns the periph.io pin of a name, or nil if there is none.
// It is the seam between the board and periph's registry: tests give
// gpiotest pins, a station could give PCA9685 channels.
type PinSource func(name string) pgpio.PinIO

// Options configures a Board. The zero value is a Raspberry Pi board on
// periph.io's registry, silent, on real time.
type Options struct {
	// Pins looks pins up by name. Nil means periph.io's registry
	// (gpioreg.ByName), after host.Init.
	Pins PinSource
	// Logger receives the periph.io driver report and pin warnings. Nil
	// discards them.
	Logger *slog.Logger
	// Clock times the buttons whose options have none. Nil means real time.
	Clock clockwork.Clock
	// PWMFrequency dims lamps; 0 means DefaultPWMFrequency.
	PWMFrequency physic.Frequency
	// NoPWM never tries PWM: any level above 0 lights a lamp fully.
	NoPWM bool
	// PollInterval is the longest a button waits for an edge before it
	// samples anyway; 0 means DefaultPollInterval.
	PollInterval time.Duration
}

// Board is a drivers.Board on periph.io pins. It is safe for concurrent
// use.
type Board struct {
	pins     PinSource
	hardware bool // the source has pins at all
	log      *slog.Logger
	clk      clockwork.Clock
	freq     physic.Frequency
	noPWM    bool
	poll     time.Duration

	backend string // what drives the pins: Backend

	mu      sync.Mutex
	owners  map[string]string // real pin name → what holds it, for ErrBusy
	outputs []*output
	buttons []*button
	halted  bool
}

// initHost runs host.Init once per process; later calls get its state.
var initHost = sync.OnceValues(host.Init)

// New returns a Board. With no Options.Pins it initialises periph.io's host
// drivers (once per process) and logs which loaded, which were skipped and
// which failed. Off a Raspberry Pi that succeeds with no pins at all: New
// does not fail, opening a pin does.
func New(o Options) (*Board, error) {
	b := &Board{
		pins:     o.Pins,
		hardware: true,
		log:      o.Logger,
		clk:      o.Clock,
		freq:     o.PWMFrequency,
		noPWM:    o.NoPWM,
		poll:     o.PollInterval,
		owners:   map[string]string{},
		backend:  BackendCustom,
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if b.clk == nil {
		b.clk = clockwork.NewRealClock()
	}
	if b.freq <= 0 {
		b.freq = DefaultPWMFrequency
	}
	if b.poll <= 0 {
		b.poll = DefaultPollInterval
	}
	if b.pins == nil {
		st, err := initHost()
		if err != nil {
			return nil, fmt.Errorf("gpio: periph.io host init: %w", err)
		}
		for _, d := range st.Loaded {
			b.log.Info("periph.io driver loaded", "driver", d.String())
		}
		for _, f := range st.Skipped {
			b.log.Debug("periph.io driver skipped", "driver", f.D.String(), "reason", f.Err)
		}
		for _, f := range st.Failed {
			b.log.Warn("periph.io driver failed", "driver", f.D.String(), "err", f.Err)
		}
		b.pins = gpioreg.ByName
		b.hardware = len(gpioreg.All()) > 0
		if !b.hardware {
			b.log.Warn("no GPIO hardware found: periph.io registered no pins")
		}
		loaded := map[string]bool{}
		for _, d := range st.Loaded {
			loaded[d.String()] = true
		}
		b.backend = backendOf(b.hardware, loaded)
	}
	b.log.Info("gpio backend", "backend", b.backend, "means", backendMeaning[b.backend])
	return b, nil
}

// What drives the pins of a Board, as Backend reports it.
const (
	// BackendGPIOMem: periph.io's bcm283x driver loaded, so levels go
	// through the registers of /dev/gpiomem and edges through the GPIO
	// character device (a Pi 0–4 on Raspberry Pi OS, user in the gpio
	// group).
	BackendGPIOMem = "gpiomem"
	// BackendChardev: every access goes through the Linux GPIO character
	// device, /dev/gpiochip* (uAPI v2). A Pi 5; a Pi 0–4 without
	// /dev/gpiomem access; and any Pi on Debian's or another mainline
	// kernel, whose device tree makes periph's bcm283x driver fail to
	// register ("can't register alias PWM0_OUT").
	BackendChardev = "chardev"
	// BackendNone: periph.io found no GPIO pins (not a Pi, or no readable
	// /dev/gpiochip*). Opening any pin fails.
	BackendNone = "none"
	// BackendCustom: the pins come from Options.Pins (tests, expanders).
	BackendCustom = "custom"
)

var backendMeaning = map[string]string{
	BackendGPIOMem: "levels through /dev/gpiomem registers, edges through the GPIO character device",
	BackendChardev: "every pin through the GPIO character device /dev/gpiochip* (periph's bcm283x-gpio driver did not load)",
	BackendNone:    "no GPIO pins found: opening a pin fails",
	BackendCustom:  "pins from Options.Pins",
}

// backendOf names the backend from periph.io's loaded drivers.
func backendOf(hardware bool, loaded map[string]bool) string {
	switch {
	case !hardware:
		return BackendNone
	case loaded["bcm283x-gpio"]:
		return BackendGPIOMem
	}
	return BackendChardev
}

// Backend names what drives the pins: BackendGPIOMem, BackendChardev,
// BackendNone or BackendCustom. New also logs it ("gpio backend").
func (b *Board) Backend() string { return b.backend }

// describe names a pin for errors and logs: "GPIO17 (fly standby_lamp)".
func describe(name string, o drivers.PinOptions) string {
	who := strings.TrimSpace(o.Channel + " " + o.Role)
	if who == "" {
		return name
	}
	return name + " (" + who + ")"
}

// lookup finds a free pin. The caller holds b.mu.
func (b *Board) lookup(name string, o drivers.PinOptions) (pgpio.PinIO, string, error) {
	if b.halted {
		return nil, "", fmt.Errorf("gpio: %s: %w", describe(name, o), drivers.ErrHalted)
	}
	p := b.pins(name)
	if p == nil {
		if !b.hardware {
			return nil, "", fmt.Errorf("gpio: %s: %w: no GPIO hardware was found "+
				"(periph.io registered no pins: not a Raspberry Pi, or no readable /dev/gpiochip*; "+
				"use driver: sim to run without hardware)", describe(name, o), drivers.ErrUnknownPin)
		}
		return nil, "", fmt.Errorf("gpio: %s: %w: no pin of that name (pins are BCM names such as GPIO17)",
			describe(name, o), drivers.ErrUnknownPin)
	}
	key := p.Name()
	if r, ok := p.(pgpio.RealPin); ok { // an alias such as "17"
		key = r.Real().Name()
	}
	if who, dup := b.owners[key]; dup {
		return nil, "", fmt.Errorf("gpio: %s: %w: already open in this station as %s", describe(name, o), drivers.ErrBusy, who)
	}
	return p, key, nil
}

// openErr explains why periph.io refused to set a pin up.
func openErr(name string, o drivers.PinOptions, as string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.EBUSY) || strings.Contains(msg, syscall.EBUSY.Error()):
		return fmt.Errorf("gpio: %s: %w: another process or a kernel overlay (gpio-key, w1-gpio, ...) "+
			"holds the line; `gpioinfo` shows its consumer: %w", describe(name, o), drivers.ErrBusy, err)
	case errors.Is(err, fs.ErrPermission) || strings.Contains(msg, "permission denied") ||
		strings.Contains(msg, "not permitted") || strings.Contains(msg, "not accessible"):
		return fmt.Errorf("gpio: open %s as %s: %w (the user needs rw access to /dev/gpiochip*: "+
			"on Raspberry Pi OS, membership of the gpio group)", describe(name, o), as, err)
	}
	return fmt.Errorf("gpio: open %s as %s: %w", describe(name, o), as, err)
}

// Lamp implements drivers.Board: the pin becomes an output, dark, in its
// first and only write.
func (b *Board) Lamp(name string, o drivers.PinOptions) (drivers.Lamp, error) {
	out, err := b.openOutput(name, o, "lamp")
	if err != nil {
		return nil, err
	}
	return (*lamp)(out), nil
}

// Signal implements drivers.Board: the pin becomes an output, off, in its
// first and only write.
func (b *Board) Signal(name string, o drivers.PinOptions) (drivers.Signal, error) {
	out, err := b.openOutput(name, o, "signal")
	if err != nil {
		return nil, err
	}
	return (*signal)(out), nil
}

func (b *Board) openOutput(name string, o drivers.PinOptions, as string) (*output, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, key, err := b.lookup(name, o)
	if err != nil {
		return nil, err
	}
	out := &output{b: b, pin: p, name: name, opts: o}
	if err := p.Out(out.wire(false)); err != nil { // the request, at the safe level
		return nil, openErr(name, o, as, err)
	}
	b.owners[key] = describe(name, o)
	b.outputs = append(b.outputs, out)
	b.log.Debug("gpio pin opened", "pin", name, "as", as, "channel", o.Channel, "role", o.Role, "active_low", o.ActiveLow)
	return out, nil
}

// Button implements drivers.Board: the pin becomes an input with both
// edges and the pull that holds it released (up when active_low).
func (b *Board) Button(name string, o drivers.ButtonOptions) (drivers.Button, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, key, err := b.lookup(name, o.PinOptions)
	if err != nil {
		return nil, err
	}
	var pull pgpio.Pull
	switch o.Pull {
	case drivers.PullDefault:
		pull = pgpio.PullDown
		if o.ActiveLow {
			pull = pgpio.PullUp
		}
	case drivers.PullUp:
		pull = pgpio.PullUp
	case drivers.PullDown:
		pull = pgpio.PullDown
	case drivers.PullNone:
		pull = pgpio.Float
	default:
		return nil, fmt.Errorf("gpio: %s: unknown pull %q (up, down or none)", describe(name, o.PinOptions), o.Pull)
	}
	if err := p.In(pull, pgpio.BothEdges); err != nil {
		return nil, openErr(name, o.PinOptions, "button", err)
	}
	clk := o.Clock
	if clk == nil {
		clk = b.clk
	}
	btn := &button{b: b, pin: p, name: name, opts: o.WithDefaults(), clk: clk, halt: make(chan struct{})}
	b.owners[key] = describe(name, o.PinOptions)
	b.buttons = append(b.buttons, btn)
	b.log.Debug("gpio pin opened", "pin", name, "as", "button", "channel", o.Channel, "role", o.Role,
		"active_low", o.ActiveLow, "pull", pull.String())
	return btn, nil
}

// Halt implements drivers.Board: every output dark, every button stopped,
// and the board latched halted.
func (b *Board) Halt() error {
	b.mu.Lock()
	b.halted = true
	outs := append([]*output(nil), b.outputs...)
	btns := append([]*button(nil), b.buttons...)
	b.mu.Unlock()
	var errs []error
	for _, o := range outs {
		errs = append(errs, o.halt(true))
	}
	for _, bt := range btns {
		errs = append(errs, bt.Halt())
	}
	return errors.Join(errs...)
}

// output is a lamp or a signal.
type output struct {
	b    *Board
	pin  pgpio.PinIO
	name string
	opts drivers.PinOptions

	mu     sync.Mutex
	level  float64 // logical level last written
	halted bool    // the board is halted: refuse Set
	noPWM  bool    // PWM failed once on this pin
}

// wire is the electrical level of a logical one.
func (o *output) wire(lit bool) pgpio.Level {
	return pgpio.Level(lit != o.opts.ActiveLow)
}

// write drives the pin at level in [0, 1]. The caller holds o.mu.
func (o *output) write(level float64, dim bool) error {
	var err error
	switch {
	case level <= 0:
		err = o.pin.Out(o.wire(false))
	case level >= 1 || !dim || o.noPWM || o.b.noPWM:
		err = o.pin.Out(o.wire(true))
	default:
		duty := pgpio.Duty(math.Round(level * float64(pgpio.DutyMax)))
		if duty >= pgpio.DutyMax {
			err = o.pin.Out(o.wire(true))
			break
		}
		if duty < 1 {
			duty = 1
		}
		if o.opts.ActiveLow {
			duty = pgpio.DutyMax - duty
		}
		if err = o.pin.PWM(duty, o.b.freq); err != nil {
			o.noPWM = true
			o.b.log.Warn("gpio pin cannot dim (no PWM here): any level above 0 lights it fully",
				"pin", o.name, "channel", o.opts.Channel, "role", o.opts.Role, "err", err)
			err = o.pin.Out(o.wire(true))
		}
	}
	if err != nil {
		return fmt.Errorf("gpio: write %s: %w", describe(o.name, o.opts), err)
	}
	o.level = level
	return nil
}

func (o *output) set(level float64, dim bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.halted {
		return fmt.Errorf("gpio: %s: %w", describe(o.name, o.opts), drivers.ErrHalted)
	}
	return o.write(level, dim)
}

// halt drives the output to its safe state; latch refuses later writes.
func (o *output) halt(latch bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.halted = o.halted || latch
	return o.write(0, false)
}

type lamp output

// Set implements drivers.Lamp. Above 1 is 1, below 0 is 0; NaN is an
// error and writes nothing.
func (l *lamp) Set(level float64) error {
	if math.IsNaN(level) {
		return fmt.Errorf("gpio: %s: level is NaN", describe(l.name, l.opts))
	}
	return (*output)(l).set(min(max(level, 0), 1), true)
}

// Halt implements drivers.Lamp: dark. The lamp can be lit again.
func (l *lamp) Halt() error { return (*output)(l).halt(false) }

// Name implements drivers.Lamp.
func (l *lamp) Name() string { return l.name }

type signal output

// Set implements drivers.Signal.
func (s *signal) Set(on bool) error {
	level := 0.0
	if on {
		level = 1
	}
	return (*output)(s).set(level, false)
}

// Halt implements drivers.Signal: off. The signal can be driven again.
func (s *signal) Halt() error { return (*output)(s).halt(false) }

// Name implements drivers.Signal.
func (s *signal) Name() string { return s.name }

// button is one input watched by Run.
type button struct {
	b    *Board
	pin  pgpio.PinIO
	name string
	opts drivers.ButtonOptions
	clk  clockwork.Clock

	mu      sync.Mutex
	running bool
	halted  bool
	halt    chan struct{} // closed by Halt
}

// errRunning is returned by Run called while it runs.
var errRunning = errors.New("Run called while running")

// Run implements drivers.Button. The level read when Run starts is the
// debouncer's baseline: a button already held gives no press (it is found
// stuck later). Run returns nil when stopped by Halt. A stop (ctx or Halt)
// is seen when the current WaitForEdge returns: at once on the character
// device, whose Halt wakes the waiter, otherwise within PollInterval.
func (bt *button) Run(ctx context.Context, out chan<- drivers.ButtonEvent) error {
	bt.mu.Lock()
	switch {
	case bt.halted:
		bt.mu.Unlock()
		return fmt.Errorf("gpio: %s: %w", describe(bt.name, bt.opts.PinOptions), drivers.ErrHalted)
	case bt.running:
		bt.mu.Unlock()
		return fmt.Errorf("gpio: %s: %w", describe(bt.name, bt.opts.PinOptions), errRunning)
	}
	bt.running = true
	bt.mu.Unlock()
	defer func() {
		bt.mu.Lock()
		bt.running = false
		bt.mu.Unlock()
	}()

	base := drivers.RawSample{Pressed: bt.pressed(), At: bt.clk.Now()}
	return drivers.RunButton(ctx, bt.halt, (*contact)(bt), drivers.LoopOptions{
		Pin: bt.name, Button: bt.opts, Clock: bt.clk, Poll: bt.b.poll, Baseline: base,
	}, out)
}

// pressed reads the pin: true when the button is down.
func (bt *button) pressed() bool { return bt.pin.Read() == pgpio.Level(!bt.opts.ActiveLow) }

// contact is a button's pin as drivers.RunButton sees it.
type contact button

// Wait implements drivers.Contact: WaitForEdge for at most wait, then a
// Read whether an edge came or not. The edge kind is not reported, and on
// QEMU's GPIO model (and any pin whose edges never come) the timeout is
// the only way a press is seen: a timeout is a sample too.
func (c *contact) Wait(_ context.Context, _ <-chan struct{}, _ <-chan time.Time, wait time.Duration) drivers.Batch {
	bt := (*button)(c)
	if wait < 0 {
		wait = bt.b.poll
	}
	// Never 0 or -1: on gpioioctl -1 returns at once and 0 waits forever;
	// on gpiotest it is the other way round.
	bt.pin.WaitForEdge(max(wait, time.Millisecond))
	return drivers.Batch{Samples: []drivers.RawSample{{Pressed: bt.pressed(), At: bt.clk.Now()}}}
}

// Halt implements drivers.Button: Run returns nil, and later Runs fail
// with drivers.ErrHalted. The pin stays an input (the character device
// releases lines only when the process exits).
func (bt *button) Halt() error {
	bt.mu.Lock()
	if !bt.halted {
		bt.halted = true
		close(bt.halt)
	}
	bt.mu.Unlock()
	if err := bt.pin.Halt(); err != nil { // wakes a waiter on the character device
		return fmt.Errorf("gpio: halt %s: %w", describe(bt.name, bt.opts.PinOptions), err)
	}
	return nil
}

// Name implements drivers.Button.
func (bt *button) Name() string { return bt.name }

var _ drivers.Board = (*Board)(nil)
