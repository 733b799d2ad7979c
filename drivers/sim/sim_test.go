package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/sim"
)

var t0 = time.Date(2026, 3, 14, 19, 30, 0, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func ack(channel string) drivers.ButtonOptions {
	return drivers.ButtonOptions{PinOptions: drivers.PinOptions{Channel: channel, Role: drivers.RoleAckButton}}
}

// runButton opens a button and runs it until the test ends.
func runButton(t *testing.T, b *sim.Board, name string, o drivers.ButtonOptions) (drivers.Button, chan drivers.ButtonEvent) {
	t.Helper()
	btn, err := b.Button(name, o)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan drivers.ButtonEvent, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- btn.Run(ctx, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	return btn, out
}

func waiters(t *testing.T, clk *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("waiting for %d clock waiters: %v", n, err)
	}
}

// contact waits until a button's contact is at pressed: a Press's release
// runs in a goroutine of the fake clock.
func contact(t *testing.T, b *sim.Board, name string, pressed bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := b.Pin(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Level == pressed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the contact of %s never became %v", name, pressed)
		}
		time.Sleep(time.Millisecond)
	}
}

func next(t *testing.T, out <-chan drivers.ButtonEvent) drivers.ButtonEvent {
	t.Helper()
	select {
	case ev := <-out:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no button event")
	}
	return drivers.ButtonEvent{}
}

func quiet(t *testing.T, out <-chan drivers.ButtonEvent) {
	t.Helper()
	select {
	case ev := <-out:
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
}

func TestPressIsOnePressAndOneRelease(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opts    drivers.ButtonOptions
		advance []time.Duration // how the test moves the clock
		release int             // ms: when the release was first seen
	}{
		{name: "clock moved in one jump", advance: []time.Duration{time.Second}, release: 100},
		{name: "clock moved in small steps", advance: slices.Repeat([]time.Duration{5 * time.Millisecond}, 100), release: 100},
		{name: "long debounce lengthens the press", opts: drivers.ButtonOptions{Debounce: 200 * time.Millisecond},
			advance: []time.Duration{time.Second}, release: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := clockwork.NewFakeClockAt(t0)
			b := sim.New(sim.Options{Clock: clk})
			o := tc.opts
			o.PinOptions = ack("fly").PinOptions
			_, out := runButton(t, b, "GPIO22", o)
			if err := b.Press("GPIO22"); err != nil {
				t.Fatal(err)
			}
			waiters(t, clk, 2) // the release, and the debouncer's deadline: Run has the press
			for _, d := range tc.advance {
				clk.Advance(d)
			}
			press, rel := next(t, out), next(t, out)
			if press.Kind != drivers.Press || !press.At.Equal(t0) || press.Pin != "GPIO22" {
				t.Errorf("first event %+v, want a press of GPIO22 at t0", press)
			}
			if rel.Kind != drivers.Release || !rel.At.Equal(ms(tc.release)) {
				t.Errorf("second event %v at %s, want a release at %dms", rel.Kind, rel.At.Sub(t0), tc.release)
			}
			clk.Advance(time.Minute)
			waiters(t, clk, 0)
			quiet(t, out)
			if s, _ := b.Pin("GPIO22"); s.Level {
				t.Error("the contact is still closed after the press")
			}
		})
	}
}

func TestStuckDetectionOff(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	b := sim.New(sim.Options{Clock: clk})
	o := ack("fly")
	o.StuckAfter = -1
	_, out := runButton(t, b, "GPIO22", o)
	_ = b.SetLevel("GPIO22", true)
	waiters(t, clk, 1)
	clk.Advance(time.Second)
	if ev := next(t, out); ev.Kind != drivers.Press {
		t.Fatalf("got %+v, want press", ev)
	}
	clk.Advance(time.Hour)
	_ = b.SetLevel("GPIO22", false)
	clk.Advance(time.Second)
	// A stuck fault, had one been due, would come before the release.
	if ev := next(t, out); ev.Kind != drivers.Release {
		t.Fatalf("after an hour's hold got %v, want release (stuck detection is off)", ev.Kind)
	}
}

// A contact that opens again within the debounce time is a glitch, however
// the clock moves afterwards.
func TestGlitchIsNothing(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	b := sim.New(sim.Options{Clock: clk})
	_, out := runButton(t, b, "GPIO22", ack("fly"))
	if err := b.SetLevel("GPIO22", true); err != nil {
		t.Fatal(err)
	}
	waiters(t, clk, 1) // Run has the contact closed
	clk.Advance(5 * time.Millisecond)
	if err := b.SetLevel("GPIO22", false); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // whether Run saw the opening yet or not
	waiters(t, clk, 0)
	if err := b.SetLevel("GPIO22", true); err != nil { // a real press after it
		t.Fatal(err)
	}
	waiters(t, clk, 1)
	clk.Advance(time.Second)
	if ev := next(t, out); ev.Kind != drivers.Press || !ev.At.Equal(ms(60_005)) {
		t.Fatalf("first event %+v, want the real press at 60.005s, not the glitch", ev)
	}
}

// A contact move made before a deadline counts before it, even when Run
// finds the move and the expired timer at the same time: here the button is
// released 5 s into a hold, and the clock then jumps past the stuck limit
// while Run is busy. Run must report the release, not a stuck fault.
func TestMoveBeforeDeadlineCountsFirst(t *testing.T) {
	t.Parallel()
	for i := range 20 { // Run's select picks at random among ready cases
		clk := clockwork.NewFakeClockAt(t0)
		b := sim.New(sim.Options{Clock: clk})
		btn, err := b.Button("GPIO22", ack("fly"))
		if err != nil {
			t.Fatal(err)
		}
		out := make(chan drivers.ButtonEvent) // unbuffered: Run waits for us
		ctx, cancel := context.WithCancel(context.Background())
		go func() { _ = btn.Run(ctx, out) }()
		_ = b.SetLevel("GPIO22", true)
		waiters(t, clk, 1)
		clk.Advance(drivers.DefaultDebounce) // Run now blocks sending the press
		clk.Advance(5 * time.Second)
		_ = b.SetLevel("GPIO22", false)
		clk.Advance(10 * time.Second) // past the stuck limit, before Run looks
		if ev := next(t, out); ev.Kind != drivers.Press {
			t.Fatalf("run %d: first event %v, want press", i, ev.Kind)
		}
		if ev := next(t, out); ev.Kind != drivers.Release || !ev.At.Equal(ms(5020)) {
			t.Fatalf("run %d: second event %v at %s, want the release at 5.02s", i, ev.Kind, ev.At.Sub(t0))
		}
		cancel()
	}
}

// A Press that comes before Run has started is replayed, not lost.
func TestPressBeforeRun(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	b := sim.New(sim.Options{Clock: clk})
	btn, err := b.Button("GPIO22", ack("fly"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Press("GPIO22"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second) // the release happens before anyone watches
	contact(t, b, "GPIO22", false)
	out := make(chan drivers.ButtonEvent, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = btn.Run(ctx, out) }()
	if ev := next(t, out); ev.Kind != drivers.Press || !ev.At.Equal(t0) {
		t.Errorf("got %+v, want the press at t0", ev)
	}
	if ev := next(t, out); ev.Kind != drivers.Release || !ev.At.Equal(ms(100)) {
		t.Errorf("got %+v, want the release at 100ms", ev)
	}
}

func TestHoldIsStuck(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	b := sim.New(sim.Options{Clock: clk})
	o := ack("fly")
	o.StuckAfter = 2 * time.Second
	_, out := runButton(t, b, "GPIO22", o)
	if err := b.SetLevel("GPIO22", true); err != nil {
		t.Fatal(err)
	}
	waiters(t, clk, 1)
	clk.Advance(drivers.DefaultDebounce)
	if ev := next(t, out); ev.Kind != drivers.Press {
		t.Fatalf("got %+v, want press", ev)
	}
	clk.Advance(time.Minute)
	if ev := next(t, out); ev.Kind != drivers.Stuck || !ev.At.Equal(ms(2000)) {
		t.Fatalf("got %+v, want stuck at 2s", ev)
	}
	// A press on a stuck button is no new press: it only ends in a release.
	if err := b.Press("GPIO22"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if ev := next(t, out); ev.Kind != drivers.Release {
		t.Fatalf("got %+v, want release", ev)
	}
	clk.Advance(time.Minute)
	waiters(t, clk, 0)
	quiet(t, out)
}

func TestPinsListing(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	b := sim.New(sim.Options{Clock: clk})
	standby, _ := b.Lamp("GPIO17", drivers.PinOptions{Channel: "fly", Role: drivers.RoleStandbyLamp, ActiveLow: true})
	_, _ = b.Lamp("GPIO27", drivers.PinOptions{Channel: "fly", Role: drivers.RoleGoLamp})
	_, _ = b.Button("GPIO22", ack("fly"))
	call, _ := b.Signal("GPIO24", drivers.PinOptions{Channel: "fly", Role: drivers.RoleCallOut})
	if err := standby.Set(1); err != nil {
		t.Fatal(err)
	}
	if err := call.Set(true); err != nil {
		t.Fatal(err)
	}
	if err := b.SetLevel("GPIO22", true); err != nil {
		t.Fatal(err)
	}
	want := []sim.PinState{
		{Name: "GPIO17", Channel: "fly", Role: "standby_lamp", Level: true, Brightness: 1},
		{Name: "GPIO27", Channel: "fly", Role: "go_lamp"},
		{Name: "GPIO22", Channel: "fly", Role: "ack_button", Level: true, Brightness: 1},
		{Name: "GPIO24", Channel: "fly", Role: "call_out", Level: true, Brightness: 1},
	}
	if got := b.Pins(); !slices.Equal(got, want) {
		t.Errorf("Pins() = %+v\nwant %+v", got, want)
	}
	_ = standby.Set(0.4)
	js, err := json.Marshal(b.Pins()[0])
	if err != nil {
		t.Fatal(err)
	}
	if w := `{"name":"GPIO17","channel":"fly","role":"standby_lamp","level":true,"brightness":0.4}`; string(js) != w {
		t.Errorf("JSON %s, want %s (docs/protocol.md §7)", js, w)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	b := sim.New(sim.Options{Clock: clockwork.NewFakeClockAt(t0)})
	_, _ = b.Lamp("GPIO17", drivers.PinOptions{})
	_, _ = b.Button("GPIO22", drivers.ButtonOptions{})
	cases := []struct {
		name string
		err  error
		is   []error
	}{
		{name: "open a name that is no pin", err: open(b, "LED1"), is: []error{drivers.ErrUnknownPin}},
		{name: "open GPIO28", err: open(b, "GPIO28"), is: []error{drivers.ErrUnknownPin}},
		{name: "open GPIO017", err: open(b, "GPIO017"), is: []error{drivers.ErrUnknownPin}},
		{name: "open twice", err: open(b, "GPIO17"), is: []error{drivers.ErrBusy}},
		{name: "press a pin not open", err: b.Press("GPIO5"), is: []error{drivers.ErrUnknownPin}},
		{name: "press a lamp", err: b.Press("GPIO17"), is: []error{sim.ErrNotButton, drivers.ErrUnknownPin}},
		{name: "hold a lamp", err: b.SetLevel("GPIO17", true), is: []error{sim.ErrNotButton}},
		{name: "state of a pin not open", err: pinErr(b, "GPIO5"), is: []error{drivers.ErrUnknownPin}},
		{name: "unknown pull", err: badPull(b, "GPIO6")},
	}
	for _, tc := range cases {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, is := range tc.is {
			if !errors.Is(tc.err, is) {
				t.Errorf("%s: %v is not %v", tc.name, tc.err, is)
			}
		}
	}
	for _, name := range []string{"GPIO0", "GPIO9", "GPIO27"} {
		if !sim.ValidPin(name) {
			t.Errorf("ValidPin(%q) = false", name)
		}
	}
}

func open(b *sim.Board, name string) error {
	_, err := b.Lamp(name, drivers.PinOptions{})
	return err
}

func badPull(b *sim.Board, name string) error {
	_, err := b.Button(name, drivers.ButtonOptions{Pull: "sideways"})
	return err
}

func pinErr(b *sim.Board, name string) error {
	_, err := b.Pin(name)
	return err
}

func TestTrace(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	b := sim.New(sim.Options{Clock: clk})
	changes, unsubscribe := b.Subscribe(16)
	l, _ := b.Lamp("GPIO17", drivers.PinOptions{Channel: "fly", Role: drivers.RoleStandbyLamp})
	clk.Advance(10 * time.Millisecond)
	_ = l.Set(1)
	_ = l.Set(1) // no change
	clk.Advance(10 * time.Millisecond)
	_ = l.Set(0.5)
	clk.Advance(10 * time.Millisecond)
	_ = b.Halt()
	type entry struct {
		at    int
		level float64
	}
	var got []entry
	for _, c := range b.Trace() {
		if c.Name != "GPIO17" || c.Role != "standby_lamp" {
			t.Errorf("change of %s/%s", c.Name, c.Role)
		}
		got = append(got, entry{int(c.At.Sub(t0) / time.Millisecond), c.Brightness})
	}
	want := []entry{{0, 0}, {10, 1}, {20, 0.5}, {30, 0}}
	if !slices.Equal(got, want) {
		t.Errorf("trace %v, want %v (opened dark, lit, dimmed, halted)", got, want)
	}
	unsubscribe()
	unsubscribe()
	var sub []entry
	for c := range changes { // closed by unsubscribe
		sub = append(sub, entry{int(c.At.Sub(t0) / time.Millisecond), c.Brightness})
	}
	if !slices.Equal(sub, want) {
		t.Errorf("subscriber got %v, want %v", sub, want)
	}
	b.ClearTrace()
	if tr := b.Trace(); len(tr) != 0 {
		t.Errorf("trace after ClearTrace: %v", tr)
	}
}

func TestTraceLimit(t *testing.T) {
	t.Parallel()
	b := sim.New(sim.Options{Clock: clockwork.NewFakeClockAt(t0), TraceLimit: 3})
	l, _ := b.Lamp("GPIO17", drivers.PinOptions{})
	for i := 1; i <= 10; i++ {
		_ = l.Set(float64(i) / 10)
	}
	tr := b.Trace()
	if len(tr) != 3 || tr[2].Brightness != 1 || tr[0].Brightness != 0.8 {
		t.Errorf("trace %+v, want the last three changes", tr)
	}
	none := sim.New(sim.Options{TraceLimit: -1})
	_, _ = none.Lamp("GPIO17", drivers.PinOptions{})
	if tr := none.Trace(); len(tr) != 0 {
		t.Errorf("a board with no trace recorded %v", tr)
	}
}

func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	t.Parallel()
	b := sim.New(sim.Options{Clock: clockwork.NewFakeClockAt(t0)})
	ch, cancel := b.Subscribe(1)
	defer cancel()
	l, _ := b.Lamp("GPIO17", drivers.PinOptions{})
	for i := range 100 {
		_ = l.Set(float64(i%2) / 2)
	}
	if n := len(ch); n != 1 {
		t.Errorf("%d changes buffered, want 1", n)
	}
}

func TestHalt(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	b := sim.New(sim.Options{Clock: clk})
	l, _ := b.Lamp("GPIO17", drivers.PinOptions{})
	s, _ := b.Signal("GPIO24", drivers.PinOptions{})
	btn, _ := b.Button("GPIO22", drivers.ButtonOptions{})
	_ = l.Set(1)
	_ = s.Set(true)
	if err := l.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := l.Set(1); err != nil {
		t.Fatalf("a lamp's own Halt does not latch: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- btn.Run(context.Background(), make(chan drivers.ButtonEvent)) }()
	if err := b.Press("GPIO22"); err != nil {
		t.Fatal(err)
	}
	waiters(t, clk, 2) // Run has the press
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run after Halt returned %v, want nil", err)
	}
	for _, p := range b.Pins() {
		if p.Name != "GPIO22" && (p.Level || p.Brightness != 0) {
			t.Errorf("%s is %+v after Halt, want dark", p.Name, p)
		}
	}
	if err := l.Set(1); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("Set after Halt: %v", err)
	}
	if err := s.Set(true); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("signal Set after Halt: %v", err)
	}
	if err := b.Press("GPIO22"); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("Press after Halt: %v", err)
	}
	if _, err := b.Lamp("GPIO5", drivers.PinOptions{}); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("open after Halt: %v", err)
	}
	if err := btn.Run(context.Background(), nil); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("Run after Halt: %v", err)
	}
	clk.Advance(time.Second) // the cancelled release must not fire
	if p, _ := b.Pin("GPIO22"); !p.Level {
		t.Error("a press's release fired after Halt")
	}
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	b := sim.New(sim.Options{Clock: clk})
	btn, out := runButton(t, b, "GPIO22", ack("fly"))
	_ = b.Press("GPIO22")
	waiters(t, clk, 2) // the first Run is running
	if err := btn.Run(context.Background(), out); err == nil {
		t.Error("a second concurrent Run did not fail")
	}
}

// TestConcurrency drives one board from many goroutines, as the web API,
// the cue loop and the button loops do; -race checks it.
func TestConcurrency(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	b := sim.New(sim.Options{Clock: clk, TraceLimit: 50})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	lamps := make([]drivers.Lamp, 4)
	for i := range lamps {
		lamps[i], _ = b.Lamp(fmt.Sprintf("GPIO%d", 10+i), drivers.PinOptions{Channel: "ch", Role: drivers.RoleStandbyLamp})
	}
	var events sync.WaitGroup
	for i := range 4 {
		name := fmt.Sprintf("GPIO%d", 20+i)
		btn, err := b.Button(name, ack("ch"))
		if err != nil {
			t.Fatal(err)
		}
		out := make(chan drivers.ButtonEvent)
		events.Add(2)
		go func() { _ = btn.Run(ctx, out) }()
		go func() {
			defer events.Done()
			for {
				select {
				case <-out:
				case <-ctx.Done():
					return
				}
			}
		}()
		go func() {
			defer events.Done()
			for j := 0; ctx.Err() == nil && j < 200; j++ {
				_ = b.Press(name)
				_ = b.SetLevel(name, j%3 == 0)
			}
		}()
	}
	ch, unsubscribe := b.Subscribe(8)
	go func() {
		for range ch {
		}
	}()
	for i, l := range lamps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 500 {
				_ = l.Set(float64((i+j)%5) / 4)
			}
			_ = l.Set(0.5)
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range 200 {
			_ = b.Pins()
			_ = b.Trace()
		}
	}()
	go func() {
		defer wg.Done()
		for range 200 {
			clk.Advance(7 * time.Millisecond)
		}
	}()
	wg.Wait()
	for _, p := range b.Pins()[:4] {
		if p.Brightness != 0.5 {
			t.Errorf("%s ends at %g, want its last write 0.5", p.Name, p.Brightness)
		}
	}
	if n := len(b.Trace()); n != 50 {
		t.Errorf("trace holds %d changes, want the limit 50", n)
	}
	unsubscribe()
	_ = b.Halt()
	cancel()
	events.Wait()
}

// BenchmarkLampSet is the simulated board's share of the OSC-to-lamp path:
// one write, traced and sent to a subscriber.
func BenchmarkLampSet(b *testing.B) {
	board := sim.New(sim.Options{Clock: clockwork.NewFakeClockAt(t0)})
	ch, cancel := board.Subscribe(1)
	defer cancel()
	l, err := board.Lamp("GPIO17", drivers.PinOptions{Channel: "fly", Role: drivers.RoleStandbyLamp})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := l.Set(float64(i & 1)); err != nil {
			b.Fatal(err)
		}
		select {
		case <-ch:
		default:
		}
	}
}
