package gpio_test

import (
	"github.com/cuelight/cuelight/internal/testkit"

	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/physic"

	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/gpio"
)

var t0 = time.Date(2026, 3, 14, 19, 30, 0, 0, time.UTC)

// testkit.SyncBuffer is a log sink safe for concurrent writes.

// rig is a board on test pins GPIO17, GPIO22, GPIO24 and GPIO27.
type rig struct {
	clk  *clockwork.FakeClock
	pins pins
	b    *gpio.Board
	log  *testkit.SyncBuffer
}

func newRig(t *testing.T, o gpio.Options) *rig {
	t.Helper()
	r := &rig{clk: clockwork.NewFakeClockAt(t0), pins: pins{}, log: &testkit.SyncBuffer{}}
	for _, n := range []int{17, 22, 24, 27} {
		name := fmt.Sprintf("GPIO%d", n)
		r.pins[name] = newTestPin(t, name, n, r.clk)
	}
	o.Pins = r.pins.source
	o.Clock = r.clk
	o.Logger = slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := gpio.New(o)
	if err != nil {
		t.Fatal(err)
	}
	r.b = b
	return r
}

func TestOutputsOpenSafeInOneWrite(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		signal    bool
		activeLow bool
		want      []string
		wire      pgpio.Level
	}{
		{name: "lamp opens dark", want: []string{"Out(Low)"}, wire: pgpio.Low},
		{name: "active-low lamp opens dark (high on the wire)", activeLow: true, want: []string{"Out(High)"}, wire: pgpio.High},
		{name: "signal opens off", signal: true, want: []string{"Out(Low)"}, wire: pgpio.Low},
		{name: "active-low signal opens off", signal: true, activeLow: true, want: []string{"Out(High)"}, wire: pgpio.High},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, gpio.Options{})
			r.pins["GPIO17"].Pin.L = !tc.wire // whatever the line was before
			o := drivers.PinOptions{Channel: "fly", Role: drivers.RoleStandbyLamp, ActiveLow: tc.activeLow}
			var err error
			if tc.signal {
				_, err = r.b.Signal("GPIO17", o)
			} else {
				_, err = r.b.Lamp("GPIO17", o)
			}
			if err != nil {
				t.Fatal(err)
			}
			p := r.pins["GPIO17"]
			if got := p.Calls(); !slices.Equal(got, tc.want) {
				t.Errorf("calls = %q, want %q: the request with its initial level, nothing else", got, tc.want)
			}
			if p.Wire() != tc.wire {
				t.Errorf("wire = %s, want %s", p.Wire(), tc.wire)
			}
		})
	}
}

func TestLampWrites(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		opts      gpio.Options
		activeLow bool
		noPWM     bool
		levels    []float64
		want      []string // calls after the open
		duty      pgpio.Duty
		freq      physic.Frequency
	}{
		{name: "full and dark", levels: []float64{1, 0}, want: []string{"Out(High)", "Out(Low)"}},
		{name: "active low inverts on the wire", activeLow: true, levels: []float64{1, 0},
			want: []string{"Out(Low)", "Out(High)"}},
		{name: "out of range is clamped", levels: []float64{7, -1}, want: []string{"Out(High)", "Out(Low)"}},
		{name: "dimmed level is PWM at 1 kHz", levels: []float64{0.25},
			want: []string{"PWM(25%, 1kHz)"}, duty: pgpio.DutyMax / 4, freq: physic.KiloHertz},
		{name: "active-low PWM inverts the duty", activeLow: true, levels: []float64{0.25},
			want: []string{"PWM(75%, 1kHz)"}, duty: pgpio.DutyMax - pgpio.DutyMax/4, freq: physic.KiloHertz},
		{name: "PWM frequency option", opts: gpio.Options{PWMFrequency: 200 * physic.Hertz}, levels: []float64{0.5},
			want: []string{"PWM(50%, 200Hz)"}, duty: pgpio.DutyHalf, freq: 200 * physic.Hertz},
		{name: "full after dimmed is a plain Out", levels: []float64{0.5, 1},
			want: []string{"PWM(50%, 1kHz)", "Out(High)"}, duty: pgpio.DutyHalf, freq: physic.KiloHertz},
		{name: "no PWM here: tried once, then full on", noPWM: true, levels: []float64{0.5, 0.3, 0},
			want: []string{"PWM(50%, 1kHz)", "Out(High)", "Out(High)", "Out(Low)"}},
		{name: "NoPWM option never tries", opts: gpio.Options{NoPWM: true}, levels: []float64{0.5},
			want: []string{"Out(High)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, tc.opts)
			p := r.pins["GPIO17"]
			p.noPWM = tc.noPWM
			l, err := r.b.Lamp("GPIO17", drivers.PinOptions{ActiveLow: tc.activeLow})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tc.levels {
				if err := l.Set(v); err != nil {
					t.Fatalf("Set(%g): %v", v, err)
				}
			}
			if got := p.Calls()[1:]; !slices.Equal(got, tc.want) {
				t.Errorf("calls = %q, want %q", got, tc.want)
			}
			p.Pin.Lock()
			d, f := p.Pin.D, p.Pin.F
			p.Pin.Unlock()
			if d != tc.duty || f != tc.freq {
				t.Errorf("gpiotest recorded PWM(%s, %s), want PWM(%s, %s)", d, f, tc.duty, tc.freq)
			}
			if tc.noPWM && strings.Count(r.log.String(), "cannot dim") != 1 {
				t.Errorf("want one warning about dimming, log:\n%s", r.log)
			}
		})
	}
}

func TestLampNaN(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	l, _ := r.b.Lamp("GPIO17", drivers.PinOptions{})
	var zero float64
	if err := l.Set(zero / zero); err == nil {
		t.Error("Set(NaN) did not fail")
	}
	if got := r.pins["GPIO17"].Calls(); len(got) != 1 {
		t.Errorf("Set(NaN) wrote: %q", got)
	}
}

func TestSignalNeverDims(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	s, err := r.b.Signal("GPIO24", drivers.PinOptions{Role: drivers.RoleCallOut, ActiveLow: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Set(true)
	_ = s.Set(false)
	want := []string{"Out(High)", "Out(Low)", "Out(High)"}
	if got := r.pins["GPIO24"].Calls(); !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
}

func TestHaltDrivesEveryOutputDark(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	lamp, _ := r.b.Lamp("GPIO17", drivers.PinOptions{})
	low, _ := r.b.Lamp("GPIO27", drivers.PinOptions{ActiveLow: true})
	sig, _ := r.b.Signal("GPIO24", drivers.PinOptions{})
	_ = lamp.Set(0.5)
	_ = low.Set(1)
	_ = sig.Set(true)

	// One lamp's own Halt: dark, and it can be lit again.
	if err := lamp.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := lamp.Set(1); err != nil {
		t.Fatalf("Set after a lamp's own Halt: %v", err)
	}

	if err := r.b.Halt(); err != nil {
		t.Fatal(err)
	}
	for name, dark := range map[string]pgpio.Level{"GPIO17": pgpio.Low, "GPIO27": pgpio.High, "GPIO24": pgpio.Low} {
		p := r.pins[name]
		calls := p.Calls()
		if last := calls[len(calls)-1]; last != fmt.Sprintf("Out(%s)", dark) || p.Wire() != dark {
			t.Errorf("%s: last call %q, wire %s; want Out(%s)", name, last, p.Wire(), dark)
		}
	}
	n := len(r.pins["GPIO17"].Calls())
	if err := lamp.Set(1); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("Set after the board's Halt: %v, want ErrHalted", err)
	}
	if err := sig.Set(true); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("signal Set after the board's Halt: %v, want ErrHalted", err)
	}
	if got := r.pins["GPIO17"].Calls(); len(got) != n {
		t.Errorf("a halted lamp was written: %q", got[n:])
	}
	if _, err := r.b.Lamp("GPIO22", drivers.PinOptions{}); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("open after Halt: %v, want ErrHalted", err)
	}
	if err := r.b.Halt(); err != nil {
		t.Errorf("second Halt: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	busy := errors.New("GPIOLine.Out(): line_request ioctl: device or resource busy") // as gpioioctl words it
	cases := []struct {
		name     string
		pin      string
		setup    func(r *rig)
		open     func(b *gpio.Board, pin string) error
		is       error
		contains []string
	}{
		{name: "unknown pin", pin: "GPIO99", open: openLamp, is: drivers.ErrUnknownPin,
			contains: []string{"GPIO99", "no pin of that name"}},
		{name: "busy output", pin: "GPIO17", setup: func(r *rig) { r.pins["GPIO17"].outErr = busy },
			open: openLamp, is: drivers.ErrBusy, contains: []string{"GPIO17 (fly go_lamp)", "gpioinfo", "device or resource busy"}},
		{name: "busy button", pin: "GPIO22",
			setup: func(r *rig) { r.pins["GPIO22"].inErr = fmt.Errorf("line_request ioctl: %w", syscall.EBUSY) },
			open:  openButton, is: drivers.ErrBusy, contains: []string{"GPIO22", "gpioinfo"}},
		{name: "permission", pin: "GPIO17",
			setup: func(r *rig) { r.pins["GPIO17"].outErr = errors.New("open /dev/gpiochip0: permission denied") },
			open:  openLamp, contains: []string{"GPIO17", "gpio group"}},
		{name: "pin opened twice", pin: "GPIO17", setup: func(r *rig) { _ = openLamp(r.b, "GPIO17") },
			open: openLamp, is: drivers.ErrBusy, contains: []string{"already open in this station"}},
		{name: "pin opened twice as button", pin: "GPIO22", setup: func(r *rig) { _ = openLamp(r.b, "GPIO22") },
			open: openButton, is: drivers.ErrBusy, contains: []string{"already open"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, gpio.Options{})
			if tc.setup != nil {
				tc.setup(r)
			}
			err := tc.open(r.b, tc.pin)
			if err == nil {
				t.Fatal("open succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.HasPrefix(err.Error(), "gpio: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			for _, c := range tc.contains {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("error %q does not say %q", err, c)
				}
			}
		})
	}
}

func openLamp(b *gpio.Board, pin string) error {
	_, err := b.Lamp(pin, drivers.PinOptions{Channel: "fly", Role: drivers.RoleGoLamp})
	return err
}

func openButton(b *gpio.Board, pin string) error {
	_, err := b.Button(pin, drivers.ButtonOptions{PinOptions: drivers.PinOptions{Channel: "fly", Role: drivers.RoleAckButton}})
	return err
}

// TestRegistryWithoutHardware opens pins through periph.io's real registry.
// Off a Raspberry Pi (CI, a laptop, qemu) host.Init loads no GPIO driver
// and every lookup is nil: the board must say so, not panic.
func TestRegistryWithoutHardware(t *testing.T) {
	t.Parallel()
	log := &testkit.SyncBuffer{}
	b, err := gpio.New(gpio.Options{Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lamp("GPIO999", drivers.PinOptions{})
	if !errors.Is(err, drivers.ErrUnknownPin) || !strings.Contains(err.Error(), "GPIO999") {
		t.Fatalf("Lamp(GPIO999) = %v, want ErrUnknownPin naming the pin", err)
	}
	if len(gpioreg.All()) > 0 {
		t.Skip("this machine has GPIO hardware; the no-hardware message is not tested here")
	}
	for _, open := range []func() error{
		func() error { _, err := b.Lamp("GPIO17", drivers.PinOptions{}); return err },
		func() error { _, err := b.Signal("GPIO24", drivers.PinOptions{}); return err },
		func() error { _, err := b.Button("GPIO22", drivers.ButtonOptions{}); return err },
	} {
		err := open()
		if !errors.Is(err, drivers.ErrUnknownPin) || !strings.Contains(err.Error(), "no GPIO hardware was found") {
			t.Errorf("off-Pi open = %v, want ErrUnknownPin saying no GPIO hardware was found", err)
		}
	}
	if !strings.Contains(log.String(), "no GPIO hardware found") {
		t.Errorf("New did not warn that there is no hardware; log:\n%s", log)
	}
}

// BenchmarkLampSet is the driver's share of the OSC-to-lamp path: one
// logical write through the board to a gpiotest pin.
func BenchmarkLampSet(b *testing.B) {
	pin := &gpiotest.Pin{N: "GPIO17", Num: 17}
	board, err := gpio.New(gpio.Options{Pins: func(string) pgpio.PinIO { return pin }})
	if err != nil {
		b.Fatal(err)
	}
	l, err := board.Lamp("GPIO17", drivers.PinOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := l.Set(float64(i & 1)); err != nil {
			b.Fatal(err)
		}
	}
}
