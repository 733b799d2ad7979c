package station

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/osc"
)

const deviceShow = `
show: devices
stations:
  a:
    driver: sim
    devices:
      leds: {type: apa102, bus: spi0.0, leds: 4}
      pwm1: {type: pca9685, bus: i2c1}
    colors: {go: cb_bluegreen, ack: white}
channels:
  fly: {standby_lamp: leds:0, go_lamp: leds:1, call_lamp: leds:2, brightness: 0.5}
  sl: {standby_lamp: pwm1:0}
`

// TestDeviceLampColors: an RGB lamp shows its channel state's colour
// (the show's or the default) at the channel's brightness; a PCA9685 lamp
// dims.
func TestDeviceLampColors(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse(strings.NewReader(deviceShow), "d.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var board *sim.Board
	r := startRig(t, deviceShow, func(clk clockwork.Clock) drivers.Board {
		board = sim.New(sim.Options{Clock: clk, Devices: cfg.Stations[0].DeviceSpecs()})
		return board
	}, nil)
	pin := func(name string) sim.PinState {
		p, err := board.Pin(name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	r.send(t, osc.NewMessage("/cuelight/fly/standby", osc.String("23")))
	r.send(t, osc.NewMessage("/cuelight/sl/standby", osc.String("23")))
	if p := pin("leds:0"); !p.Level || p.Color != "#ffbf00" || p.Brightness != 0.5 {
		t.Errorf("standby lamp %+v, want amber at 0.5", p)
	}
	if p := pin("leds:1"); p.Level {
		t.Errorf("go lamp lit in standby: %+v", p)
	}
	if p := pin("pwm1:0"); !p.Level || p.Brightness != 1 {
		t.Errorf("sl lamp %+v", p)
	}
	// Acknowledged: the same steady level, the ack colour.
	r.send(t, osc.NewMessage("/cuelight/fly/ack", osc.String("23")))
	if p := pin("leds:0"); !p.Level || p.Color != "#ffffff" || p.Brightness != 0.5 {
		t.Errorf("acknowledged standby lamp %+v, want white at 0.5", p)
	}
	r.send(t, osc.NewMessage("/cuelight/fly/go", osc.String("23")))
	if p := pin("leds:1"); !p.Level || p.Color != "#009e73" || p.Brightness != 0.5 {
		t.Errorf("go lamp %+v, want cb_bluegreen at 0.5", p)
	}
	if p := pin("leds:0"); p.Level {
		t.Errorf("standby lamp lit in go: %+v", p)
	}
}

// failBoard is a sim board whose lamp "leds:0" fails while fail is set.
type failBoard struct {
	*sim.Board
	fail *atomic.Bool
}

type failLamp struct {
	drivers.ColorLamp
	fail *atomic.Bool
}

func (l failLamp) SetColor(c drivers.RGB, level float64) error {
	if l.fail.Load() {
		return errors.New("spi: transfer failed")
	}
	return l.ColorLamp.SetColor(c, level)
}

func (b failBoard) Lamp(name string, o drivers.PinOptions) (drivers.Lamp, error) {
	l, err := b.Board.Lamp(name, o)
	if err != nil || name != "leds:0" {
		return l, err
	}
	return failLamp{l.(drivers.ColorLamp), b.fail}, nil
}

// TestDeviceFaultEvent: a lamp that fails to write is one fault event
// naming it, is retried, and shows the state again once it works.
func TestDeviceFaultEvent(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse(strings.NewReader(deviceShow), "d.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		faults []string
		board  *sim.Board
		fail   atomic.Bool
	)
	r := startRig(t, deviceShow, func(clk clockwork.Clock) drivers.Board {
		board = sim.New(sim.Options{Clock: clk, Devices: cfg.Stations[0].DeviceSpecs()})
		return failBoard{board, &fail}
	}, func(o *Options) {
		o.onEvent = func(ev cues.Event) {
			if ev.Kind == cues.EventFault {
				mu.Lock()
				faults = append(faults, ev.Reason)
				mu.Unlock()
			}
		}
	})
	fail.Store(true)
	r.send(t, osc.NewMessage("/cuelight/fly/standby_ack", osc.String("1")))
	r.tick(t, 2*time.Second) // two seconds of flashing: many failed writes
	waitFor(t, "a fault event", func() bool { mu.Lock(); defer mu.Unlock(); return len(faults) > 0 })
	mu.Lock()
	if len(faults) != 1 || !strings.Contains(faults[0], "leds:0") || !strings.Contains(faults[0], "fly standby lamp") {
		t.Errorf("fault events %q, want one naming fly standby lamp (leds:0)", faults)
	}
	mu.Unlock()
	fail.Store(false)
	r.send(t, osc.NewMessage("/cuelight/fly/ack", osc.String("1"))) // steady: the lamp must come back
	waitFor(t, "the lamp lit again", func() bool {
		p, _ := board.Pin("leds:0")
		return p.Level && p.Color == "#ffffff" // the show's ack colour
	})
}

// checkBoard is a sim board with a device check that fails while fail is
// set, as a device that lost power and was set up again dark would.
type checkBoard struct {
	*sim.Board
	fail   *atomic.Bool
	checks *atomic.Int64
	mu     *sync.Mutex
	lamps  map[string]drivers.Lamp
}

func (b checkBoard) Lamp(name string, o drivers.PinOptions) (drivers.Lamp, error) {
	l, err := b.Board.Lamp(name, o)
	if err == nil {
		b.mu.Lock()
		b.lamps[name] = l
		b.mu.Unlock()
	}
	return l, err
}

func (b checkBoard) Check() error {
	b.checks.Add(1)
	if b.fail.Load() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for name, l := range b.lamps {
			if strings.HasPrefix(name, "leds:") {
				_ = l.Halt() // set up again: dark
			}
		}
		return &drivers.DeviceError{Device: "leds", Err: errors.New("devices: leds (apa102 on spi0.0): spi: transfer failed")}
	}
	return nil
}

// TestDeviceCheckInSelfCheck: the self-check runs the board's device
// check; a device that fails it is one fault event on the channel that
// uses it, the watchdog is not fed, and the lamps it was told to show are
// written again.
func TestDeviceCheckInSelfCheck(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse(strings.NewReader(deviceShow), "d.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		faults []cues.Event
		board  *sim.Board
		fail   atomic.Bool
		checks atomic.Int64
	)
	r := startRig(t, deviceShow, func(clk clockwork.Clock) drivers.Board {
		board = sim.New(sim.Options{Clock: clk, Devices: cfg.Stations[0].DeviceSpecs()})
		return checkBoard{board, &fail, &checks, &sync.Mutex{}, map[string]drivers.Lamp{}}
	}, func(o *Options) {
		o.WatchdogEvery = time.Second
		o.onEvent = func(ev cues.Event) {
			if ev.Kind == cues.EventFault {
				mu.Lock()
				faults = append(faults, ev)
				mu.Unlock()
			}
		}
	})
	r.send(t, osc.NewMessage("/cuelight/fly/standby", osc.String("1"))) // steady
	fed := r.count("WATCHDOG=1")
	fail.Store(true)
	before := checks.Load()
	r.tick(t, time.Second)
	waitFor(t, "a device check", func() bool { return checks.Load() > before })
	waitFor(t, "a fault event", func() bool { mu.Lock(); defer mu.Unlock(); return len(faults) > 0 })
	if r.count("WATCHDOG=1") != fed {
		t.Error("the watchdog was fed after a failed device check")
	}
	fail.Store(false)
	r.tick(t, time.Second)
	waitFor(t, "the lamp lit again", func() bool {
		p, _ := board.Pin("leds:0")
		return p.Level && p.Color == "#ffbf00"
	})
	mu.Lock()
	defer mu.Unlock()
	if len(faults) != 1 || faults[0].Channel != "fly" || !strings.Contains(faults[0].Reason, "leds") {
		t.Errorf("fault events %+v, want one on fly naming leds", faults)
	}
}
