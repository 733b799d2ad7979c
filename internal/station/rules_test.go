package station

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/drivertest"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/osc"
)

// Direct assertions for the safety rules (docs/protocol.md §6) whose only
// oracle used to be a golden file or a log line: each test here checks the
// lamps, the events or the notices themselves, so that a regression fails
// it even after a careless `-update` of the golden files.

// rig is a station on a fake clock, run in the background until the test
// ends (or stop is called).
type rig struct {
	clk     *clockwork.FakeClock
	st      *Station
	client  *osc.Client
	stop    func() error
	mu      sync.Mutex
	notices []string
}

// startRig starts a station on show with the board that mkBoard makes on
// the rig's fake clock (nil: a sim board).
func startRig(t *testing.T, show string, mkBoard func(clockwork.Clock) drivers.Board, mod func(*Options)) *rig {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(show), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{clk: clockwork.NewFakeClockAt(t0)}
	var board drivers.Board = sim.New(sim.Options{Clock: r.clk})
	if mkBoard != nil {
		board = mkBoard(r.clk)
	}
	o := Options{
		Config: cfg, Station: cfg.StationNames()[0], Board: board, Clock: r.clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Epoch: "rules",
		OSCListen: "127.0.0.1:0", MQTTBroker: "none",
		Notify: func(s string) {
			r.mu.Lock()
			r.notices = append(r.notices, s)
			r.mu.Unlock()
		},
	}
	if mod != nil {
		mod(&o)
	}
	st, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	r.st = st
	r.stop = runStation(t, st)
	waitFor(t, "station ready", st.Ready)
	if r.client, err = osc.DialUDP(st.OSCAddr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.client.Close() })
	return r
}

// runStation runs st until the test ends (or stop is called) and checks
// that Run returns, without an error, once it is stopped. stop may be
// called more than once; it returns Run's error.
func runStation(t *testing.T, st *Station) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx, nil) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(20 * time.Second):
				runErr = errors.New("Run did not return after cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("%s: Run: %v", st.Name(), err)
		}
	})
	return stop
}

// send sends m and waits for the station's first reply.
func (r *rig) send(t *testing.T, m *osc.Message) *osc.Message {
	t.Helper()
	if err := r.client.Send(m); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := r.client.Receive(ctx)
	if err != nil {
		t.Fatalf("no reply to %v: %v", m, err)
	}
	return p.(*osc.Message)
}

func (r *rig) tick(t *testing.T, d time.Duration) {
	t.Helper()
	h := &harness{t: t, clk: r.clk, st: r.st}
	h.advanceTo(r.clk.Now().Add(d))
}

func (r *rig) count(notice string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.notices {
		if s == notice {
			n++
		}
	}
	return n
}

func (r *rig) state(t *testing.T, ch string) cues.ChannelState {
	t.Helper()
	var cs cues.ChannelState
	h := &harness{t: t, clk: r.clk, st: r.st}
	h.onLoop(func() { cs, _ = r.st.engine.Snapshot(ch) })
	return cs
}

// simBoard makes a sim board on the rig's clock and keeps it in *b.
func simBoard(b **sim.Board) func(clockwork.Clock) drivers.Board {
	return func(clk clockwork.Clock) drivers.Board {
		*b = sim.New(sim.Options{Clock: clk})
		return *b
	}
}

const rulesShow = `
show: rules
osc: {listen: 127.0.0.1:0}
stations:
  wing: {driver: sim}
channels:
  fly:
    standby_lamp: GPIO17
    go_lamp: GPIO27
    ack_button: GPIO22
    stuck_after: 5s
  sl:
    standby_lamp: GPIO16
`

// TestLampsDarkAtStop checks docs/protocol.md §6.5 on the lamps: after a
// clean stop every lamp of the board is dark, whatever it showed.
func TestLampsDarkAtStop(t *testing.T) {
	t.Parallel()
	var board *sim.Board
	r := startRig(t, rulesShow, simBoard(&board), nil)
	r.send(t, osc.NewMessage("/cuelight/sl/standby", osc.String("1")))
	r.send(t, osc.NewMessage("/cuelight/fly/go", osc.String("1")))
	lit := 0
	for _, p := range board.Pins() {
		if p.Level && p.Role != drivers.RoleAckButton {
			lit++
		}
	}
	if lit != 2 {
		t.Fatalf("%d lamps lit before the stop, want 2 (sl standby, fly go): %+v", lit, board.Pins())
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	for _, p := range board.Pins() {
		if p.Level && p.Role != drivers.RoleAckButton {
			t.Errorf("%s (%s %s) still lit after the stop", p.Name, p.Channel, p.Role)
		}
	}
}

// TestWatchdogStarvedByFailedSelfCheck checks docs/protocol.md §6.6: when a
// lamp cannot be written as the engine wants, the self-check fails and the
// watchdog is not fed; once the write goes through it is fed again.
func TestWatchdogStarvedByFailedSelfCheck(t *testing.T) {
	t.Parallel()
	var board *drivertest.Board
	r := startRig(t, rulesShow, func(clk clockwork.Clock) drivers.Board {
		board = drivertest.NewBoard(clk)
		return board
	}, func(o *Options) { o.WatchdogEvery = time.Second })
	r.tick(t, time.Second)
	waitFor(t, "a first watchdog ping", func() bool { return r.count("WATCHDOG=1") >= 1 })

	lamp := board.FakeLamp("GPIO16")
	lamp.Lock()
	lamp.Err = errors.New("i2c: no answer")
	lamp.Unlock()
	r.send(t, osc.NewMessage("/cuelight/sl/standby", osc.String("1")))
	before := r.count("WATCHDOG=1")
	for i := 0; i < 5; i++ {
		r.tick(t, time.Second)
	}
	if got := r.count("WATCHDOG=1"); got != before {
		t.Errorf("watchdog fed %d times while sl's lamp could not be lit", got-before)
	}

	lamp.Lock()
	lamp.Err = nil
	lamp.Unlock()
	r.tick(t, time.Second)
	waitFor(t, "the watchdog fed again once the lamp is written", func() bool { return r.count("WATCHDOG=1") > before })
	if got := lamp.Level(); got != 1 {
		t.Errorf("sl's lamp at %g after the retry, want 1", got)
	}
}

// TestSyncIsTheBoothHeard checks docs/protocol.md §6.3: /cuelight/sync from
// an allowed address keeps the link like a heartbeat.
func TestSyncIsTheBoothHeard(t *testing.T) {
	t.Parallel()
	show := strings.Replace(rulesShow, "listen: 127.0.0.1:0}", "listen: 127.0.0.1:0, heartbeat_timeout: 2s}", 1)
	r := startRig(t, show, nil, nil)
	r.tick(t, 1500*time.Millisecond)
	r.send(t, osc.NewMessage("/cuelight/sync")) // heard at 1.5s: lost at 3.5s, not 2s
	r.tick(t, 1500*time.Millisecond)
	if cs := r.state(t, "sl"); cs.State != cues.StateOff {
		t.Fatalf("sl is %s 1.5s after a sync (timeout 2s), want off: sync must count as the booth heard", cs.State)
	}
	r.tick(t, time.Second)
	if cs := r.state(t, "sl"); cs.State != cues.StateLost {
		t.Errorf("sl is %s 2.5s after the last sync, want lost", cs.State)
	}
}

// TestReleaseValueDoesNothing checks the button convention (docs/osc.md):
// 0, 0.0 and F are a release and change nothing, on every verb; the sender
// still gets the current state.
func TestReleaseValueDoesNothing(t *testing.T) {
	t.Parallel()
	var board *sim.Board
	r := startRig(t, rulesShow, simBoard(&board), nil)
	r.send(t, osc.NewMessage("/cuelight/fly/standby_ack", osc.String("7")))
	want := r.state(t, "fly")
	for _, verb := range []string{"standby", "standby_ack", "go", "force_go", "off", "ack", "call"} {
		for _, arg := range []osc.Arg{osc.Int32(0), osc.Float32(0), osc.Float64(0), osc.Bool(false)} {
			m := osc.NewMessage("/cuelight/fly/"+verb, arg)
			reply := r.send(t, m)
			if s, _ := reply.Args[0].String(); reply.Address != "/cuelight/state/fly/standby" || s != "7" {
				t.Errorf("%v: reply %v, want the current state standby \"7\"", m, reply)
			}
			if got := r.state(t, "fly"); got != want {
				t.Errorf("%v changed fly: %+v, want %+v", m, got, want)
			}
		}
	}
	if p, _ := board.Pin("GPIO27"); p.Level {
		t.Error("fly's GO lamp lit by a release value")
	}
	if r.st.rep.eventsOut.Load() != 0 {
		t.Errorf("%d events published (no MQTT here: none expected)", r.st.rep.eventsOut.Load())
	}
}

// TestStuckButtonReportedOnce checks docs/protocol.md §6.7: a button held
// past stuck_after is one fault event, then nothing more however long it
// stays down, and it acknowledges nothing while stuck.
func TestStuckButtonReportedOnce(t *testing.T) {
	t.Parallel()
	var board *sim.Board
	var events []cues.Event
	var mu sync.Mutex
	r := startRig(t, rulesShow, simBoard(&board), func(o *Options) {
		o.onEvent = func(ev cues.Event) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		}
	})
	kinds := func() string {
		mu.Lock()
		defer mu.Unlock()
		var k []string
		for _, ev := range events {
			k = append(k, fmt.Sprintf("%s/%s", ev.Kind, ev.Channel))
		}
		return strings.Join(k, " ")
	}
	h := &harness{t: t, clk: r.clk, st: r.st}
	before := r.st.buttonsHandled.Load()
	if err := board.SetLevel("GPIO22", true); err != nil {
		t.Fatal(err)
	}
	h.advanceTo(r.clk.Now().Add(20 * time.Millisecond))
	h.waitButtons(before + 1) // the press: nothing to acknowledge
	// In steps, so that a button timer armed while the clock moved still
	// falls due within the run (see drivers.RunButton).
	for i := 0; i < 24; i++ {
		h.advanceTo(r.clk.Now().Add(250 * time.Millisecond))
	}
	h.waitButtons(before + 2) // stuck
	r.send(t, osc.NewMessage("/cuelight/fly/standby_ack", osc.String("8")))
	for i := 0; i < 60; i++ {
		h.advanceTo(r.clk.Now().Add(time.Second))
	}
	// Release it: the release is ordered after anything the minute held
	// down produced, so once it is handled every event of the minute is in.
	if err := board.SetLevel("GPIO22", false); err != nil {
		t.Fatal(err)
	}
	h.advanceTo(r.clk.Now().Add(20 * time.Millisecond))
	h.waitButtons(before + 3)
	if got, want := kinds(), "press/fly fault/fly standby/fly"; got != want {
		t.Errorf("events %q, want %q: one fault, no ack while stuck", got, want)
	}
	if cs := r.state(t, "fly"); cs.State != cues.StateStandby {
		t.Errorf("fly is %s, want standby (a stuck button acknowledges nothing)", cs.State)
	}
}

// TestClockSkewFromShowFile checks that mqtt.clock_skew in the show file is
// the tolerance the station applies to a command's ttl (docs/mqtt.md): with
// clock_skew 5s and ttl 2s, a command sent 6s ago is taken and one sent 8s
// ago is rejected as stale.
func TestClockSkewFromShowFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t, `
show: skew
mqtt: {broker: "tcp://127.0.0.1:1883", clock_skew: 5s}
osc: {listen: 127.0.0.1:0}
stations:
  wing: {driver: sim}
channels:
  sl:
    station: wing
    standby_lamp: GPIO16
`)
	at := func(d time.Duration) string { return h.clk.Now().Add(-d).UTC().Format(time.RFC3339Nano) }
	h.sendMQTT(`cuelight/channel/sl/cmd {"id":"six","cmd":"standby","label":"6","ts":"` + at(6*time.Second) + `","ttl_ms":2000}`)
	h.sendMQTT(`cuelight/channel/sl/cmd {"id":"eight","cmd":"standby","label":"8","ts":"` + at(8*time.Second) + `","ttl_ms":2000}`)
	h.finish()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) != 2 {
		t.Fatalf("events %q, want 2", h.events)
	}
	if !strings.Contains(h.events[0], `"event":"standby"`) || !strings.Contains(h.events[0], `"id":"six"`) {
		t.Errorf("a command 6s old with ttl 2s and skew 5s: %s, want a standby", h.events[0])
	}
	if !strings.Contains(h.events[1], `"event":"rejected"`) || !strings.Contains(h.events[1], `"id":"eight"`) {
		t.Errorf("a command 8s old with ttl 2s and skew 5s: %s, want rejected as stale", h.events[1])
	}
}

// TestDroppedCueCommandIsAnswered checks that a standby or GO dropped
// because the cue loop is far behind is answered to its sender with
// /cuelight/error, never lost in silence, and counted.
func TestDroppedCueCommandIsAnswered(t *testing.T) {
	t.Parallel()
	r := startRig(t, rulesShow, nil, nil)
	stall := make(chan struct{})
	stalled := make(chan struct{})
	go func() { r.st.calls <- func() { close(stalled); <-stall } }()
	<-stalled
	const sent = 300
	queue := cap(r.st.oscIn)
	for i := 0; i < sent; i++ {
		if err := r.client.Send(osc.NewMessage("/cuelight/sl/standby", osc.String(fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every datagram read by the OSC loop", func() bool {
		st := r.st.Stats()
		return st.OSCCommands+st.OSCDropped == sent
	})
	dropped := r.st.Stats().OSCDropped
	if dropped != int64(sent-queue) {
		t.Fatalf("%d dropped, want %d (queue %d)", dropped, sent-queue, queue)
	}
	for i := int64(0); i < dropped; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		p, err := r.client.Receive(ctx)
		cancel()
		if err != nil {
			t.Fatalf("error reply %d of %d: %v", i+1, dropped, err)
		}
		m := p.(*osc.Message)
		if reason, _ := m.Args[1].String(); m.Address != "/cuelight/error" || reason != reasonBusy {
			t.Fatalf("reply %v, want /cuelight/error %q", m, reasonBusy)
		}
	}
	close(stall)
}

// TestRunFailsCleanly checks that a Run that cannot build every part (here:
// a TLS CA file that does not exist, found after the OSC sockets were
// bound) serves nothing: the OSC port is closed again when Run returns, and
// every output is halted.
func TestRunFailsCleanly(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	show := `
show: broken
mqtt: {broker: "ssl://127.0.0.1:1", tls: {ca_file: /nonexistent/ca.pem}}
osc: {listen: ` + addr + `}
stations:
  wing: {driver: sim}
channels:
  sl:
    standby_lamp: GPIO16
`
	cfg, err := config.Parse(strings.NewReader(show), "broken.yaml")
	if err != nil {
		t.Fatal(err)
	}
	board := sim.New(sim.Options{})
	st, err := New(Options{Config: cfg, Station: "wing", Board: board, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Run(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "mqtt.tls.ca_file") {
		t.Fatalf("Run: %v, want the CA file error", err)
	}
	if st.Ready() {
		t.Error("a station that failed to start reports ready")
	}
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		c.Close()
		t.Errorf("the OSC port %s still accepts TCP after Run failed", addr)
	}
	if _, err := board.Lamp("GPIO5", drivers.PinOptions{}); !errors.Is(err, drivers.ErrHalted) {
		t.Errorf("board not halted after the failed Run: opening a pin gave %v", err)
	}
}

// barrier sends /cuelight/sync from a second socket and reads its one
// reply per channel: every message sent before it has then been handled by
// the cue loop. Then it drains the replies that came to the first socket.
func (r *rig) barrier(t *testing.T) {
	t.Helper()
	sc, err := osc.DialUDP(r.st.OSCAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Send(osc.NewMessage("/cuelight/sync")); err != nil {
		t.Fatal(err)
	}
	for range r.st.router.local {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := sc.Receive(ctx)
		cancel()
		if err != nil {
			t.Fatalf("sync reply: %v", err)
		}
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := r.client.Receive(ctx)
		cancel()
		if err != nil {
			return
		}
	}
}

// do sends m and waits until the cue loop has handled it (replies drained).
func (r *rig) do(t *testing.T, m osc.Packet) {
	t.Helper()
	if err := r.client.Send(m); err != nil {
		t.Fatal(err)
	}
	r.barrier(t)
}

// TestScheduledGoNeverFiresAfterLossOrHold checks docs/protocol.md §3
// "Scheduled commands" through the whole station: a GO in a bundle tagged
// for the future is dropped (and reported refused) when the link is lost or
// a hold latches before its time, and does not fire when the link is
// restored or the hold released before that time. One tagged more than
// 10 s ahead is answered with /cuelight/error.
func TestScheduledGoNeverFiresAfterLossOrHold(t *testing.T) {
	t.Parallel()
	show := strings.Replace(rulesShow, "listen: 127.0.0.1:0}", "listen: 127.0.0.1:0, heartbeat_timeout: 2s}", 1)
	bundle := func(r *rig, after time.Duration, m *osc.Message) *osc.Bundle {
		return osc.NewBundle(osc.TimeTagFrom(r.clk.Now().Add(after)), m)
	}
	t.Run("link lost", func(t *testing.T) {
		t.Parallel()
		var board *sim.Board
		var refused []string
		var mu sync.Mutex
		r := startRig(t, show, simBoard(&board), func(o *Options) {
			o.onEvent = func(ev cues.Event) {
				if ev.Kind == cues.EventRefused {
					mu.Lock()
					refused = append(refused, ev.Channel+": "+ev.Reason)
					mu.Unlock()
				}
			}
		})
		r.do(t, osc.NewMessage("/cuelight/fly/standby", osc.String("5")))
		// Due in 3s; the link is lost 2s after this (heard now).
		r.do(t, bundle(r, 3*time.Second, osc.NewMessage("/cuelight/fly/go", osc.String("5"))))
		r.tick(t, 2500*time.Millisecond) // lost at 2s
		if cs := r.state(t, "fly"); cs.State != cues.StateLost {
			t.Fatalf("fly is %s, want lost", cs.State)
		}
		r.do(t, osc.NewMessage("/cuelight/heartbeat")) // restored at 2.5s, before the GO's time
		r.tick(t, 1500*time.Millisecond)               // past the GO's time, before the next loss
		if cs := r.state(t, "fly"); cs.State != cues.StateOff {
			t.Errorf("fly is %s after the scheduled GO's time, want off: a GO scheduled before a link loss fired after it", cs.State)
		}
		if p, _ := board.Pin("GPIO27"); p.Level {
			t.Error("fly's GO lamp is lit")
		}
		mu.Lock()
		defer mu.Unlock()
		if len(refused) != 1 || !strings.Contains(refused[0], "scheduled go dropped") {
			t.Errorf("refused events %q, want the dropped GO", refused)
		}
	})
	t.Run("hold released before its time", func(t *testing.T) {
		t.Parallel()
		var board *sim.Board
		r := startRig(t, rulesShow, simBoard(&board), nil)
		r.do(t, osc.NewMessage("/cuelight/fly/standby", osc.String("5")))
		r.do(t, bundle(r, 3*time.Second, osc.NewMessage("/cuelight/fly/go", osc.String("5"))))
		r.tick(t, time.Second)
		r.do(t, osc.NewMessage("/cuelight/all/hold"))
		r.tick(t, time.Second)
		r.do(t, osc.NewMessage("/cuelight/all/release"))
		r.tick(t, 2*time.Second)
		if cs := r.state(t, "fly"); cs.State != cues.StateOff {
			t.Errorf("fly is %s, want off: a GO scheduled before a hold fired after its release", cs.State)
		}
		if p, _ := board.Pin("GPIO27"); p.Level {
			t.Error("fly's GO lamp is lit")
		}
	})
	t.Run("runs at its time", func(t *testing.T) {
		t.Parallel()
		r := startRig(t, rulesShow, nil, nil)
		r.do(t, osc.NewMessage("/cuelight/fly/standby", osc.String("5")))
		r.do(t, bundle(r, 3*time.Second, osc.NewMessage("/cuelight/fly/go", osc.String("5"))))
		r.tick(t, 2900*time.Millisecond)
		if cs := r.state(t, "fly"); cs.State != cues.StateStandby {
			t.Fatalf("fly is %s before its time, want standby", cs.State)
		}
		r.tick(t, 100*time.Millisecond)
		if cs := r.state(t, "fly"); cs.State != cues.StateGo {
			t.Errorf("fly is %s at the scheduled time, want go", cs.State)
		}
	})
	t.Run("more than 10s ahead is refused", func(t *testing.T) {
		t.Parallel()
		r := startRig(t, rulesShow, nil, nil)
		if err := r.client.Send(bundle(r, 11*time.Second, osc.NewMessage("/cuelight/fly/go", osc.String("5")))); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p, err := r.client.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := p.(*osc.Message)
		if reason, _ := m.Args[1].String(); m.Address != "/cuelight/error" || reason != cues.ReasonTooFarAhead {
			t.Errorf("reply %v, want /cuelight/error %q", m, cues.ReasonTooFarAhead)
		}
	})
}

// TestNoStateBelowMinBrightness checks docs/protocol.md §3 brightness: 0 is
// refused (one datagram to every channel no longer darkens a show) and a
// lit lamp never shows less than the station's min_brightness.
func TestNoStateBelowMinBrightness(t *testing.T) {
	t.Parallel()
	show := strings.Replace(rulesShow, "wing: {driver: sim}", "wing: {driver: sim, min_brightness: 0.3}", 1)
	var board *sim.Board
	r := startRig(t, show, simBoard(&board), nil)
	r.do(t, osc.NewMessage("/cuelight/sl/standby", osc.String("1")))
	if err := r.client.Send(osc.NewMessage("/cuelight/*/brightness", osc.Float32(0))); err != nil {
		t.Fatal(err)
	}
	errs := 0
	for i := 0; i < 4; i++ { // per channel: its state, then the error
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		p, err := r.client.Receive(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if p.(*osc.Message).Address == "/cuelight/error" {
			errs++
		}
	}
	if errs != 2 {
		t.Errorf("%d errors for brightness 0 on two channels, want 2", errs)
	}
	if p, _ := board.Pin("GPIO16"); !p.Level || p.Brightness != 1 {
		t.Errorf("sl's lamp %+v after a refused brightness 0, want lit at 1", p)
	}
	r.do(t, osc.NewMessage("/cuelight/sl/brightness", osc.Float32(0.05)))
	if p, _ := board.Pin("GPIO16"); !p.Level || p.Brightness != 0.3 {
		t.Errorf("sl's lamp %+v at brightness 0.05, want lit at the floor 0.3", p)
	}
}

// onLoopSync waits until the cue loop has finished what it was doing: its
// reports of everything handled so far are out.
func (s *Station) onLoopSync() {
	done := make(chan struct{})
	s.calls <- func() { close(done) }
	<-done
}
