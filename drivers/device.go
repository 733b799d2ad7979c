package drivers

import (
	"fmt"
	"strconv"
	"strings"
)

// This file holds the facts of the boards a station may add on its I²C
// and SPI buses (docs/protocol.md §11), defined once for the show file's
// validation and the drivers: the device kinds, their pin counts, address
// ranges and bus names, the `<device>:<n>` pin syntax, and lamp colours.
// The drivers themselves are in drivers/devices.

// DeviceKind is the type of an add-on board.
type DeviceKind string

// Device kinds.
const (
	// PCA9685 is a 16-channel 12-bit PWM board on I²C: dimmable lamps.
	PCA9685 DeviceKind = "pca9685"
	// APA102 is an RGB LED strip on SPI (clock and data lines).
	APA102 DeviceKind = "apa102"
	// WS2812 is an RGB LED strip ("NeoPixel") on SPI MOSI at 2.5 MHz.
	WS2812 DeviceKind = "ws2812"
	// MCP23017 is a 16-pin GPIO expander on I²C: buttons and plain lamps.
	MCP23017 DeviceKind = "mcp23017"
)

// DeviceKinds lists the kinds, in documentation order.
var DeviceKinds = []DeviceKind{PCA9685, APA102, WS2812, MCP23017}

// Device facts.
const (
	// PCA9685DefaultAddr is the address of a PCA9685 with no address
	// jumper closed; 0x40 to 0x7F are settable (0x70 is its all-call
	// address, which this driver does not use as a device address).
	PCA9685DefaultAddr = 0x40
	// MCP23017DefaultAddr is the address of an MCP23017 with A0–A2 low;
	// 0x20 to 0x27 are settable.
	MCP23017DefaultAddr = 0x20
	// DefaultPWMFrequency is a PCA9685's PWM frequency unless the show
	// sets one: flicker-free on camera and to the eye.
	DefaultPWMFrequency = 1000
	// MaxPWMFrequency is the highest frequency a PCA9685 can make with
	// its internal 25 MHz oscillator (prescale 3).
	MaxPWMFrequency = 1526
	// MinPWMFrequency is the lowest (prescale 255).
	MinPWMFrequency = 24
	// MaxStripLEDs bounds the LEDs of one strip a show may declare.
	MaxStripLEDs = 1024
)

// IsI2C reports whether the kind sits on an I²C bus (else SPI).
func (k DeviceKind) IsI2C() bool { return k == PCA9685 || k == MCP23017 }

// IsStrip reports whether the kind is an RGB LED strip.
func (k DeviceKind) IsStrip() bool { return k == APA102 || k == WS2812 }

// Valid reports whether k is one of the kinds.
func (k DeviceKind) Valid() bool {
	switch k {
	case PCA9685, APA102, WS2812, MCP23017:
		return true
	}
	return false
}

// AddrRange is the I²C address range of the kind: lo ≤ addr ≤ hi; 0, 0
// for an SPI device.
func (k DeviceKind) AddrRange() (lo, hi int) {
	switch k {
	case PCA9685:
		return 0x40, 0x7F
	case MCP23017:
		return 0x20, 0x27
	}
	return 0, 0
}

// DeviceSpec is one add-on board of a station, as the show file gives it.
type DeviceSpec struct {
	// Name is the device's name in pin names: "pwm1" in "pwm1:3".
	Name string
	// Kind is the board type.
	Kind DeviceKind
	// Bus is the bus name: "i2c1" (/dev/i2c-1) or "spi0.0"
	// (/dev/spidev0.0).
	Bus string
	// Addr is the I²C address (I²C kinds only).
	Addr int
	// LEDs is a strip's length in LEDs (strips only).
	LEDs int
	// LEDsPerLamp is how many neighbouring LEDs make one lamp (strips
	// only; default 1): lamp n is LEDs n*LEDsPerLamp to
	// (n+1)*LEDsPerLamp-1.
	LEDsPerLamp int
	// Frequency is a PCA9685's PWM frequency in Hz (default
	// DefaultPWMFrequency).
	Frequency int
}

// Pins is the number of pins (lamps, for a strip) the device has.
func (s DeviceSpec) Pins() int {
	switch s.Kind {
	case PCA9685, MCP23017:
		return 16
	case APA102, WS2812:
		per := s.LEDsPerLamp
		if per <= 0 {
			per = 1
		}
		return s.LEDs / per
	}
	return 0
}

// String describes the device for errors and logs: "pwm1 (pca9685 at
// 0x40 on i2c1)".
func (s DeviceSpec) String() string {
	if s.Kind.IsI2C() {
		return fmt.Sprintf("%s (%s at %#02x on %s)", s.Name, s.Kind, s.Addr, s.Bus)
	}
	return fmt.Sprintf("%s (%s on %s)", s.Name, s.Kind, s.Bus)
}

// ParseDevicePin splits a device pin name "pwm1:3" into the device name
// and the pin number. ok is false for a name without a colon (a GPIO) or
// with a malformed number.
func ParseDevicePin(name string) (device string, n int, ok bool) {
	dev, num, found := strings.Cut(name, ":")
	if !found || dev == "" {
		return "", 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || num != strconv.Itoa(n) || n < 0 {
		return dev, -1, false
	}
	return dev, n, true
}

// DevicePinName is the pin name of pin n of device dev: "pwm1:3".
func DevicePinName(dev string, n int) string { return dev + ":" + strconv.Itoa(n) }

// ParseBus checks a bus name: "i2c<N>" for I²C (/dev/i2c-N) and
// "spi<B>.<C>" for SPI (/dev/spidevB.C). It returns the Linux device
// path.
func ParseBus(name string, i2c bool) (path string, err error) {
	num := func(s string) bool {
		n, err := strconv.Atoi(s)
		return err == nil && s == strconv.Itoa(n) && n >= 0 && n < 100
	}
	if i2c {
		if rest, ok := strings.CutPrefix(name, "i2c"); ok && num(rest) {
			return "/dev/i2c-" + rest, nil
		}
		return "", fmt.Errorf("%q is not an I²C bus name: write i2c1 for /dev/i2c-1", name)
	}
	if rest, ok := strings.CutPrefix(name, "spi"); ok {
		if b, c, ok := strings.Cut(rest, "."); ok && num(b) && num(c) {
			return "/dev/spidev" + rest, nil
		}
	}
	return "", fmt.Errorf("%q is not an SPI bus name: write spi0.0 for /dev/spidev0.0", name)
}

// RGB is an exact lamp colour, 8 bits per channel, sent to the LEDs as
// it is (no colour correction).
type RGB struct{ R, G, B uint8 }

// String returns "#rrggbb".
func (c RGB) String() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// Scale returns c dimmed to level (0 to 1), each channel rounded; a lit
// level never rounds a non-zero channel down to dark.
func (c RGB) Scale(level float64) RGB {
	if level <= 0 {
		return RGB{}
	}
	if level >= 1 {
		return c
	}
	f := func(v uint8) uint8 {
		if v == 0 {
			return 0
		}
		return uint8(max(1, min(255, int(float64(v)*level+0.5))))
	}
	return RGB{f(c.R), f(c.G), f(c.B)}
}

// ColorNames are the colour names a show may use, with their exact
// values. The last four are the Okabe–Ito colour-blind-safe palette.
var ColorNames = map[string]RGB{
	"red":     {0xFF, 0x00, 0x00},
	"green":   {0x00, 0xFF, 0x00},
	"blue":    {0x00, 0x00, 0xFF},
	"amber":   {0xFF, 0xBF, 0x00},
	"yellow":  {0xFF, 0xFF, 0x00},
	"orange":  {0xFF, 0x80, 0x00},
	"white":   {0xFF, 0xFF, 0xFF},
	"cyan":    {0x00, 0xFF, 0xFF},
	"magenta": {0xFF, 0x00, 0xFF},
	// Okabe & Ito, "Color Universal Design" (2008): distinguishable with
	// every common colour-vision deficiency.
	"cb_orange":     {0xE6, 0x9F, 0x00},
	"cb_bluegreen":  {0x00, 0x9E, 0x73},
	"cb_vermillion": {0xD5, 0x5E, 0x00},
	"cb_blue":       {0x00, 0x72, 0xB2},
}

// ParseColor reads a colour name of ColorNames or "#rrggbb".
func ParseColor(s string) (RGB, error) {
	if c, ok := ColorNames[strings.ToLower(s)]; ok {
		return c, nil
	}
	if h, ok := strings.CutPrefix(s, "#"); ok && len(h) == 6 {
		v, err := strconv.ParseUint(h, 16, 32)
		if err == nil {
			return RGB{uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
		}
	}
	return RGB{}, fmt.Errorf("unknown colour %q", s)
}

// ColorStates are the states (and the call lamp) that have a colour, in
// documentation order.
var ColorStates = []string{"standby", "ack", "go", "hold", "lost", "call"}

// DefaultColors are the colours of an RGB lamp per state: amber standby
// and ack, green GO, red hold, blue lost, white call. Patterns still tell
// the states apart (docs/protocol.md §2); colour is a second cue.
func DefaultColors() map[string]RGB {
	return map[string]RGB{
		"standby": ColorNames["amber"],
		"ack":     ColorNames["amber"],
		"go":      ColorNames["green"],
		"hold":    ColorNames["red"],
		"lost":    ColorNames["blue"],
		"call":    ColorNames["white"],
	}
}

// ColorLamp is a Lamp that can show a colour: an RGB LED. The station
// calls SetColor instead of Set when a lamp implements it.
type ColorLamp interface {
	Lamp
	// SetColor lights the lamp in c dimmed to level (0: dark).
	SetColor(c RGB, level float64) error
}

// Checker is a Board whose devices can be checked while the station runs:
// the station's self-check (docs/protocol.md §6.6) calls Check. A device
// that does not answer, or answers as if it had been reset (power lost),
// is written dark and set up again, and Check returns an error naming it;
// the caller then writes every output again.
type Checker interface {
	Check() error
}

// DeviceError is an error of one add-on device, as Checker.Check returns
// them (joined): Device is its name in pin names ("pwm1").
type DeviceError struct {
	Device string
	Err    error
}

func (e *DeviceError) Error() string { return e.Err.Error() }
func (e *DeviceError) Unwrap() error { return e.Err }
