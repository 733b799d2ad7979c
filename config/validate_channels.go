package config

import (
	"strings"

	"github.com/cuelight/cuelight/drivers/rpi"
	"time"
)

// This file checks the channels: section: names, stations, pins and
// the Raspberry Pi boot rules.

// pinOwner records the first use of a pin on a station.
type pinOwner struct {
	path string
	line int
}

func (d *decoder) validateChannels(f *rawFile, c *Config) {
	if !f.channels.given() {
		d.required(f.line, "channels", "add channels: {NAME: {standby_lamp: GPIO17}}")
		return
	}
	if len(f.Channels) == 0 && f.channels.Set {
		d.errf(f.channels.Line, "channels", "add at least one: channels: {NAME: {standby_lamp: GPIO17}}", "no channels")
		return
	}
	used := map[string]map[string]pinOwner{} // station → pin → first use
	names := c.StationNames()
	for _, r := range f.Channels {
		path := "channels." + r.Name
		d.checkName(r.Line, path, r.Name, "channel")
		ch := Channel{Name: r.Name, Label: r.Name, Line: r.Line}
		if r.Label.Set {
			ch.Label = r.Label.V
			if strings.TrimSpace(ch.Label) == "" {
				d.errf(r.Label.Line, path+".label", "leave label out to show the channel name", "is empty")
			}
			d.checkText(r.Label.Line, path+".label", ch.Label)
		}
		var st Station
		var stOK bool
		switch {
		case r.Station.Set:
			ch.Station = r.Station.V
			st, stOK = c.Station(r.Station.V)
			if !stOK && len(names) > 0 {
				d.errf(r.Station.Line, path+".station", stationHint(r.Station.V, names), "no station named %q", r.Station.V)
			}
		case r.Station.Bad:
		case len(c.Stations) == 1:
			st, stOK = c.Stations[0], true
			ch.Station = st.Name
		case len(names) > 1:
			d.errf(r.Line, path+".station", "stations: "+strings.Join(names, ", "), "is required when the show has several stations")
		}
		if stOK && st.Driver == DriverNone {
			line := r.Station.Line
			if line == 0 {
				line = r.Line
			}
			d.errf(line, path+".station", "give the channel to a station that drives lamps (driver: gpio or sim)",
				"station %s has driver: none, so it has no lamps", st.Name)
			stOK = false
		}
		if !r.Pins[0].given {
			d.required(r.Line, path+".standby_lamp", "every channel needs a lamp, e.g. standby_lamp: GPIO17")
		}
		for i, role := range pinRoles {
			rp := r.Pins[i]
			if !rp.given {
				continue
			}
			pin, ok := d.validatePin(rp, path+"."+role, role, st, stOK)
			if !ok {
				continue
			}
			if stOK {
				owners := used[st.Name]
				if owners == nil {
					owners = busPins(st) // devices.go
					used[st.Name] = owners
				}
				if first, dup := owners[pin.Name]; dup {
					d.errf(pin.Line, path+"."+role, "pick a free pin", "%s is already %s (line %d)", pin.Name, first.path, first.line)
				} else {
					owners[pin.Name] = pinOwner{path + "." + role, pin.Line}
				}
			}
			switch role {
			case RoleStandbyLamp:
				ch.StandbyLamp = pin
			case RoleGoLamp:
				ch.GoLamp = pin
			case RoleCallLamp:
				ch.CallLamp = pin
			case RoleCallOut:
				ch.CallOut = pin
			case RoleAckButton:
				ch.AckButton = pin
			case RoleCallButton:
				ch.CallButton = pin
			case RoleCallIn:
				ch.CallIn = pin
			}
		}
		ch.RequireAck = r.RequireAck.V
		ch.GoRequiresAck = r.GoRequiresAck.V
		if ch.GoRequiresAck && !r.Pins[4].given {
			d.warnf(r.GoRequiresAck.Line, path+".go_requires_ack", "add an ack_button, or make sure the position acks from a phone or TouchOSC",
				"without an ack_button only a software ack can enable the GO")
		}
		if ch.GoRequiresAck && r.RequireAck.Set && !ch.RequireAck {
			d.warnf(r.RequireAck.Line, path+".require_ack", "set require_ack: true so the lamp asks for the ack that GO waits for",
				"false with go_requires_ack: true: a plain standby asks for no ack, yet GO is refused until one comes")
		}
		ch.GoHold = d.durationIn(r.GoHold, path+".go_hold", DefaultGoHold, 100*time.Millisecond, time.Minute, false)
		ch.CallHold = d.durationIn(r.CallHold, path+".call_hold", DefaultCallHold, 100*time.Millisecond, time.Minute, false)
		ch.StuckAfter = d.durationIn(r.StuckAfter, path+".stuck_after", DefaultStuckAfter, time.Second, 10*time.Minute, false)
		ch.EscalateAfter = d.escalateAfter(r.EscalateAfter, path+".escalate_after", st, stOK)
		ch.Brightness = 1
		if b := r.Brightness; b.Set {
			ch.Brightness = b.V
			switch {
			case !(b.V > 0 && b.V <= 1):
				d.errf(b.Line, path+".brightness", "more than 0 and at most 1: a lamp at 0 never lights", "%g is out of range", b.V)
			case stOK && st.MinBrightness > 0 && b.V < st.MinBrightness:
				d.errf(b.Line, path+".brightness", "raise it, or lower min_brightness: no lamp shows a state below it",
					"%g is below stations.%s.min_brightness %g", b.V, st.Name, st.MinBrightness)
			}
		}
		c.Channels = append(c.Channels, ch)
	}
}

// validatePin checks one pin: its name, its options, and the boot rule of
// its station's board.
func (d *decoder) validatePin(rp rawPin, path, role string, st Station, stOK bool) (Pin, bool) {
	if !rp.Name.Set {
		return Pin{}, false
	}
	button := role == RoleAckButton || role == RoleCallButton || role == RoleCallIn
	p := Pin{Name: rp.Name.V, Line: rp.Line, ActiveLow: button}
	if strings.Contains(rp.Name.V, ":") { // a device pin (devices.go)
		return d.devicePin(p, rp, path, role, button, st, stOK)
	}
	n, msg, hint := parsePinName(rp.Name.V)
	if msg != "" {
		d.errf(rp.Name.Line, path, hint, "%s", msg)
		return Pin{}, false
	}
	p.Number = n
	if rp.ActiveLow.Set {
		p.ActiveLow = rp.ActiveLow.V
	}
	ok := true
	if button {
		p.Pull = PullDown
		if p.ActiveLow {
			p.Pull = PullUp
		}
		if rp.Pull.Set {
			switch rp.Pull.V {
			case PullUp, PullDown, PullNone:
				p.Pull = rp.Pull.V
				if (p.ActiveLow && p.Pull == PullDown) || (!p.ActiveLow && p.Pull == PullUp) {
					d.warnf(rp.Pull.Line, path+".pull", "check the wiring: an active-low button wants pull: up, an active-high one pull: down",
						"pull %s holds this button pressed unless the circuit overrides it", p.Pull)
				}
			default:
				d.errf(rp.Pull.Line, path+".pull", "up, down or none", "unknown pull %q", rp.Pull.V)
				ok = false
			}
		}
	} else if rp.Pull.given() {
		d.errf(rp.Pull.Line, path+".pull", "remove it: outputs are driven, pull applies to buttons", "applies only to buttons")
		ok = false
	}
	if stOK {
		d.bootRule(p, path, button, st)
	}
	return p, ok
}

// bootRule refuses pins that misbehave while a Raspberry Pi boots, unless
// the station allows them (then it warns). An output is unsafe when its
// pin rests at the output's "on" level during boot: GPIO2–8 rest high
// (pull-ups), GPIO9–27 rest low (pull-downs). GPIO0/1 (HAT ID EEPROM) and
// GPIO14/15 (boot UART) are unsafe for any use. See docs/configuration.md.
func (d *decoder) bootRule(p Pin, path string, button bool, st Station) {
	n := p.Number
	var reason string
	switch {
	case n == 0 || n == 1 || n == 14 || n == 15:
		reason = rpi.BootPinReason(n)
	case (n == 2 || n == 3) && button && !p.ActiveLow:
		reason = "has a 1.8 kΩ pull-up on the board, so an active-high button reads as pressed"
	case n >= 2 && n <= 8 && !button && !p.ActiveLow:
		if n <= 3 {
			reason = "has a 1.8 kΩ pull-up on the board (I2C1), so this active-high output is on until cuelightd starts"
		} else {
			reason = "is pulled high while the Pi boots, so this active-high output is on until cuelightd starts"
		}
	case n >= 9 && !button && p.ActiveLow:
		d.warnf(p.Line, path, "fit a 10 kΩ pull-up to 3.3 V so it stays off, or wire it active-high",
			"%s is pulled low while the Pi boots, so this active-low output is on until cuelightd starts", p.Name)
		return
	default:
		return
	}
	if st.AllowBootPins {
		d.warnf(p.Line, path, "allowed by stations."+st.Name+".allow_boot_pins", "%s %s", p.Name, reason)
		return
	}
	d.errf(p.Line, path, "use a pin from GPIO9–13, GPIO16–27, or set stations."+st.Name+".allow_boot_pins: true", "%s %s", p.Name, reason)
}
