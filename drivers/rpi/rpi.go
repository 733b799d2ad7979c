// Package rpi holds the facts of the Raspberry Pi board that more than
// one part of cuelight needs, defined once: the 40-pin header map, the
// GPIO names a show may use, and which GPIOs are unsafe for cue hardware
// while the Pi boots (their reset pulls, boot functions). The gpio and sim
// drivers and the show file's validation use it.
//
// Sources: BCM2835/BCM2711 ARM Peripherals (GPIO0–8 reset with the
// pull-up on, GPIO9–27 with the pull-down), the Pi schematics (1.8 kΩ
// pull-ups on GPIO2/3), the HAT specification (GPIO0/1 are the ID EEPROM
// bus, read by the firmware at boot), and the boot UART (GPIO14 TX toggles
// with boot messages).
package rpi

import (
	"strconv"
	"strings"
)

// MaxGPIO is the highest BCM GPIO number on the 40-pin header: a show's
// pins are GPIO0 to GPIO27.
const MaxGPIO = 27

// header maps a physical pin of the 40-pin header to its BCM GPIO number;
// -1 marks power and ground pins.
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

// HeaderPins is the number of pins of the header (1 to 40).
const HeaderPins = 40

// GPIOAt returns the BCM GPIO of physical header pin 1–40, or -1 for a
// power or ground pin or a number off the header.
func GPIOAt(pin int) int {
	if pin < 1 || pin > HeaderPins {
		return -1
	}
	return header[pin]
}

// HeaderPin returns the physical header pin (1–40) of BCM GPIO n, or 0
// when n is not on the header.
func HeaderPin(n int) int {
	for p, g := range header {
		if g == n && p > 0 {
			return p
		}
	}
	return 0
}

// PowerPin names a header pin that is not a GPIO: "3.3 V power",
// "5 V power" or "ground"; "" for a GPIO pin or a number off the header.
func PowerPin(pin int) string {
	if pin < 1 || pin > HeaderPins || header[pin] >= 0 {
		return ""
	}
	switch pin {
	case 1, 17:
		return "3.3 V power"
	case 2, 4:
		return "5 V power"
	}
	return "ground"
}

// GPIONumber parses a pin name of the header, "GPIO0" to "GPIO27" (no
// leading zero, no space), and returns its BCM number.
func GPIONumber(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "GPIO")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || rest != strconv.Itoa(n) || n < 0 || n > MaxGPIO {
		return 0, false
	}
	return n, true
}

// Name returns the pin name of BCM GPIO n: "GPIO17".
func Name(n int) string { return "GPIO" + strconv.Itoa(n) }

// Pull is a GPIO's bias while the Pi resets and boots, before cuelightd
// requests it.
type Pull int

// Reset pulls.
const (
	PullDown Pull = iota
	PullUp
)

// ResetPull is the bias GPIO n (0–27) has from reset until it is
// requested: the pull-up on GPIO0–8, the pull-down on GPIO9–27. A lamp
// wired active-high on a pulled-up GPIO lights while the Pi boots.
func ResetPull(n int) Pull {
	if n <= 8 {
		return PullUp
	}
	return PullDown
}

// BootPinReason says why GPIO n is unsafe for cue hardware while a Pi
// boots, or "" when it is safe.
func BootPinReason(n int) string {
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
