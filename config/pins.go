package config

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxGPIO is the highest BCM GPIO number on the Raspberry Pi 40-pin header.
const MaxGPIO = 27

// header maps a physical pin of the Raspberry Pi 40-pin header to its BCM
// GPIO number; -1 marks power and ground pins.
var header = [41]int{
	-1,     // there is no pin 0
	-1, -1, // 1 3V3, 2 5V
	2, -1, // 3, 4 5V
	3, -1, // 5, 6 GND
	4, 14, // 7, 8
	-1, 15, // 9 GND, 10
	17, 18, // 11, 12
	27, -1, // 13, 14 GND
	22, 23, // 15, 16
	-1, 24, // 17 3V3, 18
	10, -1, // 19, 20 GND
	9, 25, // 21, 22
	11, 8, // 23, 24
	-1, 7, // 25 GND, 26
	0, 1, // 27, 28
	5, -1, // 29, 30 GND
	6, 12, // 31, 32
	13, -1, // 33, 34 GND
	19, 16, // 35, 36
	26, 20, // 37, 38
	-1, 21, // 39 GND, 40
}

// headerPower names the power and ground pins of the header.
func headerPower(pin int) string {
	switch pin {
	case 1, 17:
		return "3.3 V power"
	case 2, 4:
		return "5 V power"
	}
	return "ground"
}

// headerPinOf returns the physical header pin of a BCM GPIO.
func headerPinOf(gpio int) int {
	for p, g := range header {
		if g == gpio && p > 0 {
			return p
		}
	}
	return 0
}

// bootPinReason says why a GPIO is unsafe for cue hardware while a
// Raspberry Pi boots, or "" when it is safe. Sources: BCM2835/BCM2711 ARM
// Peripherals (GPIO0–8 reset with the pull-up on, GPIO9–27 with the
// pull-down), the Pi schematics (1.8 kΩ pull-ups on GPIO2/3), the HAT
// specification (GPIO0/1 are the ID EEPROM bus, read by the firmware at
// boot), and the boot UART (GPIO14 TX toggles with boot messages).
func bootPinReason(n int) string {
	switch {
	case n == 0 || n == 1:
		return "is the HAT ID EEPROM bus (ID_SD/ID_SC), pulled high and driven by the firmware at boot"
	case n == 2 || n == 3:
		return "is I2C1 with 1.8 kΩ pull-ups on the board: always high unless driven, so an active-high lamp lights until cuelightd starts"
	case n >= 4 && n <= 8:
		return "is pulled high while the Pi boots, which lights an active-high lamp until cuelightd starts"
	case n == 14 || n == 15:
		return "is the serial console UART (TXD/RXD), which toggles while the Pi boots"
	}
	return ""
}

// parsePinName checks a pin name. It returns the BCM number, or a message
// and a hint when the name is not a valid header pin name.
func parsePinName(s string) (n int, msg, hint string) {
	if rest, ok := strings.CutPrefix(s, "GPIO"); ok {
		n, err := strconv.Atoi(rest)
		if err == nil && rest == strconv.Itoa(n) && n >= 0 {
			if n > MaxGPIO {
				return 0, fmt.Sprintf("%s is not on the Raspberry Pi 40-pin header", s), "use GPIO0 to GPIO27"
			}
			return n, "", ""
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
				h := headerPinOf(n)
				also := ""
				if n <= 40 && n >= 1 {
					if g := header[n]; g >= 0 {
						also = fmt.Sprintf("; if you meant header pin %d, that is GPIO%d", n, g)
					} else {
						also = fmt.Sprintf("; header pin %d is %s", n, headerPower(n))
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
	if h < 1 || h > 40 {
		return "the header has pins 1 to 40; write the BCM name, e.g. GPIO17"
	}
	if g := header[h]; g >= 0 {
		return fmt.Sprintf("header pin %d is GPIO%d: write GPIO%d", h, g, g)
	}
	return fmt.Sprintf("header pin %d is %s, not a GPIO", h, headerPower(h))
}
