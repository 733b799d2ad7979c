package devices

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"

	"github.com/cuelight/cuelight/drivers"
)

// initHost runs periph.io's host.Init once per process (the gpio board
// may have run it already: a second call returns the same state).
var initHost = sync.OnceValues(host.Init)

// HostBuses opens the host's buses through periph.io's registries: "i2c1"
// is /dev/i2c-1 and "spi0.0" is /dev/spidev0.0 (enable them with
// dtparam=i2c_arm=on and dtparam=spi=on: docs/wiring.md).
type HostBuses struct{}

// I2C implements Buses.
func (HostBuses) I2C(name string) (i2c.Bus, error) {
	path, err := drivers.ParseBus(name, true)
	if err != nil {
		return nil, err
	}
	if _, err := initHost(); err != nil {
		return nil, fmt.Errorf("periph.io host init: %w", err)
	}
	bus, err := i2creg.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (is I²C enabled? dtparam=i2c_arm=on)", path, err)
	}
	return bus, nil
}

// SPI implements Buses.
func (HostBuses) SPI(name string) (spi.Port, error) {
	path, err := drivers.ParseBus(name, false)
	if err != nil {
		return nil, err
	}
	if _, err := initHost(); err != nil {
		return nil, fmt.Errorf("periph.io host init: %w", err)
	}
	port, err := spireg.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (is SPI enabled? dtparam=spi=on)", path, err)
	}
	return port, nil
}
