package mqttlink

import (
	"strings"
	"testing"
	"time"
)

// TestShowWideAndForwardedCommands: a link with ShowWide sees another
// station's states, events, status and info, decoded; a command it
// publishes reaches the other station's command intake.
func TestShowWideAndForwardedCommands(t *testing.T) {
	t.Parallel()
	u := "tcp://" + embedded(t)
	wing := newStation("wing", "fly")
	booth := newStation("booth")
	lw := startLink(t, u, wing, "wing", nil)
	lb := startLink(t, u, booth, "booth", func(o *Options) { o.ShowWide = true })
	waitStatus(t, lw, true)
	waitStatus(t, lb, true)

	seen := map[string]bool{}
	deadline := time.After(wait)
	for !(seen["state fly"] && seen["status wing"] && seen["info wing"]) {
		select {
		case m := <-lb.Show():
			seen[m.Kind+" "+m.Name] = true
			if m.Kind == "state" && (m.State.Channel != "fly" || m.State.Station != "wing") {
				t.Errorf("state %+v", m.State)
			}
		case <-deadline:
			t.Fatalf("show-wide messages seen: %v", seen)
		}
	}
	lw.PublishEvent(Event{Event: "standby", Channel: "fly", Station: "wing", Label: "9", At: FormatTime(t0), Source: "osc", Seq: 2, Epoch: "ep1"})
	for {
		select {
		case m := <-lb.Show():
			if m.Kind != "event" {
				continue
			}
			if m.Event.Label != "9" || m.Retained {
				t.Errorf("event %+v retained=%v", m.Event, m.Retained)
			}
		case <-time.After(wait):
			t.Fatal("no event")
		}
		break
	}

	if err := lb.PublishCommand("fly", Command{ID: "fwd-1", Cmd: "standby", Label: "9", TS: FormatTime(t0)}); err != nil {
		t.Fatal(err)
	}
	in := inbound(t, lw)
	if in.Rejected || in.Channel != "fly" || in.Cmd.ID != "fwd-1" || in.Cmd.Label != "9" {
		t.Errorf("forwarded command arrived as %+v", in)
	}
	if err := lb.PublishCommand("", Command{ID: "fwd-2", Cmd: "hold", TS: FormatTime(t0)}); err != nil {
		t.Fatal(err)
	}
	if in := inbound(t, lw); in.Channel != "" || in.Cmd.Cmd != "hold" {
		t.Errorf("show-wide command arrived as %+v", in)
	}
}

// TestShowChannelsLeaveOwnOut: with ShowChannels, the show-wide view
// takes only those channels' states and events: a station's own states and
// events never come back to it from the broker, while a view with nil
// ShowChannels takes every channel.
func TestShowChannelsLeaveOwnOut(t *testing.T) {
	t.Parallel()
	u := "tcp://" + embedded(t)
	wing := startLink(t, u, newStation("wing", "fly"), "wing", func(o *Options) {
		o.ShowWide, o.ShowChannels = true, []string{"sl"}
	})
	side := startLink(t, u, newStation("side", "sl"), "side", nil)
	watcher := startLink(t, u, newStation("watcher"), "watcher", func(o *Options) { o.ShowWide = true })
	for _, l := range []*Link{wing, side, watcher} {
		waitStatus(t, l, true)
	}
	// The wing's own state and event reach the broker (the watcher sees
	// them) before the other station's state is even published.
	wing.PublishState(State{Channel: "fly", Station: "wing", State: "standby", Label: "own", Since: FormatTime(t0), Seq: 2, Epoch: "ep1"})
	wing.PublishEvent(Event{Event: "standby", Channel: "fly", Station: "wing", Label: "own", At: FormatTime(t0), Source: "osc", Seq: 2, Epoch: "ep1"})
	for seen := 0; seen < 2; {
		select {
		case m := <-watcher.Show():
			if (m.Kind == "state" && m.State.Label == "own") || (m.Kind == "event" && m.Event.Label == "own") {
				seen++
			}
		case <-time.After(wait):
			t.Fatal("the watcher (every channel) did not see the wing's own state and event")
		}
	}
	side.PublishState(State{Channel: "sl", Station: "side", State: "standby", Label: "other", Since: FormatTime(t0), Seq: 2, Epoch: "ep1"})
	for {
		select {
		case m := <-wing.Show():
			if m.Kind == "state" && m.State.Label == "other" {
				return
			}
			if (m.Kind == "state" && m.State.Channel == "fly") || (m.Kind == "event" && m.Event.Channel == "fly") {
				t.Fatalf("the wing got its own channel back from the broker: %+v", m)
			}
		case <-time.After(wait):
			t.Fatal("the wing did not see the other station's state")
		}
	}
}

// TestPublishCommandNotConnected: a command is never kept for later.
func TestPublishCommandNotConnected(t *testing.T) {
	t.Parallel()
	l, err := New(Options{Station: "x", Broker: "tcp://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.PublishCommand("fly", Command{ID: "a", Cmd: "go", TS: FormatTime(t0)}); err != ErrNotConnected {
		t.Errorf("PublishCommand before Start: %v, want ErrNotConnected", err)
	}
}

// TestBrokerListFailover: with two brokers, the link uses the first; when
// it dies the link moves to the second (and says which in Broker and
// info); when the first answers again the link moves back to it.
func TestBrokerListFailover(t *testing.T) {
	t.Parallel()
	m1, m2 := startMosquitto(t), startMosquitto(t)
	st := newStation("wing", "fly")
	l := startLink(t, "", st, "wing", func(o *Options) {
		o.Brokers = []string{m1.url(), m2.url()}
		o.FailbackInterval = 100 * time.Millisecond
		o.KeepAlive = 2 * time.Second
	})
	waitStatus(t, l, true)
	if l.Broker() != m1.url() {
		t.Fatalf("connected to %s, want the first broker %s", l.Broker(), m1.url())
	}
	m1.kill()
	waitFor(t, "the link on the second broker", func() bool { return l.Connected() && l.Broker() == m2.url() })
	lines := mosquittoSub(t, m2, "cuelight/#")
	l.PublishState(st.set("fly", "standby", "on-m2"))
	expectLine(t, lines, "cuelight/channel/fly/state {")
	m1.start()
	waitFor(t, "the link back on the first broker", func() bool { return l.Connected() && l.Broker() == m1.url() })
	lines1 := mosquittoSub(t, m1, "cuelight/#")
	l.PublishInfo(Info{Version: "test", Epoch: "ep1", Channels: []string{"fly"}, Link: "none"})
	if line := expectLine(t, lines1, "cuelight/station/wing/info "); !strings.Contains(line, `"broker":"`+m1.url()+`"`) {
		t.Errorf("info on the first broker: %s, want broker %s", line, m1.url())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
