package gpio_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
)

// testPin is a gpiotest.Pin, whose own quirks stay (In flushes buffered
// edges and sets L for the pull; WaitForEdge ignores the edge kind, returns
// false at once for 0 and leaves a Clock.After waiter behind; Halt is a
// no-op that wakes nobody), plus the quirks of the Pi's character-device
// backend (gpioioctl) that gpiotest does not have:
//   - Read() or Func() on an output turns it into a pulled-up input. The
//     driver must never do it: testPin fails the test if it does.
//   - PWM() is not implemented (noPWM).
//   - WaitForEdge(-1) returns at once and WaitForEdge(0) waits forever, the
//     opposite of gpiotest: testPin fails the test on any timeout <= 0.
//
// It also logs every call, and reports each WaitForEdge entry on entered
// so a test knows when the driver's loop is waiting.
type testPin struct {
	*gpiotest.Pin
	tb testing.TB

	mu      sync.Mutex
	dir     string // "", "in" or "out"
	calls   []string
	outErr  error // returned by Out and PWM
	inErr   error // returned by In
	noPWM   bool
	entered chan time.Duration
}

func newTestPin(tb testing.TB, name string, num int, clk clockwork.Clock) *testPin {
	return &testPin{
		Pin:     &gpiotest.Pin{N: name, Num: num, Clock: clk, EdgesChan: make(chan pgpio.Level)},
		tb:      tb,
		entered: make(chan time.Duration, 64),
	}
}

func (p *testPin) log(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, fmt.Sprintf(format, args...))
}

// Calls returns the calls made so far, e.g. "Out(High)", "PWM(25%, 1kHz)".
func (p *testPin) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

// Wire returns the electrical level (gpiotest's L).
func (p *testPin) Wire() pgpio.Level {
	p.Pin.Lock()
	defer p.Pin.Unlock()
	return p.Pin.L
}

func (p *testPin) direction() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dir
}

func (p *testPin) setDirection(d string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dir = d
}

// flipIfOutput models gpioioctl: touching an output as an input reconfigures
// it as a pulled-up input.
func (p *testPin) flipIfOutput(what string) {
	if p.direction() != "out" {
		return
	}
	p.tb.Errorf("%s: %s on an output: on the Pi's character device this turns the lamp pin into a pulled-up input", p.N, what)
	p.setDirection("in")
	_ = p.Pin.In(pgpio.PullUp, pgpio.NoEdge)
}

func (p *testPin) In(pull pgpio.Pull, edge pgpio.Edge) error {
	p.log("In(%s, %s)", pull, edge)
	if p.inErr != nil {
		return p.inErr
	}
	p.setDirection("in")
	return p.Pin.In(pull, edge)
}

func (p *testPin) Read() pgpio.Level {
	p.log("Read")
	p.flipIfOutput("Read()")
	return p.Pin.Read()
}

func (p *testPin) Func() pin.Func {
	p.flipIfOutput("Func()")
	return p.Pin.Func()
}

func (p *testPin) Function() string {
	p.flipIfOutput("Function()")
	return p.Pin.Function()
}

func (p *testPin) Out(l pgpio.Level) error {
	p.log("Out(%s)", l)
	if p.outErr != nil {
		return p.outErr
	}
	p.setDirection("out")
	return p.Pin.Out(l)
}

func (p *testPin) PWM(d pgpio.Duty, f physic.Frequency) error {
	p.log("PWM(%s, %s)", d, f)
	if f == 0 {
		p.tb.Errorf("%s: PWM with frequency 0: periph's bcm283x and pca9685 divide by it and panic", p.N)
	}
	if p.outErr != nil {
		return p.outErr
	}
	if p.noPWM {
		return errors.New("PWM() not implemented") // gpioioctl's answer
	}
	p.setDirection("out")
	return p.Pin.PWM(d, f)
}

func (p *testPin) WaitForEdge(timeout time.Duration) bool {
	if timeout <= 0 {
		p.tb.Errorf("%s: WaitForEdge(%s): -1 returns at once on the Pi and 0 waits forever; use a finite timeout", p.N, timeout)
		return false
	}
	if d := p.direction(); d != "in" {
		p.tb.Errorf("%s: WaitForEdge on a pin that is not an input (%q)", p.N, d)
	}
	p.entered <- timeout
	return p.Pin.WaitForEdge(timeout)
}

func (p *testPin) Halt() error {
	p.log("Halt")
	return p.Pin.Halt()
}

var _ pgpio.PinIO = (*testPin)(nil)

// pins is a PinSource over test pins.
type pins map[string]*testPin

func (ps pins) source(name string) pgpio.PinIO {
	if p, ok := ps[name]; ok {
		return p
	}
	return nil
}

// recordingTB records failures instead of failing, to test testPin itself.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestTestPinCatchesReadOfAnOutput(t *testing.T) {
	t.Parallel()
	rec := &recordingTB{TB: t}
	p := newTestPin(rec, "GPIO17", 17, clockwork.NewFakeClock())
	_ = p.Out(pgpio.Low)
	if l := p.Read(); l != pgpio.High {
		t.Errorf("Read on an output = %s, want High (flipped to a pulled-up input)", l)
	}
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "Read() on an output") {
		t.Errorf("failures = %q, want one for the read of an output", rec.errs)
	}
	_ = p.In(pgpio.PullDown, pgpio.BothEdges)
	_ = p.Read()
	_ = p.WaitForEdge(0)
	if len(rec.errs) != 2 || !strings.Contains(rec.errs[1], "WaitForEdge(0s)") {
		t.Errorf("failures = %q, want a second one for WaitForEdge(0)", rec.errs)
	}
}

// loop follows a driver's button loop on a fake clock. gpiotest's
// WaitForEdge leaves its Clock.After waiter registered when an edge wakes
// it; loop counts those stale waiters, so that BlockUntilContext waits for
// the right number.
type loop struct {
	t       *testing.T
	clk     *clockwork.FakeClock
	pin     *testPin
	waiters []time.Time // expiry of every After not yet fired
}

// waiting waits until the driver is in WaitForEdge with its After
// registered, and returns the timeout it asked for.
func (l *loop) waiting() time.Duration {
	l.t.Helper()
	var d time.Duration
	select {
	case d = <-l.pin.entered:
	case <-time.After(10 * time.Second):
		l.t.Fatal("the button loop never waited for an edge")
	}
	l.waiters = append(l.waiters, l.clk.Now().Add(d))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.clk.BlockUntilContext(ctx, len(l.waiters)); err != nil {
		l.t.Fatalf("waiting for %d clock waiters (stale ones included): %v", len(l.waiters), err)
	}
	return d
}

// advance moves the fake clock; every waiter due by then fires.
func (l *loop) advance(d time.Duration) {
	l.clk.Advance(d)
	now := l.clk.Now()
	kept := l.waiters[:0]
	for _, w := range l.waiters {
		if w.After(now) {
			kept = append(kept, w)
		}
	}
	l.waiters = kept
}

// edge injects a level as a hardware edge; it returns once the driver's
// WaitForEdge has taken it.
func (l *loop) edge(level pgpio.Level) {
	l.t.Helper()
	select {
	case l.pin.EdgesChan <- level:
	case <-time.After(10 * time.Second):
		l.t.Fatal("the button loop never took the edge")
	}
}
