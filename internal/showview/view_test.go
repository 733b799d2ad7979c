package showview

import (
	"strings"
	"testing"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/internal/mqttlink"
)

func testView(t *testing.T) *View {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(`
show: view
mqtt: {broker: "tcp://127.0.0.1:1883"}
stations:
  a: {driver: sim}
  b: {driver: sim}
channels:
  fly: {station: a, standby_lamp: GPIO17}
  sl: {station: b, standby_lamp: GPIO17}
`), "view.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return New(cfg)
}

func st(ch, station, state, label, epoch string, seq int64, since string) mqttlink.State {
	return mqttlink.State{Channel: ch, Station: station, State: state, Label: label, Epoch: epoch, Seq: seq, Since: since}
}

// TestOrdering checks that states are ordered by what they say, never by
// arrival: seq within an epoch, since across epochs. The sequences are the
// ones a broker failover produces (a stale retained message served after a
// newer one).
func TestOrdering(t *testing.T) {
	t.Parallel()
	const (
		t1 = "2026-03-01T19:30:01.000Z"
		t2 = "2026-03-01T19:30:02.000Z"
		t3 = "2026-03-01T19:30:03.000Z"
	)
	tests := []struct {
		name      string
		in        []mqttlink.State
		outcomes  []Outcome
		wantLabel string
	}{
		{"in order", []mqttlink.State{st("fly", "a", "standby", "1", "e1", 1, t1), st("fly", "a", "go", "1", "e1", 2, t2)},
			[]Outcome{Applied, Applied}, "1"},
		{"an older seq after a newer one is stale", []mqttlink.State{st("fly", "a", "go", "2", "e1", 5, t2), st("fly", "a", "standby", "1", "e1", 4, t1)},
			[]Outcome{Applied, Stale}, "2"},
		{"the same seq again is stale", []mqttlink.State{st("fly", "a", "go", "2", "e1", 5, t2), st("fly", "a", "go", "2", "e1", 5, t2)},
			[]Outcome{Applied, Stale}, "2"},
		{"a restart's new epoch wins by its since, whatever its seq", []mqttlink.State{st("fly", "a", "standby", "old", "e1", 40, t1), st("fly", "a", "off", "", "e2", 0, t2)},
			[]Outcome{Applied, Applied}, ""},
		{"the old epoch served late after a failover is stale", []mqttlink.State{st("fly", "a", "off", "", "e2", 0, t3), st("fly", "a", "standby", "old", "e1", 40, t2)},
			[]Outcome{Applied, Stale}, ""},
		{"a state from another station for this channel is unknown", []mqttlink.State{st("fly", "b", "go", "x", "e9", 1, t1)},
			[]Outcome{Unknown}, ""},
		{"a channel not in the show is unknown", []mqttlink.State{st("nope", "a", "go", "x", "e9", 1, t1)},
			[]Outcome{Unknown}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := testView(t)
			for i, s := range tc.in {
				if got := v.State(s); got != tc.outcomes[i] {
					t.Errorf("state %d: outcome %d, want %d", i, got, tc.outcomes[i])
				}
			}
			c, _ := v.Channel("fly")
			if c.State.Label != tc.wantLabel {
				t.Errorf("fly's label %q, want %q", c.State.Label, tc.wantLabel)
			}
		})
	}
}

// TestUnknownNeverShown checks that messages of stations and channels not
// in the show file are counted and never become channels.
func TestUnknownNeverShown(t *testing.T) {
	t.Parallel()
	v := testView(t)
	v.State(st("ghost", "z", "go", "1", "e", 1, "2026-03-01T19:30:01.000Z"))
	if v.Status("z", "online") || v.Info("z", mqttlink.Info{}) {
		t.Error("a station not in the show was accepted")
	}
	if got := v.Counters().Unknown; got != 3 {
		t.Errorf("unknown %d, want 3", got)
	}
	var names []string
	for _, c := range v.Channels() {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "fly,sl" {
		t.Errorf("channels %q, want fly,sl in show-file order", names)
	}
}

// TestOnline checks that a channel is online exactly when its station's
// last status is "online".
func TestOnline(t *testing.T) {
	t.Parallel()
	v := testView(t)
	if c, _ := v.Channel("fly"); c.Online {
		t.Error("online before any status")
	}
	v.Status("a", "online")
	if c, _ := v.Channel("fly"); !c.Online {
		t.Error("not online after online")
	}
	if c, _ := v.Channel("sl"); c.Online {
		t.Error("sl online: its station b said nothing")
	}
	v.Status("a", "offline")
	if c, _ := v.Channel("fly"); c.Online {
		t.Error("online after offline")
	}
}

func TestShowHash(t *testing.T) {
	t.Parallel()
	a, b := ShowHash([]byte("show: a\n")), ShowHash([]byte("show: b\n"))
	if a == b || len(a) != 12 || a != ShowHash([]byte("show: a\n")) {
		t.Errorf("ShowHash: %q %q", a, b)
	}
}

// TestSubscribe checks live updates: states, statuses (with every channel
// of the station), events; a full buffer drops and says so, never waits.
func TestSubscribe(t *testing.T) {
	t.Parallel()
	v := testView(t)
	ch, stop := v.Subscribe(8)
	v.State(st("fly", "a", "standby", "1", "e1", 1, "2026-03-01T19:30:01.000Z"))
	v.State(st("fly", "a", "standby", "0", "e1", 0, "2026-03-01T19:30:00.000Z")) // stale: no update
	v.Status("a", "online")
	v.Event(mqttlink.Event{Event: "standby", Channel: "fly", Station: "a", Label: "1"})
	var kinds []UpdateKind
	for len(ch) > 0 {
		kinds = append(kinds, (<-ch).Kind)
	}
	want := []UpdateKind{UpdateState, UpdateStation, UpdateState, UpdateEvent}
	if len(kinds) != len(want) {
		t.Fatalf("updates %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("updates %v, want %v", kinds, want)
		}
	}
	for i := 0; i < 20; i++ {
		v.Event(mqttlink.Event{Event: "press", Channel: "fly", Station: "a"})
	}
	if !stop() {
		t.Error("20 updates into a buffer of 8: no overrun reported")
	}
	if got := len(v.Events(1000)); got != 21 {
		t.Errorf("%d events kept, want 21", got)
	}
	for i := 0; i < EventHistory; i++ {
		v.Event(mqttlink.Event{Event: "press", Channel: "sl", Station: "b", Label: "x"})
	}
	if evs := v.Events(5); len(evs) != 5 || evs[4].Channel != "sl" {
		t.Errorf("latest events %+v", evs)
	}
	if got := len(v.Events(1000)); got != EventHistory {
		t.Errorf("%d events kept, want at most %d", got, EventHistory)
	}
}
