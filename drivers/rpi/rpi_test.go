package rpi_test

import (
	"testing"

	"github.com/cuelight/cuelight/drivers/rpi"
)

func TestHeaderHasEveryGPIOOnce(t *testing.T) {
	t.Parallel()
	seen := map[int]int{}
	power := 0
	for p := 1; p <= rpi.HeaderPins; p++ {
		g := rpi.GPIOAt(p)
		if g < 0 {
			if rpi.PowerPin(p) == "" {
				t.Errorf("header pin %d: neither a GPIO nor named power/ground", p)
			}
			power++
			continue
		}
		if rpi.PowerPin(p) != "" {
			t.Errorf("header pin %d is GPIO%d and also %q", p, g, rpi.PowerPin(p))
		}
		if prev, dup := seen[g]; dup {
			t.Errorf("GPIO%d on header pins %d and %d", g, prev, p)
		}
		seen[g] = p
		if rpi.HeaderPin(g) != p {
			t.Errorf("HeaderPin(%d) = %d, want %d", g, rpi.HeaderPin(g), p)
		}
	}
	if len(seen) != rpi.MaxGPIO+1 || power != rpi.HeaderPins-rpi.MaxGPIO-1 {
		t.Errorf("%d GPIOs and %d power/ground pins, want %d and %d", len(seen), power, rpi.MaxGPIO+1, rpi.HeaderPins-rpi.MaxGPIO-1)
	}
	// Spot checks against the printed header: pin 11 is GPIO17, 1 is 3.3 V.
	if rpi.GPIOAt(11) != 17 || rpi.GPIOAt(13) != 27 || rpi.PowerPin(1) != "3.3 V power" || rpi.PowerPin(6) != "ground" {
		t.Error("header spot checks failed")
	}
	if rpi.GPIOAt(0) != -1 || rpi.GPIOAt(41) != -1 || rpi.HeaderPin(28) != 0 {
		t.Error("numbers off the header are not rejected")
	}
}

func TestGPIONumber(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]int{"GPIO0": 0, "GPIO17": 17, "GPIO27": 27} {
		if n, ok := rpi.GPIONumber(name); !ok || n != want || rpi.Name(n) != name {
			t.Errorf("GPIONumber(%q) = %d, %v; want %d", name, n, ok, want)
		}
	}
	for _, name := range []string{"GPIO28", "GPIO017", "GPIO-1", "gpio17", "17", "GPIO", "GPIO 17", "P1_11", "GPIO+1"} {
		if n, ok := rpi.GPIONumber(name); ok {
			t.Errorf("GPIONumber(%q) = %d, accepted", name, n)
		}
	}
}

func TestBootFacts(t *testing.T) {
	t.Parallel()
	for n := 0; n <= rpi.MaxGPIO; n++ {
		up := rpi.ResetPull(n) == rpi.PullUp
		if up != (n <= 8) {
			t.Errorf("GPIO%d reset pull-up %v", n, up)
		}
		// Every GPIO pulled up at reset lights an active-high lamp at boot:
		// each has a reason.
		if up && rpi.BootPinReason(n) == "" {
			t.Errorf("GPIO%d is pulled up at reset but has no boot-pin reason", n)
		}
	}
	for _, n := range []int{14, 15} {
		if rpi.BootPinReason(n) == "" {
			t.Errorf("GPIO%d (UART) has no boot-pin reason", n)
		}
	}
	for _, n := range []int{9, 16, 17, 22, 27} {
		if r := rpi.BootPinReason(n); r != "" {
			t.Errorf("GPIO%d is safe, got %q", n, r)
		}
	}
}
