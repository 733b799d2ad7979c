package mqttlink

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cuelight/cuelight/internal/testkit"
)

// Tests of the publisher's in-flight window: publishing never waits for a
// round trip, and coalesces only when the broker really is behind.

// slowProxy relays TCP between the link and a broker and holds back the
// broker → link direction (where the PUBACKs travel): each chunk is passed
// on delay after it arrived, and not at all while the gate is closed.
type slowProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration

	mu     sync.Mutex
	closed bool          // the gate: hold everything back
	open   chan struct{} // closed when the gate opens
}

func newSlowProxy(t *testing.T, target string, delay time.Duration) *slowProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{ln: ln, target: target, delay: delay, open: make(chan struct{})}
	close(p.open)
	var conns sync.Map
	t.Cleanup(func() {
		ln.Close()
		p.setGate(false)
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			conns.Store(c, true)
			conns.Store(u, true)
			go func() { _, _ = io.Copy(u, c); u.Close(); c.Close() }()
			go p.relaySlow(c, u)
		}
	}()
	return p
}

func (p *slowProxy) url() string { return "tcp://" + p.ln.Addr().String() }

// hold closes the gate: nothing more reaches the link until release.
func (p *slowProxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed, p.open = true, make(chan struct{})
	}
}

// release opens the gate.
func (p *slowProxy) release() { p.setGate(true) }

func (p *slowProxy) setGate(open bool) {
	if !open {
		p.hold()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.closed = false
		close(p.open)
	}
}

func (p *slowProxy) gate() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}

// relaySlow copies src to dst, each chunk delay after it was read, in order.
func (p *slowProxy) relaySlow(dst, src net.Conn) {
	type chunk struct {
		at time.Time
		b  []byte
	}
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				q <- chunk{time.Now(), b[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	defer dst.Close()
	for c := range q {
		time.Sleep(time.Until(c.at.Add(p.delay)))
		<-p.gate()
		if _, err := dst.Write(c.b); err != nil {
			return
		}
	}
}

// paced calls f(i) for i in [0, n), period apart (wall clock: it paces the
// load, nothing is asserted on time).
func paced(n int, period time.Duration, f func(i int)) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for i := range n {
		f(i)
		<-tick.C
	}
}

// expectStates reads messages on topic until it has seen want state
// labels, and fails unless they are exactly want, in order. Other topics
// are skipped; messages before the first wanted label (the connect's
// snapshot) too.
func expectLabels(t *testing.T, w *watcher, topic string, want []string) {
	t.Helper()
	var got []string
	deadline := time.After(wait + time.Duration(len(want))*10*time.Millisecond)
	for len(got) < len(want) {
		select {
		case m := <-w.msgs:
			if m.topic != topic {
				continue
			}
			s := decode[State](t, m)
			if len(got) == 0 && s.Label != want[0] {
				continue
			}
			got = append(got, s.Label)
		case <-deadline:
			t.Fatalf("%s: %d of %d states arrived; last %v", topic, len(got), len(want), got[max(len(got)-5, 0):])
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: state %d has label %q, want %q (states skipped or out of order)", topic, i, got[i], want[i])
			}
		}
	}
}

// standbys publishes n standbys (state and event) on channel ch of st,
// every period, each with a new label, and returns the labels.
func standbys(l *Link, st *station, ch string, n int, period time.Duration) []string {
	labels := make([]string, n)
	paced(n, period, func(i int) {
		labels[i] = "q" + strconv.Itoa(i+1)
		s := st.set(ch, "standby", labels[i])
		l.PublishState(s)
		l.PublishEvent(Event{Event: "standby", Channel: ch, Station: s.Station, Label: s.Label, Seq: s.Seq, Epoch: s.Epoch})
	})
	return labels
}

// expectEvents reads n events on topic and fails unless their labels are
// want, in order.
func expectEvents(t *testing.T, w *watcher, topic string, want []string) {
	t.Helper()
	deadline := time.After(wait + time.Duration(len(want))*10*time.Millisecond)
	for i := 0; i < len(want); {
		select {
		case m := <-w.msgs:
			if m.topic != topic {
				continue
			}
			if e := decode[Event](t, m); e.Label != want[i] {
				t.Fatalf("event %d: label %q, want %q", i, e.Label, want[i])
			}
			i++
		case <-deadline:
			t.Fatalf("%s: %d of %d events arrived", topic, i, len(want))
		}
	}
}

// A stock Mosquitto (Nagle on, so its PUBACKs may sit for milliseconds):
// every one of 300 standbys 10 ms apart reaches a subscriber, in order.
func TestMosquittoEveryStandbyInOrder(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	w := watch(t, m.url(), "cuelight/channel/#")
	st := newStation("s", "fly")
	l := startLink(t, m.url(), st, "s", nil)
	waitStatus(t, l, true)
	w.expect(t, "cuelight/channel/fly/state", nil) // the connect's snapshot

	labels := standbys(l, st, "fly", 300, 10*time.Millisecond)
	expectLabels(t, w, "cuelight/channel/fly/state", labels)
	if f := l.pubFailures.Load(); f != 0 {
		t.Errorf("%d publish failures", f)
	}
}

// PUBACKs 20 ms late (a proxy holds back every byte from the broker): the
// link keeps publishing, and at 100 standbys/s no state and no event is
// lost or reordered.
func TestLateAcksDoNotStallPublishing(t *testing.T) {
	t.Parallel()
	baddr := embedded(t)
	p := newSlowProxy(t, baddr, 20*time.Millisecond)
	w := watch(t, "tcp://"+baddr, "cuelight/channel/#")
	st := newStation("s", "fly")
	l := startLink(t, p.url(), st, "s", nil)
	waitStatus(t, l, true)
	w.expect(t, "cuelight/channel/fly/state", nil)

	var labels []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		labels = standbys(l, st, "fly", 300, 10*time.Millisecond)
	}()
	<-done
	// The watcher's messages interleave states and events: check each
	// topic from a copy of the stream.
	all := drain(t, w, 2*len(labels))
	states, events := &watcher{msgs: make(chan msg, len(all))}, &watcher{msgs: make(chan msg, len(all))}
	for _, m := range all {
		states.msgs <- m
		events.msgs <- m
	}
	expectLabels(t, states, "cuelight/channel/fly/state", labels)
	expectEvents(t, events, "cuelight/channel/fly/event", labels)
	if d := l.dropped.Load(); d != 0 {
		t.Errorf("%d events dropped", d)
	}
}

// drain collects n messages after the first labelled standby.
func drain(t *testing.T, w *watcher, n int) []msg {
	t.Helper()
	var out []msg
	deadline := time.After(3*wait + time.Duration(n)*20*time.Millisecond) // generous: under qemu-user everything is slower
	for len(out) < n {
		select {
		case m := <-w.msgs:
			if len(out) == 0 && !strings.Contains(m.payload, `"label":"q1"`) {
				continue
			}
			out = append(out, m)
		case <-deadline:
			t.Fatalf("%d of %d messages arrived", len(out), n)
		}
	}
	return out
}

// With the broker's acknowledgements held back entirely, the window fills:
// then, and only then, new states replace the queued one, and events drop
// the oldest, counted and logged. Once the acknowledgements come, the
// latest state and the newest events go out.
func TestFullWindowCoalescesStatesAndDropsOldestEvents(t *testing.T) {
	t.Parallel()
	baddr := embedded(t)
	p := newSlowProxy(t, baddr, 0)
	w := watch(t, "tcp://"+baddr, "cuelight/channel/#")
	st := newStation("s", "fly")
	var logs testkit.SyncBuffer
	l := startLink(t, p.url(), st, "s", func(o *Options) {
		o.Window, o.QueueSize = 4, 4
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	waitStatus(t, l, true)
	w.expect(t, "cuelight/channel/fly/state", nil)

	p.hold()
	// Four states fill the window: each reaches the broker (and the
	// subscriber) but its PUBACK is held.
	for i := 1; i <= 4; i++ {
		s := st.set("fly", "standby", "q"+strconv.Itoa(i))
		l.PublishState(s)
		w.expect(t, "cuelight/channel/fly/state", func(m msg) bool { return decode[State](t, m).Label == s.Label })
	}
	// The window is full: q5 is queued, q6…q10 replace it.
	for i := 5; i <= 10; i++ {
		l.PublishState(st.set("fly", "standby", "q"+strconv.Itoa(i)))
	}
	for i := 1; i <= 10; i++ {
		l.PublishEvent(Event{Event: "press", Channel: "fly", Label: "e" + strconv.Itoa(i)})
	}
	if d := l.dropped.Load(); d != 6 {
		t.Fatalf("%d events dropped, want 6 (10 into a queue of 4)", d)
	}
	if s, e := l.out.queued(); s != 1 || e != 4 {
		t.Fatalf("queued: %d states, %d events; want 1 and 4", s, e)
	}
	// The cue loop is never held up by the full window: publishing more
	// returns at once (the states replace the queued one; these events
	// push out each other, and are counted).
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20000 {
			l.PublishState(State{Channel: "fly", Seq: -1})
			l.PublishInfo(Info{Version: fmt.Sprint(i)})
		}
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("publishing blocked while the window was full")
	}
	l.PublishState(st.set("fly", "standby", "q10")) // the latest again
	p.release()

	w.expect(t, "cuelight/channel/fly/state", func(m msg) bool {
		if s := decode[State](t, m); s.Label != "q10" {
			t.Fatalf("after the window freed: state %q, want q10 (the latest; q5…q9 coalesced)", s.Label)
		}
		return true
	})
	for i := 7; i <= 10; i++ {
		if e := decode[Event](t, w.next(t, "cuelight/channel/fly/event")); e.Label != fmt.Sprint("e", i) {
			t.Fatalf("event %q, want e%d (the 4 newest, in order)", e.Label, i)
		}
	}
	if !strings.Contains(logs.String(), "dropped the oldest event") || !strings.Contains(logs.String(), "dropped_total=1") {
		t.Errorf("drops not logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "mqtt window full") || !strings.Contains(logs.String(), "coalesced_total=1\n") ||
		!strings.Contains(logs.String(), "coalesced_total=10000") {
		t.Errorf("coalesced states not logged:\n%s", logs.String())
	}
}

// The outbox's rules on their own: room means one entry per change; no
// room means the channel's queued entry takes the change; order is the
// hand-over order across states and events.
func TestOutbox(t *testing.T) {
	t.Parallel()
	pops := func(o *outbox) string {
		var out []string
		for it, ok := o.pop(); ok; it, ok = o.pop() {
			switch {
			case it.info != nil:
				out = append(out, "info")
			case it.state != nil:
				out = append(out, it.state.Channel+strconv.FormatInt(it.state.Seq, 10))
			default:
				out = append(out, "ev"+strconv.FormatInt(it.event.Seq, 10))
			}
		}
		return strings.Join(out, " ")
	}
	st := func(ch string, seq int64) State { return State{Channel: ch, Seq: seq, Epoch: "e"} }

	t.Run("room: every change queued, in order with events", func(t *testing.T) {
		o := newOutbox(8)
		o.putState(st("fly", 1), 0, 8)
		o.putEvent(Event{Seq: 1})
		o.putState(st("fly", 2), 0, 8)
		o.putState(st("sl", 1), 0, 8)
		o.putInfo(Info{})
		if got := pops(o); got != "info fly1 ev1 fly2 sl1" {
			t.Fatalf("popped %q", got)
		}
	})
	t.Run("window full: the queued state of the channel takes the change", func(t *testing.T) {
		o := newOutbox(8)
		o.putState(st("fly", 1), 8, 8) // none queued: queued anyway
		if c := o.putState(st("fly", 2), 8, 8); !c {
			t.Fatal("fly2 not coalesced with the window full")
		}
		o.putState(st("sl", 1), 8, 8)
		o.putState(st("fly", 3), 8, 8)
		if got := pops(o); got != "fly3 sl1" {
			t.Fatalf("popped %q", got)
		}
	})
	t.Run("queue and window together bound the room", func(t *testing.T) {
		o := newOutbox(8)
		o.putState(st("fly", 1), 2, 4)
		o.putState(st("fly", 2), 2, 4)
		o.putState(st("fly", 3), 2, 4) // 2 in flight + 2 queued: full
		if got := pops(o); got != "fly1 fly3" {
			t.Fatalf("popped %q", got)
		}
	})
	t.Run("requeue goes first unless a newer one waits", func(t *testing.T) {
		o := newOutbox(8)
		o.putState(st("sl", 5), 0, 8)
		o.requeue(st("fly", 1))
		o.requeue(st("sl", 4))
		if got := pops(o); got != "fly1 sl5" {
			t.Fatalf("popped %q", got)
		}
	})
	t.Run("a snapshot supersedes older queued states only", func(t *testing.T) {
		o := newOutbox(8)
		o.putState(st("fly", 1), 0, 8)
		o.putState(st("fly", 2), 0, 8)
		o.putState(st("sl", 1), 0, 8)
		if o.supersede(st("fly", 2)) {
			t.Fatal("supersede: no newer fly state is queued")
		}
		if !o.supersede(st("sl", 0)) {
			t.Fatal("supersede: sl1 is newer than the snapshot's sl0")
		}
		if got := pops(o); got != "sl1" {
			t.Fatalf("popped %q", got)
		}
	})
}

// Several stations on one stock Mosquitto, each at 100 standbys/s at the
// same time: every station's states arrive, complete and in order.
func TestSeveralStationsOnOneMosquitto(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	w := watch(t, m.url(), "cuelight/channel/#")
	const stations, n = 3, 200
	links := make([]*Link, stations)
	sts := make([]*station, stations)
	for i := range stations {
		name, ch := fmt.Sprint("st", i), fmt.Sprint("ch", i)
		sts[i] = newStation(name, ch)
		links[i] = startLink(t, m.url(), sts[i], name, nil)
		waitStatus(t, links[i], true)
	}
	want := make([][]string, stations)
	var wg sync.WaitGroup
	for i := range stations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want[i] = standbys(links[i], sts[i], fmt.Sprint("ch", i), n, 10*time.Millisecond)
		}()
	}
	wg.Wait()
	got := make([][]string, stations)
	deadline := time.After(wait)
	for complete := 0; complete < stations; {
		select {
		case msg := <-w.msgs:
			var i int
			if _, err := fmt.Sscanf(msg.topic, "cuelight/channel/ch%d/state", &i); err != nil || i < 0 || i >= stations {
				continue
			}
			if s := decode[State](t, msg); strings.HasPrefix(s.Label, "q") {
				got[i] = append(got[i], s.Label)
				if len(got[i]) == n {
					complete++
				}
			}
		case <-deadline:
			complete = stations
		}
	}
	for i := range stations {
		if strings.Join(got[i], ",") != strings.Join(want[i], ",") {
			t.Errorf("station %d: %d of %d states, in order: %v", i, len(got[i]), n, strings.Join(got[i], ",") == strings.Join(want[i][:min(len(got[i]), n)], ","))
		}
	}
}

// TestCloseRightAfterConnectSaysOffline: a link closed while its on-connect
// work still waits for the broker (here every byte from the broker is held
// back 200 ms) has already published its retained "online". Close must
// replace it with "offline": a clean disconnect sends no Will, so the
// station would otherwise be shown online after a stop right after it
// connected (cuectl TestStationOffline caught this once).
func TestCloseRightAfterConnectSaysOffline(t *testing.T) {
	t.Parallel()
	baddr := embedded(t)
	p := newSlowProxy(t, baddr, 200*time.Millisecond)
	w := watch(t, "tcp://"+baddr, "cuelight/station/s/status")
	l := startLink(t, p.url(), newStation("s", "fly"), "s", nil)
	w.expect(t, "cuelight/station/s/status", func(m msg) bool { return m.payload == "online" })
	if l.Connected() {
		t.Fatal("the on-connect work had finished already: the broker's bytes were not held back")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	w.expect(t, "cuelight/station/s/status", func(m msg) bool { return m.payload == "offline" })
}
