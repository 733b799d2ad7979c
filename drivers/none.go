package drivers

import (
	"errors"
	"fmt"
)

// ErrNoPins is returned by the None board for every pin: a station with
// driver: none has no lamps or buttons.
var ErrNoPins = errors.New("drivers: this station has driver: none (no pins)")

// None is the board of a station without hardware (driver: none): a booth
// machine or a laptop that runs a gateway. It opens no pin; Halt does
// nothing.
type None struct{}

// Lamp fails with ErrNoPins.
func (None) Lamp(pin string, _ PinOptions) (Lamp, error) {
	return nil, fmt.Errorf("%s: %w", pin, ErrNoPins)
}

// Signal fails with ErrNoPins.
func (None) Signal(pin string, _ PinOptions) (Signal, error) {
	return nil, fmt.Errorf("%s: %w", pin, ErrNoPins)
}

// Button fails with ErrNoPins.
func (None) Button(pin string, _ ButtonOptions) (Button, error) {
	return nil, fmt.Errorf("%s: %w", pin, ErrNoPins)
}

// Halt does nothing: there is nothing to make safe.
func (None) Halt() error { return nil }

// Backend names the board for logs and the station's info.
func (None) Backend() string { return "none" }
