package devices

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spitest"
	"periph.io/x/devices/v3/pca9685"

	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/drivertest"
)

// playBuses gives the recorded-transaction buses of periph's test
// packages: any transaction not in the list, in that order, is an error.
type playBuses struct {
	i *i2ctest.Playback
	s *spitest.Playback
}

func (p playBuses) I2C(string) (i2c.Bus, error) {
	if p.i == nil {
		return nil, errors.New("no I²C bus in this test")
	}
	return p.i, nil
}

func (p playBuses) SPI(string) (spi.Port, error) {
	if p.s == nil {
		return nil, errors.New("no SPI bus in this test")
	}
	return p.s, nil
}

// pcaOpen is what opening a PCA9685 at 0x40 writes at 1 kHz: every
// channel full-off first; periph's NewI2C (ALL_LED 0/0, MODE2 totem pole,
// MODE1 wake, 50 Hz); full-off again; prescale 5 (1017 Hz).
func pcaOpen() []i2ctest.IO {
	const a = 0x40
	return []i2ctest.IO{
		{Addr: a, W: []byte{0xFD, 0x10}}, // ALL_LED_OFF_H: full off — the first write
		{Addr: a, W: []byte{0xFA, 0, 0, 0, 0}},
		{Addr: a, W: []byte{0x01, 0x04}},
		{Addr: a, W: []byte{0x00, 0x01}},
		{Addr: a, W: []byte{0x00}, R: []byte{0x11}},
		{Addr: a, W: []byte{0x00, 0x21}},
		{Addr: a, W: []byte{0x00}, R: []byte{0x21}}, // periph's 50 Hz
		{Addr: a, W: []byte{0x00, 0x31}},
		{Addr: a, W: []byte{0xFE, 0x7A}},
		{Addr: a, W: []byte{0x00, 0x21}},
		{Addr: a, W: []byte{0x00, 0xA1}},
		{Addr: a, W: []byte{0xFD, 0x10}},            // full off again
		{Addr: a, W: []byte{0x00}, R: []byte{0xA1}}, // the show's 1 kHz
		{Addr: a, W: []byte{0x00, 0x31}},
		{Addr: a, W: []byte{0xFE, 0x05}},
		{Addr: a, W: []byte{0x00, 0x21}},
		{Addr: a, W: []byte{0x00, 0xA1}},
	}
}

func consumed(t *testing.T, p *conntest.Playback, n int) {
	t.Helper()
	if p.Count != n {
		t.Errorf("%d of %d recorded transactions done", p.Count, n)
	}
}

// TestPCA9685Transactions: the exact bytes of dark at start, a standby
// flash at brightness 0.5 (through the perceptual curve), GO at full and
// the halt; and no transaction but these.
func TestPCA9685Transactions(t *testing.T) {
	t.Parallel()
	const a = 0x40
	ops := append(pcaOpen(),
		i2ctest.IO{Addr: a, W: []byte{0x15, 0x10}},             // lamp 3 opened: LED3_OFF_H full off
		i2ctest.IO{Addr: a, W: []byte{0x12, 0, 0, 0xF2, 0x02}}, // flash on at 0.5: duty 754
		i2ctest.IO{Addr: a, W: []byte{0x15, 0x10}},             // flash off: full off
		i2ctest.IO{Addr: a, W: []byte{0x12, 0, 0, 0xF2, 0x02}}, // on again
		i2ctest.IO{Addr: a, W: []byte{0x13, 0x10, 0, 0}},       // GO at 1: LED3_ON_H full on
		i2ctest.IO{Addr: a, W: []byte{0xFD, 0x10}},             // halt: all full off
	)
	p := &i2ctest.Playback{Ops: ops, DontPanic: true}
	b, err := Open(drivertest.NewBoard(nil), []drivers.DeviceSpec{{Name: "pwm1", Kind: drivers.PCA9685, Bus: "i2c1", Addr: a}}, Options{Buses: playBuses{i: p}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.Lamp("pwm1:3", drivers.PinOptions{Channel: "fly", Role: drivers.RoleStandbyLamp})
	if err != nil {
		t.Fatal(err)
	}
	for _, lv := range []float64{0.5, 0, 0.5, 1} {
		if err := l.Set(lv); err != nil {
			t.Fatalf("Set(%g): %v", lv, err)
		}
	}
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := l.Set(1); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("Set after Halt = %v, want ErrHalted", err)
	}
	if p.Count != len(ops) {
		t.Errorf("%d of %d recorded transactions done", p.Count, len(ops))
	}
}

// TestPerceptualCurve: dark is 0, full is 4095, a lit level is never 0,
// the curve rises, and mid-level is far below half the duty (the eye's
// response).
func TestPerceptualCurve(t *testing.T) {
	t.Parallel()
	if Duty(0) != 0 || Duty(1) != 4095 || Duty(0.001) < 1 {
		t.Errorf("Duty(0, 1, 0.001) = %d, %d, %d", Duty(0), Duty(1), Duty(0.001))
	}
	if d := Duty(0.5); d != 754 {
		t.Errorf("Duty(0.5) = %d, want 754 (CIE L* 50 is 18.4 %% luminance)", d)
	}
	prev := 0
	for i := 1; i <= 1000; i++ {
		d := Duty(float64(i) / 1000)
		if d < prev {
			t.Fatalf("Duty falls at %d/1000: %d < %d", i, d, prev)
		}
		prev = d
	}
	for f, want := range map[int]byte{1000: 5, 1526: 3, 24: 253, 50: 121, 200: 30} {
		if got := Prescale(f); got != want {
			t.Errorf("Prescale(%d) = %d, want %d", f, got, want)
		}
	}
}

// TestPCA9685NeverPanics: a PCA9685 pin's Out() or Halt() in periph
// v3.7.4 divides by zero (it asks SetPwmFreq for 0 Hz). The driver must
// never get such a pin nor ask for a frequency it has not checked: the
// source never calls CreatePin, RegisterPins or SetPwmFreq, and every
// frequency outside 24–1526 Hz is refused before the bus is touched.
func TestPCA9685NeverPanics(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("pca9685.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []string{`\.CreatePin\(`, `\.RegisterPins\(`, `\.SetPwmFreq\(`, `\.Out\(`} {
		if regexp.MustCompile(call).Match(src) {
			t.Errorf("pca9685.go calls %s: that path panics (integer divide by zero)", strings.Trim(call, `\(`))
		}
	}
	// The path the driver avoids does panic: if periph fixes it, this
	// test says so (and the docs can drop the warning).
	func() {
		defer func() {
			if recover() == nil {
				t.Log("periph's PCA9685 pin Out() no longer panics")
			}
		}()
		dev := &pca9685.Dev{}
		pin, _ := dev.CreatePin(0)
		_ = pin.Halt()
	}()
	for _, f := range []int{-1, 1, 23, 1527, 100000} {
		p := &i2ctest.Playback{DontPanic: true}
		_, err := Open(drivertest.NewBoard(nil), []drivers.DeviceSpec{{Name: "pwm1", Kind: drivers.PCA9685, Bus: "i2c1", Addr: 0x40, Frequency: f}}, Options{Buses: playBuses{i: p}})
		if err == nil || !strings.Contains(err.Error(), "frequency") {
			t.Errorf("frequency %d: err = %v, want refused", f, err)
		}
		if p.Count != 0 {
			t.Errorf("frequency %d: %d transactions before the refusal", f, p.Count)
		}
	}
	// A whole life at every level, no panic (a panic fails the test).
	bus := newRegBus()
	b, err := Open(drivertest.NewBoard(nil), []drivers.DeviceSpec{{Name: "pwm1", Kind: drivers.PCA9685, Bus: "i2c1", Addr: 0x40, Frequency: 1526}}, Options{Buses: regBuses{i: bus}})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := b.Lamp("pwm1:0", drivers.PinOptions{})
	s, _ := b.Signal("pwm1:15", drivers.PinOptions{})
	for _, lv := range []float64{0, 1e-9, 0.1, 0.5, 0.999, 1, 2, -1} {
		if err := l.Set(lv); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Set(true)
	_ = l.Halt()
	_ = s.Halt()
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
}

// TestNotAnswering: a device that does not take its first write stops
// Open with an error naming it and its bus; the devices opened before it
// are written dark again.
func TestNotAnswering(t *testing.T) {
	t.Parallel()
	bus := newRegBus()
	specs := []drivers.DeviceSpec{
		{Name: "exp1", Kind: drivers.MCP23017, Bus: "i2c1", Addr: 0x20},
		{Name: "pwm1", Kind: drivers.PCA9685, Bus: "i2c1", Addr: 0x41},
	}
	// A bus that answers exp1 only.
	fb := &failAt{regBus: bus, addr: 0x41}
	_, err := Open(drivertest.NewBoard(nil), specs, Options{Buses: oneBus{fb}})
	if err == nil {
		t.Fatal("Open succeeded with pwm1 silent")
	}
	for _, want := range []string{"pwm1", "pca9685", "0x41", "i2c1", "does not answer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := len(bus.Ops); n < 2 || bus.Ops[n-2].W[0] != mcpOLAT || bus.Ops[n-1].W[0] != mcpOLAT+1 {
		t.Errorf("last transactions %+v: exp1 was not written dark after the failure", bus.Ops[max(0, n-2):])
	}
	if _, err := Open(drivertest.NewBoard(nil), specs[:1], Options{Buses: playBuses{}}); err == nil || !strings.Contains(err.Error(), "i2c1") {
		t.Errorf("no bus: err = %v", err)
	}
}

type failAt struct {
	*regBus
	addr uint16
}

func (f *failAt) Tx(addr uint16, w, r []byte) error {
	if addr == f.addr {
		return errors.New("i2c: no acknowledge")
	}
	return f.regBus.Tx(addr, w, r)
}

type oneBus struct{ i2c.Bus }

func (o oneBus) I2C(string) (i2c.Bus, error)  { return o.Bus, nil }
func (o oneBus) SPI(string) (spi.Port, error) { return nil, errors.New("no SPI") }

// TestMCP23017Transactions: dark at start (IOCON, latches low, all
// inputs), an active-low lamp opened latch first then direction, lit,
// dark, and the halt.
func TestMCP23017Transactions(t *testing.T) {
	t.Parallel()
	const a = 0x20
	ops := []i2ctest.IO{
		{Addr: a, W: []byte{0x0A, 0x00}},       // IOCON (OLATA if BANK=1): the first write
		{Addr: a, W: []byte{0x14, 0x00, 0x00}}, // OLATA/B low
		{Addr: a, W: []byte{0x00, 0xFF, 0xFF}}, // IODIRA/B all inputs
		{Addr: a, W: []byte{0x0C, 0x00, 0x00}}, // GPPUA/B off
		{Addr: a, W: []byte{0x15, 0x02}},       // lamp exp1:9 (B1, active low): latch high = dark
		{Addr: a, W: []byte{0x01, 0xFD}},       // then B1 an output
		{Addr: a, W: []byte{0x15, 0x00}},       // lit: low
		{Addr: a, W: []byte{0x15, 0x02}},       // dark
		{Addr: a, W: []byte{0x15, 0x00}},       // lit
		{Addr: a, W: []byte{0x14, 0x00}},       // halt: port A as it was
		{Addr: a, W: []byte{0x15, 0x02}},       // port B: B1 dark
	}
	p := &i2ctest.Playback{Ops: ops, DontPanic: true}
	b, err := Open(drivertest.NewBoard(nil), []drivers.DeviceSpec{{Name: "exp1", Kind: drivers.MCP23017, Bus: "i2c1", Addr: a}}, Options{Buses: playBuses{i: p}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.Lamp("exp1:9", drivers.PinOptions{ActiveLow: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, lv := range []float64{0.3, 0, 1} {
		if err := l.Set(lv); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	if p.Count != len(ops) {
		t.Errorf("%d of %d recorded transactions done", p.Count, len(ops))
	}
}

// apaFrame is an APA102 transfer of 2 LEDs: start frame, each LED as
// 0xFF (full global brightness: no global PWM) B G R, end frame.
func apaFrame(leds ...drivers.RGB) []byte {
	out := []byte{0, 0, 0, 0}
	for _, c := range leds {
		out = append(out, 0xFF, c.B, c.G, c.R)
	}
	return append(out, 0xFF)
}

var apaDark = []byte{0, 0, 0, 0, 0xE1, 0, 0, 0, 0xE1, 0, 0, 0, 0xFF}

// TestAPA102Transactions: dark at start, standby amber at brightness 0.5,
// GO green, halt: exact colours, no correction.
func TestAPA102Transactions(t *testing.T) {
	t.Parallel()
	amber, green := drivers.ColorNames["amber"], drivers.ColorNames["green"]
	ops := []conntest.IO{
		{W: apaDark}, // open: the strip dark
		{W: apaFrame(drivers.RGB{}, drivers.RGB{})},                 // lamp 1 requested dark
		{W: apaFrame(drivers.RGB{}, drivers.RGB{R: 0x80, G: 0x60})}, // standby at 0.5: amber FFBF00 halved
		{W: apaFrame(drivers.RGB{}, drivers.RGB{})},                 // flash off
		{W: apaFrame(drivers.RGB{}, green)},                         // GO
		{W: apaDark},                                                // halt
	}
	p := &spitest.Playback{Playback: conntest.Playback{Ops: ops, DontPanic: true}}
	b, err := Open(drivertest.NewBoard(nil), []drivers.DeviceSpec{{Name: "leds", Kind: drivers.APA102, Bus: "spi0.0", LEDs: 2}}, Options{Buses: playBuses{s: p}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.Lamp("leds:1", drivers.PinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cl := l.(drivers.ColorLamp)
	for _, step := range []struct {
		c  drivers.RGB
		lv float64
	}{{amber, 0.5}, {amber, 0}, {green, 1}} {
		if err := cl.SetColor(step.c, step.lv); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	consumed(t, &p.Playback, len(ops))
}

// nrz encodes RGB LEDs as nrzled sends them over SPI at 2.5 MHz: GRB
// order, each bit as 4 SPI bits (1000 for 0, 1110 for 1), 3 zero bytes
// before and after.
func nrz(leds ...drivers.RGB) []byte {
	out := []byte{0, 0, 0}
	for _, c := range leds {
		for _, v := range []byte{c.G, c.R, c.B} {
			for i := 7; i > 0; i -= 2 {
				sym := func(bit byte) byte {
					if bit != 0 {
						return 0xE
					}
					return 0x8
				}
				out = append(out, sym(v>>i&1)<<4|sym(v>>(i-1)&1))
			}
		}
	}
	return append(out, 0, 0, 0)
}

// TestWS2812Transactions: the same steps on a WS2812 strip of two LEDs
// driven as one lamp (leds_per_lamp: 2).
func TestWS2812Transactions(t *testing.T) {
	t.Parallel()
	amber, green := drivers.ColorNames["amber"], drivers.ColorNames["green"]
	half := drivers.RGB{R: 0x80, G: 0x60}
	ops := []conntest.IO{
		{W: nrz(drivers.RGB{}, drivers.RGB{})}, // open: dark
		{W: nrz(drivers.RGB{}, drivers.RGB{})}, // lamp 0 requested dark
		{W: nrz(half, half)},                   // standby at 0.5
		{W: nrz(drivers.RGB{}, drivers.RGB{})}, // flash off
		{W: nrz(green, green)},                 // GO
		{W: nrz(drivers.RGB{}, drivers.RGB{})}, // halt
	}
	p := &spitest.Playback{Playback: conntest.Playback{Ops: ops, DontPanic: true}}
	b, err := Open(drivertest.NewBoard(nil), []drivers.DeviceSpec{{Name: "leds", Kind: drivers.WS2812, Bus: "spi0.0", LEDs: 2, LEDsPerLamp: 2}}, Options{Buses: playBuses{s: p}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.Lamp("leds:0", drivers.PinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lamp("leds:1", drivers.PinOptions{}); !errors.Is(err, drivers.ErrUnknownPin) {
		t.Errorf("leds:1 of a one-lamp strip: err = %v, want ErrUnknownPin", err)
	}
	cl := l.(drivers.ColorLamp)
	for _, step := range []struct {
		c  drivers.RGB
		lv float64
	}{{amber, 0.5}, {amber, 0}, {green, 1}} {
		if err := cl.SetColor(step.c, step.lv); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	consumed(t, &p.Playback, len(ops))
}

// TestPinRouting: GPIO names go to the wrapped board, device pins to the
// device; one pin once; unknown devices and numbers off the board are
// refused; a kind refuses roles it cannot take.
func TestPinRouting(t *testing.T) {
	t.Parallel()
	base := drivertest.NewBoard(nil)
	b, err := Open(base, []drivers.DeviceSpec{
		{Name: "pwm1", Kind: drivers.PCA9685, Bus: "i2c1", Addr: 0x40},
		{Name: "leds", Kind: drivers.APA102, Bus: "spi0.0", LEDs: 4},
	}, Options{Buses: regBuses{i: newRegBus(), s: &spitest.Record{}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lamp("GPIO17", drivers.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	if base.Lamps["GPIO17"] == nil {
		t.Error("GPIO17 did not open on the wrapped board")
	}
	if _, err := b.Lamp("pwm1:0", drivers.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]error{
		"pwm1:0":  drivers.ErrBusy,
		"pwm1:16": drivers.ErrUnknownPin,
		"pwm1:x":  drivers.ErrUnknownPin,
		"nope:1":  drivers.ErrUnknownPin,
		"leds:4":  drivers.ErrUnknownPin,
	} {
		if _, err := b.Lamp(name, drivers.PinOptions{}); !errors.Is(err, want) {
			t.Errorf("Lamp(%s) = %v, want %v", name, err, want)
		}
	}
	if _, err := b.Button("pwm1:1", drivers.ButtonOptions{}); err == nil {
		t.Error("a PCA9685 button opened")
	}
	if _, err := b.Signal("leds:1", drivers.PinOptions{}); err == nil {
		t.Error("a strip signal opened")
	}
	if _, err := b.Lamp("pwm1:2", drivers.PinOptions{ActiveLow: true}); err == nil {
		t.Error("an active-low PCA9685 lamp opened")
	}
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	if !base.Halted {
		t.Error("the wrapped board was not halted")
	}
	if _, err := b.Lamp("pwm1:5", drivers.PinOptions{}); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("Lamp after Halt = %v, want ErrHalted", err)
	}
}

// TestCheck: a PCA9685 and an MCP23017 that lost power (MODE1 asleep,
// IODIR back to all inputs) fail the check with an error naming them,
// are set up again dark (a lit lamp is dark afterwards: the station
// writes it again), and pass the next check; a silent bus fails it.
func TestCheck(t *testing.T) {
	t.Parallel()
	bus := newRegBus()
	b, err := Open(drivertest.NewBoard(nil), []drivers.DeviceSpec{
		{Name: "pwm1", Kind: drivers.PCA9685, Bus: "i2c1", Addr: 0x40},
		{Name: "exp1", Kind: drivers.MCP23017, Bus: "i2c1", Addr: 0x20},
	}, Options{Buses: regBuses{i: bus}})
	if err != nil {
		t.Fatal(err)
	}
	pwm, _ := b.Lamp("pwm1:2", drivers.PinOptions{})
	exp, _ := b.Lamp("exp1:9", drivers.PinOptions{ActiveLow: true})
	_ = pwm.Set(1)
	_ = exp.Set(1)
	if err := b.Check(); err != nil {
		t.Fatalf("Check of healthy devices: %v", err)
	}
	// Power lost and back: the chips' reset state.
	bus.Put(0x40, pcaMode1, 0x11)
	bus.Put(0x20, mcpIODIR, 0xFF)
	bus.Put(0x20, mcpIODIR+1, 0xFF)
	err = b.Check()
	var de *drivers.DeviceError
	if err == nil || !errors.As(err, &de) || !strings.Contains(err.Error(), "pwm1") || !strings.Contains(err.Error(), "exp1") || !strings.Contains(err.Error(), "was reset") {
		t.Fatalf("Check after a reset = %v", err)
	}
	if on, _ := bus.pcaLit(0x40, 2); on {
		t.Error("pwm1:2 lit after the set-up again")
	}
	if m := bus.Get(0x40, pcaMode1); m&pcaSleep != 0 || bus.Get(0x40, pcaPrescale) != 5 {
		t.Errorf("pwm1 not set up again: MODE1 %#x, prescale %d", m, bus.Get(0x40, pcaPrescale))
	}
	if dir, lat := bus.Get(0x20, mcpIODIR+1), bus.Get(0x20, mcpOLAT+1); dir != 0xFD || lat&0x02 == 0 {
		t.Errorf("exp1 port B: IODIR %#x, OLAT %#x; want B1 an output, dark (high)", dir, lat)
	}
	if err := b.Check(); err != nil {
		t.Errorf("second Check: %v", err)
	}
	bus.mu.Lock()
	bus.Fail = true
	bus.mu.Unlock()
	if err := b.Check(); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("Check on a silent bus = %v", err)
	}
}
