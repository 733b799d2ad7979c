package devices

import (
	"fmt"
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/devices/v3/pca9685"

	"github.com/cuelight/cuelight/drivers"
)

// PCA9685 registers written directly: MODE1 and PRESCALE for the
// frequency, ALL_LED_OFF_H, whose bit 4 turns every channel fully off at
// once.
const (
	pcaMode1      = 0x00
	pcaRestart    = 0x80
	pcaSleep      = 0x10
	pcaPrescale   = 0xFE
	pcaAllLEDOffH = 0xFD
	pcaFullBit    = 0x10
	pcaDutyMax    = 4095
)

// pcaBoard is an opened PCA9685.
//
// Only periph's NewI2C, SetPwm, SetFullOn and SetFullOff are called
// (NewI2C sets 50 Hz; setFrequency then writes the show's prescale). NEVER a pin from CreatePin or
// RegisterPins: that pin's Out() and Halt() call PWM with frequency 0,
// which divides by zero in SetPwmFreq and panics (periph.io/x/devices
// v3.7.4). A test checks this file never mentions them.
type pcaBoard struct {
	s    drivers.DeviceSpec
	raw  *i2c.Dev
	freq int

	mu  sync.Mutex // one bus transaction at a time
	dev *pca9685.Dev
}

func openPCA9685(bus i2c.Bus, s drivers.DeviceSpec) (*pcaBoard, error) {
	freq := s.Frequency
	if freq == 0 {
		freq = drivers.DefaultPWMFrequency
	}
	if freq < drivers.MinPWMFrequency || freq > drivers.MaxPWMFrequency {
		return nil, fmt.Errorf("devices: %s: frequency %d Hz is outside %d to %d Hz", s, freq, drivers.MinPWMFrequency, drivers.MaxPWMFrequency)
	}
	p := &pcaBoard{s: s, raw: &i2c.Dev{Bus: bus, Addr: uint16(s.Addr)}, freq: freq}
	// The first write: every channel fully off.
	if err := p.allOff(); err != nil {
		return nil, notAnswering(s, err)
	}
	dev, err := pca9685.NewI2C(bus, uint16(s.Addr))
	if err != nil {
		return nil, notAnswering(s, err)
	}
	p.dev = dev
	// NewI2C wrote ON=OFF=0 to every channel (dark, but without the
	// full-off bit): write full-off again before the oscillator's first
	// period at the show's frequency.
	if err := p.allOff(); err != nil {
		return nil, notAnswering(s, err)
	}
	if err := p.setFrequency(freq); err != nil {
		return nil, notAnswering(s, err)
	}
	return p, nil
}

// Prescale is the PCA9685 prescale register value for a PWM frequency in
// Hz, as the datasheet gives it: round(25 MHz / (4096 × f)) − 1, within
// 3 (1526 Hz) to 255 (24 Hz). (periph's SetPwmFreq leaves out the −1, so
// 1000 Hz would come out at 872 Hz; it is not used.)
func Prescale(freq int) byte {
	p := int(math.Round(25e6/(4096*float64(freq)))) - 1
	return byte(max(3, min(255, p)))
}

// setFrequency writes the prescale: it can only be written while the
// oscillator sleeps (MODE1 SLEEP), then the oscillator needs 500 µs before
// RESTART.
func (p *pcaBoard) setFrequency(freq int) error {
	var mode [1]byte
	if err := p.raw.Tx([]byte{pcaMode1}, mode[:]); err != nil {
		return err
	}
	old := mode[0] &^ pcaRestart
	for _, w := range [][]byte{{pcaMode1, old | pcaSleep}, {pcaPrescale, Prescale(freq)}, {pcaMode1, old}} {
		if _, err := p.raw.Write(w); err != nil {
			return err
		}
	}
	time.Sleep(500 * time.Microsecond)
	_, err := p.raw.Write([]byte{pcaMode1, old | pcaRestart})
	return err
}

func (p *pcaBoard) allOff() error {
	_, err := p.raw.Write([]byte{pcaAllLEDOffH, pcaFullBit})
	return err
}

func (p *pcaBoard) spec() drivers.DeviceSpec { return p.s }

// Duty is the 12-bit PWM duty (0 to 4095) of a lamp level through the
// perceptual curve (CIE 1976 lightness L* = 100·level → luminance): equal
// steps of brightness: look like equal steps. A lit level is never less
// than 1 count, 1 is 4095.
func Duty(level float64) int {
	if level <= 0 {
		return 0
	}
	if level >= 1 {
		return pcaDutyMax
	}
	l := level * 100
	var y float64
	if l <= 8 {
		y = l / 903.3
	} else {
		y = math.Pow((l+16)/116, 3)
	}
	return max(1, min(pcaDutyMax, int(y*pcaDutyMax+0.5)))
}

// write drives channel ch at level: full-off for 0, full-on for 1, PWM
// between.
func (p *pcaBoard) write(ch int, level float64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch d := Duty(level); d {
	case 0:
		return p.dev.SetFullOff(ch)
	case pcaDutyMax:
		return p.dev.SetFullOn(ch)
	default:
		return p.dev.SetPwm(ch, 0, gpio.Duty(d))
	}
}

func (p *pcaBoard) claim(n int, o drivers.PinOptions, what string) error {
	if o.ActiveLow {
		return errNoSuch(p.s, "active_low", "its outputs are active-high (totem-pole): wire the LED from the output through its resistor to ground")
	}
	// Requested dark: the channel is full-off since open; say so again.
	if err := p.write(n, 0); err != nil {
		return fmt.Errorf("devices: %s: %s %d: %w", p.s, what, n, err)
	}
	return nil
}

func (p *pcaBoard) lamp(b *Board, n int, o drivers.PinOptions) (drivers.Lamp, error) {
	if err := p.claim(n, o, "lamp"); err != nil {
		return nil, err
	}
	return &pcaLamp{b: b, p: p, n: n, name: drivers.DevicePinName(p.s.Name, n)}, nil
}

func (p *pcaBoard) signal(b *Board, n int, o drivers.PinOptions) (drivers.Signal, error) {
	if err := p.claim(n, o, "signal"); err != nil {
		return nil, err
	}
	return &pcaSignal{pcaLamp{b: b, p: p, n: n, name: drivers.DevicePinName(p.s.Name, n)}}, nil
}

func (p *pcaBoard) button(*Board, int, drivers.ButtonOptions) (drivers.Button, error) {
	return nil, errNoSuch(p.s, "a button", "a PCA9685 has outputs only; put buttons on GPIO or an mcp23017")
}

// check reads MODE1: a PCA9685 that lost power wakes with SLEEP set (its
// outputs full-off) and must be set up again.
func (p *pcaBoard) check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var mode [1]byte
	err := p.raw.Tx([]byte{pcaMode1}, mode[:])
	if err == nil && mode[0]&pcaSleep == 0 {
		return nil
	}
	_ = p.allOff()
	if err != nil {
		return checkFailed(p.s, err, nil)
	}
	dev, setup := pca9685.NewI2C(p.raw.Bus, p.raw.Addr)
	if setup == nil {
		p.dev = dev
		_ = p.allOff()
		setup = p.setFrequency(p.freq)
	}
	return checkFailed(p.s, nil, setup)
}

// halt turns every channel fully off, in one write.
func (p *pcaBoard) halt() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.allOff(); err != nil {
		return fmt.Errorf("devices: %s: halt: %w", p.s, err)
	}
	return nil
}

// pcaLamp is one PCA9685 channel as a dimmable lamp.
type pcaLamp struct {
	b    *Board
	p    *pcaBoard
	n    int
	name string
}

func (l *pcaLamp) Set(level float64) error {
	if l.b.isHalted() {
		return drivers.ErrHalted
	}
	if err := l.p.write(l.n, level); err != nil {
		return fmt.Errorf("devices: %s: %w", l.p.s, err)
	}
	return nil
}

func (l *pcaLamp) Halt() error {
	if err := l.p.write(l.n, 0); err != nil {
		return fmt.Errorf("devices: %s: %w", l.p.s, err)
	}
	return nil
}

func (l *pcaLamp) Name() string { return l.name }

// pcaSignal is one PCA9685 channel fully on or fully off.
type pcaSignal struct{ pcaLamp }

func (s *pcaSignal) Set(on bool) error {
	if on {
		return s.pcaLamp.Set(1)
	}
	return s.pcaLamp.Set(0)
}
