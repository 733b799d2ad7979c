package devices

import (
	"context"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"

	"github.com/cuelight/cuelight/drivers"
)

// MCP23017 registers (IOCON.BANK = 0, the reset layout; port A, then B at
// the next address).
const (
	mcpIODIR = 0x00 // 1: input (reset: all inputs)
	mcpIOCON = 0x0A // configuration; 0x0A is OLATA when BANK = 1
	mcpGPPU  = 0x0C // 1: 100 kΩ pull-up on
	mcpGPIO  = 0x12 // input levels
	mcpOLAT  = 0x14 // output latches
)

// mcpBoard is an opened MCP23017.
//
// It is driven through its registers here rather than through periph's
// mcp23xxx pins, for two reasons that matter to a cue light: mcp23xxx's
// Out() switches the pin to an output before it writes the latch (so a
// latch left high lights the lamp for a moment: not dark in the first
// write), and its Read() drops bus errors (a dead expander would read as
// every button released, silently).
type mcpBoard struct {
	s   drivers.DeviceSpec
	dev *i2c.Dev

	mu    sync.Mutex // one transaction at a time; guards the fields below
	iodir [2]byte
	olat  [2]byte
	gppu  [2]byte
	dark  [2]byte // the latch level of each output when dark (active_low: 1)
	outs  [2]byte // which bits are outputs we opened

	// The last input sample, shared by every button of the chip: one
	// two-byte read per poll period, however many buttons.
	sampled time.Time
	in      [2]byte
	inErr   error
	failing bool // a read has failed and not yet succeeded again: logged once
}

func openMCP23017(bus i2c.Bus, s drivers.DeviceSpec) (*mcpBoard, error) {
	m := &mcpBoard{s: s, dev: &i2c.Dev{Bus: bus, Addr: uint16(s.Addr)}, iodir: [2]byte{0xFF, 0xFF}}
	// The first write sets IOCON to its reset value (BANK = 0, sequential
	// addressing); were the chip left in BANK = 1, this address is OLATA
	// and 0 writes it dark. Then every latch low and every pin an input
	// (the reset state: nothing driven) with no pull-up.
	for _, w := range [][]byte{
		{mcpIOCON, 0x00},
		{mcpOLAT, 0x00, 0x00},
		{mcpIODIR, 0xFF, 0xFF},
		{mcpGPPU, 0x00, 0x00},
	} {
		if _, err := m.dev.Write(w); err != nil {
			return nil, notAnswering(s, err)
		}
	}
	return m, nil
}

func (m *mcpBoard) spec() drivers.DeviceSpec { return m.s }

func (m *mcpBoard) write(w ...byte) error {
	if _, err := m.dev.Write(w); err != nil {
		return fmt.Errorf("devices: %s: %w", m.s, err)
	}
	return nil
}

// output makes pin n an output, dark: the latch is written first, then
// the direction, so the pin is never driven lit.
func (m *mcpBoard) output(n int, activeLow bool) error {
	port, bit := n/8, byte(1)<<(n%8)
	m.mu.Lock()
	defer m.mu.Unlock()
	if activeLow {
		m.dark[port] |= bit
	} else {
		m.dark[port] &^= bit
	}
	m.outs[port] |= bit
	m.olat[port] = m.olat[port]&^bit | m.dark[port]&bit
	if err := m.write(mcpOLAT+byte(port), m.olat[port]); err != nil {
		return err
	}
	m.iodir[port] &^= bit
	return m.write(mcpIODIR+byte(port), m.iodir[port])
}

// set drives output n lit (on) or dark.
func (m *mcpBoard) set(n int, on bool) error {
	port, bit := n/8, byte(1)<<(n%8)
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.olat[port] &^ bit
	if on != (m.dark[port]&bit != 0) {
		v |= bit
	}
	if err := m.write(mcpOLAT+byte(port), v); err != nil {
		return err
	}
	m.olat[port] = v
	return nil
}

func (m *mcpBoard) lamp(b *Board, n int, o drivers.PinOptions) (drivers.Lamp, error) {
	if err := m.output(n, o.ActiveLow); err != nil {
		return nil, err
	}
	return &mcpOut{b: b, m: m, n: n, name: drivers.DevicePinName(m.s.Name, n)}, nil
}

func (m *mcpBoard) signal(b *Board, n int, o drivers.PinOptions) (drivers.Signal, error) {
	if err := m.output(n, o.ActiveLow); err != nil {
		return nil, err
	}
	return &mcpSignal{mcpOut{b: b, m: m, n: n, name: drivers.DevicePinName(m.s.Name, n)}}, nil
}

func (m *mcpBoard) button(b *Board, n int, o drivers.ButtonOptions) (drivers.Button, error) {
	pull := o.Pull
	if pull == drivers.PullDefault {
		pull = drivers.PullDown
		if o.ActiveLow {
			pull = drivers.PullUp
		}
	}
	if pull == drivers.PullDown {
		return nil, errNoSuch(m.s, "a button with a pull-down", "the MCP23017 has pull-ups only: wire the button to ground with active_low: true, or give it its own resistor with pull: none")
	}
	port, bit := n/8, byte(1)<<(n%8)
	m.mu.Lock()
	if pull == drivers.PullUp {
		m.gppu[port] |= bit
	} else {
		m.gppu[port] &^= bit
	}
	err := m.write(mcpGPPU+byte(port), m.gppu[port])
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	if o.Clock == nil {
		o.Clock = b.clk
	}
	return &mcpButton{b: b, m: m, n: n, o: o, name: drivers.DevicePinName(m.s.Name, n), halt: make(chan struct{})}, nil
}

// check reads IODIR: an MCP23017 that lost power wakes with every pin an
// input (0xFF) and must be set up again: latches dark first, then the
// directions and pull-ups as they were.
func (m *mcpBoard) check() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var dir [2]byte
	err := m.dev.Tx([]byte{mcpIODIR}, dir[:])
	if err == nil && dir == m.iodir {
		return nil
	}
	var setup error
	for port := range 2 {
		m.olat[port] = m.olat[port]&^m.outs[port] | m.dark[port]&m.outs[port]
	}
	for _, w := range [][]byte{
		{mcpIOCON, 0x00},
		{mcpOLAT, m.olat[0], m.olat[1]},
		{mcpIODIR, m.iodir[0], m.iodir[1]},
		{mcpGPPU, m.gppu[0], m.gppu[1]},
	} {
		if e := m.write(w...); e != nil && setup == nil {
			setup = e
		}
	}
	return checkFailed(m.s, err, setup)
}

// halt writes every output dark; the pins stay outputs, driven dark.
func (m *mcpBoard) halt() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var err error
	for port := range 2 {
		v := m.olat[port]&^m.outs[port] | m.dark[port]&m.outs[port]
		if e := m.write(mcpOLAT+byte(port), v); e != nil {
			err = fmt.Errorf("%w (halt)", e)
			continue
		}
		m.olat[port] = v
	}
	return err
}

// sample returns the input levels at now: one read of both ports, shared
// by every button that asks within half a poll period.
func (m *mcpBoard) sample(b *Board, now time.Time) ([2]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.sampled.IsZero() && now.Sub(m.sampled) < b.poll/2 && now.Sub(m.sampled) >= 0 {
		return m.in, m.inErr
	}
	var r [2]byte
	err := m.dev.Tx([]byte{mcpGPIO}, r[:])
	m.sampled, m.in, m.inErr = now, r, err
	switch {
	case err != nil && !m.failing:
		m.failing = true
		b.log.Error("button inputs cannot be read; their buttons keep their last level until the device answers", "device", m.s.String(), "err", err)
	case err == nil && m.failing:
		m.failing = false
		b.log.Info("button inputs can be read again", "device", m.s.String())
	}
	return r, err
}

// mcpOut is one MCP23017 output as a lamp (lit for any level > 0).
type mcpOut struct {
	b    *Board
	m    *mcpBoard
	n    int
	name string
}

func (l *mcpOut) Set(level float64) error {
	if l.b.isHalted() {
		return drivers.ErrHalted
	}
	return l.m.set(l.n, level > 0)
}

func (l *mcpOut) Halt() error  { return l.m.set(l.n, false) }
func (l *mcpOut) Name() string { return l.name }

type mcpSignal struct{ mcpOut }

func (s *mcpSignal) Set(on bool) error {
	if s.b.isHalted() {
		return drivers.ErrHalted
	}
	return s.m.set(s.n, on)
}

// mcpButton is one MCP23017 input, sampled every poll period and
// debounced by drivers.RunButton like every other button.
type mcpButton struct {
	b    *Board
	m    *mcpBoard
	n    int
	o    drivers.ButtonOptions
	name string

	once sync.Once
	halt chan struct{}
}

func (bt *mcpButton) Run(ctx context.Context, out chan<- drivers.ButtonEvent) error {
	if bt.b.isHalted() {
		return drivers.ErrHalted
	}
	base := drivers.RawSample{At: bt.o.Clock.Now()}
	if p, ok := bt.read(base.At); ok {
		base.Pressed = p
	}
	// The loop ends on this button's Halt or the board's.
	halt := make(chan struct{})
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-bt.halt:
		case <-bt.b.stop:
		case <-done:
			return
		}
		close(halt)
	}()
	return drivers.RunButton(ctx, halt, (*mcpContact)(bt), drivers.LoopOptions{
		Pin: bt.name, Button: bt.o, Clock: bt.o.Clock, Poll: bt.b.poll, Baseline: base,
	}, out)
}

// read samples the button: pressed is logical.
func (bt *mcpButton) read(now time.Time) (pressed, ok bool) {
	in, err := bt.m.sample(bt.b, now)
	if err != nil {
		return false, false
	}
	high := in[bt.n/8]&(1<<(bt.n%8)) != 0
	return high != bt.o.ActiveLow, true
}

// mcpContact is the button as drivers.RunButton sees it: a sampling
// contact (LoopOptions.Poll).
type mcpContact mcpButton

func (c *mcpContact) Wait(ctx context.Context, halt <-chan struct{}, tick <-chan time.Time, wait time.Duration) drivers.Batch {
	bt := (*mcpButton)(c)
	var batch drivers.Batch
	sample, ticked := bt.b.waitPoll(ctx, halt, tick, wait)
	batch.Ticked = ticked
	if !sample {
		return batch
	}
	now := bt.o.Clock.Now()
	if p, ok := bt.read(now); ok {
		batch.Samples = append(batch.Samples, drivers.RawSample{Pressed: p, At: now})
	}
	return batch
}

func (bt *mcpButton) Halt() error {
	bt.once.Do(func() { close(bt.halt) })
	return nil
}

func (bt *mcpButton) Name() string { return bt.name }
