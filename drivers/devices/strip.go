package devices

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/devices/v3/apa102"
	"periph.io/x/devices/v3/nrzled"

	"github.com/cuelight/cuelight/drivers"
)

// WS2812SPIFrequency is the only SPI clock nrzled drives a WS2812 with:
// three SPI bits per LED bit at 800 kHz.
const WS2812SPIFrequency = 2500 * physic.KiloHertz

// ledStrip is what the two strip drivers share: the whole strip is
// written at once from RGB bytes, and Halt writes it dark.
type ledStrip interface {
	Write(pixels []byte) (int, error)
	Halt() error
}

// strip is an opened APA102 or WS2812 strip: lamp n is a run of
// LEDsPerLamp LEDs, all in the lamp's colour.
type strip struct {
	s   drivers.DeviceSpec
	per int

	mu  sync.Mutex // one transfer at a time; guards pix
	dev ledStrip
	pix []byte // RGB of every LED, as last written or about to be
}

func openStrip(port spi.Port, s drivers.DeviceSpec) (*strip, error) {
	per := max(s.LEDsPerLamp, 1)
	if s.LEDs < 1 || s.LEDs > drivers.MaxStripLEDs {
		return nil, fmt.Errorf("devices: %s: leds %d is outside 1 to %d", s, s.LEDs, drivers.MaxStripLEDs)
	}
	st := &strip{s: s, per: per, pix: make([]byte, 3*s.LEDs)}
	var err error
	switch s.Kind {
	case drivers.APA102:
		// Exact colours: no colour temperature correction, no global
		// PWM (its 580 Hz flickers on camera and it remaps intensity).
		o := apa102.PassThruOpts
		o.NumPixels = s.LEDs
		st.dev, err = apa102.New(port, &o)
	case drivers.WS2812:
		st.dev, err = nrzled.NewSPI(port, &nrzled.Opts{NumPixels: s.LEDs, Channels: 3, Freq: WS2812SPIFrequency})
	default:
		return nil, fmt.Errorf("devices: %s: not a strip", s)
	}
	if err != nil {
		return nil, fmt.Errorf("devices: %s: %w", s, err)
	}
	// The first write: the whole strip dark. SPI has no acknowledge: a
	// strip that is not there cannot be told from a dark one, only a bus
	// that refuses the transfer is an error.
	if err := st.dev.Halt(); err != nil {
		return nil, notAnswering(s, err)
	}
	return st, nil
}

func (st *strip) spec() drivers.DeviceSpec { return st.s }

// show sets lamp n's LEDs to c and writes the strip.
func (st *strip) show(n int, c drivers.RGB) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := n * st.per; i < (n+1)*st.per; i++ {
		st.pix[3*i], st.pix[3*i+1], st.pix[3*i+2] = c.R, c.G, c.B
	}
	if _, err := st.dev.Write(st.pix); err != nil {
		return fmt.Errorf("devices: %s: %w", st.s, err)
	}
	return nil
}

func (st *strip) lamp(b *Board, n int, o drivers.PinOptions) (drivers.Lamp, error) {
	if o.ActiveLow {
		return nil, errNoSuch(st.s, "active_low", "an LED strip's lamps have no wire polarity")
	}
	l := &stripLamp{b: b, st: st, n: n, name: drivers.DevicePinName(st.s.Name, n), color: drivers.ColorNames["white"]}
	if err := st.show(n, drivers.RGB{}); err != nil { // requested dark
		return nil, err
	}
	return l, nil
}

func (st *strip) signal(*Board, int, drivers.PinOptions) (drivers.Signal, error) {
	return nil, errNoSuch(st.s, "a signal", "put call_out on GPIO, a pca9685 or an mcp23017")
}

func (st *strip) button(*Board, int, drivers.ButtonOptions) (drivers.Button, error) {
	return nil, errNoSuch(st.s, "a button", "put buttons on GPIO or an mcp23017")
}

// check sends the strip its LEDs again: an SPI strip cannot be asked
// anything, but one that lost power comes back dark and is lit again by
// this; only a bus that refuses the transfer is an error.
func (st *strip) check() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, err := st.dev.Write(st.pix); err != nil {
		_ = st.dev.Halt()
		return fmt.Errorf("devices: %s: %w", st.s, err)
	}
	return nil
}

// halt writes the whole strip dark.
func (st *strip) halt() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	clear(st.pix)
	if err := st.dev.Halt(); err != nil {
		return fmt.Errorf("devices: %s: halt: %w", st.s, err)
	}
	return nil
}

// stripLamp is one lamp of a strip: a drivers.ColorLamp.
type stripLamp struct {
	b    *Board
	st   *strip
	n    int
	name string

	mu    sync.Mutex
	color drivers.RGB // the colour Set uses: the last SetColor's
}

// Set lights the lamp at level in its last colour (white before any
// SetColor).
func (l *stripLamp) Set(level float64) error {
	l.mu.Lock()
	c := l.color
	l.mu.Unlock()
	return l.SetColor(c, level)
}

// SetColor implements drivers.ColorLamp.
func (l *stripLamp) SetColor(c drivers.RGB, level float64) error {
	if l.b.isHalted() {
		return drivers.ErrHalted
	}
	if level > 0 {
		l.mu.Lock()
		l.color = c
		l.mu.Unlock()
	}
	return l.st.show(l.n, c.Scale(level))
}

func (l *stripLamp) Halt() error  { return l.st.show(l.n, drivers.RGB{}) }
func (l *stripLamp) Name() string { return l.name }

var _ drivers.ColorLamp = (*stripLamp)(nil)
