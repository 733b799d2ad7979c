package devices

import (
	"errors"
	"fmt"
	"sync"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spitest"
)

// regBus is a register model of I²C devices (one 256-byte register file
// per address, auto-increment), for tests that run longer than a
// recorded transaction list: it keeps every op, like i2ctest.Record, and
// answers reads from the registers. PCA9685's ALL_LED registers write
// every channel. Fail makes every transaction fail.
type regBus struct {
	mu   sync.Mutex
	regs map[uint16]*[256]byte
	Ops  []i2ctest.IO
	Fail bool
}

func newRegBus() *regBus { return &regBus{regs: map[uint16]*[256]byte{}} }

func (r *regBus) String() string                  { return "regbus" }
func (r *regBus) SetSpeed(physic.Frequency) error { return nil }

func (r *regBus) reg(addr uint16) *[256]byte {
	if r.regs[addr] == nil {
		r.regs[addr] = &[256]byte{}
	}
	return r.regs[addr]
}

// Get returns a register.
func (r *regBus) Get(addr uint16, reg byte) byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reg(addr)[reg]
}

// Put sets a register (an input level, a read-back value).
func (r *regBus) Put(addr uint16, reg byte, v byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reg(addr)[reg] = v
}

func (r *regBus) Tx(addr uint16, w, rd []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail {
		return errors.New("regbus: no acknowledge")
	}
	r.Ops = append(r.Ops, i2ctest.IO{Addr: addr, W: append([]byte(nil), w...), R: append([]byte(nil), rd...)})
	if len(w) == 0 {
		return nil
	}
	regs := r.reg(addr)
	a := w[0]
	for i, v := range w[1:] {
		reg := a + byte(i)
		regs[reg] = v
		if addr >= 0x40 && reg >= 0xFA && reg <= 0xFD { // PCA9685 ALL_LED_*
			for ch := range 16 {
				regs[0x06+4*ch+int(reg-0xFA)] = v
			}
		}
	}
	for i := range rd {
		rd[i] = regs[a+byte(i)]
	}
	r.Ops[len(r.Ops)-1].R = append([]byte(nil), rd...)
	return nil
}

// pcaLit says whether PCA9685 channel ch is lit, and its duty (0–4095).
func (r *regBus) pcaLit(addr uint16, ch int) (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.reg(addr)
	onH, offL, offH := g[0x06+4*ch+1], g[0x06+4*ch+2], g[0x06+4*ch+3]
	switch {
	case offH&0x10 != 0:
		return false, 0
	case onH&0x10 != 0:
		return true, 4095
	}
	d := int(offL) | int(offH&0x0F)<<8
	return d > 0, d
}

// regBuses gives one regBus for every I²C bus and one recording SPI port.
type regBuses struct {
	i *regBus
	s *spitest.Record
}

func (r regBuses) I2C(name string) (i2c.Bus, error) {
	if name != "i2c1" {
		return nil, fmt.Errorf("no bus %s", name)
	}
	return r.i, nil
}

func (r regBuses) SPI(string) (spi.Port, error) { return r.s, nil }
