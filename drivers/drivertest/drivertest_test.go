package drivertest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/drivertest"
)

var t0 = time.Date(2026, 3, 14, 19, 30, 0, 0, time.UTC)

// recordingTB records the failures a strict fake reports, and runs the
// cleanups it registers when the test says so, so the failure of a strict
// fake can itself be tested.
type recordingTB struct {
	testing.TB // the real test, for anything not overridden

	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// end runs the cleanups, as the end of a test would, and returns every
// failure reported.
func (r *recordingTB) end() []string {
	r.mu.Lock()
	c := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(c) - 1; i >= 0; i-- {
		c[i]()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

func TestStrict(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		expect map[string][]float64
		run    func(b *drivertest.StrictBoard, lamp drivers.Lamp, sig drivers.Signal)
		fails  []string // substrings of the failures, in order; none means pass
	}{
		{name: "opening dark is no write", run: func(*drivertest.StrictBoard, drivers.Lamp, drivers.Signal) {}},
		{name: "unexpected write fails", run: func(_ *drivertest.StrictBoard, l drivers.Lamp, _ drivers.Signal) { _ = l.Set(1) },
			fails: []string{"unexpected write GPIO17 = 1", "nothing expected"}},
		{name: "a redundant dark write is unexpected too", run: func(_ *drivertest.StrictBoard, l drivers.Lamp, _ drivers.Signal) { _ = l.Set(0) },
			fails: []string{"unexpected write GPIO17 = 0"}},
		{name: "expected write passes", expect: map[string][]float64{"GPIO17": {1}},
			run: func(_ *drivertest.StrictBoard, l drivers.Lamp, _ drivers.Signal) { _ = l.Set(1) }},
		{name: "expected writes in order pass", expect: map[string][]float64{"GPIO17": {1, 0, 0.5}},
			run: func(_ *drivertest.StrictBoard, l drivers.Lamp, _ drivers.Signal) {
				_ = l.Set(1)
				_ = l.Set(0)
				_ = l.Set(0.5)
			}},
		{name: "wrong level fails", expect: map[string][]float64{"GPIO17": {1}},
			run:   func(_ *drivertest.StrictBoard, l drivers.Lamp, _ drivers.Signal) { _ = l.Set(0.5) },
			fails: []string{"unexpected write GPIO17 = 0.5", "expected 1"}},
		{name: "one write too many fails", expect: map[string][]float64{"GPIO17": {1}},
			run:   func(_ *drivertest.StrictBoard, l drivers.Lamp, _ drivers.Signal) { _ = l.Set(1); _ = l.Set(1) },
			fails: []string{"unexpected write GPIO17 = 1"}},
		{name: "expected on another pin does not allow this one", expect: map[string][]float64{"GPIO27": {1}},
			run:   func(_ *drivertest.StrictBoard, l drivers.Lamp, _ drivers.Signal) { _ = l.Set(1) },
			fails: []string{"unexpected write GPIO17 = 1", "expected write GPIO27=1 never happened"}},
		{name: "expected write that never happens fails at the end", expect: map[string][]float64{"GPIO17": {1}},
			run:   func(*drivertest.StrictBoard, drivers.Lamp, drivers.Signal) {},
			fails: []string{"expected write GPIO17=1 never happened"}},
		{name: "signal on and off", expect: map[string][]float64{"GPIO24": {1, 0}},
			run: func(_ *drivertest.StrictBoard, _ drivers.Lamp, s drivers.Signal) { _ = s.Set(true); _ = s.Set(false) }},
		{name: "unexpected signal fails", run: func(_ *drivertest.StrictBoard, _ drivers.Lamp, s drivers.Signal) { _ = s.Set(true) },
			fails: []string{"unexpected write GPIO24 = 1"}},
		{name: "halt is always allowed", run: func(b *drivertest.StrictBoard, l drivers.Lamp, _ drivers.Signal) {
			_ = l.Halt()
			_ = b.Halt()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recordingTB{TB: t}
			b := drivertest.NewStrictBoard(rec, clockwork.NewFakeClockAt(t0))
			lamp, err := b.Lamp("GPIO17", drivers.PinOptions{Channel: "fly", Role: drivers.RoleStandbyLamp})
			if err != nil {
				t.Fatal(err)
			}
			sig, err := b.Signal("GPIO24", drivers.PinOptions{Channel: "fly", Role: drivers.RoleCallOut})
			if err != nil {
				t.Fatal(err)
			}
			for pin, levels := range tc.expect {
				b.Expect(pin, levels...)
			}
			tc.run(b, lamp, sig)
			got := rec.end()
			if len(tc.fails) == 0 {
				if len(got) != 0 {
					t.Errorf("strict fake failed the test: %q", got)
				}
				return
			}
			joined := strings.Join(got, "\n")
			for _, f := range tc.fails {
				if !strings.Contains(joined, f) {
					t.Errorf("failures %q do not mention %q", got, f)
				}
			}
		})
	}
}

func TestStrictLamp(t *testing.T) {
	t.Parallel()
	rec := &recordingTB{TB: t}
	l := drivertest.NewStrictLamp(rec, "GPIO17", clockwork.NewFakeClockAt(t0))
	l.Expect("GPIO17", 1)
	_ = l.Set(1)
	_ = l.Set(0.25)
	got := rec.end()
	if len(got) != 1 || !strings.Contains(got[0], "unexpected write GPIO17 = 0.25") {
		t.Errorf("failures = %q, want one for the unexpected 0.25", got)
	}
	if w := l.Writes(); len(w) != 2 || w[1].Level != 0.25 {
		t.Errorf("an unexpected write is still logged: %v", w)
	}
}

func TestStrictAfterTestEnds(t *testing.T) {
	t.Parallel()
	rec := &recordingTB{TB: t}
	l := drivertest.NewStrictLamp(rec, "GPIO17", nil)
	if got := rec.end(); len(got) != 0 {
		t.Fatalf("failures = %q", got)
	}
	_ = l.Set(1) // a goroutine outliving the test must not touch tb
	if got := rec.end(); len(got) != 0 {
		t.Errorf("failures after the end = %q", got)
	}
}

func TestBoardRecordsPins(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	b := drivertest.NewBoard(clk)
	lo := drivers.PinOptions{Channel: "fly", Role: drivers.RoleStandbyLamp, ActiveLow: true}
	bo := drivers.ButtonOptions{PinOptions: drivers.PinOptions{Channel: "fly", Role: drivers.RoleAckButton}, StuckAfter: 5 * time.Second}
	lamp, err := b.Lamp("GPIO17", lo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Signal("GPIO24", drivers.PinOptions{Role: drivers.RoleCallOut}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Button("GPIO22", bo); err != nil {
		t.Fatal(err)
	}
	want := []drivertest.Opened{
		{Pin: "GPIO17", Kind: drivertest.KindLamp, Options: lo},
		{Pin: "GPIO24", Kind: drivertest.KindSignal, Options: drivers.PinOptions{Role: drivers.RoleCallOut}},
		{Pin: "GPIO22", Kind: drivertest.KindButton, Options: bo.PinOptions, Button: bo},
	}
	if got := b.Pins(); !slices.Equal(got, want) {
		t.Errorf("Pins() = %+v\nwant %+v", got, want)
	}
	fl := b.FakeLamp("GPIO17")
	if fl == nil || fl != lamp {
		t.Fatal("FakeLamp does not return the lamp opened")
	}
	if w := fl.Writes(); len(w) != 0 || fl.Level() != 0 {
		t.Errorf("a lamp opened has writes %v / level %g, want none and dark", w, fl.Level())
	}
	clk.Advance(time.Second)
	if err := lamp.Set(0.5); err != nil {
		t.Fatal(err)
	}
	if w := fl.Writes(); len(w) != 1 || w[0].Level != 0.5 || !w[0].At.Equal(t0.Add(time.Second)) {
		t.Errorf("writes = %v, want 0.5 at t0+1s", w)
	}
	if _, err := b.Lamp("GPIO17", lo); !errors.Is(err, drivers.ErrBusy) {
		t.Errorf("second open of GPIO17: %v, want ErrBusy", err)
	}
	b.Lock()
	b.OpenErr["GPIO5"] = drivers.ErrUnknownPin
	b.Unlock()
	if _, err := b.Lamp("GPIO5", lo); !errors.Is(err, drivers.ErrUnknownPin) {
		t.Errorf("injected open error: %v", err)
	}
}

func TestLampLevels(t *testing.T) {
	t.Parallel()
	l := drivertest.NewLamp("GPIO17", nil)
	for _, tc := range []struct {
		name string
		in   float64
		want float64
	}{{"full", 1, 1}, {"dim", 0.25, 0.25}, {"above one is full", 1.5, 1}, {"negative is dark", -2, 0}} {
		if err := l.Set(tc.in); err != nil || l.Level() != tc.want {
			t.Errorf("%s: Set(%g) = %v, level %g, want %g", tc.name, tc.in, err, l.Level(), tc.want)
		}
	}
	n := len(l.Writes())
	if err := l.Set(nan()); err == nil {
		t.Error("Set(NaN) did not fail")
	}
	if len(l.Writes()) != n {
		t.Error("Set(NaN) wrote")
	}
}

func nan() float64 { var z float64; return z / z }

func TestBoardHalt(t *testing.T) {
	t.Parallel()
	b := drivertest.NewBoard(clockwork.NewFakeClockAt(t0))
	lamp, _ := b.Lamp("GPIO17", drivers.PinOptions{})
	sig, _ := b.Signal("GPIO24", drivers.PinOptions{})
	btn, _ := b.Button("GPIO22", drivers.ButtonOptions{})
	_ = lamp.Set(1)
	_ = sig.Set(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	out := make(chan drivers.ButtonEvent, 1)
	go func() { done <- btn.Run(ctx, out) }()
	b.FakeButton("GPIO22").Events <- drivers.ButtonEvent{Kind: drivers.Press} // Run is running
	recv(t, out)

	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run after Halt returned %v, want nil", err)
	}
	fl, fs := b.FakeLamp("GPIO17"), b.FakeSignal("GPIO24")
	if fl.Level() != 0 || fs.On() {
		t.Errorf("after Halt lamp %g signal %v, want dark and off", fl.Level(), fs.On())
	}
	if w := fl.Writes(); len(w) != 2 || !w[1].Halt {
		t.Errorf("lamp writes %v, want the set then a halt", w)
	}
	if err := lamp.Set(1); !errors.Is(err, drivers.ErrHalted) || fl.Level() != 0 {
		t.Errorf("Set after board Halt: %v (level %g), want ErrHalted and dark", err, fl.Level())
	}
	if err := sig.Set(true); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("signal Set after board Halt: %v", err)
	}
	if _, err := b.Lamp("GPIO27", drivers.PinOptions{}); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("open after Halt: %v", err)
	}
	if err := btn.Run(ctx, nil); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("Run after Halt: %v", err)
	}
	if err := b.Halt(); err != nil {
		t.Errorf("second Halt: %v", err)
	}
}

// step waits until the fake clock has n waiters, then advances it by d.
func step(t *testing.T, clk *clockwork.FakeClock, n int, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("waiting for %d clock waiters: %v", n, err)
	}
	clk.Advance(d)
}

func recv(t *testing.T, out <-chan drivers.ButtonEvent) drivers.ButtonEvent {
	t.Helper()
	select {
	case ev := <-out:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no button event")
	}
	return drivers.ButtonEvent{}
}

func TestButtonEdgesAreDebounced(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	btn := drivertest.NewButton("GPIO22", drivers.ButtonOptions{StuckAfter: time.Second}, clk)
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan drivers.ButtonEvent, 8)
	done := make(chan error, 1)
	go func() { done <- btn.Run(ctx, out) }()

	for _, l := range []bool{true, false, true} { // contact bounce, all at t0
		btn.Edge(l)
	}
	step(t, clk, 1, 20*time.Millisecond)
	if ev := recv(t, out); ev.Kind != drivers.Press || !ev.At.Equal(t0) || ev.Pin != "GPIO22" {
		t.Errorf("got %+v, want one press at t0", ev)
	}
	step(t, clk, 1, time.Second) // held: the stuck limit
	if ev := recv(t, out); ev.Kind != drivers.Stuck {
		t.Errorf("got %+v, want stuck", ev)
	}
	btn.Edge(false)
	step(t, clk, 1, 20*time.Millisecond)
	if ev := recv(t, out); ev.Kind != drivers.Release {
		t.Errorf("got %+v, want release", ev)
	}
	btn.Events <- drivers.ButtonEvent{Kind: drivers.Press}
	if ev := recv(t, out); ev.Kind != drivers.Press || ev.Pin != "GPIO22" || ev.At.IsZero() {
		t.Errorf("injected event came out as %+v", ev)
	}
	if err := btn.Run(ctx, out); err == nil {
		t.Error("second concurrent Run did not fail")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	select {
	case ev := <-out:
		t.Errorf("extra event %+v", ev)
	default:
	}
}
