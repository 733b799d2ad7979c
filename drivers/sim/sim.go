// Package sim is the simulated board of docs/protocol.md §7 (driver: sim): a
// drivers.Board with no hardware, for the built-in demo show, the web
// page's pin view and whole-station tests.
//
// Pins are named like a Raspberry Pi's header GPIOs, "GPIO0" to "GPIO27".
// Outputs keep their logical level (lit, driven); buttons have a simulated
// contact that Press and SetLevel move. A button's Run is the loop of every
// backend, drivers.RunButton, over that contact, on the board's clock, so a simulated press settles, locks out and becomes a
// stuck fault exactly like a real one.
//
// Every change of a pin (opening included) is kept in a trace with the
// board clock's time and sent to subscribers. All methods are safe for
// concurrent use.
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/rpi"
)

// ErrNotButton is returned by Press and SetLevel for a pin that is open,
// but not as a button. The error also matches drivers.ErrUnknownPin: there
// is no button of that name.
var ErrNotButton = errors.New("sim: not a button")

// Defaults of Options.
const (
	// DefaultPressFor is how long Press holds a button down.
	DefaultPressFor = 100 * time.Millisecond
	// DefaultTraceLimit is how many changes the trace keeps.
	DefaultTraceLimit = 10000
)

// maxQueue bounds the contact changes a button keeps for a Run that is
// not watching; older ones are dropped, the newest level is never lost.
const maxQueue = 256

// Options configures a Board. The zero value is a board on real time.
type Options struct {
	// Clock times everything: debouncers, Press, the trace. Nil means
	// real time. ButtonOptions.Clock is ignored: one board, one clock.
	Clock clockwork.Clock
	// Logger receives debug lines about pins. Nil discards them.
	Logger *slog.Logger
	// PressFor is how long Press holds a button down (default
	// DefaultPressFor); never less than twice the button's debounce time,
	// so a press always counts.
	PressFor time.Duration
	// TraceLimit is how many changes Trace keeps, the newest (default
	// DefaultTraceLimit); negative keeps none.
	TraceLimit int
	// Devices are simulated add-on boards (docs/protocol.md §11): their
	// pins "<device>:<n>" open like GPIOs. A pca9685 lamp dims, a strip
	// lamp (apa102, ws2812) shows its colour, an mcp23017 lamp is on or
	// off and its buttons press like GPIO buttons. See devices.go.
	Devices []drivers.DeviceSpec
}

// PinState is one pin as the web API shows it (docs/protocol.md §7).
type PinState struct {
	Name    string `json:"name"`    // "GPIO17"
	Channel string `json:"channel"` // "fly"
	Role    string `json:"role"`    // "standby_lamp", "ack_button", ...
	// Level is logical: lit, driven or pressed, whatever active_low makes
	// of it on the wire. For a button it is the contact, before debouncing.
	Level bool `json:"level"`
	// Brightness is a lamp's level, 0 to 1; 1 or 0 for a signal or a
	// button, on or off.
	Brightness float64 `json:"brightness"`
	// Color is an RGB lamp's colour, "#rrggbb", as last set (shown at
	// Brightness); empty for other pins.
	Color string `json:"color,omitempty"`
}

// Change is one change of a pin: its state after the change, and when.
type Change struct {
	At time.Time `json:"at"`
	PinState
}

type kind uint8

const (
	kindLamp kind = iota + 1
	kindSignal
	kindButton
)

func (k kind) String() string {
	switch k {
	case kindLamp:
		return "lamp"
	case kindSignal:
		return "signal"
	}
	return "button"
}

// sample is one move of a button's contact.
type sample struct {
	pressed bool
	at      time.Time
}

// pin is one opened pin. Every field is guarded by Board.mu.
type pin struct {
	name string
	kind kind
	opts drivers.PinOptions

	level  float64            // outputs: logical level, 0..1
	halted bool               // outputs: the board is halted, Set is refused
	dev    drivers.DeviceKind // the device kind of a "<device>:<n>" pin, "" for a GPIO
	color  string             // RGB lamps: the colour, "#rrggbb"

	bopts    drivers.ButtonOptions // buttons, defaults applied
	pressed  bool                  // the contact
	queue    []sample              // contact moves not yet taken by Run
	consumed bool                  // the contact before queue[0]
	notify   chan struct{}         // cap 1: queue has news
	release  clockwork.Timer       // the end of a Press
	gen      int                   // bumped to cancel a pending release
	running  bool
	stopped  bool
	halt     chan struct{} // closed by Halt
}

func (p *pin) state() PinState {
	s := PinState{Name: p.name, Channel: p.opts.Channel, Role: p.opts.Role}
	switch p.kind {
	case kindLamp:
		s.Level, s.Brightness, s.Color = p.level > 0, p.level, p.color
	case kindSignal:
		s.Level = p.level > 0
	case kindButton:
		s.Level = p.pressed
	}
	if p.kind != kindLamp && s.Level {
		s.Brightness = 1
	}
	return s
}

// Board is the simulated board.
type Board struct {
	clk        clockwork.Clock
	log        *slog.Logger
	pressFor   time.Duration
	traceLimit int

	mu      sync.Mutex
	pins    []*pin // in the order opened
	byName  map[string]*pin
	halted  bool
	trace   []Change
	subs    map[int]chan Change
	nextSub int
	devices map[string]drivers.DeviceSpec
}

// New returns an empty simulated board.
func New(o Options) *Board {
	b := &Board{
		clk: o.Clock, log: o.Logger, pressFor: o.PressFor, traceLimit: o.TraceLimit,
		byName: map[string]*pin{}, subs: map[int]chan Change{}, devices: map[string]drivers.DeviceSpec{},
	}
	for _, d := range o.Devices {
		b.devices[d.Name] = d
	}
	if b.clk == nil {
		b.clk = clockwork.NewRealClock()
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if b.pressFor <= 0 {
		b.pressFor = DefaultPressFor
	}
	if b.traceLimit == 0 {
		b.traceLimit = DefaultTraceLimit
	}
	return b
}

// ValidPin reports whether name is a pin of the simulated board:
// "GPIO0" to "GPIO27", the GPIOs of a Raspberry Pi's 40-pin header
// (rpi.GPIONumber).
func ValidPin(name string) bool {
	_, ok := rpi.GPIONumber(name)
	return ok
}

// open registers a new pin. The caller holds b.mu.
func (b *Board) open(name string, k kind, o drivers.PinOptions) (*pin, error) {
	var dev drivers.DeviceKind
	switch {
	case b.halted:
		return nil, fmt.Errorf("sim: %s: %w", name, drivers.ErrHalted)
	case strings.Contains(name, ":"):
		var err error
		if dev, err = b.devicePin(name, k); err != nil {
			return nil, err
		}
	case !ValidPin(name):
		return nil, fmt.Errorf("sim: %q: %w: the simulated board has GPIO0 to GPIO27", name, drivers.ErrUnknownPin)
	}
	if p := b.byName[name]; p != nil {
		return nil, fmt.Errorf("sim: %s: %w: already open as %s", name, drivers.ErrBusy, p.kind)
	}
	p := &pin{name: name, kind: k, opts: o, dev: dev}
	b.pins = append(b.pins, p)
	b.byName[name] = p
	b.record(p, b.clk.Now())
	b.log.Debug("sim pin opened", "pin", name, "as", k.String(), "channel", o.Channel, "role", o.Role)
	return p, nil
}

// Lamp implements drivers.Board: a simulated lamp, dark.
func (b *Board) Lamp(name string, o drivers.PinOptions) (drivers.Lamp, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.open(name, kindLamp, o)
	if err != nil {
		return nil, err
	}
	if p.dev.IsStrip() {
		return &colorLamp{lamp{b: b, p: p}}, nil
	}
	return &lamp{b: b, p: p}, nil
}

// Signal implements drivers.Board: a simulated signal, off.
func (b *Board) Signal(name string, o drivers.PinOptions) (drivers.Signal, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.open(name, kindSignal, o)
	if err != nil {
		return nil, err
	}
	return &signal{b: b, p: p}, nil
}

// Button implements drivers.Board: a simulated button, released. Its
// debouncer runs on the board's clock (o.Clock is ignored).
func (b *Board) Button(name string, o drivers.ButtonOptions) (drivers.Button, error) {
	if !o.Pull.Valid() {
		return nil, fmt.Errorf("sim: %s: unknown pull %q (up, down or none)", name, o.Pull)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.open(name, kindButton, o.PinOptions)
	if err != nil {
		return nil, err
	}
	p.bopts = o.WithDefaults()
	p.bopts.Clock = nil
	p.notify = make(chan struct{}, 1)
	p.halt = make(chan struct{})
	return &button{b: b, p: p}, nil
}

// Halt implements drivers.Board: every output dark (recorded in the
// trace), every button stopped, pending presses cancelled; the board stays
// halted. It never fails.
func (b *Board) Halt() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.halted = true
	now := b.clk.Now()
	for _, p := range b.pins {
		switch p.kind {
		case kindLamp, kindSignal:
			p.halted = true
			b.setOutput(p, 0, now)
		case kindButton:
			b.stopButton(p)
		}
	}
	return nil
}

// Pins returns every pin opened, in the order opened.
func (b *Board) Pins() []PinState {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]PinState, len(b.pins))
	for i, p := range b.pins {
		out[i] = p.state()
	}
	return out
}

// Pin returns one pin's state, or an error matching drivers.ErrUnknownPin
// if no pin of that name is open.
func (b *Board) Pin(name string) (PinState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.byName[name]
	if p == nil {
		return PinState{}, fmt.Errorf("sim: %q: %w: no pin of that name is open", name, drivers.ErrUnknownPin)
	}
	return p.state(), nil
}

// buttonPin finds an open button. The caller holds b.mu.
func (b *Board) buttonPin(name string) (*pin, error) {
	p := b.byName[name]
	switch {
	case p == nil:
		return nil, fmt.Errorf("sim: %q: %w: no button of that name is open", name, drivers.ErrUnknownPin)
	case p.kind != kindButton:
		return nil, fmt.Errorf("sim: %s is a %s: %w (%w)", name, p.kind, ErrNotButton, drivers.ErrUnknownPin)
	case b.halted:
		return nil, fmt.Errorf("sim: %s: %w", name, drivers.ErrHalted)
	}
	return p, nil
}

// Press presses a button and releases it PressFor later (on the board's
// clock), as a finger would: a running button reports one Press and one
// Release. A press on a held button releases it PressFor later.
func (b *Board) Press(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.buttonPin(name)
	if err != nil {
		return err
	}
	hold := max(b.pressFor, 2*p.bopts.Debounce)
	now := b.clk.Now()
	b.cancelRelease(p)
	b.setContact(p, true, now)
	gen, at := p.gen, now.Add(hold)
	p.release = b.clk.AfterFunc(hold, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if p.gen != gen || b.halted {
			return
		}
		p.release = nil
		b.setContact(p, false, at)
	})
	return nil
}

// SetLevel holds a button down (true) or lets it go (false), and cancels
// the release of a pending Press. A button held past its stuck_after
// becomes a stuck fault.
func (b *Board) SetLevel(name string, pressed bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.buttonPin(name)
	if err != nil {
		return err
	}
	b.cancelRelease(p)
	b.setContact(p, pressed, b.clk.Now())
	return nil
}

// Trace returns the changes recorded, oldest first: every pin opened
// (at its safe level), and every change of an output's level or a
// button's contact. Setting an output to the level it has is no change.
// A Press's release is stamped with the time it was due, which can be
// earlier than a change recorded before it when the clock jumps.
func (b *Board) Trace() []Change {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.trace); b.traceLimit > 0 && n > b.traceLimit {
		return append([]Change(nil), b.trace[n-b.traceLimit:]...)
	}
	return append([]Change(nil), b.trace...)
}

// ClearTrace forgets the changes recorded so far.
func (b *Board) ClearTrace() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trace = nil
}

// Subscribe returns a channel that receives every change from now on, and
// a function that ends the subscription and closes the channel. A change
// that finds the channel full (buf, at least 1) is dropped for that
// subscriber, never waited for: a slow reader misses changes but can
// always read Pins.
func (b *Board) Subscribe(buf int) (<-chan Change, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan Change, max(buf, 1))
	id := b.nextSub
	b.nextSub++
	b.subs[id] = ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			delete(b.subs, id)
			close(ch)
		})
	}
}

// record notes p's state at at. The caller holds b.mu.
func (b *Board) record(p *pin, at time.Time) {
	c := Change{At: at, PinState: p.state()}
	if b.traceLimit > 0 {
		if len(b.trace) >= 2*b.traceLimit { // keep between limit and 2×limit
			b.trace = append(b.trace[:0], b.trace[len(b.trace)-b.traceLimit:]...)
		}
		b.trace = append(b.trace, c)
	}
	for _, ch := range b.subs {
		select {
		case ch <- c:
		default:
		}
	}
}

// setOutput changes an output's level. The caller holds b.mu.
func (b *Board) setOutput(p *pin, level float64, at time.Time) {
	if p.level == level {
		return
	}
	p.level = level
	b.record(p, at)
}

// setContact moves a button's contact and queues the move for Run. The
// caller holds b.mu.
func (b *Board) setContact(p *pin, pressed bool, at time.Time) {
	if p.pressed == pressed {
		return
	}
	p.pressed = pressed
	if len(p.queue) >= maxQueue {
		p.consumed = p.queue[0].pressed
		p.queue = append(p.queue[:0], p.queue[1:]...)
	}
	p.queue = append(p.queue, sample{pressed, at})
	select {
	case p.notify <- struct{}{}:
	default:
	}
	b.record(p, at)
}

// cancelRelease stops a pending Press release. The caller holds b.mu.
func (b *Board) cancelRelease(p *pin) {
	p.gen++
	if p.release != nil {
		p.release.Stop()
		p.release = nil
	}
}

// stopButton halts a button. The caller holds b.mu.
func (b *Board) stopButton(p *pin) {
	b.cancelRelease(p)
	if !p.stopped {
		p.stopped = true
		close(p.halt)
	}
}

type lamp struct {
	b *Board
	p *pin
}

// Set implements drivers.Lamp. Above 1 is 1, below 0 is 0; NaN is an
// error.
func (l *lamp) Set(level float64) error {
	if math.IsNaN(level) {
		return fmt.Errorf("sim: %s: level is NaN", l.p.name)
	}
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	if l.p.halted {
		return fmt.Errorf("sim: %s: %w", l.p.name, drivers.ErrHalted)
	}
	l.b.setOutput(l.p, onOff(l.p, min(max(level, 0), 1)), l.b.clk.Now())
	return nil
}

// Halt implements drivers.Lamp: dark; the lamp can be lit again.
func (l *lamp) Halt() error {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	l.b.setOutput(l.p, 0, l.b.clk.Now())
	return nil
}

// Name implements drivers.Lamp.
func (l *lamp) Name() string { return l.p.name }

type signal struct {
	b *Board
	p *pin
}

// Set implements drivers.Signal.
func (s *signal) Set(on bool) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.p.halted {
		return fmt.Errorf("sim: %s: %w", s.p.name, drivers.ErrHalted)
	}
	level := 0.0
	if on {
		level = 1
	}
	s.b.setOutput(s.p, level, s.b.clk.Now())
	return nil
}

// Halt implements drivers.Signal: off; the signal can be driven again.
func (s *signal) Halt() error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.setOutput(s.p, 0, s.b.clk.Now())
	return nil
}

// Name implements drivers.Signal.
func (s *signal) Name() string { return s.p.name }

type button struct {
	b *Board
	p *pin
}

// errRunning is returned by Run called while it runs.
var errRunning = errors.New("Run called while running")

// Run implements drivers.Button. It debounces the contact from where it
// was when the last Run stopped (released, the first time), replaying
// every move made since, in order and with its own time: a Press made
// just before Run started is not lost. It returns nil when stopped by
// Halt.
func (bt *button) Run(ctx context.Context, out chan<- drivers.ButtonEvent) error {
	b, p := bt.b, bt.p
	b.mu.Lock()
	switch {
	case p.stopped:
		b.mu.Unlock()
		return fmt.Errorf("sim: %s: %w", p.name, drivers.ErrHalted)
	case p.running:
		b.mu.Unlock()
		return fmt.Errorf("sim: %s: %w", p.name, errRunning)
	}
	p.running = true
	start := b.clk.Now()
	if len(p.queue) > 0 && p.queue[0].at.Before(start) {
		start = p.queue[0].at
	}
	base := drivers.RawSample{Pressed: p.consumed, At: start}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		p.running = false
		b.mu.Unlock()
	}()
	return drivers.RunButton(ctx, p.halt, (*contact)(bt), drivers.LoopOptions{
		Pin: p.name, Button: p.bopts, Clock: b.clk, Baseline: base,
	}, out)
}

// contact is the simulated contact as drivers.RunButton sees it: the
// moves queued by Press and SetLevel, each with its own time.
type contact button

// Wait implements drivers.Contact: it returns the queued moves when one is
// queued or tick delivers (moves made before a deadline count before it).
func (c *contact) Wait(ctx context.Context, halt <-chan struct{}, tick <-chan time.Time, _ time.Duration) drivers.Batch {
	b, p := c.b, c.p
	var batch drivers.Batch
	select {
	case <-ctx.Done():
		return batch
	case <-halt:
		return batch
	case <-p.notify:
	case <-tick:
		batch.Ticked = true
	}
	b.mu.Lock()
	for _, s := range p.queue {
		batch.Samples = append(batch.Samples, drivers.RawSample{Pressed: s.pressed, At: s.at})
	}
	p.queue = p.queue[:0]
	if n := len(batch.Samples); n > 0 {
		p.consumed = batch.Samples[n-1].Pressed
	}
	b.mu.Unlock()
	return batch
}

// Halt implements drivers.Button: Run returns nil and later Runs fail
// with drivers.ErrHalted. The contact stays where it is.
func (bt *button) Halt() error {
	bt.b.mu.Lock()
	defer bt.b.mu.Unlock()
	bt.b.stopButton(bt.p)
	return nil
}

// Name implements drivers.Button.
func (bt *button) Name() string { return bt.p.name }

var _ drivers.Board = (*Board)(nil)
