//go:build pi

// The hardware smoke test: run by a technician on a real Raspberry Pi with
// one output pin wired (a jumper, or a 1 kΩ resistor) to one input pin.
// CI runs it on Debian's kernel in QEMU's Raspberry Pi 3, the host being
// the jumper (make test-gpio-vm). docs/hardware-test.md has the procedure:
//
//	CUELIGHT_SMOKE_OUT=GPIO17 CUELIGHT_SMOKE_IN=GPIO27 go test -tags pi -run Smoke -v ./drivers/gpio/
//
// or, cross-compiled:
//
//	GOARCH=arm64 go test -c -tags pi -o smoke.test ./drivers/gpio/
//	CUELIGHT_SMOKE_OUT=GPIO17 CUELIGHT_SMOKE_IN=GPIO27 ./smoke.test -test.run Smoke -test.v

package gpio_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/gpio"
)

// smokeWait is how long the smoke test waits for anything. Generous: it
// checks that things happen, not how fast.
const smokeWait = 3 * time.Second

// tWriter sends log lines to t.Log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func smokePins(t *testing.T) (out, in string) {
	out, in = os.Getenv("CUELIGHT_SMOKE_OUT"), os.Getenv("CUELIGHT_SMOKE_IN")
	if out == "" || in == "" {
		t.Fatal("set CUELIGHT_SMOKE_OUT and CUELIGHT_SMOKE_IN to two pins wired together, " +
			"e.g. CUELIGHT_SMOKE_OUT=GPIO17 CUELIGHT_SMOKE_IN=GPIO27 (see docs/hardware-test.md)")
	}
	return out, in
}

func smokeEvent(t *testing.T, evs <-chan drivers.ButtonEvent, want drivers.ButtonEventKind, since time.Time) {
	t.Helper()
	select {
	case ev := <-evs:
		if ev.Kind != want {
			t.Fatalf("got %s, want %s", ev.Kind, want)
		}
		t.Logf("%s seen %s after the write (debounce included)", ev.Kind, time.Since(since).Round(time.Millisecond))
	case <-time.After(smokeWait):
		t.Fatalf("no %s within %s: is the output wired to the input?", want, smokeWait)
	}
}

func smokeQuiet(t *testing.T, evs <-chan drivers.ButtonEvent, d time.Duration) {
	t.Helper()
	select {
	case ev := <-evs:
		t.Fatalf("unexpected %s", ev.Kind)
	case <-time.After(d):
	}
}

func TestSmoke(t *testing.T) {
	outName, inName := smokePins(t)
	for _, activeLow := range []bool{true, false} { // active-high last: the wire ends low
		name := "active high"
		if activeLow {
			name = "active low"
		}
		t.Run(name, func(t *testing.T) {
			log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			b, err := gpio.New(gpio.Options{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			lamp, err := b.Lamp(outName, drivers.PinOptions{Channel: "smoke", Role: drivers.RoleStandbyLamp, ActiveLow: activeLow})
			if err != nil {
				t.Fatal(err)
			}
			// Let the wire settle before the button takes its baseline:
			// instant on a jumper. In the QEMU test of docs/hardware-test.md
			// the jumper is the host copying the output to the input
			// through qtest, a millisecond or so, but hundreds of them on
			// a loaded CI machine.
			time.Sleep(500 * time.Millisecond)
			btn, err := b.Button(inName, drivers.ButtonOptions{
				PinOptions: drivers.PinOptions{Channel: "smoke", Role: drivers.RoleAckButton, ActiveLow: activeLow},
				StuckAfter: time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			evs := make(chan drivers.ButtonEvent, 16)
			done := make(chan error, 1)
			go func() { done <- btn.Run(context.Background(), evs) }()
			smokeQuiet(t, evs, 500*time.Millisecond) // dark at start: the input sees nothing

			t.Log("presses: the output drives the input through the wire")
			for i := range 5 {
				at := time.Now()
				if err := lamp.Set(1); err != nil {
					t.Fatal(err)
				}
				smokeEvent(t, evs, drivers.Press, at)
				time.Sleep(100 * time.Millisecond)
				at = time.Now()
				if err := lamp.Set(0); err != nil {
					t.Fatal(err)
				}
				smokeEvent(t, evs, drivers.Release, at)
				time.Sleep(100 * time.Millisecond)
				t.Logf("press %d of 5 ok", i+1)
			}
			smokeQuiet(t, evs, 300*time.Millisecond)

			t.Log("stuck: held for longer than stuck_after (1 s) with no further edge")
			at := time.Now()
			if err := lamp.Set(1); err != nil {
				t.Fatal(err)
			}
			smokeEvent(t, evs, drivers.Press, at)
			smokeEvent(t, evs, drivers.Stuck, at)
			smokeQuiet(t, evs, 500*time.Millisecond)
			at = time.Now()
			if err := lamp.Set(0); err != nil {
				t.Fatal(err)
			}
			smokeEvent(t, evs, drivers.Release, at)

			t.Logf("blink: watch the lamp or LED on %s: five full blinks, then five dimmed ones "+
				"(fully lit if this pin has no PWM: see the log)", outName)
			for _, level := range []float64{1, 0.3} {
				for range 5 {
					if err := lamp.Set(level); err != nil {
						t.Fatal(err)
					}
					time.Sleep(250 * time.Millisecond)
					if err := lamp.Set(0); err != nil {
						t.Fatal(err)
					}
					time.Sleep(250 * time.Millisecond)
				}
				drain(evs)
			}

			t.Log("halt: the lamp goes dark and the button's Run returns")
			if err := lamp.Set(1); err != nil {
				t.Fatal(err)
			}
			if err := b.Halt(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v after Halt, want nil", err)
				}
			case <-time.After(smokeWait):
				t.Fatal("Run did not return after Halt")
			}
			if err := lamp.Set(1); !errors.Is(err, drivers.ErrHalted) {
				t.Errorf("Set after Halt: %v, want ErrHalted", err)
			}
		})
	}
}

func drain(evs <-chan drivers.ButtonEvent) {
	for {
		select {
		case <-evs:
		default:
			return
		}
	}
}
