package drivers_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cuelight/cuelight/drivers"
)

var t0 = time.Date(2026, 3, 14, 19, 30, 0, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// step is one raw level of a synthetic trace, at a millisecond offset.
type step struct {
	at      int
	pressed bool
}

// trace parses "0:1 3:0 5:1": offset in ms, then 1 (pressed) or 0.
func trace(t *testing.T, s string) []step {
	t.Helper()
	var out []step
	for _, f := range strings.Fields(s) {
		a, l, ok := strings.Cut(f, ":")
		n, err := strconv.Atoi(a)
		if !ok || err != nil || (l != "0" && l != "1") {
			t.Fatalf("bad trace step %q", f)
		}
		out = append(out, step{n, l == "1"})
	}
	return out
}

// want is one expected event: kind, At (ms) and, for a watcher that ticks
// at every deadline, the time it is reported (ms).
type want struct {
	kind       drivers.ButtonEventKind
	at, report int
}

func (w want) String() string { return fmt.Sprintf("%s@%d(reported %d)", w.kind, w.at, w.report) }

var debounceCases = []struct {
	name  string
	opts  drivers.ButtonOptions
	base  bool   // level given to Reset at 0 ms
	trace string // raw samples
	end   int    // run until (ms)
	want  []want
}{
	{name: "clean press", trace: "0:1", end: 500,
		want: []want{{drivers.Press, 0, 20}}},
	{name: "clean press and release", trace: "0:1 200:0", end: 500,
		want: []want{{drivers.Press, 0, 20}, {drivers.Release, 200, 220}}},
	{name: "press bounce gives one press at the first contact", trace: "0:1 1:0 2:1 3:0 5:1", end: 500,
		want: []want{{drivers.Press, 0, 25}}},
	{name: "release bounce gives one release", trace: "0:1 200:0 201:1 203:0 204:1 206:0", end: 500,
		want: []want{{drivers.Press, 0, 20}, {drivers.Release, 200, 226}}},
	{name: "bounce gaps just under debounce stay one burst", trace: "10:1 29:0 48:1", end: 500,
		want: []want{{drivers.Press, 10, 68}}},
	{name: "glitch shorter than debounce is ignored", trace: "0:1 5:0", end: 500},
	{name: "two glitches are ignored", trace: "0:1 19:0 100:1 119:0", end: 500},
	{name: "a quiet gap of debounce starts a new burst", trace: "0:1 19:0 39:1", end: 500,
		want: []want{{drivers.Press, 39, 59}}},
	{name: "glitch on a held button is ignored", trace: "0:1 100:0 110:1", end: 500,
		want: []want{{drivers.Press, 0, 20}}},
	{name: "lock-out rejects chatter after release", trace: "0:1 100:0 125:1 150:0", end: 500,
		want: []want{{drivers.Press, 0, 20}, {drivers.Release, 100, 120}}},
	{name: "without lock-out chatter is a second press", opts: drivers.ButtonOptions{Lockout: -1},
		trace: "0:1 100:0 125:1 150:0", end: 500,
		want: []want{{drivers.Press, 0, 20}, {drivers.Release, 100, 120}, {drivers.Press, 125, 145}, {drivers.Release, 150, 170}}},
	{name: "lock-out delays a quick tap's release, never loses it", trace: "0:1 30:0", end: 500,
		want: []want{{drivers.Press, 0, 20}, {drivers.Release, 30, 70}}},
	{name: "lock-out delays a quick second press", trace: "0:1 30:0 75:1", end: 500,
		want: []want{{drivers.Press, 0, 20}, {drivers.Release, 30, 70}, {drivers.Press, 75, 120}}},
	{name: "longer debounce", opts: drivers.ButtonOptions{Debounce: 50 * time.Millisecond},
		trace: "0:1 30:0 40:1", end: 500,
		want: []want{{drivers.Press, 0, 90}}},
	{name: "stuck is one fault", opts: drivers.ButtonOptions{StuckAfter: time.Second},
		trace: "0:1", end: 10_000,
		want: []want{{drivers.Press, 0, 20}, {drivers.Stuck, 1000, 1000}}},
	{name: "stuck recovers after release", opts: drivers.ButtonOptions{StuckAfter: time.Second},
		trace: "0:1 5000:0 6000:1 6100:0", end: 10_000,
		want: []want{{drivers.Press, 0, 20}, {drivers.Stuck, 1000, 1000}, {drivers.Release, 5000, 5020},
			{drivers.Press, 6000, 6020}, {drivers.Release, 6100, 6120}}},
	{name: "stuck counts from the first contact", opts: drivers.ButtonOptions{StuckAfter: time.Second},
		trace: "0:1 3:0 6:1", end: 2000,
		want: []want{{drivers.Press, 0, 26}, {drivers.Stuck, 1000, 1000}}},
	{name: "stuck button chattering gives no press", opts: drivers.ButtonOptions{StuckAfter: time.Second},
		trace: "0:1 1500:0 1510:1 2500:0 2505:1 3500:0 3519:1", end: 5000,
		want: []want{{drivers.Press, 0, 20}, {drivers.Stuck, 1000, 1000}}},
	{name: "default stuck_after is 10 s", trace: "0:1", end: 60_000,
		want: []want{{drivers.Press, 0, 20}, {drivers.Stuck, 10_000, 10_000}}},
	{name: "release just before stuck_after is no fault", opts: drivers.ButtonOptions{StuckAfter: time.Second},
		trace: "0:1 900:0", end: 5000,
		want: []want{{drivers.Press, 0, 20}, {drivers.Release, 900, 920}}},
	{name: "stuck detection off, options defaulted first", opts: drivers.ButtonOptions{StuckAfter: -1}.WithDefaults(),
		trace: "0:1", end: 60_000,
		want: []want{{drivers.Press, 0, 20}}},
	{name: "stuck detection off", opts: drivers.ButtonOptions{StuckAfter: -1},
		trace: "0:1", end: 60_000,
		want: []want{{drivers.Press, 0, 20}}},
	{name: "held at start is no press, then stuck, then release", opts: drivers.ButtonOptions{StuckAfter: time.Second},
		base: true, trace: "0:1 3000:0", end: 5000,
		want: []want{{drivers.Stuck, 1000, 1000}, {drivers.Release, 3000, 3020}}},
	{name: "released at start is nothing", trace: "0:0 100:0", end: 500},
	{name: "debounce off reports at once", opts: drivers.ButtonOptions{Debounce: -1, Lockout: -1},
		trace: "0:1 1:0", end: 500,
		want: []want{{drivers.Press, 0, 0}, {drivers.Release, 1, 1}}},
	{name: "repeated level is no change", trace: "0:1 5:1 10:1 15:1", end: 500,
		want: []want{{drivers.Press, 0, 20}}},
}

// watch feeds a trace to a fresh Debouncer. With tick it behaves like a
// perfect watcher (Tick at every deadline before the next sample); without,
// like a late one that only samples on edges and once at the end.
func watch(t *testing.T, opts drivers.ButtonOptions, base bool, steps []step, end int, tick bool) []want {
	t.Helper()
	d := drivers.NewDebouncer("GPIO22", opts)
	d.Reset(base, t0)
	var got []want
	var evs []drivers.ButtonEvent
	record := func(now time.Time) {
		for _, e := range evs {
			if e.Pin != "GPIO22" {
				t.Errorf("event pin %q, want GPIO22", e.Pin)
			}
			got = append(got, want{e.Kind, int(e.At.Sub(t0) / time.Millisecond), int(now.Sub(t0) / time.Millisecond)})
		}
		evs = evs[:0]
	}
	until := func(limit time.Time) {
		for tick {
			dl, ok := d.Deadline()
			if !ok || dl.After(limit) {
				return
			}
			evs = d.Tick(evs, dl)
			record(dl)
		}
	}
	for _, s := range steps {
		until(ms(s.at))
		evs = d.Sample(evs, s.pressed, ms(s.at))
		record(ms(s.at))
	}
	until(ms(end))
	evs = d.Tick(evs, ms(end))
	record(ms(end))
	return got
}

func TestDebouncer(t *testing.T) {
	t.Parallel()
	for _, tc := range debounceCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			steps := trace(t, tc.trace)
			got := watch(t, tc.opts, tc.base, steps, tc.end, true)
			if !slices.Equal(got, tc.want) {
				t.Errorf("watcher got %v\nwant %v", got, tc.want)
			}
			// A late watcher (no ticks, one sample per edge) reports the
			// same events with the same At, only later.
			late := watch(t, tc.opts, tc.base, steps, tc.end, false)
			if len(late) != len(tc.want) {
				t.Fatalf("late watcher got %v\nwant %v", late, tc.want)
			}
			for i := range late {
				if late[i].kind != tc.want[i].kind || late[i].at != tc.want[i].at {
					t.Errorf("late watcher event %d = %v, want %v", i, late[i], tc.want[i])
				}
			}
		})
	}
}

func TestDebouncerDeadline(t *testing.T) {
	t.Parallel()
	d := drivers.NewDebouncer("GPIO22", drivers.ButtonOptions{StuckAfter: time.Second})
	if _, ok := d.Deadline(); ok {
		t.Fatal("deadline before Reset")
	}
	d.Reset(false, t0)
	if dl, ok := d.Deadline(); ok {
		t.Fatalf("idle button has deadline %v", dl)
	}
	evs := d.Sample(nil, true, ms(0))
	evs = d.Sample(evs, false, ms(2))
	evs = d.Sample(evs, true, ms(4))
	if len(evs) != 0 {
		t.Fatalf("events while bouncing: %v", evs)
	}
	if dl, ok := d.Deadline(); !ok || !dl.Equal(ms(24)) {
		t.Fatalf("deadline = %v %v, want 24 ms after the last bounce", dl, ok)
	}
	if evs = d.Tick(evs, ms(23)); len(evs) != 0 || d.Pressed() {
		t.Fatalf("pressed before settling: %v", evs)
	}
	if evs = d.Tick(evs, ms(24)); len(evs) != 1 || evs[0].Kind != drivers.Press || !d.Pressed() {
		t.Fatalf("at the deadline got %v, want one press", evs)
	}
	if dl, ok := d.Deadline(); !ok || !dl.Equal(ms(1000)) {
		t.Fatalf("held deadline = %v %v, want the stuck limit at 1000 ms", dl, ok)
	}
	evs = d.Tick(evs[:0], ms(1000))
	if len(evs) != 1 || evs[0].Kind != drivers.Stuck || !evs[0].At.Equal(ms(1000)) || !d.Stuck() {
		t.Fatalf("at the stuck limit got %v, want one stuck at 1000 ms", evs)
	}
	if dl, ok := d.Deadline(); ok {
		t.Fatalf("stuck button still has deadline %v", dl)
	}
	evs = d.Sample(evs[:0], false, ms(2000))
	evs = d.Tick(evs, ms(2020))
	if len(evs) != 1 || evs[0].Kind != drivers.Release || d.Stuck() || d.Pressed() {
		t.Fatalf("after release got %v (stuck %v), want one release that clears the fault", evs, d.Stuck())
	}
}

func TestDebouncerTimeGoingBackwards(t *testing.T) {
	t.Parallel()
	d := drivers.NewDebouncer("GPIO22", drivers.ButtonOptions{})
	d.Reset(false, ms(100))
	evs := d.Sample(nil, true, ms(50)) // older than Reset: taken as 100 ms
	evs = d.Tick(evs, ms(119))
	if len(evs) != 0 {
		t.Fatalf("press before settling: %v", evs)
	}
	evs = d.Tick(evs, ms(120))
	if len(evs) != 1 || !evs[0].At.Equal(ms(100)) {
		t.Fatalf("got %v, want one press first seen at 100 ms", evs)
	}
}

func TestDebouncerFirstSampleIsBaseline(t *testing.T) {
	t.Parallel()
	d := drivers.NewDebouncer("GPIO22", drivers.ButtonOptions{})
	if evs := d.Tick(nil, ms(0)); len(evs) != 0 {
		t.Fatalf("tick before any sample: %v", evs)
	}
	evs := d.Sample(nil, true, ms(0))
	evs = d.Tick(evs, ms(5000))
	if len(evs) != 0 || !d.Pressed() {
		t.Fatalf("first sample gave %v, want none (it is the baseline)", evs)
	}
}

func TestButtonOptionsWithDefaults(t *testing.T) {
	t.Parallel()
	got := drivers.ButtonOptions{Debounce: -1, StuckAfter: 3 * time.Second}.WithDefaults()
	if got.Debounce != -1 || got.Lockout != drivers.DefaultLockout || got.StuckAfter != 3*time.Second {
		t.Errorf("WithDefaults = %+v", got)
	}
	if again := got.WithDefaults(); again != got {
		t.Errorf("WithDefaults twice = %+v, want %+v (off must stay off)", again, got)
	}
	got = drivers.ButtonOptions{}.WithDefaults()
	if got.Debounce != 20*time.Millisecond || got.StuckAfter != 10*time.Second {
		t.Errorf("zero WithDefaults = %+v, want 20ms debounce and 10s stuck_after", got)
	}
}

func BenchmarkDebouncerBounce(b *testing.B) {
	d := drivers.NewDebouncer("GPIO22", drivers.ButtonOptions{})
	d.Reset(false, t0)
	evs := make([]drivers.ButtonEvent, 0, 4)
	bounce := []bool{true, false, true, false, true}
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, l := range bounce {
			evs = d.Sample(evs[:0], l != (i%2 == 1), now.Add(time.Duration(j)*time.Millisecond))
		}
		now = now.Add(200 * time.Millisecond)
		evs = d.Tick(evs[:0], now)
	}
}
