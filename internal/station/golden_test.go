package station

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/osc"
)

// Whole-station golden tests (STYLE rule 9): a script of OSC datagrams,
// button presses and clock ticks runs through the real Station.Run with
// the sim driver, a fake clock, a real MQTT broker (mochi, in-process) and
// real UDP sockets. The lamp trace, the OSC replies and feedback, and the
// MQTT events and final retained states are compared with
// testdata/golden/<name>.golden; go test -run Golden -update rewrites them.
//
// Determinism: the clock moves only when the script says so, and then in
// steps that stop at every instant the engine said something changes
// (NextChange) and at every button deadline; after each step the harness
// waits for the cue loop to have handled what the step caused (a sync
// request through the ordered OSC path, or the count of button events
// handled). Nothing here depends on how fast the machine is.

var update = flag.Bool("update", false, "rewrite the golden files")

// t0 is the fake clock's start: 2026-03-01 19:30:00 UTC, a show night.
var t0 = time.Date(2026, 3, 1, 19, 30, 0, 0, time.UTC)

type harness struct {
	t        *testing.T
	clk      *clockwork.FakeClock
	board    *sim.Board
	st       *Station
	client   *osc.Client // sends the script's OSC; gets the replies
	sync     *osc.Client // sends the barrier's /cuelight/sync
	feedback *net.UDPConn
	out      strings.Builder

	mu     sync.Mutex
	events []string // MQTT event messages, in arrival order
	broker *mqtt.Server
	port   int
}

func TestGolden(t *testing.T) {
	scripts, err := filepath.Glob("testdata/golden/*.script")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no golden scripts: %v", err)
	}
	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".script")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runGolden(t, script, strings.TrimSuffix(script, ".script")+".golden")
		})
	}
}

func runGolden(t *testing.T, scriptPath, goldenPath string) {
	text, err := os.ReadFile(scriptPath)
	if err != nil {
		t.Fatal(err)
	}
	show, steps := splitScript(string(text))
	h := newHarness(t, show)
	for _, step := range steps {
		h.step(step)
	}
	h.finish()
	got := h.out.String()
	if *update {
		if err := os.WriteFile(goldenPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; diff with -update and git diff.\n--- got ---\n%s", goldenPath, got)
	}
}

// splitScript separates the show file (everything up to a line "---") from
// the steps.
func splitScript(s string) (show string, steps []string) {
	parts := strings.SplitN(s, "\n---\n", 2)
	if len(parts) != 2 {
		return "", nil
	}
	for _, line := range strings.Split(parts[1], "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			steps = append(steps, line)
		}
	}
	return parts[0], steps
}

func newHarness(t *testing.T, show string) *harness {
	t.Helper()
	h := &harness{t: t, clk: clockwork.NewFakeClockAt(t0)}
	h.startBroker()

	fb, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	h.feedback = fb
	show = strings.ReplaceAll(show, "FEEDBACK", fb.LocalAddr().String())
	cfg, err := config.Parse(strings.NewReader(show), "golden.yaml")
	if err != nil {
		t.Fatalf("show file: %v", err)
	}
	h.board = sim.New(sim.Options{Clock: h.clk})
	st, err := New(Options{
		Config: cfg, Station: cfg.StationNames()[0], Board: h.board, Clock: h.clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "golden", Epoch: "golden",
		OSCListen: "127.0.0.1:0", MQTTBroker: fmt.Sprintf("tcp://127.0.0.1:%d", h.port),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.st = st
	runStation(t, st)
	waitFor(t, "station ready and MQTT connected", func() bool {
		return st.Ready() && st.link != nil && st.link.Connected()
	})
	c, err := osc.DialUDP(st.OSCAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h.client = c
	if h.sync, err = osc.DialUDP(st.OSCAddr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.sync.Close() })
	h.board.ClearTrace()
	return h
}

// startBroker runs mochi in-process on a free loopback port and records
// every event message.
func (h *harness) startBroker() {
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = 0
	s := mqtt.New(&mqtt.Options{InlineClient: true, Capabilities: caps,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		h.t.Fatal(err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: "127.0.0.1:0"})
	if err := s.AddListener(tcp); err != nil {
		h.t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		h.t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(tcp.Address())
	h.port, _ = strconv.Atoi(port)
	h.broker = s
	err := s.Subscribe("cuelight/channel/+/event", 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		h.mu.Lock()
		h.events = append(h.events, pk.TopicName+" "+string(pk.Payload))
		h.mu.Unlock()
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = s.Close() })
}

// step runs one script line and records what it caused.
func (h *harness) step(line string) {
	h.t.Helper()
	fmt.Fprintf(&h.out, "\n> %s\n", line)
	verb, rest, _ := strings.Cut(line, " ")
	switch verb {
	case "osc":
		h.sendOSC(rest)
	case "press":
		h.press(rest)
	case "down", "up":
		before := h.st.buttonsHandled.Load()
		if err := h.board.SetLevel(rest, verb == "down"); err != nil {
			h.t.Fatalf("%s: %v", line, err)
		}
		h.advanceTo(h.clk.Now().Add(20 * time.Millisecond))
		h.waitButtons(before + 1)
	case "mqtt":
		h.sendMQTT(rest)
	case "tick":
		d, err := time.ParseDuration(rest)
		if err != nil {
			h.t.Fatalf("%s: %v", line, err)
		}
		h.advanceTo(h.clk.Now().Add(d))
	case "stuck":
		// the held button's stuck_after runs out during this tick
		d, err := time.ParseDuration(rest)
		if err != nil {
			h.t.Fatalf("%s: %v", line, err)
		}
		before := h.st.buttonsHandled.Load()
		h.advanceTo(h.clk.Now().Add(d))
		h.waitButtons(before + 1)
	default:
		h.t.Fatalf("unknown script step %q", line)
	}
	h.record()
}

// sendOSC sends "/address [type:value ...]" and waits for the cue loop to
// have handled it: a /cuelight/sync sent after it comes back after it, as
// one reply per channel, through the same ordered path.
func (h *harness) sendOSC(spec string) {
	h.t.Helper()
	fields := strings.Fields(spec)
	m := osc.NewMessage(fields[0])
	for _, f := range fields[1:] {
		typ, val, _ := strings.Cut(f, ":")
		switch typ {
		case "s":
			m.Args = append(m.Args, osc.String(val))
		case "i":
			n, _ := strconv.Atoi(val)
			m.Args = append(m.Args, osc.Int32(int32(n)))
		case "f":
			v, _ := strconv.ParseFloat(val, 32)
			m.Args = append(m.Args, osc.Float32(float32(v)))
		case "T":
			m.Args = append(m.Args, osc.Bool(true))
		case "F":
			m.Args = append(m.Args, osc.Bool(false))
		default:
			h.t.Fatalf("bad argument %q in %q", f, spec)
		}
	}
	if err := h.client.Send(m); err != nil {
		h.t.Fatal(err)
	}
	h.barrier(true)
}

// sendMQTT publishes "<topic> <json>" to the broker as an outside client
// would (NOW in the JSON is the fake clock's time) and waits until the
// cue loop has handled it.
func (h *harness) sendMQTT(spec string) {
	h.t.Helper()
	topic, payload, ok := strings.Cut(spec, " ")
	if !ok {
		h.t.Fatalf("mqtt step %q: want <topic> <json>", spec)
	}
	payload = strings.ReplaceAll(payload, "NOW", h.clk.Now().UTC().Format(time.RFC3339Nano))
	before := h.st.mqttHandled.Load()
	if err := h.broker.Publish(topic, []byte(payload), false, 1); err != nil {
		h.t.Fatal(err)
	}
	waitFor(h.t, "the MQTT command handled", func() bool { return h.st.mqttHandled.Load() > before })
	h.onLoop(func() {})
}

// barrier sends /cuelight/sync from a second socket and waits for its
// replies: the cue loop handles OSC in order, so by then every reply to
// what came before has been sent to the first socket, which is then read
// dry; with record, those replies are written as "reply".
func (h *harness) barrier(record bool) {
	h.t.Helper()
	if err := h.sync.Send(osc.NewMessage("/cuelight/sync")); err != nil {
		h.t.Fatal(err)
	}
	for range h.st.router.local {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := h.sync.Receive(ctx)
		cancel()
		if err != nil {
			h.t.Fatalf("waiting for the sync replies: %v", err)
		}
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		p, err := h.client.Receive(ctx)
		cancel()
		if err != nil {
			return
		}
		if m, ok := p.(*osc.Message); ok && record {
			fmt.Fprintf(&h.out, "reply %s\n", formatMsg(m))
		}
	}
}

// press presses a button on the sim board and lets its press and release
// go through the debouncer (20 ms) and PressFor (100 ms).
func (h *harness) press(pin string) {
	h.t.Helper()
	before := h.st.buttonsHandled.Load()
	start := h.clk.Now()
	if err := h.board.Press(pin); err != nil {
		h.t.Fatalf("press %s: %v", pin, err)
	}
	h.advanceTo(start.Add(20 * time.Millisecond))
	h.waitButtons(before + 1)
	h.advanceTo(start.Add(sim.DefaultPressFor + 20*time.Millisecond))
	h.waitButtons(before + 2)
}

func (h *harness) waitButtons(n int64) {
	h.t.Helper()
	waitFor(h.t, fmt.Sprintf("%d button events handled", n), func() bool { return h.st.buttonsHandled.Load() >= n })
	h.onLoop(func() {})
}

// advanceTo moves the clock to target, stopping at every instant the
// engine changes something, and lets the cue loop handle each one.
func (h *harness) advanceTo(target time.Time) {
	h.t.Helper()
	for {
		var next time.Time
		h.onLoop(func() { next = h.st.engine.NextChange(h.clk.Now()) })
		if next.IsZero() || next.After(target) {
			h.clk.Advance(target.Sub(h.clk.Now()))
			h.onLoop(func() {})
			return
		}
		h.clk.Advance(next.Sub(h.clk.Now()))
		h.onLoop(func() {})
	}
}

// onLoop runs fn on the cue loop (after any timer already due).
func (h *harness) onLoop(fn func()) {
	done := make(chan struct{})
	select {
	case h.st.calls <- func() { fn(); close(done) }:
	case <-time.After(10 * time.Second):
		h.t.Fatal("cue loop not answering")
	}
	<-done
}

// record writes the lamp trace and the feedback seen since the last step.
func (h *harness) record() {
	for _, c := range h.board.Trace() {
		if c.Role == "ack_button" || c.Role == "call_button" {
			continue
		}
		lvl := "off"
		if c.Level {
			lvl = fmt.Sprintf("on %.2f", c.Brightness)
		}
		fmt.Fprintf(&h.out, "pin +%s %s %s.%s %s\n", c.At.Sub(t0), c.Name, c.Channel, c.Role, lvl)
	}
	h.board.ClearTrace()
	buf := make([]byte, 65536)
	for {
		_ = h.feedback.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, err := h.feedback.Read(buf)
		if err != nil {
			break
		}
		p, err := osc.Decode(buf[:n])
		if err != nil {
			fmt.Fprintf(&h.out, "feedback (undecodable) %v\n", err)
			continue
		}
		if m, ok := p.(*osc.Message); ok {
			fmt.Fprintf(&h.out, "feedback %s\n", formatMsg(m))
		}
	}
}

// finish writes every MQTT event, in order, once all have arrived, and the
// final states.
func (h *harness) finish() {
	want := h.st.rep.eventsOut.Load()
	waitFor(h.t, fmt.Sprintf("%d MQTT events at the broker", want), func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return int64(len(h.events)) >= want
	})
	h.mu.Lock()
	fmt.Fprintf(&h.out, "\n== MQTT events\n")
	for _, e := range h.events {
		fmt.Fprintln(&h.out, e)
	}
	h.mu.Unlock()
	fmt.Fprintf(&h.out, "\n== final states\n")
	for _, s := range h.st.States() {
		b, _ := json.Marshal(s)
		fmt.Fprintln(&h.out, string(b))
	}
}

func formatMsg(m *osc.Message) string {
	var b strings.Builder
	b.WriteString(m.Address)
	for _, a := range m.Args {
		if s, ok := a.String(); ok {
			fmt.Fprintf(&b, " %q", s)
		} else {
			fmt.Fprintf(&b, " %v", a)
		}
	}
	return b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
