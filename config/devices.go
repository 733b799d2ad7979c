package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cuelight/cuelight/drivers"
)

// This file reads and checks a station's add-on boards (devices:) and
// its lamp colours (colors:), and the "<device>:<n>" pins that use them
// (docs/protocol.md §11). The device facts are drivers' (device.go).

// Device is one add-on board of a station.
type Device struct {
	drivers.DeviceSpec
	Line int // line of the device's key in the file
}

type rawDevice struct {
	Name                              string
	Line                              int
	Type, Bus                         val[string]
	Address, LEDs, PerLamp, Frequency val[int64]
}

var (
	deviceSection = &section{keys: []string{"type", "bus", "address", "leds", "leds_per_lamp", "frequency"}}
	colorsSection = &section{keys: drivers.ColorStates}
)

func init() {
	stationSection.keys = append(stationSection.keys, "devices", "colors")
	if stationSection.sub == nil {
		stationSection.sub = map[string]*section{}
	}
	stationSection.sub["devices"] = &section{each: deviceSection}
	stationSection.sub["colors"] = colorsSection
}

// decodeDevices reads stations.<s>.devices and stations.<s>.colors.
func (d *decoder) decodeDevices(s *rawStation, m map[string]kv) {
	if e, ok := m["devices"]; ok {
		list, _ := d.entries(e.path, e.line, e.val, "write devices: {NAME: {type: pca9685, bus: i2c1}}")
		for _, de := range list {
			r := rawDevice{Name: de.name, Line: de.line}
			dm, _ := d.fields(de.path, de.line, de.val, deviceSection)
			r.Type = d.text(dm, "type", "write pca9685, apa102, ws2812 or mcp23017")
			r.Bus = d.text(dm, "bus", "write i2c1 or spi0.0")
			r.Address = d.integer(dm, "address")
			r.LEDs = d.integer(dm, "leds")
			r.PerLamp = d.integer(dm, "leds_per_lamp")
			r.Frequency = d.integer(dm, "frequency")
			s.Devices = append(s.Devices, r)
		}
	}
	if e, ok := m["colors"]; ok {
		cm, _ := d.fields(e.path, e.line, e.val, colorsSection)
		s.Colors = map[string]val[string]{}
		for _, k := range drivers.ColorStates {
			if v := d.text(cm, k, "a colour name (amber) or #rrggbb"); v.given() {
				s.Colors[k] = v
			}
		}
	}
}

func colorNames() string {
	names := make([]string, 0, len(drivers.ColorNames))
	for n := range drivers.ColorNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// validateDevices checks a station's devices and colours into s.
func (d *decoder) validateDevices(r rawStation, s *Station) {
	path := "stations." + r.Name
	for k, v := range r.Colors {
		if !v.Set {
			continue
		}
		c, err := drivers.ParseColor(v.V)
		if err != nil {
			d.errf(v.Line, path+".colors."+k, "a name ("+colorNames()+") or #rrggbb, e.g. #ffbf00", "unknown colour %q", v.V)
			continue
		}
		if s.Colors == nil {
			s.Colors = map[string]drivers.RGB{}
		}
		s.Colors[k] = c
	}
	if len(r.Devices) > 0 && s.Driver == DriverNone {
		d.errf(r.Devices[0].Line, path+".devices", "remove devices:, or use driver: gpio", "driver: none drives no devices")
	}
	kinds := make([]string, len(drivers.DeviceKinds))
	for i, k := range drivers.DeviceKinds {
		kinds[i] = string(k)
	}
	type where struct {
		path string
		line int
	}
	at := map[string]where{} // "i2c1@0x40" or "spi0.0" → first device there
	for _, rd := range r.Devices {
		dp := path + ".devices." + rd.Name
		if !d.checkName(rd.Line, dp, rd.Name, "device") {
			continue
		}
		if strings.HasPrefix(strings.ToLower(rd.Name), "gpio") {
			d.errf(rd.Line, dp, "pick a name such as pwm1, leds or exp1", "a device name cannot start with gpio")
			continue
		}
		dev := Device{DeviceSpec: drivers.DeviceSpec{Name: rd.Name}, Line: rd.Line}
		ok := true
		switch t := rd.Type; {
		case !t.given():
			d.required(rd.Line, dp+".type", "write type: "+strings.Join(kinds, ", type: "))
			ok = false
		case t.Set && !drivers.DeviceKind(t.V).Valid():
			hint := strings.Join(kinds, ", ")
			if sug := suggest(t.V, kinds); sug != "" {
				hint = "did you mean " + sug + "?"
			}
			d.errf(t.Line, dp+".type", hint, "unknown device type %q", t.V)
			ok = false
		case t.Bad:
			ok = false
		default:
			dev.Kind = drivers.DeviceKind(t.V)
		}
		if !ok {
			continue
		}
		i2c := dev.Kind.IsI2C()
		switch b := rd.Bus; {
		case !b.given():
			ex := "bus: spi0.0"
			if i2c {
				ex = "bus: i2c1"
			}
			d.required(rd.Line, dp+".bus", "write "+ex)
			ok = false
		case b.Set:
			if _, err := drivers.ParseBus(b.V, i2c); err != nil {
				// A bus name is checked for its form only: whether the Pi
				// has it enabled is known at start.
				hint := "spi0.0 is /dev/spidev0.0 (SPI0, chip select CE0)"
				if i2c {
					hint = "i2c1 is /dev/i2c-1, the header's SDA/SCL (pins 3 and 5)"
				}
				kind := "an SPI"
				if i2c {
					kind = "an I²C"
				}
				d.errf(b.Line, dp+".bus", hint, "%q is not %s bus name", b.V, kind)
				ok = false
			}
			dev.Bus = b.V
		default:
			ok = false
		}
		lo, hi := dev.Kind.AddrRange()
		switch a := rd.Address; {
		case i2c && !a.given():
			dev.Addr = lo
		case i2c && a.Set && (a.V < int64(lo) || a.V > int64(hi) || dev.Kind == drivers.PCA9685 && a.V == 0x70):
			hint := fmt.Sprintf("a %s answers at %#02x to %#02x (set by its address jumpers)", dev.Kind, lo, hi)
			if dev.Kind == drivers.PCA9685 {
				hint += "; 0x70 is its all-call address"
			}
			d.errf(a.Line, dp+".address", hint+"; write it in hex, e.g. address: 0x41", "%#x is out of range", a.V)
			ok = false
		case i2c && a.Set:
			dev.Addr = int(a.V)
		case !i2c && a.given():
			d.errf(a.Line, dp+".address", "remove it: an SPI device is chosen by its bus (spi0.0, spi0.1)", "applies only to I²C devices")
			ok = false
		}
		strip := dev.Kind.IsStrip()
		switch n := rd.LEDs; {
		case strip && !n.given():
			d.required(rd.Line, dp+".leds", "write how many LEDs the strip has, e.g. leds: 8")
			ok = false
		case strip && n.Set && (n.V < 1 || n.V > drivers.MaxStripLEDs):
			d.errf(n.Line, dp+".leds", fmt.Sprintf("1 to %d", drivers.MaxStripLEDs), "%d is out of range", n.V)
			ok = false
		case strip && n.Set:
			dev.LEDs = int(n.V)
		case !strip && n.given():
			d.errf(n.Line, dp+".leds", "remove it: only apa102 and ws2812 strips have leds", "applies only to LED strips")
			ok = false
		}
		switch n := rd.PerLamp; {
		case !n.given():
			dev.LEDsPerLamp = 1
		case !strip:
			d.errf(n.Line, dp+".leds_per_lamp", "remove it: only apa102 and ws2812 strips have leds", "applies only to LED strips")
			ok = false
		case n.Set && (n.V < 1 || dev.LEDs > 0 && n.V > int64(dev.LEDs)):
			d.errf(n.Line, dp+".leds_per_lamp", fmt.Sprintf("1 to leds (%d)", dev.LEDs), "%d is out of range", n.V)
			ok = false
		case n.Set:
			dev.LEDsPerLamp = int(n.V)
		}
		switch f := rd.Frequency; {
		case f.given() && dev.Kind != drivers.PCA9685:
			d.errf(f.Line, dp+".frequency", "remove it: only a pca9685 has a PWM frequency", "applies only to pca9685")
			ok = false
		case f.Set && (f.V < drivers.MinPWMFrequency || f.V > drivers.MaxPWMFrequency):
			d.errf(f.Line, dp+".frequency", fmt.Sprintf("%d to %d Hz (the chip's limits); the default is %d", drivers.MinPWMFrequency, drivers.MaxPWMFrequency, drivers.DefaultPWMFrequency), "%d Hz is out of range", f.V)
			ok = false
		case f.Set:
			dev.Frequency = int(f.V)
		case dev.Kind == drivers.PCA9685:
			dev.Frequency = drivers.DefaultPWMFrequency
		}
		if !ok {
			continue
		}
		key := dev.Bus
		if i2c {
			key = fmt.Sprintf("%s@%#02x", dev.Bus, dev.Addr)
		}
		if first, dup := at[key]; dup {
			what := "the same bus and address"
			if !i2c {
				what = "the same SPI bus and chip select: one strip per bus"
			}
			d.errf(rd.Line, dp, "give each device its own address or bus", "%s is on %s as %s (line %d)", rd.Name, what, first.path, first.line)
			continue
		}
		at[key] = where{dp, rd.Line}
		s.Devices = append(s.Devices, dev)
	}
}

// Color returns the colour of an RGB lamp in state ("standby", "ack",
// "go", "hold", "lost", or "call" for the call lamp): the show's, or the
// default.
func (s Station) Color(state string) drivers.RGB {
	if c, ok := s.Colors[state]; ok {
		return c
	}
	return drivers.DefaultColors()[state]
}

// Device returns the station's device of that name.
func (s Station) Device(name string) (Device, bool) {
	i := slices.IndexFunc(s.Devices, func(d Device) bool { return d.Name == name })
	if i < 0 {
		return Device{}, false
	}
	return s.Devices[i], true
}

// DeviceSpecs returns the station's devices as the drivers take them.
func (s Station) DeviceSpecs() []drivers.DeviceSpec {
	out := make([]drivers.DeviceSpec, len(s.Devices))
	for i, d := range s.Devices {
		out[i] = d.DeviceSpec
	}
	return out
}

// validateDevicePin checks a "<device>:<n>" pin against its station's
// devices: the device exists, n is on it, the device can take the role,
// and the options suit it. It returns false after reporting a problem.
func (d *decoder) validateDevicePin(p *Pin, rp rawPin, path, role string, st Station, stOK bool) bool {
	name, n, numOK := drivers.ParseDevicePin(p.Name)
	p.Number = -1
	if !stOK {
		return true // the station is reported already; nothing to check against
	}
	dev, ok := st.Device(name)
	if !ok {
		hint := "add it under stations." + st.Name + ".devices"
		if len(st.Devices) > 0 {
			var names []string
			for _, d := range st.Devices {
				names = append(names, d.Name)
			}
			if sug := suggest(name, names); sug != "" {
				hint = "did you mean " + sug + "?"
			} else {
				hint = "devices of " + st.Name + ": " + strings.Join(names, ", ")
			}
		}
		d.errf(rp.Name.Line, path, hint, "unknown pin %q: station %s has no device %q", p.Name, st.Name, name)
		return false
	}
	if !numOK || n >= dev.Pins() {
		d.errf(rp.Name.Line, path, fmt.Sprintf("%s has pins %s:0 to %s:%d", dev.DeviceSpec, dev.Name, dev.Name, dev.Pins()-1), "%s is not a pin of %s", p.Name, dev.Name)
		return false
	}
	button := role == RoleAckButton || role == RoleCallButton || role == RoleCallIn
	switch {
	case button && dev.Kind != drivers.MCP23017:
		d.errf(rp.Name.Line, path, "put buttons on GPIO or an mcp23017", "a %s has no inputs", dev.Kind)
		return false
	case role == RoleCallOut && dev.Kind.IsStrip():
		d.errf(rp.Name.Line, path, "put call_out on GPIO, a pca9685 or an mcp23017", "an LED strip cannot drive a call output")
		return false
	case !button && p.ActiveLow && dev.Kind != drivers.MCP23017:
		d.errf(rp.ActiveLow.Line, path+".active_low", "remove it: wire the LED from the output to ground", "a %s output is active-high", dev.Kind)
		return false
	case button && p.Pull == PullDown:
		d.errf(rp.Line, path, "wire the button to ground (active_low: true, the default) or give it its own resistor with pull: none", "an mcp23017 has no pull-downs")
		return false
	}
	return true
}

// devicePin fills in and checks a "<device>:<n>" pin of a channel.
func (d *decoder) devicePin(p Pin, rp rawPin, path, role string, button bool, st Station, stOK bool) (Pin, bool) {
	if rp.ActiveLow.Set {
		p.ActiveLow = rp.ActiveLow.V
	}
	if button {
		p.Pull = PullUp
		if !p.ActiveLow {
			p.Pull = PullDown
		}
		if rp.Pull.Set {
			switch rp.Pull.V {
			case PullUp, PullDown, PullNone:
				p.Pull = rp.Pull.V
			default:
				d.errf(rp.Pull.Line, path+".pull", "up, down or none", "unknown pull %q", rp.Pull.V)
				return Pin{}, false
			}
		}
	} else if rp.Pull.given() {
		d.errf(rp.Pull.Line, path+".pull", "remove it: outputs are driven, pull applies to buttons", "applies only to buttons")
		return Pin{}, false
	}
	if !d.validateDevicePin(&p, rp, path, role, st, stOK) {
		return Pin{}, false
	}
	return p, true
}

// busGPIOs are the header GPIOs each bus of a Pi uses: a channel cannot
// use them while a device sits on that bus.
var busGPIOs = map[string][]struct {
	gpio int
	what string
}{
	"i2c1":   {{2, "SDA"}, {3, "SCL"}},
	"spi0.0": {{10, "MOSI"}, {11, "SCLK"}, {8, "CE0"}},
	"spi0.1": {{10, "MOSI"}, {11, "SCLK"}, {7, "CE1"}},
	"spi1.0": {{20, "MOSI"}, {21, "SCLK"}, {18, "CE0"}},
	"spi1.1": {{20, "MOSI"}, {21, "SCLK"}, {17, "CE1"}},
	"spi1.2": {{20, "MOSI"}, {21, "SCLK"}, {16, "CE2"}},
}

// busPins returns the pin owners of a station's buses: the GPIOs its
// devices' buses take, so that a channel pin on one is reported like a
// pin used twice.
func busPins(st Station) map[string]pinOwner {
	owners := map[string]pinOwner{}
	for _, d := range st.Devices {
		for _, g := range busGPIOs[d.Bus] {
			name := fmt.Sprintf("GPIO%d", g.gpio)
			if _, taken := owners[name]; !taken {
				owners[name] = pinOwner{fmt.Sprintf("%s %s of stations.%s.devices.%s", d.Bus, g.what, st.Name, d.Name), d.Line}
			}
		}
	}
	return owners
}
