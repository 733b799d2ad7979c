package config

import (
	"strings"
	"testing"

	"github.com/cuelight/cuelight/drivers"
)

// TestDevicesParse: every device kind with its defaults, device pins on
// channels, and colours by name and by hex.
func TestDevicesParse(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
show: x
stations:
  a:
    driver: gpio
    devices:
      pwm1: {type: pca9685, bus: i2c1}
      pwm2: {type: pca9685, bus: i2c1, address: 0x41, frequency: 1526}
      leds: {type: apa102, bus: spi0.0, leds: 8, leds_per_lamp: 2}
      neo: {type: ws2812, bus: spi0.1, leds: 3}
      exp1: {type: mcp23017, bus: i2c1}
    colors: {standby: cb_orange, go: "#009E73"}
channels:
  fly: {standby_lamp: pwm1:0, go_lamp: leds:3, ack_button: exp1:15, call_out: exp1:0}
  sl: {standby_lamp: neo:2, go_lamp: GPIO17, call_lamp: pwm2:15}
`)
	st := cfg.Stations[0]
	want := []drivers.DeviceSpec{
		{Name: "pwm1", Kind: drivers.PCA9685, Bus: "i2c1", Addr: 0x40, LEDsPerLamp: 1, Frequency: 1000},
		{Name: "pwm2", Kind: drivers.PCA9685, Bus: "i2c1", Addr: 0x41, LEDsPerLamp: 1, Frequency: 1526},
		{Name: "leds", Kind: drivers.APA102, Bus: "spi0.0", LEDs: 8, LEDsPerLamp: 2},
		{Name: "neo", Kind: drivers.WS2812, Bus: "spi0.1", LEDs: 3, LEDsPerLamp: 1},
		{Name: "exp1", Kind: drivers.MCP23017, Bus: "i2c1", Addr: 0x20, LEDsPerLamp: 1},
	}
	got := st.DeviceSpecs()
	if len(got) != len(want) {
		t.Fatalf("devices %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("device %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if c := st.Color("standby"); c != (drivers.RGB{R: 0xE6, G: 0x9F}) {
		t.Errorf("standby colour %v", c)
	}
	if c := st.Color("go"); c != (drivers.RGB{G: 0x9E, B: 0x73}) {
		t.Errorf("go colour %v", c)
	}
	if c := st.Color("hold"); c != drivers.ColorNames["red"] {
		t.Errorf("default hold colour %v", c)
	}
	fly := cfg.Channels[0]
	if fly.AckButton.Name != "exp1:15" || !fly.AckButton.ActiveLow || fly.AckButton.Pull != PullUp || fly.StandbyLamp.Number != -1 {
		t.Errorf("fly pins %+v %+v", fly.AckButton, fly.StandbyLamp)
	}
}

// TestDeviceErrors: each device rule gives its FILE:LINE error.
func TestDeviceErrors(t *testing.T) {
	t.Parallel()
	head := "show: x\nstations:\n  a:\n    driver: gpio\n    devices:\n"
	tests := []struct {
		name, devices, channel, want string
	}{
		{"unknown type", "      p: {type: pca9865, bus: i2c1}\n", "GPIO17",
			"show.yaml:6: stations.a.devices.p.type: unknown device type \"pca9865\" (did you mean pca9685?)"},
		{"missing type", "      p: {bus: i2c1}\n", "GPIO17",
			"show.yaml:6: stations.a.devices.p.type: is required (write type: pca9685, type: apa102, type: ws2812, type: mcp23017)"},
		{"I2C device on an SPI bus name", "      p: {type: pca9685, bus: spi0.0}\n", "GPIO17",
			"show.yaml:6: stations.a.devices.p.bus: \"spi0.0\" is not an I²C bus name (i2c1 is /dev/i2c-1, the header's SDA/SCL (pins 3 and 5))"},
		{"bad SPI bus", "      s: {type: apa102, bus: spi0, leds: 4}\n", "GPIO17",
			"show.yaml:6: stations.a.devices.s.bus: \"spi0\" is not an SPI bus name (spi0.0 is /dev/spidev0.0 (SPI0, chip select CE0))"},
		{"address out of range", "      e:\n        type: mcp23017\n        bus: i2c1\n        address: 0x40\n", "GPIO17",
			"show.yaml:9: stations.a.devices.e.address: 0x40 is out of range (a mcp23017 answers at 0x20 to 0x27 (set by its address jumpers); write it in hex, e.g. address: 0x41)"},
		{"pca9685 all-call address", "      p: {type: pca9685, bus: i2c1, address: 0x70}\n", "GPIO17",
			"show.yaml:6: stations.a.devices.p.address: 0x70 is out of range (a pca9685 answers at 0x40 to 0x7f (set by its address jumpers); 0x70 is its all-call address; write it in hex, e.g. address: 0x41)"},
		{"address on SPI", "      s: {type: ws2812, bus: spi0.0, leds: 4, address: 0x20}\n", "GPIO17",
			"show.yaml:6: stations.a.devices.s.address: applies only to I²C devices (remove it: an SPI device is chosen by its bus (spi0.0, spi0.1))"},
		{"strip without leds", "      s: {type: apa102, bus: spi0.0}\n", "GPIO17",
			"show.yaml:6: stations.a.devices.s.leds: is required (write how many LEDs the strip has, e.g. leds: 8)"},
		{"frequency too high", "      p: {type: pca9685, bus: i2c1, frequency: 2000}\n", "GPIO17",
			"show.yaml:6: stations.a.devices.p.frequency: 2000 Hz is out of range (24 to 1526 Hz (the chip's limits); the default is 1000)"},
		{"two devices at one address", "      p: {type: pca9685, bus: i2c1}\n      q: {type: pca9685, bus: i2c1, address: 0x40}\n", "GPIO17",
			"show.yaml:7: stations.a.devices.q: q is on the same bus and address as stations.a.devices.p (line 6) (give each device its own address or bus)"},
		{"unknown device in a pin", "      pwm1: {type: pca9685, bus: i2c1}\n", "pwm2:0",
			"show.yaml:9: channels.fly.standby_lamp: unknown pin \"pwm2:0\": station a has no device \"pwm2\" (did you mean pwm1?)"},
		{"pin number off the board", "      pwm1: {type: pca9685, bus: i2c1}\n", "pwm1:16",
			"show.yaml:9: channels.fly.standby_lamp: pwm1:16 is not a pin of pwm1 (pwm1 (pca9685 at 0x40 on i2c1) has pins pwm1:0 to pwm1:15)"},
		{"strip lamp beyond its LEDs", "      s: {type: apa102, bus: spi0.0, leds: 4, leds_per_lamp: 2}\n", "s:2",
			"show.yaml:9: channels.fly.standby_lamp: s:2 is not a pin of s (s (apa102 on spi0.0) has pins s:0 to s:1)"},
		{"active-low pca9685 lamp", "      pwm1: {type: pca9685, bus: i2c1}\n", "{pin: pwm1:0, active_low: true}",
			"show.yaml:9: channels.fly.standby_lamp.active_low: a pca9685 output is active-high (remove it: wire the LED from the output to ground)"},
		{"bad colour", "      pwm1: {type: pca9685, bus: i2c1}\n    colors: {go: greenish}\n", "GPIO17",
			"show.yaml:7: stations.a.colors.go: unknown colour \"greenish\" (a name (amber, blue, cb_blue, cb_bluegreen, cb_orange, cb_vermillion, cyan, green, magenta, orange, red, white, yellow) or #rrggbb, e.g. #ffbf00)"},
		{"device name like a GPIO", "      gpio4: {type: pca9685, bus: i2c1}\n", "GPIO17",
			"show.yaml:6: stations.a.devices.gpio4: a device name cannot start with gpio (pick a name such as pwm1, leds or exp1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			y := head + tc.devices + "channels:\n  fly:\n    standby_lamp: " + tc.channel + "\n"
			_, err := parseString(t, y)
			if err == nil {
				t.Fatalf("accepted:\n%s", y)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("\n got: %s\nwant: %s\n%s", got, tc.want, y)
			}
		})
	}
}

// TestDevicePinRoles: buttons only on an mcp23017, no pull-down there, a
// device pin used once, and no call_out on a strip.
func TestDevicePinRoles(t *testing.T) {
	t.Parallel()
	head := `show: x
stations:
  a:
    driver: gpio
    devices:
      pwm1: {type: pca9685, bus: i2c1}
      leds: {type: ws2812, bus: spi0.0, leds: 4}
      exp1: {type: mcp23017, bus: i2c1}
channels:
  fly:
    standby_lamp: GPIO17
`
	for line, want := range map[string]string{
		"    ack_button: pwm1:1\n":                           "show.yaml:12: channels.fly.ack_button: a pca9685 has no inputs (put buttons on GPIO or an mcp23017)",
		"    call_out: leds:1\n":                             "show.yaml:12: channels.fly.call_out: an LED strip cannot drive a call output (put call_out on GPIO, a pca9685 or an mcp23017)",
		"    ack_button: {pin: exp1:1, active_low: false}\n": "show.yaml:12: channels.fly.ack_button: an mcp23017 has no pull-downs (wire the button to ground (active_low: true, the default) or give it its own resistor with pull: none)",
		"    go_lamp: exp1:3\n    call_lamp: exp1:3\n":       "show.yaml:13: channels.fly.call_lamp: exp1:3 is already channels.fly.go_lamp (line 12) (pick a free pin)",
	} {
		_, err := parseString(t, head+line)
		if err == nil || err.Error() != want {
			t.Errorf("%s\n got: %v\nwant: %s", line, err, want)
		}
	}
	if _, err := parseString(t, head+"    ack_button: {pin: exp1:1, active_low: false, pull: none}\n"); err != nil {
		t.Errorf("an active-high expander button with its own resistor: %v", err)
	}
	if _, err := parseString(t, strings.Replace(head, "driver: gpio", "driver: none", 1)+""); err == nil || !strings.Contains(err.Error(), "driver: none drives no devices") {
		t.Errorf("devices on driver none: %v", err)
	}
}

// TestBusPinsTaken: a channel pin on a GPIO that a device's bus uses is
// a pin used twice.
func TestBusPinsTaken(t *testing.T) {
	t.Parallel()
	_, err := parseString(t, `
show: x
stations:
  a:
    driver: gpio
    allow_boot_pins: true
    devices:
      leds: {type: apa102, bus: spi0.0, leds: 4}
channels:
  fly: {standby_lamp: GPIO10}
`)
	want := "show.yaml:9: channels.fly.standby_lamp: GPIO10 is already spi0.0 MOSI of stations.a.devices.leds (line 7) (pick a free pin)"
	if err == nil || err.Error() != want {
		t.Errorf("\n got: %v\nwant: %s", err, want)
	}
}
