package drivers

import (
	"strings"
	"testing"
)

func TestParseDeviceNames(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]struct {
		dev string
		n   int
		ok  bool
	}{
		"pwm1:3": {"pwm1", 3, true}, "leds:0": {"leds", 0, true}, "GPIO17": {"", 0, false},
		"pwm1:03": {"pwm1", -1, false}, "pwm1:-1": {"pwm1", -1, false}, ":3": {"", 0, false}, "pwm1:x": {"pwm1", -1, false},
	} {
		dev, n, ok := ParseDevicePin(name)
		if dev != want.dev || n != want.n || ok != want.ok {
			t.Errorf("ParseDevicePin(%q) = %q, %d, %v; want %+v", name, dev, n, ok, want)
		}
	}
	for _, tc := range []struct {
		name string
		i2c  bool
		path string
	}{{"i2c1", true, "/dev/i2c-1"}, {"i2c-1", true, ""}, {"i2c01", true, ""}, {"spi0.0", false, "/dev/spidev0.0"}, {"spi0", false, ""}, {"spi0.1", true, ""}, {"i2c1", false, ""}} {
		p, err := ParseBus(tc.name, tc.i2c)
		if p != tc.path || (err == nil) != (tc.path != "") {
			t.Errorf("ParseBus(%q, %v) = %q, %v; want %q", tc.name, tc.i2c, p, err, tc.path)
		}
	}
	for s, want := range map[string]RGB{"amber": {0xFF, 0xBF, 0}, "Green": {0, 0xFF, 0}, "#0a0B0c": {10, 11, 12}} {
		if c, err := ParseColor(s); err != nil || c != want {
			t.Errorf("ParseColor(%q) = %v, %v", s, c, err)
		}
	}
	for _, s := range []string{"", "#12345", "#gggggg", "0x123456", "#1234567", "amberish"} {
		if _, err := ParseColor(s); err == nil {
			t.Errorf("ParseColor(%q) accepted", s)
		}
	}
	if c := (RGB{R: 255, G: 191}).Scale(0.5); c != (RGB{R: 128, G: 96}) {
		t.Errorf("Scale(0.5) = %v", c)
	}
	if c := (RGB{R: 255, G: 1}).Scale(0.1); c.G != 1 || c.B != 0 {
		t.Errorf("a lit channel rounded to dark: %v", c)
	}
}

// FuzzDeviceNames: the pin, bus and colour parsers never panic, and what
// they accept prints back the same.
func FuzzDeviceNames(f *testing.F) {
	for _, s := range []string{"pwm1:3", "leds:0", "i2c1", "spi0.0", "#ffbf00", "amber", ":", "a:b:c", "spi0.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dev, n, ok := ParseDevicePin(s); ok && DevicePinName(dev, n) != s {
			t.Errorf("ParseDevicePin(%q) = %q, %d", s, dev, n)
		}
		for _, i2c := range []bool{true, false} {
			if p, err := ParseBus(s, i2c); err == nil && !strings.HasPrefix(p, "/dev/") {
				t.Errorf("ParseBus(%q) = %q", s, p)
			}
		}
		if c, err := ParseColor(s); err == nil && strings.HasPrefix(s, "#") && !strings.EqualFold(c.String(), s) {
			t.Errorf("ParseColor(%q) = %v", s, c)
		}
	})
}
