package devices

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/drivertest"
)

// step advances clk by ms milliseconds, 1 ms at a time, each once the
// button loop waits on the clock: time moves only when the code under
// test is idle.
func step(t *testing.T, clk *clockwork.FakeClock, ms int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range ms {
		if err := clk.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal("the button loop stopped waiting on the clock")
		}
		clk.Advance(time.Millisecond)
	}
}

func nextEvent(t *testing.T, ch <-chan drivers.ButtonEvent) drivers.ButtonEvent {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no button event")
	}
	return drivers.ButtonEvent{}
}

// TestMCP23017Button: an active-low button on an expander is pulled up,
// sampled every 5 ms and debounced by drivers.RunButton: a bounce shorter
// than the debounce time is no press; a held contact is one press, its
// release one release; a read error keeps the last level (no event) and
// the board's Halt ends the loop.
func TestMCP23017Button(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClock()
	bus := newRegBus()
	bus.Put(0x20, mcpGPIO, 0xFF) // every input high: released
	b, err := Open(drivertest.NewBoard(clk), []drivers.DeviceSpec{{Name: "exp1", Kind: drivers.MCP23017, Bus: "i2c1", Addr: 0x20}},
		Options{Buses: regBuses{i: bus}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	btn, err := b.Button("exp1:2", drivers.ButtonOptions{PinOptions: drivers.PinOptions{ActiveLow: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got := bus.Get(0x20, mcpGPPU); got != 0x04 {
		t.Errorf("GPPUA = %#x, want 0x04 (pull-up on A2)", got)
	}
	if _, err := b.Button("exp1:3", drivers.ButtonOptions{}); err == nil {
		t.Error("an active-high button (pull-down) opened on an MCP23017")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan drivers.ButtonEvent, 8)
	done := make(chan error, 1)
	go func() { done <- btn.Run(ctx, events) }()

	// A 10 ms bounce: shorter than the 20 ms debounce.
	step(t, clk, 20)
	bus.Put(0x20, mcpGPIO, 0xFB)
	step(t, clk, 10)
	bus.Put(0x20, mcpGPIO, 0xFF)
	step(t, clk, 100)
	select {
	case ev := <-events:
		t.Fatalf("a 10 ms bounce gave %v", ev.Kind)
	default:
	}
	pressedAt := clk.Now()
	bus.Put(0x20, mcpGPIO, 0xFB) // held
	step(t, clk, 40)
	if ev := nextEvent(t, events); ev.Kind != drivers.Press || ev.Pin != "exp1:2" || ev.At.Before(pressedAt) {
		t.Fatalf("event %+v, want press of exp1:2", ev)
	}
	bus.mu.Lock()
	bus.Fail = true // the expander stops answering: no release is invented
	bus.mu.Unlock()
	step(t, clk, 200)
	select {
	case ev := <-events:
		t.Fatalf("a failing bus gave %v", ev.Kind)
	default:
	}
	bus.mu.Lock()
	bus.Fail = false
	bus.mu.Unlock()
	bus.Put(0x20, mcpGPIO, 0xFF)
	step(t, clk, 100)
	if ev := nextEvent(t, events); ev.Kind != drivers.Release {
		t.Fatalf("event %+v, want release", ev)
	}
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run after Halt = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not end on the board's Halt")
	}
}
