package mqttlink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Tests against the embedded broker (internal/broker, a child process as in
// production). Every wait is for an event, with a generous deadline.

func TestConnectPublishesOnlineInfoAndState(t *testing.T) {
	t.Parallel()
	addr := "tcp://" + embedded(t)
	w := watch(t, addr, "cuelight/#")
	st := newStation("sl-wing", "fly", "sl")
	l := startLink(t, addr, st, "sl-wing", nil)
	waitStatus(t, l, true)
	if !l.Connected() {
		t.Fatal("Connected() false after a connected status")
	}

	if m := w.next(t, "cuelight/station/sl-wing/status"); m.payload != "online" || m.qos != 1 {
		t.Fatalf("status %+v, want online at QoS 1", m)
	}
	info := decode[Info](t, w.next(t, "cuelight/station/sl-wing/info"))
	if info.Version != "test" || info.Epoch != "ep1" || info.Show != "test show" || info.Link != "none" ||
		info.MQTT == nil || info.MQTT.ClientID != "cuelight-sl-wing" || info.MQTT.Connects != 1 || info.MQTT.Broker != addr {
		t.Fatalf("info %+v (mqtt %+v)", info, info.MQTT)
	}
	for _, ch := range []string{"fly", "sl"} {
		s := decode[State](t, w.next(t, "cuelight/channel/"+ch+"/state"))
		if s != st.states[ch] {
			t.Fatalf("state %+v, want %+v", s, st.states[ch])
		}
	}

	// A later subscriber gets all of it retained (in the broker's order).
	late := watch(t, addr, "cuelight/#")
	want := map[string]bool{"cuelight/station/sl-wing/status": true, "cuelight/station/sl-wing/info": true, "cuelight/channel/fly/state": true, "cuelight/channel/sl/state": true}
	for range want {
		select {
		case m := <-late.msgs:
			if !want[m.topic] || !m.retained {
				t.Fatalf("late subscriber got %+v, want one of the retained topics", m)
			}
			delete(want, m.topic)
		case <-time.After(wait):
			t.Fatalf("late subscriber: retained messages missing: %v", want)
		}
	}
}

func TestWillOnAbnormalDisconnectThenRepublish(t *testing.T) {
	t.Parallel()
	baddr := embedded(t)
	p := newProxy(t, baddr, true)
	w := watch(t, "tcp://"+baddr, "cuelight/#")
	st := newStation("sr-wing", "fly")
	l := startLink(t, p.url(), st, "sr-wing", nil)
	waitStatus(t, l, true)
	w.expect(t, "cuelight/station/sr-wing/status", payloadIs("online"))
	w.expect(t, "cuelight/channel/fly/state", func(m msg) bool { return decode[State](t, m).Seq == 1 })

	p.setUp(false) // the connection dies without a DISCONNECT, and stays down
	if m := w.next(t, "cuelight/station/sr-wing/status"); m.payload != "offline" {
		t.Fatalf("after the connection died: status %+v, want the Will offline", m)
	}
	waitStatus(t, l, false)
	// The station changes state while the link is down.
	l.PublishState(st.set("fly", "standby", "23"))
	p.setUp(true)

	waitStatus(t, l, true)
	if m := w.next(t, "cuelight/station/sr-wing/status"); m.payload != "online" {
		t.Fatalf("after reconnect: status %+v, want online", m)
	}
	info := decode[Info](t, w.next(t, "cuelight/station/sr-wing/info"))
	if info.MQTT.Connects != 2 {
		t.Errorf("info after reconnect says %d connects, want 2", info.MQTT.Connects)
	}
	s := decode[State](t, w.next(t, "cuelight/channel/fly/state"))
	if s.Seq != 2 || s.State != "standby" || s.Label != "23" {
		t.Fatalf("state after reconnect %+v, want seq 2 standby 23", s)
	}
	// Published once: the queued copy was the same as the snapshot's.
	l.PublishEvent(Event{Event: "marker", Channel: "fly"})
	w.next(t, "cuelight/channel/fly/event")
	select {
	case m := <-w.msgs:
		t.Fatalf("unexpected message after the marker: %+v", m)
	default:
	}
}

func TestEventsArriveAtQoS1InOrder(t *testing.T) {
	t.Parallel()
	addr := "tcp://" + embedded(t)
	w := watch(t, addr, "cuelight/channel/+/event")
	st := newStation("s", "fly", "sl")
	l := startLink(t, addr, st, "s", nil)
	waitStatus(t, l, true)
	const n = 500
	for i := range n {
		ch := []string{"fly", "sl"}[i%2]
		l.PublishEvent(Event{Event: "press", Channel: ch, Station: "s", At: FormatTime(t0), Source: "button", Seq: int64(i), Epoch: "ep1"})
	}
	for i := range n {
		var m msg
		select {
		case m = <-w.msgs:
		case <-time.After(wait):
			t.Fatalf("event %d of %d did not arrive", i, n)
		}
		e := decode[Event](t, m)
		if e.Seq != int64(i) || m.qos != 1 || m.retained || m.topic != "cuelight/channel/"+e.Channel+"/event" {
			t.Fatalf("message %d: %+v (seq %d), want seq %d at QoS 1, not retained", i, m, e.Seq, i)
		}
	}
	if l.dropped.Load() != 0 {
		t.Fatalf("Dropped() = %d", l.dropped.Load())
	}
}

func TestFullQueueDropsOldestAndStatesCoalesce(t *testing.T) {
	t.Parallel()
	baddr := embedded(t)
	p := newProxy(t, baddr, false) // the broker is unreachable at first
	w := watch(t, "tcp://"+baddr, "cuelight/#")
	st := newStation("s", "fly")
	l := startLink(t, p.url(), st, "s", func(o *Options) { o.QueueSize = 8 })
	if s := waitStatus(t, l, false); s.Err == nil {
		t.Fatal("not-connected status without the reason")
	}

	for i := range 13 {
		l.PublishEvent(Event{Event: "press", Channel: "fly", Seq: int64(i)})
	}
	if got := l.dropped.Load(); got != 5 {
		t.Fatalf("Dropped() = %d, want 5", got)
	}
	for _, s := range []string{"standby", "ack", "go"} {
		l.PublishState(st.set("fly", s, "7"))
	}

	p.setUp(true)
	waitStatus(t, l, true)
	info := decode[Info](t, w.next(t, "cuelight/station/s/info"))
	if info.DroppedEvents != 5 {
		t.Errorf("info.dropped_events = %d, want 5", info.DroppedEvents)
	}
	// Only the latest state: intermediate ones were superseded, not queued.
	if s := decode[State](t, w.next(t, "cuelight/channel/fly/state")); s.State != "go" || s.Seq != 4 {
		t.Fatalf("first state after connect %+v, want the latest (go, seq 4)", s)
	}
	for want := int64(5); want < 13; want++ {
		if e := decode[Event](t, w.next(t, "cuelight/channel/fly/event")); e.Seq != want {
			t.Fatalf("event seq %d, want %d (the 8 newest, in order)", e.Seq, want)
		}
	}
	l.PublishEvent(Event{Event: "marker", Channel: "fly", Seq: 99})
	if e := decode[Event](t, w.next(t, "cuelight/channel/fly/event")); e.Seq != 99 {
		t.Fatalf("after the queued events: %+v, want the marker", e)
	}
}

func TestCommandsFromTheBroker(t *testing.T) {
	t.Parallel()
	baddr := embedded(t)
	p := newProxy(t, baddr, true)
	st := newStation("s", "fly", "sl")
	l := startLink(t, p.url(), st, "s", nil)
	waitStatus(t, l, true)
	pub := publisher(t, "tcp://"+baddr)

	send(t, pub, "cuelight/channel/fly/cmd", false, cmdNow("c1", "go", "23"))
	if in := inbound(t, l); in.Rejected || in.Channel != "fly" || in.Cmd.ID != "c1" || in.Cmd.Cmd != "go" || in.Cmd.Label != "23" || in.Topic != "cuelight/channel/fly/cmd" {
		t.Fatalf("accepted command: %+v", in)
	}
	send(t, pub, "cuelight/all/cmd", false, cmdNow("c2", "hold", ""))
	if in := inbound(t, l); in.Rejected || in.Channel != "" || in.Cmd.Cmd != "hold" {
		t.Fatalf("all/cmd: %+v", in)
	}

	for _, tc := range []struct {
		name, topic, payload string
		kind                 error
		reason               string
	}{
		{"duplicate", "cuelight/channel/fly/cmd", cmdNow("c1", "go", "23"), ErrDuplicate, "duplicate command id"},
		{"stale", "cuelight/channel/sl/cmd", cmdAt("c3", "go", t0.Add(-3200*time.Millisecond), ""), ErrStale, "stale: sent 3.2 s ago, ttl 2 s"},
		{"future", "cuelight/channel/sl/cmd", cmdAt("c4", "go", t0.Add(time.Minute), ""), ErrFuture, "from the future"},
		{"not JSON", "cuelight/channel/sl/cmd", "GO!", ErrMalformed, "malformed command: invalid JSON"},
		{"unknown cmd", "cuelight/all/cmd", cmdNow("c5", "explode", ""), ErrMalformed, `unknown cmd "explode"`},
	} {
		send(t, pub, tc.topic, false, tc.payload)
		in := inbound(t, l)
		if !in.Rejected || !errors.Is(in.Err, tc.kind) || !strings.Contains(in.Reason, tc.reason) {
			t.Errorf("%s: %+v, want rejected %v %q", tc.name, in, tc.kind, tc.reason)
		}
	}

	// Not ours, and retained: neither reaches the station.
	send(t, pub, "cuelight/channel/trap/cmd", false, cmdNow("c6", "go", ""))
	send(t, pub, "cuelight/channel/fly/cmd", true, cmdNow("c7", "go", "retained"))
	send(t, pub, "cuelight/channel/fly/cmd", false, cmdNow("m1", "off", ""))
	if in := inbound(t, l); in.Cmd.ID != "m1" {
		t.Fatalf("got %+v, want the marker m1 (another station's or a retained command came through)", in)
	}
	// Nor after a reconnect (a resubscription would replay a retained one).
	p.kill()
	waitStatus(t, l, false)
	waitStatus(t, l, true)
	send(t, pub, "cuelight/channel/fly/cmd", false, cmdNow("m2", "off", ""))
	if in := inbound(t, l); in.Cmd.ID != "m2" {
		t.Fatalf("after reconnect got %+v, want the marker m2", in)
	}
}

func TestCloseFlushesAndPublishesOffline(t *testing.T) {
	t.Parallel()
	addr := "tcp://" + embedded(t)
	w := watch(t, addr, "cuelight/#")
	st := newStation("s", "fly")
	l := startLink(t, addr, st, "s", nil)
	waitStatus(t, l, true)
	w.expect(t, "cuelight/station/s/status", payloadIs("online"))
	w.expect(t, "cuelight/channel/fly/state", nil) // the snapshot's, seq 1

	l.PublishState(st.set("fly", "off", ""))
	l.PublishEvent(Event{Event: "off", Channel: "fly", Seq: 2})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	start := time.Now()
	if err := l.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("Close (flush, offline, disconnect) took %v", time.Since(start))
	if s := decode[State](t, w.next(t, "cuelight/channel/fly/state")); s.Seq != 2 {
		t.Fatalf("final state %+v", s)
	}
	if e := decode[Event](t, w.next(t, "cuelight/channel/fly/event")); e.Seq != 2 {
		t.Fatalf("final event %+v", e)
	}
	if m := w.next(t, "cuelight/station/s/status"); m.payload != "offline" {
		t.Fatalf("status %+v, want offline", m)
	}
	if l.Connected() {
		t.Fatal("Connected() after Close")
	}
	if err := l.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	late := watch(t, addr, "cuelight/station/s/status")
	if m := late.next(t, "cuelight/station/s/status"); m.payload != "offline" || !m.retained {
		t.Fatalf("retained status after Close: %+v", m)
	}
}

func TestRunsWithoutABroker(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now

	st := newStation("s", "fly")
	l := startLink(t, "tcp://"+dead, st, "s", func(o *Options) { o.QueueSize = 16 })
	s := waitStatus(t, l, false)
	if s.Err == nil {
		t.Fatal("no reason given for being disconnected")
	}
	t.Logf("status while the broker is absent: %v", s.Err)
	for i := range 10000 {
		l.PublishEvent(Event{Event: "press", Channel: "fly", Seq: int64(i)})
		l.PublishState(State{Channel: "fly", Seq: int64(i)})
	}
	if got := l.dropped.Load(); got != 10000-16 {
		t.Fatalf("Dropped() = %d, want %d", got, 10000-16)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	start := time.Now()
	if err := l.Close(ctx); err != nil {
		t.Fatalf("Close without a broker: %v", err)
	}
	t.Logf("Close without a broker took %v", time.Since(start))
}

// The hot path shares nothing with paho's callbacks: even while the
// on-connect handler is stuck (here in a slow Snapshot), publishing
// returns at once.
func TestPublishingDoesNotWaitForCallbacks(t *testing.T) {
	t.Parallel()
	addr := "tcp://" + embedded(t)
	st := newStation("s", "fly")
	entered, release := make(chan struct{}), make(chan struct{})
	l := startLink(t, addr, st, "s", func(o *Options) {
		o.Snapshot = func() (Info, []State) {
			close(entered)
			<-release
			return st.snapshot()
		}
	})
	select {
	case <-entered:
	case <-time.After(wait):
		t.Fatal("Snapshot not called on connect")
	}
	done := make(chan struct{})
	go func() {
		for i := range 5000 {
			l.PublishEvent(Event{Event: "press", Channel: "fly", Seq: int64(i)})
			l.PublishState(State{Channel: "fly", Seq: int64(i)})
			l.PublishInfo(Info{Version: fmt.Sprint(i)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("publishing blocked while the on-connect handler was busy")
	}
	close(release)
	waitStatus(t, l, true)
}
