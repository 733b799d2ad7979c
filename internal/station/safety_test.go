package station

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/drivertest"
	"github.com/cuelight/cuelight/osc"
)

// docs/protocol.md §6 rules at the level of the whole station, with the strict fake
// board: a lamp write nobody declared fails the test. (Rules that need
// processes and peers — restart, SIGTERM, allow-list, malformed floods —
// are in cmd/cuelightd's end-to-end tests; the golden scripts cover link
// loss, stuck buttons and hold.)

const safetyShow = `
show: safety
mqtt: {broker: embedded}
osc: {listen: 127.0.0.1:0}
stations:
  wing: {driver: sim}
channels:
  fly:
    standby_lamp: GPIO17
    go_lamp: GPIO27
    ack_button: GPIO22
    go_requires_ack: true
  sl:
    standby_lamp: GPIO16
    ack_button: GPIO20
`

// strictRig is a rig (rules_test.go) on the strict fake board: a lamp
// write nobody declared fails the test.
type strictRig struct {
	*rig
	board *drivertest.StrictBoard
}

func newStrictRig(t *testing.T, watchdog time.Duration) *strictRig {
	t.Helper()
	var board *drivertest.StrictBoard
	r := startRig(t, safetyShow, func(clk clockwork.Clock) drivers.Board {
		board = drivertest.NewStrictBoard(t, clk)
		return board
	}, func(o *Options) { o.WatchdogEvery = watchdog })
	return &strictRig{rig: r, board: board}
}

func TestDarkAtStart(t *testing.T) {
	t.Parallel()
	r := newStrictRig(t, 0)
	// Nothing declared: any lamp write while the station starts and idles
	// fails the test (docs/protocol.md §6.1).
	r.tick(t, 10*time.Second)
	for _, p := range r.board.Pins() {
		if p.Kind == drivertest.KindButton {
			continue
		}
		if l := r.board.FakeLamp(p.Pin); l != nil && l.Level() != 0 {
			t.Errorf("%s lit at start", p.Pin)
		}
	}
	// The first accepted command lights exactly what it should.
	r.board.Expect("GPIO16", 1)
	if got := r.send(t, osc.NewMessage("/cuelight/sl/standby", osc.String("1"))); got.Address != "/cuelight/state/sl/standby" {
		t.Errorf("reply %v", got)
	}
	r.tick(t, 3*time.Second) // steady: no further write
}

func TestRefusedGoWritesNothing(t *testing.T) {
	t.Parallel()
	r := newStrictRig(t, 0)
	r.board.Expect("GPIO17", 1) // fly's standby, steady (no ack required)
	r.send(t, osc.NewMessage("/cuelight/fly/standby", osc.String("5")))
	// fly has go_requires_ack: the GO is refused, no lamp may move.
	r.send(t, osc.NewMessage("/cuelight/fly/go", osc.String("5"))) // state echo
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := r.client.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := p.(*osc.Message); m.Address != "/cuelight/error" {
		t.Errorf("want /cuelight/error after a refused GO, got %v", m)
	}
	r.tick(t, 5*time.Second)
	if st, _ := r.st.engine.Snapshot("fly"); st.State != cues.StateStandby {
		t.Errorf("fly is %v after a refused GO", st.State)
	}
}

func TestNewStationStartsOffWithNothingPending(t *testing.T) {
	t.Parallel()
	// A restarted process (a new Station) never resumes a standby: every
	// channel off, seq 0, and no GO can come from "restoring" anything.
	r := newStrictRig(t, 0)
	for _, s := range r.st.States() {
		if s.State != "off" || s.Seq != 0 || s.Label != "" {
			t.Errorf("fresh station: %+v", s)
		}
	}
	r.tick(t, time.Minute)
	if got := r.st.rep.eventsOut.Load(); got != 0 {
		t.Errorf("%d events from an idle fresh station", got)
	}
}

func TestWatchdogFedOnlyByTheCueLoop(t *testing.T) {
	t.Parallel()
	r := newStrictRig(t, time.Second)
	count := func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		n := 0
		for _, s := range r.notices {
			if s == "WATCHDOG=1" {
				n++
			}
		}
		return n
	}
	r.mu.Lock()
	if len(r.notices) == 0 || r.notices[0] != "READY=1" {
		t.Errorf("first notice %v, want READY=1", r.notices)
	}
	r.mu.Unlock()
	r.clk.Advance(time.Second)
	waitFor(t, "a watchdog ping from the cue loop", func() bool { return count() >= 1 })

	// Stall the cue loop: no ping may be sent while it is stuck, however
	// much time passes (a bare timer would go on feeding systemd).
	stall := make(chan struct{})
	stalled := make(chan struct{})
	go func() { r.st.calls <- func() { close(stalled); <-stall } }()
	<-stalled
	before := count()
	for i := 0; i < 5; i++ {
		r.clk.Advance(time.Second)
	}
	// Give a wrongly placed feeder every chance to show itself.
	r.send(t, osc.NewMessage("/cuelight/ping"))
	if got := count(); got != before {
		t.Errorf("watchdog fed %d times while the cue loop was stalled", got-before)
	}
	close(stall)
	r.clk.Advance(time.Second)
	waitFor(t, "pings again once the loop runs", func() bool { return count() > before })
}

// gatedBoard holds every lamp write until the test lets it through.
type gatedBoard struct {
	*drivertest.Board
	entered chan string   // a lamp write has started (pin name)
	release chan struct{} // lets one write finish
}

type gatedLamp struct {
	drivers.Lamp
	b *gatedBoard
}

func (b *gatedBoard) Lamp(pin string, o drivers.PinOptions) (drivers.Lamp, error) {
	l, err := b.Board.Lamp(pin, o)
	return gatedLamp{l, b}, err
}

func (l gatedLamp) Set(v float64) error {
	l.b.entered <- l.Name()
	<-l.b.release
	return l.Lamp.Set(v)
}

// docs/protocol.md §3: feedback goes out only once the lamp outputs have been written.
// While the lamp write is held, no reply may reach the sender.
func TestFeedbackAfterLampWritten(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse(strings.NewReader(safetyShow), "safety.yaml")
	if err != nil {
		t.Fatal(err)
	}
	clk := clockwork.NewFakeClockAt(t0)
	board := &gatedBoard{Board: drivertest.NewBoard(clk), entered: make(chan string, 16), release: make(chan struct{})}
	st, err := New(Options{Config: cfg, Station: "wing", Board: board, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OSCListen: "127.0.0.1:0", MQTTBroker: "none"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx, nil) }()
	defer func() { cancel(); close(board.release); <-done }()
	waitFor(t, "station ready", st.Ready)
	c, err := osc.DialUDP(st.OSCAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	if err := c.Send(osc.NewMessage("/cuelight/sl/standby", osc.String("1"))); err != nil {
		t.Fatal(err)
	}
	select {
	case pin := <-board.entered:
		if pin != "GPIO16" {
			t.Fatalf("write to %s, want GPIO16", pin)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the standby never reached the lamp")
	}
	// The write is held: a reply now would have overtaken it. (A slow
	// machine can only hide a bug here, never invent one.)
	early, cancelEarly := context.WithTimeout(context.Background(), 200*time.Millisecond)
	if p, err := c.Receive(early); err == nil {
		t.Errorf("reply %v arrived before the lamp was written", p)
	}
	cancelEarly()
	board.release <- struct{}{}
	got, cancelGot := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelGot()
	p, err := c.Receive(got)
	if err != nil {
		t.Fatalf("no reply after the lamp was written: %v", err)
	}
	if m := p.(*osc.Message); m.Address != "/cuelight/state/sl/standby" {
		t.Errorf("reply %v", m)
	}
}
