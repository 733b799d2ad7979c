package drivers

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
)

// RawSample is one raw level of a button's contact at a time: pressed is
// logical (active_low already applied).
type RawSample struct {
	Pressed bool
	At      time.Time
}

// Batch is what a Contact saw during one Wait.
type Batch struct {
	// Samples are the raw levels seen, oldest first, each with its own
	// time. None is fine.
	Samples []RawSample
	// Events are already debounced events a fake injects; they are passed
	// on as they are, after Samples' events.
	Events []ButtonEvent
	// Ticked reports that Wait returned because tick delivered.
	Ticked bool
}

// Contact is the raw input under a debounced button: what a backend
// gives RunButton. Every backend (gpio, sim, drivertest) runs the same
// loop, RunButton, on its own Contact, the way periph.io wraps a pin in a
// debouncing decorator.
type Contact interface {
	// Wait blocks until the contact may have moved, tick delivers, wait
	// has passed (wait < 0: no limit), or ctx or halt is done, and returns
	// what it saw. A contact whose edges may never be reported (periph's
	// WaitForEdge has no guarantee; QEMU's GPIO model has no edge
	// detection at all) samples its level on every return, edge or not.
	Wait(ctx context.Context, halt <-chan struct{}, tick <-chan time.Time, wait time.Duration) Batch
}

// LoopOptions configures RunButton.
type LoopOptions struct {
	// Pin names the button in its events.
	Pin string
	// Button holds the debounce, lock-out and stuck timings.
	Button ButtonOptions
	// Clock times the loop; nil means real time.
	Clock clockwork.Clock
	// Poll, when positive, makes the contact a sampling one: the
	// sampling fallback for a contact whose edges may never come. Wait is
	// then given wait = the time to the debouncer's next deadline, at most
	// Poll, and must return by then with a sample; no timer is armed (a
	// tick it is given has already fired). Zero waits for the contact or
	// a deadline's tick.
	Poll time.Duration
	// Baseline is the level seen when watching starts, and when: it is
	// not an event (see Debouncer.Reset).
	Baseline RawSample
}

// RunButton is the debounced button loop of every backend: it feeds what
// c sees to a Debouncer, ticks the debouncer at its deadlines (so a
// button held with no further edge is found stuck on time, exactly once)
// and sends every event to out, until ctx is done (it returns ctx.Err())
// or halt is closed (it returns nil).
//
// The first Wait is asked to look at once (its tick has already fired),
// so samples a contact queued before the loop started count.
func RunButton(ctx context.Context, halt <-chan struct{}, c Contact, o LoopOptions, out chan<- ButtonEvent) error {
	clk := o.Clock
	if clk == nil {
		clk = clockwork.NewRealClock()
	}
	d := NewDebouncer(o.Pin, o.Button)
	d.Reset(o.Baseline.Pressed, o.Baseline.At)
	var (
		timer clockwork.Timer
		evs   []ButtonEvent
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	now := make(chan time.Time, 1)
	now <- clk.Now()
	first := true
	for {
		if done, err := stopped(ctx, halt); done {
			return err
		}
		var tick <-chan time.Time
		wait := time.Duration(-1)
		if o.Poll > 0 {
			wait = o.Poll
		}
		dl, ok := d.Deadline()
		switch {
		case first:
			tick, first = now, false
		case ok && !clk.Now().Before(dl):
			// Due already (a fake clock moved on while this loop ran):
			// a timer armed now might fire late or never.
			now <- clk.Now()
			tick, wait = now, 0
		case ok && o.Poll > 0:
			wait = min(wait, clk.Until(dl))
		case ok:
			until := clk.Until(dl)
			if timer == nil {
				timer = clk.NewTimer(until)
			} else {
				timer.Reset(until)
			}
			// A clock that jumped between Until and arming (a fake clock
			// advanced by another goroutine) would make the timer fire
			// late, or never if nothing moves it again: re-arm it for what
			// is left. A real clock's few microseconds do not count.
			for {
				rem := clk.Until(dl)
				if until-rem < time.Millisecond {
					break
				}
				until = rem
				timer.Reset(max(rem, 0))
			}
			tick = timer.Chan()
			wait = until
		}
		b := c.Wait(ctx, halt, tick, wait)
		if tick == now && !b.Ticked {
			select { // not taken: drain it for the next use
			case <-now:
			default:
			}
		}
		if done, err := stopped(ctx, halt); done {
			return err
		}
		evs = evs[:0]
		for _, s := range b.Samples {
			evs = d.Sample(evs, s.Pressed, s.At)
		}
		if ok && (b.Ticked || !clk.Now().Before(dl)) {
			evs = d.Tick(evs, tickAt(clk, dl))
		}
		for _, ev := range b.Events {
			if ev.Pin == "" {
				ev.Pin = o.Pin
			}
			if ev.At.IsZero() {
				ev.At = clk.Now()
			}
			evs = append(evs, ev)
		}
		for _, ev := range evs {
			select {
			case out <- ev:
			case <-ctx.Done():
				return ctx.Err()
			case <-halt:
				return nil
			}
		}
	}
}

// stopped reports whether the loop must end, and what it returns: ctx's
// error, or nil for a halt.
func stopped(ctx context.Context, halt <-chan struct{}) (bool, error) {
	select {
	case <-ctx.Done():
		return true, ctx.Err()
	case <-halt:
		return true, nil
	default:
		return false, nil
	}
}

// tickAt is when a debouncer is ticked for a deadline dl: at dl, not at
// the time the timer fired, so that when a fake clock jumps, a contact
// move stamped before the jump that arrives after it is still taken at its
// own time; but never later than now, because a fake timer keeps a value
// that fired before a Reset, and that stale value must not count as
// reaching the new deadline.
func tickAt(clk clockwork.Clock, dl time.Time) time.Time {
	if now := clk.Now(); now.Before(dl) {
		return now
	}
	return dl
}
