package gpio_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/gpio"
)

const poll = gpio.DefaultPollInterval

// running is a button's Run in a goroutine, followed on the fake clock.
type running struct {
	*loop
	btn    drivers.Button
	out    chan drivers.ButtonEvent
	done   chan error
	cancel context.CancelFunc
}

func runButton(t *testing.T, r *rig, name string, o drivers.ButtonOptions) *running {
	t.Helper()
	btn, err := r.b.Button(name, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rb := &running{
		loop: &loop{t: t, clk: r.clk, pin: r.pins[name]},
		btn:  btn, out: make(chan drivers.ButtonEvent, 16), done: make(chan error, 1), cancel: cancel,
	}
	go func() { rb.done <- btn.Run(ctx, rb.out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rb.done:
		default:
			// Run is in WaitForEdge on the fake clock: let it time out.
			r.clk.Advance(time.Hour)
			<-rb.done
		}
	})
	return rb
}

// events returns the events sent so far. Call it after waiting(): the
// loop sends an iteration's events before it waits again.
func (rb *running) events() []drivers.ButtonEvent {
	var evs []drivers.ButtonEvent
	for {
		select {
		case ev := <-rb.out:
			evs = append(evs, ev)
		default:
			return evs
		}
	}
}

func (rb *running) expect(kinds ...drivers.ButtonEventKind) []drivers.ButtonEvent {
	rb.t.Helper()
	evs := rb.events()
	got := make([]drivers.ButtonEventKind, len(evs))
	for i, ev := range evs {
		got[i] = ev.Kind
		if ev.Pin != rb.pin.N {
			rb.t.Errorf("event pin %q, want %q", ev.Pin, rb.pin.N)
		}
	}
	if !slices.Equal(got, kinds) {
		rb.t.Fatalf("events %v, want %v", got, kinds)
	}
	return evs
}

func ackButton(activeLow bool) drivers.ButtonOptions {
	return drivers.ButtonOptions{PinOptions: drivers.PinOptions{Channel: "fly", Role: drivers.RoleAckButton, ActiveLow: activeLow}}
}

func TestButtonSetUpOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		activeLow bool
		pull      drivers.Pull
		want      string
		released  pgpio.Level
	}{
		{name: "active low pulls up", activeLow: true, want: "In(PullUp, BothEdges)", released: pgpio.High},
		{name: "active high pulls down", want: "In(PullDown, BothEdges)", released: pgpio.Low},
		{name: "active low with an external pull-up", activeLow: true, pull: drivers.PullNone,
			want: "In(Float, BothEdges)", released: pgpio.High},
		{name: "active high with the pull asked for", pull: drivers.PullDown,
			want: "In(PullDown, BothEdges)", released: pgpio.Low},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, gpio.Options{})
			r.pins["GPIO22"].Pin.L = tc.released // Float keeps the level the line has
			o := ackButton(tc.activeLow)
			o.Pull = tc.pull
			rb := runButton(t, r, "GPIO22", o)
			rb.waiting()
			if got := rb.pin.Calls(); !slices.Equal(got, []string{tc.want, "Read"}) {
				t.Errorf("calls = %q, want %s once, then Read", got, tc.want)
			}
			if rb.pin.Wire() != tc.released {
				t.Errorf("released level %s, want %s", rb.pin.Wire(), tc.released)
			}
			rb.edge(!tc.released) // press
			if d := rb.waiting(); d != drivers.DefaultDebounce {
				t.Errorf("after an edge the loop waits %s, want the debounce time", d)
			}
			rb.advance(drivers.DefaultDebounce)
			rb.waiting()
			rb.expect(drivers.Press)
		})
	}
}

func TestButtonBounceIsOnePress(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	rb := runButton(t, r, "GPIO22", ackButton(true))
	if d := rb.waiting(); d != poll {
		t.Errorf("idle loop waits %s, want the poll interval %s", d, poll)
	}
	// Contact bounce: low, high, low, high, low over 4 ms.
	for i, l := range []pgpio.Level{pgpio.Low, pgpio.High, pgpio.Low, pgpio.High, pgpio.Low} {
		if i > 0 {
			rb.advance(time.Millisecond)
		}
		rb.edge(l)
		rb.waiting()
	}
	rb.expect()
	// The loop sleeps until the last bounce has settled: the waiters of
	// the earlier bounces fire, stale, and wake nobody.
	rb.advance(drivers.DefaultDebounce - time.Millisecond)
	rb.expect()
	rb.advance(time.Millisecond)
	rb.waiting()
	if ev := rb.expect(drivers.Press)[0]; !ev.At.Equal(t0) {
		t.Errorf("press At %s, want the first contact (t0)", ev.At.Sub(t0))
	}

	// Release with bounce.
	rb.advance(200 * time.Millisecond)
	rb.waiting()
	relAt := r.clk.Now()
	for _, l := range []pgpio.Level{pgpio.High, pgpio.Low, pgpio.High} {
		rb.edge(l)
		rb.waiting()
	}
	rb.advance(drivers.DefaultDebounce)
	rb.waiting()
	if ev := rb.expect(drivers.Release)[0]; !ev.At.Equal(relAt) {
		t.Errorf("release At %s, want %s", ev.At.Sub(t0), relAt.Sub(t0))
	}
	rb.advance(time.Second)
	rb.waiting()
	rb.expect()
}

// gpiotest's WaitForEdge ignores the edge kind, and so does the Pi's:
// an edge is only a hint to Read().
func TestButtonEdgeWithoutChangeIsNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	rb := runButton(t, r, "GPIO22", ackButton(true))
	rb.waiting()
	rb.edge(pgpio.High) // "edge" to the level it already has
	if d := rb.waiting(); d != poll {
		t.Errorf("after an edge that changed nothing the loop waits %s, want %s", d, poll)
	}
	rb.advance(time.Second)
	rb.waiting()
	rb.expect()
}

func TestButtonStuckWithoutEdges(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	o := ackButton(true)
	o.StuckAfter = 250 * time.Millisecond
	rb := runButton(t, r, "GPIO22", o)
	rb.waiting()
	rb.edge(pgpio.Low)
	rb.waiting()
	rb.advance(drivers.DefaultDebounce)
	rb.waiting()
	rb.expect(drivers.Press)
	// Held, no more edges: the loop samples on timeouts, the last one
	// shortened to the stuck limit.
	var waits []time.Duration
	for range 3 {
		rb.advance(r.clk.Until(rb.waiters[len(rb.waiters)-1]))
		waits = append(waits, rb.waiting())
	}
	if want := []time.Duration{poll, 30 * time.Millisecond, poll}; !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	if ev := rb.expect(drivers.Stuck)[0]; !ev.At.Equal(t0.Add(250 * time.Millisecond)) {
		t.Errorf("stuck At %s, want 250ms", ev.At.Sub(t0))
	}
	// Still held, chattering: no press, no second fault.
	for range 5 {
		rb.edge(pgpio.High)
		rb.waiting()
		rb.advance(5 * time.Millisecond)
		rb.edge(pgpio.Low)
		rb.waiting()
		rb.advance(poll)
		rb.waiting()
	}
	rb.expect()
	// Released: one release, and the button works again.
	rb.edge(pgpio.High)
	rb.waiting()
	rb.advance(drivers.DefaultDebounce)
	rb.waiting()
	rb.expect(drivers.Release)
	rb.advance(time.Second)
	rb.waiting()
	rb.edge(pgpio.Low)
	rb.waiting()
	rb.advance(drivers.DefaultDebounce)
	rb.waiting()
	rb.expect(drivers.Press)
}

// gpiotest's In flushes edges buffered before it: the loop must take its
// baseline from Read, not from an edge it will never see.
func TestButtonInFlushesOldEdges(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	p := r.pins["GPIO22"]
	p.EdgesChan = make(chan pgpio.Level, 2)
	p.EdgesChan <- pgpio.Low
	rb := runButton(t, r, "GPIO22", ackButton(true))
	rb.waiting()
	if n := len(p.EdgesChan); n != 0 || p.Wire() != pgpio.High {
		t.Errorf("after In: %d buffered edges, level %s; want none and High (pull-up)", n, p.Wire())
	}
	rb.advance(time.Second)
	rb.waiting()
	rb.expect()
}

// Every WaitForEdge that an edge wakes leaves its Clock.After behind on the
// fake clock. loop counts them; if they did not exist, waiting() would
// time out.
func TestButtonStaleWaitersAreCounted(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	rb := runButton(t, r, "GPIO22", ackButton(true))
	rb.waiting()
	for _, l := range []pgpio.Level{pgpio.Low, pgpio.High, pgpio.Low} {
		rb.edge(l)
		rb.waiting()
	}
	// poll (t0), debounce (after the press), poll (the bounce back to
	// released left nothing pending), debounce (the live one).
	if n := len(rb.waiters); n != 4 {
		t.Fatalf("%d waiters, want 4: one live, three stale", n)
	}
	rb.advance(drivers.DefaultDebounce) // fires the two debounce ones
	rb.waiting()
	if n := len(rb.waiters); n != 3 {
		t.Errorf("%d waiters after the debounce time, want 3: two stale polls and the new one", n)
	}
	rb.expect(drivers.Press)
}

// gpiotest's Halt is a no-op that wakes nobody (unlike the Pi's): the loop
// must still stop, at its next timeout.
func TestButtonHaltStopsAtTheNextTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		stop func(rb *running, b *gpio.Board) error
		want error
	}{
		{name: "button Halt", stop: func(rb *running, _ *gpio.Board) error { return rb.btn.Halt() }},
		{name: "board Halt", stop: func(_ *running, b *gpio.Board) error { return b.Halt() }},
		{name: "context", stop: func(rb *running, _ *gpio.Board) error { rb.cancel(); return nil }, want: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, gpio.Options{})
			rb := runButton(t, r, "GPIO22", ackButton(true))
			d := rb.waiting()
			if err := tc.stop(rb, r.b); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-rb.done:
				t.Fatalf("Run returned %v while its WaitForEdge was still blocked", err)
			default:
			}
			rb.advance(d)
			select {
			case err := <-rb.done:
				if !errors.Is(err, tc.want) {
					t.Errorf("Run returned %v, want %v", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its timeout")
			}
			rb.done <- nil // for the cleanup
			if tc.want == nil {
				if !slices.Contains(rb.pin.Calls(), "Halt") {
					t.Error("the pin's Halt was not called (it wakes the waiter on a Pi)")
				}
				if err := rb.btn.Run(context.Background(), rb.out); !errors.Is(err, drivers.ErrHalted) {
					t.Errorf("Run after Halt: %v, want ErrHalted", err)
				}
			}
		})
	}
}

func TestButtonUnknownPull(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	o := ackButton(true)
	o.Pull = "sideways"
	if _, err := r.b.Button("GPIO22", o); err == nil || !strings.Contains(err.Error(), `unknown pull "sideways"`) {
		t.Errorf("Button with pull sideways: %v", err)
	}
	if got := r.pins["GPIO22"].Calls(); len(got) != 0 {
		t.Errorf("the pin was touched: %q", got)
	}
}

func TestButtonRunTwice(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	rb := runButton(t, r, "GPIO22", ackButton(true))
	rb.waiting()
	if err := rb.btn.Run(context.Background(), rb.out); err == nil {
		t.Error("a second concurrent Run did not fail")
	}
}

func TestButtonHeldAtStartIsNoPress(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	o := ackButton(false) // pull-down: In sets the line Low
	o.StuckAfter = 300 * time.Millisecond
	btn, err := r.b.Button("GPIO22", o)
	if err != nil {
		t.Fatal(err)
	}
	p := r.pins["GPIO22"]
	_ = p.Pin.Out(pgpio.High) // held down before Run starts
	ctx, cancel := context.WithCancel(context.Background())
	rb := &running{loop: &loop{t: t, clk: r.clk, pin: p}, btn: btn, out: make(chan drivers.ButtonEvent, 16), done: make(chan error, 1), cancel: cancel}
	go func() { rb.done <- btn.Run(ctx, rb.out) }()
	defer func() { cancel(); r.clk.Advance(time.Hour); <-rb.done }()
	for range 4 {
		d := rb.waiting()
		rb.advance(d)
	}
	rb.waiting()
	rb.expect(drivers.Stuck)
}

// QEMU's GPIO model (and periph's WaitForEdge contract) may never report
// an edge: a press must still be seen, by sampling on the timeouts.
func TestButtonPressWithoutEdges(t *testing.T) {
	t.Parallel()
	r := newRig(t, gpio.Options{})
	p := r.pins["GPIO22"]
	rb := runButton(t, r, "GPIO22", ackButton(true))
	set := func(l pgpio.Level) {
		p.Pin.Lock()
		p.Pin.L = l
		p.Pin.Unlock()
	}
	rb.waiting()
	for _, step := range []struct {
		level pgpio.Level
		want  drivers.ButtonEventKind
	}{{pgpio.Low, drivers.Press}, {pgpio.High, drivers.Release}} {
		set(step.level) // no edge: WaitForEdge only times out
		rb.advance(poll)
		if d := rb.waiting(); d != drivers.DefaultDebounce {
			t.Fatalf("after sampling a change the loop waits %s, want the debounce time", d)
		}
		rb.expect()
		rb.advance(drivers.DefaultDebounce)
		rb.waiting()
		rb.expect(step.want)
	}
}
