package drivers_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/drivers"
)

// timeline is a sampling Contact that lives on a fake clock it moves
// itself: each Wait advances the clock by wait and samples the level the
// script gives for that time. No goroutine, no real time: the loop runs
// as fast as it can, and the test ends it at a virtual time.
type timeline struct {
	clk     *clockwork.FakeClock
	start   time.Time
	pressed func(since time.Duration) bool
	end     time.Duration
	cancel  context.CancelFunc
	waits   int
}

func (tl *timeline) Wait(_ context.Context, _ <-chan struct{}, _ <-chan time.Time, wait time.Duration) drivers.Batch {
	tl.waits++
	switch {
	case wait < 0: // no limit: no edge ever comes, so it waits to the end
		wait = max(tl.end-tl.clk.Since(tl.start), time.Millisecond)
	case wait == 0:
		wait = time.Millisecond
	}
	tl.clk.Advance(wait)
	since := tl.clk.Since(tl.start)
	if since >= tl.end {
		tl.cancel()
	}
	return drivers.Batch{Samples: []drivers.RawSample{{Pressed: tl.pressed(since), At: tl.clk.Now()}}}
}

// runTimeline runs RunButton over the script until end and returns the
// kinds of the events, in order.
func runTimeline(t *testing.T, o drivers.ButtonOptions, end time.Duration, pressed func(time.Duration) bool) []drivers.ButtonEventKind {
	t.Helper()
	clk := clockwork.NewFakeClock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tl := &timeline{clk: clk, start: clk.Now(), pressed: pressed, end: end, cancel: cancel}
	out := make(chan drivers.ButtonEvent)
	done := make(chan error, 1)
	go func() {
		done <- drivers.RunButton(ctx, nil, tl, drivers.LoopOptions{
			Pin: "GPIO22", Button: o, Clock: clk, Poll: 100 * time.Millisecond,
			Baseline: drivers.RawSample{Pressed: pressed(0), At: clk.Now()},
		}, out)
	}()
	// A direct bound, not a test time-out: a loop that reports a stuck
	// button (or anything) over and over is cut off after 100 events, and
	// one that never returns is reported after 10 s of real time.
	var kinds []drivers.ButtonEventKind
	limit := time.After(10 * time.Second)
	for {
		select {
		case ev := <-out:
			if kinds = append(kinds, ev.Kind); len(kinds) == 100 {
				cancel()
				t.Errorf("100 events and counting: %v ...", kinds[:10])
			}
			continue
		case err := <-done:
			if err != context.Canceled {
				t.Fatalf("RunButton = %v, want context.Canceled", err)
			}
		case <-limit:
			t.Fatalf("RunButton still running after 10 s (events so far %v): an endless loop", kinds)
		}
		break
	}
	if max := int(end/time.Millisecond) + 10; tl.waits > max {
		t.Errorf("%d waits in %s: the loop spins", tl.waits, end)
	}
	return kinds
}

// A button held for a minute with StuckAfter 2 s is one press and exactly
// one stuck fault (not a stream of them, nor of presses); its release
// clears the fault.
func TestRunButtonStuckIsReportedOnce(t *testing.T) {
	t.Parallel()
	o := drivers.ButtonOptions{StuckAfter: 2 * time.Second}
	held := func(since time.Duration) bool { return since >= time.Second && since < 61*time.Second }
	got := runTimeline(t, o, 70*time.Second, held)
	want := []drivers.ButtonEventKind{drivers.Press, drivers.Stuck, drivers.Release}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	stuck := 0
	for _, k := range got {
		if k == drivers.Stuck {
			stuck++
		}
	}
	if stuck != 1 {
		t.Errorf("%d stuck events, want exactly 1", stuck)
	}
}

// A contact whose edges never come is sampled at least every Poll: a press
// longer than debounce + Poll is seen, once.
func TestRunButtonSamplesWithoutEdges(t *testing.T) {
	t.Parallel()
	press := func(since time.Duration) bool { return since >= time.Second && since < 1300*time.Millisecond }
	got := runTimeline(t, drivers.ButtonOptions{}, 3*time.Second, press)
	if want := []drivers.ButtonEventKind{drivers.Press, drivers.Release}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}
