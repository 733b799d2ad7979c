package recorder

import (
	"strings"
	"testing"
	"time"

	"github.com/cuelight/cuelight/internal/mqttlink"
)

func mk(kind, name string, at time.Duration) mqttlink.Marker {
	return mqttlink.Marker{Kind: kind, Name: name, At: mqttlink.FormatTime(t0.Add(at)), ID: "m"}
}

// docs/protocol.md §9: markers open, divide and close performances;
// events outside are rehearsal; the check before curtain up goes with the
// performance it precedes; a marker sent to two gateways counts once.
func TestPerformancesFromMarkers(t *testing.T) {
	t.Parallel()
	markers := []mqttlink.Marker{
		mk("act", "Act 1", 0), // rehearsal: no performance open
		mk("check", "4 of 4 positions acknowledged", time.Minute),
		mk("start", "Preview", 10*time.Minute),
		mk("start", "Preview", 10*time.Minute+200*time.Millisecond), // the backup gateway's copy
		mk("act", "Act 1", 11*time.Minute),
		mk("interval", "", 60*time.Minute),
		mk("act", "Act 2", 80*time.Minute),
		mk("end", "", 130*time.Minute),
		mk("start", "Opening", 24*time.Hour),
		mk("act", "Act 1", 24*time.Hour+time.Minute),
		mk("start", "Second show", 26*time.Hour), // no end before it
	}
	perfs := Performances(markers)
	if len(perfs) != 3 {
		t.Fatalf("%d performances, want 3: %+v", len(perfs), perfs)
	}
	p := perfs[0]
	if p.Name != "Preview" || p.Number != 1 || p.Closed != "end" || p.End.Sub(p.Start) != 120*time.Minute {
		t.Errorf("first: %+v", p)
	}
	if p.Check == nil || !strings.HasPrefix(p.Check.Name, "4 of 4") {
		t.Errorf("the check is not with the performance it precedes: %+v", p.Check)
	}
	if len(p.Sections) != 3 || p.Sections[1].Name != "Interval" || p.Sections[1].End.Sub(p.Sections[1].Start) != 20*time.Minute ||
		p.Sections[2].End != p.End {
		t.Errorf("sections: %+v", p.Sections)
	}
	if perfs[1].Closed != "next start" || perfs[1].Check != nil || !perfs[1].End.Equal(perfs[2].Start) {
		t.Errorf("second: %+v", perfs[1])
	}
	if !perfs[2].End.IsZero() || perfs[2].Closed != "" {
		t.Errorf("the last one still runs: %+v", perfs[2])
	}

	for _, tc := range []struct{ sel, want, err string }{
		{"", "Second show", ""},
		{"latest", "Second show", ""},
		{"1", "Preview", ""},
		{"2026-03-02", "Second show", ""},
		{"2026-03-01", "Preview", ""},
		{"4", "", "no performance 4: the log has 1 to 3"},
		{"0", "", "no performance 0"},
		{"2026-03-09", "", "no performance on 2026-03-09 (performances on 2026-03-01, 2026-03-02, 2026-03-02)"},
		{"yesterday", "", "write latest, a number, or a date YYYY-MM-DD"},
	} {
		got, err := Select(perfs, tc.sel, time.UTC)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Select(%q): %v, want an error with %q", tc.sel, err, tc.err)
		case tc.err == "" && (err != nil || got.Name != tc.want):
			t.Errorf("Select(%q) = %q, %v; want %q", tc.sel, got.Name, err, tc.want)
		}
	}
	if _, err := Select(nil, "latest", time.UTC); err == nil || !strings.Contains(err.Error(), "cuectl show start") {
		t.Errorf("no performance: %v", err)
	}
}

// The recorder's topics and what it takes from each payload.
func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		topic, payload         string
		kind, station, channel string
		at                     string // "" = none (the receive time stands in)
		ok                     bool
	}{
		{"cuelight/channel/fly/state", `{"channel":"fly","station":"wing","state":"ack","since":"2026-03-01T19:30:01.250Z"}`, KindState, "wing", "fly", "2026-03-01T19:30:01.25Z", true},
		{"cuelight/channel/fly/event", `{"event":"go","station":"wing","at":"2026-03-01T19:30:02.000Z"}`, KindEvent, "wing", "fly", "2026-03-01T19:30:02Z", true},
		{"cuelight/channel/fly/cmd", `{"id":"a","cmd":"go","ts":"2026-03-01T19:30:03Z"}`, KindCmd, "", "fly", "2026-03-01T19:30:03Z", true},
		{"cuelight/all/cmd", `{"id":"a","cmd":"hold","ts":"2026-03-01T19:30:04Z"}`, KindCmd, "", "", "2026-03-01T19:30:04Z", true},
		{"cuelight/station/wing/status", `online`, KindStatus, "wing", "", "", true},
		{"cuelight/station/wing/info", `{"version":"1"}`, KindInfo, "wing", "", "", true},
		{"cuelight/show/marker", `{"kind":"end","at":"2026-03-01T22:00:00.000Z","id":"m1","station":"booth"}`, KindMarker, "booth", "", "2026-03-01T22:00:00Z", true},
		{"cuelight/show/marker", `{"kind":"start","at":"2026-03-01T22:00:00.000Z","id":"m1"}`, KindMarker, "", "", "", true}, // no name: kept, no time
		{"cuelight/channel/fly/event", `not json`, KindEvent, "", "fly", "", true},
		{"cuelight/channel/fly/event", `{"at":"0001-01-01T00:00:00Z"}`, KindEvent, "", "fly", "", true},
		{"cuelight/channel/fly/other", `{}`, "", "", "", "", false},
		{"cuelight/channel//state", `{}`, "", "", "", "", false},
		{"other/channel/fly/state", `{}`, "", "", "", "", false},
		{"cuelight/show/markers", `{}`, "", "", "", "", false},
		{"cuelight/station/wing/status/x", `online`, "", "", "", "", false},
	} {
		kind, st, ch, at, ok := Classify("cuelight", tc.topic, []byte(tc.payload))
		gotAt := ""
		if !at.IsZero() {
			gotAt = at.UTC().Format(time.RFC3339Nano)
		}
		if kind != tc.kind || st != tc.station || ch != tc.channel || gotAt != tc.at || ok != tc.ok {
			t.Errorf("Classify(%s, %s) = %q %q %q %q %v; want %q %q %q %q %v", tc.topic, tc.payload,
				kind, st, ch, gotAt, ok, tc.kind, tc.station, tc.channel, tc.at, tc.ok)
		}
	}
}

// FuzzClassify: any topic and payload is classified without a panic, and
// a kept message's kind is one of the recorder's.
func FuzzClassify(f *testing.F) {
	f.Add("cuelight/channel/fly/event", []byte(`{"event":"go","at":"2026-03-01T19:30:02.000Z"}`))
	f.Add("cuelight/show/marker", []byte(`{"kind":"start","name":"x","at":"2026-03-01T19:30:02Z","id":"1"}`))
	f.Add("cuelight/station/a/status", []byte("offline"))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		kind, _, _, at, ok := Classify("cuelight", topic, payload)
		if !ok {
			return
		}
		switch kind {
		case KindState, KindEvent, KindCmd, KindStatus, KindInfo, KindMarker:
		default:
			t.Fatalf("kind %q", kind)
		}
		if !at.IsZero() && (at.Year() < 2000 || at.Year() > 9999) {
			t.Fatalf("time %v kept", at)
		}
	})
}
