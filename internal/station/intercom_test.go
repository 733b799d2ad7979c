package station

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/drivertest"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/internal/peertest"
	"github.com/cuelight/cuelight/osc"
)

// Whole-station tests of the headset side (docs/protocol.md §10): call in
// through the sim board and the GPIO fake, late-ack escalation with its
// feedback and Green-GO messages, and a hostile intercom that must never
// delay a lamp.

// intercomShow is a one-station show: fly escalates after 10s and has a
// call_in; greengo is the Green-GO device's address ("" : none).
func intercomShow(feedback, greengo string) string {
	s := `
show: intercom
osc: {listen: 127.0.0.1:0, feedback: [` + feedback + `]}
stations:
  wing: {driver: sim, escalate_after: 10s}
channels:
  fly:
    standby_lamp: GPIO17
    go_lamp: GPIO27
    call_lamp: GPIO25
    call_out: GPIO24
    ack_button: GPIO22
    call_in: GPIO26
    require_ack: true
  sl:
    standby_lamp: GPIO16
`
	if greengo != "" {
		s += "intercom: {greengo: {address: \"" + greengo + "\", channels: {fly: 1, sl: 6}}}\n"
	}
	return s
}

// fbListener is a feedback target: a UDP socket and its messages.
type fbListener struct {
	conn *net.UDPConn
	msgs chan *osc.Message
}

func listenFeedback(t *testing.T) *fbListener {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fbListener{conn: c, msgs: make(chan *osc.Message, 1000)}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(f.msgs)
				return
			}
			if p, err := osc.Decode(buf[:n]); err == nil {
				if m, ok := p.(*osc.Message); ok {
					f.msgs <- m
				}
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return f
}

func (f *fbListener) addr() string { return f.conn.LocalAddr().String() }

// expect waits for a message to address and returns it; other messages
// are skipped.
func (f *fbListener) expect(t *testing.T, address string) *osc.Message {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-f.msgs:
			if !ok {
				t.Fatalf("feedback closed before %s", address)
			}
			if m.Address == address {
				return m
			}
		case <-timeout:
			t.Fatalf("no feedback %s", address)
		}
	}
}

// eventLog collects the station's events (Options.onEvent).
type eventLog struct {
	mu  sync.Mutex
	evs []cues.Event
}

func (l *eventLog) add(ev cues.Event) { l.mu.Lock(); l.evs = append(l.evs, ev); l.mu.Unlock() }

func (l *eventLog) find(kind cues.EventKind, ch string) (cues.Event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.evs {
		if ev.Kind == kind && ev.Channel == ch {
			return ev, true
		}
	}
	return cues.Event{}, false
}

func (l *eventLog) count(kind cues.EventKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.evs {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// docs/protocol.md §10: a call in on the sim board flashes the call lamp
// for call_hold, is a call_in event and /cuelight/call_in/<ch> to the
// feedback targets, and changes neither the cue state nor call_out.
func TestCallInSimBoard(t *testing.T) {
	t.Parallel()
	fb := listenFeedback(t)
	var board *sim.Board
	var log eventLog
	r := startRig(t, intercomShow(fb.addr(), ""), simBoard(&board), func(o *Options) { o.onEvent = log.add })
	r.send(t, osc.NewMessage("/cuelight/fly/standby", osc.String("4")))
	board.ClearTrace()
	if err := board.Press("GPIO26"); err != nil {
		t.Fatal(err)
	}
	r.tick(t, 50*time.Millisecond) // past the debounce
	waitFor(t, "the call in handled", func() bool { return r.st.buttonsHandled.Load() >= 1 })
	fb.expect(t, "/cuelight/call_in/fly")
	ev, ok := log.find(cues.EventCallIn, "fly")
	if !ok || ev.Label != "4" || ev.Source != cues.SourceButton {
		t.Fatalf("call_in event %+v (found %v), want label 4 from the button", ev, ok)
	}
	r.tick(t, 6*time.Second) // through call_hold
	checkCallLamp(t, board.Trace())
	if cs := r.state(t, "fly"); cs.State != cues.StateStandby || cs.Label != "4" {
		t.Errorf("fly is %s %q after a call in, want standby 4", cs.State, cs.Label)
	}
}

// checkCallLamp checks a sim trace: the call lamp flashed (lit and dark
// again) and ended dark, and call_out was never driven.
func checkCallLamp(t *testing.T, trace []sim.Change) {
	t.Helper()
	var lamp []bool
	for _, c := range trace {
		switch c.Name {
		case "GPIO25":
			lamp = append(lamp, c.Level)
		case "GPIO24":
			if c.Level {
				t.Errorf("call_out driven by a call in at %v", c.At)
			}
		}
	}
	if len(lamp) < 4 || !lamp[0] || lamp[len(lamp)-1] {
		t.Errorf("call lamp changes %v: want it to flash and end dark", lamp)
	}
}

// The same through the GPIO fake, with raw edges through the debouncer.
func TestCallInGPIOFake(t *testing.T) {
	t.Parallel()
	fb := listenFeedback(t)
	var board *drivertest.Board
	var log eventLog
	r := startRig(t, intercomShow(fb.addr(), ""), func(clk clockwork.Clock) drivers.Board {
		board = drivertest.NewBoard(clk)
		return board
	}, func(o *Options) { o.onEvent = log.add })
	btn := board.FakeButton("GPIO26")
	// Debounced events (the debouncer itself is the sim test's and the
	// drivers' business): the station's mapping of the call_in pin.
	btn.Events <- drivers.ButtonEvent{Kind: drivers.Press}
	waitFor(t, "the call in handled", func() bool { return r.st.buttonsHandled.Load() >= 1 })
	fb.expect(t, "/cuelight/call_in/fly")
	if _, ok := log.find(cues.EventCallIn, "fly"); !ok {
		t.Fatal("no call_in event")
	}
	r.tick(t, 6*time.Second)
	var lit, dark int
	for _, w := range board.FakeLamp("GPIO25").Writes() {
		if w.Level > 0 {
			lit++
		} else {
			dark++
		}
	}
	if lit < 2 || dark < 2 || board.FakeLamp("GPIO25").Level() != 0 {
		t.Errorf("call lamp writes %v: want a flash that ends dark", board.FakeLamp("GPIO25").Writes())
	}
	if ws := board.FakeSignal("GPIO24").Writes(); slices.ContainsFunc(ws, func(w drivertest.Write) bool { return w.Level > 0 }) {
		t.Errorf("call_out written %v by a call in", ws)
	}
	if cs := r.state(t, "fly"); cs.State != cues.StateOff {
		t.Errorf("fly is %s after a call in, want off", cs.State)
	}
	// Held down: a stuck call in is one fault, like a button.
	btn.Events <- drivers.ButtonEvent{Kind: drivers.Release}
	btn.Events <- drivers.ButtonEvent{Kind: drivers.Stuck}
	waitFor(t, "a stuck fault", func() bool { _, ok := log.find(cues.EventFault, "fly"); return ok })
	if ev, _ := log.find(cues.EventFault, "fly"); !strings.Contains(ev.Reason, "call in") {
		t.Errorf("fault reason %q does not name the call in", ev.Reason)
	}
}

// dumpDevice is liblo's oscdump standing in for the Green-GO device.
func dumpDevice(t *testing.T) (addr string, lines <-chan string) {
	t.Helper()
	bin := peertest.Need(t, "oscdump")
	for try := 0; try < 5; try++ {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		u.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, "-L", fmt.Sprintf("osc.udp://:%d", port))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ch := make(chan string, 1000)
		exited := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				ch <- sc.Text()
			}
			close(ch)
			_ = cmd.Wait()
			close(exited)
		}()
		t.Cleanup(func() { cancel(); <-exited })
		probe, err := osc.DialUDP(fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			_ = probe.Send(osc.NewMessage("/ready"))
			select {
			case l, ok := <-ch:
				if !ok {
					deadline = time.Time{}
					continue
				}
				if strings.Contains(l, " /ready") {
					_ = probe.Send(osc.NewMessage("/ready/last"))
					for l := range ch {
						if strings.Contains(l, " /ready/last") {
							probe.Close()
							return fmt.Sprintf("127.0.0.1:%d", port), ch
						}
					}
				}
			case <-time.After(20 * time.Millisecond):
			}
		}
		probe.Close()
	}
	t.Fatal("could not start oscdump")
	return "", nil
}

func nextDump(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l := <-lines:
		_, rest, _ := strings.Cut(l, " ")
		return rest
	case <-time.After(20 * time.Second):
		t.Fatal("oscdump printed nothing")
		return ""
	}
}

// docs/protocol.md §10: a standby not acknowledged within escalate_after
// calls the position (call_out, call lamp, a Green-GO alert call), is a
// late_ack event and /cuelight/late_ack/<ch> ,s <label> to the feedback
// targets; the ACK clears it; the cue states reach the Green-GO device
// (oscdump) as cue signals; the device's replies make the intercom ok.
func TestLateAckStation(t *testing.T) {
	t.Parallel()
	fb := listenFeedback(t)
	dev, lines := dumpDevice(t)
	var board *sim.Board
	var log eventLog
	r := startRig(t, intercomShow(fb.addr(), dev), simBoard(&board), func(o *Options) { o.onEvent = log.add })
	if got := r.st.info().Intercom; got != "lost" {
		t.Errorf("info intercom = %q before the device is heard, want lost", got)
	}
	r.send(t, osc.NewMessage("/cuelight/fly/standby", osc.String("12")))
	if got := nextDump(t, lines); got != "/ggo/cmd/channel/cue ii 2 1" {
		t.Errorf("Green-GO got %q for the standby, want cue ii 2 1 (attention)", got)
	}
	r.tick(t, 9*time.Second)
	if _, ok := log.find(cues.EventLateAck, "fly"); ok {
		t.Fatal("late_ack before escalate_after")
	}
	r.tick(t, time.Second)
	m := fb.expect(t, "/cuelight/late_ack/fly")
	if m.TypeTags() != ",s" {
		t.Errorf("late_ack feedback types %s, want ,s", m.TypeTags())
	} else if l, _ := m.Args[0].String(); l != "12" {
		t.Errorf("late_ack feedback label %q, want 12", l)
	}
	ev, _ := log.find(cues.EventLateAck, "fly")
	if ev.ElapsedMs != 10000 || ev.Label != "12" {
		t.Errorf("late_ack event %+v, want elapsed 10000 ms, label 12", ev)
	}
	if got := nextDump(t, lines); got != "/ggo/cmd/channel/call ii 2 1" {
		t.Errorf("Green-GO got %q for the escalation, want call ii 2 1 (alert)", got)
	}
	if p, _ := board.Pin("GPIO24"); !p.Level {
		t.Error("call_out not driven by the escalation")
	}
	// The ACK clears it.
	if err := board.Press("GPIO22"); err != nil {
		t.Fatal(err)
	}
	r.tick(t, 50*time.Millisecond)
	waitFor(t, "the ack", func() bool { _, ok := log.find(cues.EventAck, "fly"); return ok })
	if p, _ := board.Pin("GPIO24"); p.Level {
		t.Error("call_out still driven after the ack")
	}
	if got := nextDump(t, lines); got != "/ggo/cmd/channel/cue ii 3 1" {
		t.Errorf("Green-GO got %q for the ack, want cue ii 3 1 (ready)", got)
	}
	r.send(t, osc.NewMessage("/cuelight/fly/go"))
	if got := nextDump(t, lines); got != "/ggo/cmd/channel/cue ii 4 1" {
		t.Errorf("Green-GO got %q for the go, want cue ii 4 1", got)
	}
	if ev, _ := log.find(cues.EventGo, "fly"); ev.Unacknowledged {
		t.Error("a GO after the ack marked unacknowledged")
	}
	r.send(t, osc.NewMessage("/cuelight/all/hold"))
	for _, want := range []string{"/ggo/cmd/channel/cue ii 5 1", "/ggo/cmd/channel/cue ii 5 6"} {
		if got := nextDump(t, lines); got != want {
			t.Errorf("Green-GO got %q for the hold, want %q", got, want)
		}
	}
	if n := log.count(cues.EventLateAck); n != 1 {
		t.Errorf("%d late_ack events, want 1", n)
	}
	// The device answers: intercom ok in the station's info.
	send := peertest.Need(t, "oscsend")
	lp := r.st.intercom.gg.LocalAddr()
	if out, err := exec.Command(send, "127.0.0.1", strconv.Itoa(int(lp.Port())), "/ggo/state/channel/cue", "ii", "5", "1").CombinedOutput(); err != nil {
		t.Fatalf("oscsend: %v %s", err, out)
	}
	waitFor(t, "intercom ok", func() bool { return r.st.info().Intercom == "ok" })
	waitFor(t, "6 messages counted", func() bool { return r.st.Stats().Intercom.Sent == 6 })
	if st := r.st.Stats().Intercom; st == nil || st.Received != 1 || st.Sent != 6 {
		t.Errorf("intercom stats %+v, want 1 received and 6 sent", st)
	}
}

// docs/protocol.md §10: a misbehaving intercom never slows the cue path.
// A hostile "device" floods the adapter with garbage, oversized datagrams
// and valid replies, and reads nothing we send, while the booth sends
// commands; the time from each OSC command to its reply (sent only after
// the lamp was written) is measured with and without the flood.
func TestHostileIntercomNeverDelaysALamp(t *testing.T) {
	t.Parallel()
	dev, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	fb := listenFeedback(t)
	var board *sim.Board
	r := startRig(t, intercomShow(fb.addr(), dev.LocalAddr().String()), simBoard(&board), nil)
	measure := func(n int) []time.Duration {
		var d []time.Duration
		for i := 0; i < n; i++ {
			verb := "standby"
			if i%2 == 1 {
				verb = "off"
			}
			start := time.Now()
			r.send(t, osc.NewMessage("/cuelight/sl/"+verb, osc.String("1")))
			d = append(d, time.Since(start))
			if p, _ := board.Pin("GPIO16"); p.Level != (verb == "standby") {
				t.Fatalf("lamp not %s after the reply", verb)
			}
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d
	}
	quietRun := measure(200)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	// The adapter listens on every interface; the flood comes over loopback.
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(r.st.intercom.gg.LocalAddr().Port())}
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			junk := []byte("\x00\x00\x00garbage")
			big := make([]byte, 60000)
			reply, _ := osc.NewMessage("/ggo/state/channel/cue", osc.Int32(2), osc.Int32(1)).MarshalBinary()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				switch (i + w) % 3 {
				case 0:
					_, _ = dev.WriteToUDP(junk, to)
				case 1:
					_, _ = dev.WriteToUDP(big, to)
				default:
					_, _ = dev.WriteToUDP(reply, to)
				}
			}
		}(w)
	}
	waitFor(t, "the flood arriving", func() bool {
		st := r.st.Stats().Intercom
		return st != nil && st.Ignored > 100 && st.Received > 10
	})
	floodRun := measure(200)
	close(stop)
	wg.Wait()
	st := r.st.Stats().Intercom
	q := func(d []time.Duration, p float64) time.Duration { return d[int(p*float64(len(d)-1))] }
	t.Logf("OSC→reply (lamp written before the reply), 200 commands each, shared machine:")
	t.Logf("  quiet: p50 %v p99 %v max %v", q(quietRun, 0.5), q(quietRun, 0.99), quietRun[len(quietRun)-1])
	t.Logf("  flood: p50 %v p99 %v max %v", q(floodRun, 0.5), q(floodRun, 0.99), floodRun[len(floodRun)-1])
	t.Logf("  intercom during the flood: %+v", *st)
	if max := floodRun[len(floodRun)-1]; max > time.Second { // generous: the flood itself takes CPU on a shared machine
		t.Errorf("a lamp took %v during the intercom flood", max)
	}
	if st.Errors != 0 && st.Sent == 0 {
		t.Errorf("nothing reached the device: %+v", *st)
	}
}
