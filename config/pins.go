package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cuelight/cuelight/drivers/rpi"
)

// MaxGPIO is the highest BCM GPIO number on the Raspberry Pi 40-pin header
// (the board facts are drivers/rpi's).
const MaxGPIO = rpi.MaxGPIO

// parsePinName checks a pin name. It returns the BCM number, or a message
// and a hint when the name is not a valid header pin name.
func parsePinName(s string) (n int, msg, hint string) {
	if n, ok := rpi.GPIONumber(s); ok {
		return n, "", ""
	}
	if rest, ok := strings.CutPrefix(s, "GPIO"); ok {
		n, err := strconv.Atoi(rest)
		if err == nil && rest == strconv.Itoa(n) && n > MaxGPIO {
			return 0, fmt.Sprintf("%s is not on the Raspberry Pi 40-pin header", s), "use GPIO0 to GPIO27"
		}
	}
	msg = fmt.Sprintf("unknown pin %q", s)
	return 0, msg, pinHint(s)
}

// pinHint suggests the right form for a mistyped pin name: 17, gpio17,
// GPIO 17, BCM17, P1_11, pin 11.
func pinHint(s string) string {
	const form = "pins are BCM names GPIO0 to GPIO27"
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.ReplaceAll(t, " ", "")
	t = strings.ReplaceAll(t, "_", "")
	t = strings.ReplaceAll(t, "-", "")
	// Header (physical) pin forms: P1_11, pin 11, pin11, J8-11, header 11.
	for _, p := range []string{"p1", "j8", "physical", "phys", "header", "board", "pin"} {
		if rest, ok := strings.CutPrefix(t, p); ok {
			if h, err := strconv.Atoi(rest); err == nil && rest != "" {
				return headerHint(h)
			}
		}
	}
	// BCM number forms: 17, gpio17, bcm17, io17, GPIO017.
	for _, p := range []string{"gpio", "bcm", "io", ""} {
		if rest, ok := strings.CutPrefix(t, p); ok && rest != "" {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				continue
			}
			switch {
			case n > MaxGPIO:
				return form
			case p == "":
				h := rpi.HeaderPin(n)
				also := ""
				if n <= 40 && n >= 1 {
					if g := rpi.GPIOAt(n); g >= 0 {
						also = fmt.Sprintf("; if you meant header pin %d, that is GPIO%d", n, g)
					} else {
						also = fmt.Sprintf("; header pin %d is %s", n, rpi.PowerPin(n))
					}
				}
				return fmt.Sprintf("write GPIO%d for BCM %d, header pin %d%s", n, n, h, also)
			default:
				return fmt.Sprintf("write GPIO%d", n)
			}
		}
	}
	return form + ", e.g. GPIO17"
}

func headerHint(h int) string {
	if h < 1 || h > rpi.HeaderPins {
		return "the header has pins 1 to 40; write the BCM name, e.g. GPIO17"
	}
	if g := rpi.GPIOAt(h); g >= 0 {
		return fmt.Sprintf("header pin %d is GPIO%d: write GPIO%d", h, g, g)
	}
	return fmt.Sprintf("header pin %d is %s, not a GPIO", h, rpi.PowerPin(h))
}
