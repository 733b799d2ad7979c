package gpio_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/drivertest"
	"github.com/cuelight/cuelight/drivers/gpio"
	"github.com/cuelight/cuelight/drivers/sim"
)

// Every lamp of every backend is dark after the board's Halt, whatever it
// showed (full, dimmed, active-low, never lit) and even if nothing else
// ever stops it: the station's clean stop and fault path rely on this
// alone.
func TestEveryLampDarkAfterBoardHalt(t *testing.T) {
	t.Parallel()
	lamps := []struct {
		pin       string
		activeLow bool
		level     float64
	}{
		{"GPIO5", false, 1}, {"GPIO6", true, 1}, {"GPIO12", false, 0.4},
		{"GPIO13", true, 0.4}, {"GPIO16", false, 0}, {"GPIO26", true, 0},
	}
	type backend struct {
		board drivers.Board
		lit   func(pin string) bool // is the lamp on pin lit, logically
	}
	backends := map[string]func(t *testing.T) backend{
		"gpio": func(t *testing.T) backend {
			ps := pins{}
			for _, l := range lamps {
				var n int
				fmt.Sscanf(l.pin, "GPIO%d", &n)
				ps[l.pin] = newTestPin(t, l.pin, n, clockwork.NewFakeClockAt(t0))
			}
			b, err := gpio.New(gpio.Options{Pins: ps.source, Clock: clockwork.NewFakeClockAt(t0)})
			if err != nil {
				t.Fatal(err)
			}
			return backend{b, func(pin string) bool {
				p := ps[pin]
				low := false
				for _, l := range lamps {
					if l.pin == pin {
						low = l.activeLow
					}
				}
				calls := p.Calls()
				if len(calls) > 0 && strings.HasPrefix(calls[len(calls)-1], "PWM(") {
					return true // dimmed
				}
				return (p.Wire() == pgpio.High) != low
			}}
		},
		"sim": func(t *testing.T) backend {
			b := sim.New(sim.Options{})
			return backend{b, func(pin string) bool {
				s, err := b.Pin(pin)
				if err != nil {
					t.Fatal(err)
				}
				return s.Level || s.Brightness > 0
			}}
		},
		"drivertest": func(t *testing.T) backend {
			b := drivertest.NewBoard(clockwork.NewFakeClockAt(t0))
			return backend{b, func(pin string) bool { return b.FakeLamp(pin).Level() != 0 }}
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bk := open(t)
			for _, l := range lamps {
				lamp, err := bk.board.Lamp(l.pin, drivers.PinOptions{Channel: "fly", Role: drivers.RoleStandbyLamp, ActiveLow: l.activeLow})
				if err != nil {
					t.Fatal(err)
				}
				if err := lamp.Set(l.level); err != nil {
					t.Fatal(err)
				}
				if got := bk.lit(l.pin); got != (l.level > 0) {
					t.Fatalf("%s at %g: lit %v before Halt", l.pin, l.level, got)
				}
			}
			if err := bk.board.Halt(); err != nil {
				t.Fatal(err)
			}
			for _, l := range lamps {
				if bk.lit(l.pin) {
					t.Errorf("%s (active_low %v, was %g) is lit after the board's Halt", l.pin, l.activeLow, l.level)
				}
			}
		})
	}
}
