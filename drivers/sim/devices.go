package sim

import (
	"fmt"

	"github.com/cuelight/cuelight/drivers"
)

// devicePin checks a "<device>:<n>" pin against the simulated devices
// and the use k, and returns the device's kind. The caller holds b.mu.
func (b *Board) devicePin(name string, k kind) (drivers.DeviceKind, error) {
	dev, n, ok := drivers.ParseDevicePin(name)
	d, known := b.devices[dev]
	switch {
	case !known:
		return "", fmt.Errorf("sim: %q: %w: no device %q", name, drivers.ErrUnknownPin, dev)
	case !ok || n >= d.Pins():
		return "", fmt.Errorf("sim: %q: %w: %s has pins 0 to %d", name, drivers.ErrUnknownPin, d, d.Pins()-1)
	case k == kindButton && d.Kind != drivers.MCP23017:
		return "", fmt.Errorf("sim: %s: a %s has no inputs", name, d.Kind)
	case k == kindSignal && d.Kind.IsStrip():
		return "", fmt.Errorf("sim: %s: an LED strip cannot drive a signal", name)
	}
	return d.Kind, nil
}

// onOff is the level an output shows: an MCP23017 output cannot dim, so
// any lit level is full.
func onOff(p *pin, level float64) float64 {
	if p.dev == drivers.MCP23017 && level > 0 {
		return 1
	}
	return level
}

// colorLamp is a lamp of a simulated LED strip: a drivers.ColorLamp whose
// colour shows in PinState.Color.
type colorLamp struct{ lamp }

// SetColor implements drivers.ColorLamp.
func (l *colorLamp) SetColor(c drivers.RGB, level float64) error {
	l.b.mu.Lock()
	changed := level > 0 && l.p.color != c.String()
	if changed && !l.p.halted {
		l.p.color = c.String()
		if l.p.level > 0 && l.p.level == level {
			l.b.record(l.p, l.b.clk.Now()) // same level, new colour: still a change
		}
	}
	l.b.mu.Unlock()
	return l.Set(level)
}

var _ drivers.ColorLamp = (*colorLamp)(nil)
