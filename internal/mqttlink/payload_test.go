package mqttlink

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func TestFormatTime(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name string
		in   time.Time
		want string
	}{
		{"utc with ms", time.Date(2025, 3, 1, 20, 15, 4, 250_000_000, time.UTC), "2025-03-01T20:15:04.250Z"},
		{"zero fraction keeps three digits", time.Date(2025, 3, 1, 20, 15, 4, 0, time.UTC), "2025-03-01T20:15:04.000Z"},
		{"sub-ms is truncated", time.Date(2025, 3, 1, 20, 15, 4, 999_999_999, time.UTC), "2025-03-01T20:15:04.999Z"},
		{"other zones are converted to UTC", time.Date(2025, 3, 1, 21, 15, 4, 5_000_000, paris), "2025-03-01T20:15:04.005Z"},
	} {
		if got := FormatTime(tc.in); got != tc.want {
			t.Errorf("%s: FormatTime = %s, want %s", tc.name, got, tc.want)
		}
		if back, err := time.Parse(time.RFC3339Nano, FormatTime(tc.in)); err != nil || !back.Equal(tc.in.Truncate(time.Millisecond)) {
			t.Errorf("%s: %s does not parse back as RFC 3339 (%v)", tc.name, FormatTime(tc.in), err)
		}
	}
}

func TestPayloadJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"state", State{Channel: "fly", Station: "sl-wing", State: "ack", Label: "23", AckRequested: true, Since: "2025-03-01T20:15:04.250Z", Seq: 17, Epoch: "e1"},
			`{"channel":"fly","station":"sl-wing","state":"ack","label":"23","ack_requested":true,"since":"2025-03-01T20:15:04.250Z","seq":17,"epoch":"e1"}`},
		{"state in hold keeps empty label and false ack_requested", State{Channel: "sl", Station: "s", State: "hold", Since: "t", Seq: 2, Epoch: "e"},
			`{"channel":"sl","station":"s","state":"hold","label":"","ack_requested":false,"since":"t","seq":2,"epoch":"e"}`},
		{"ack event carries ack_ms", Event{Event: "ack", Channel: "fly", Station: "s", Label: "23", At: "t", Source: "button", Seq: 18, Epoch: "e", AckMS: 1520},
			`{"event":"ack","channel":"fly","station":"s","label":"23","at":"t","source":"button","seq":18,"epoch":"e","ack_ms":1520}`},
		{"ack event carries ack_ms even when 0", Event{Event: "ack", Channel: "fly", Station: "s", At: "t", Source: "osc", Seq: 3, Epoch: "e"},
			`{"event":"ack","channel":"fly","station":"s","label":"","at":"t","source":"osc","seq":3,"epoch":"e","ack_ms":0}`},
		{"other events have no ack_ms", Event{Event: "go", Channel: "fly", Station: "s", At: "t", Source: "osc", Seq: 4, Epoch: "e", AckMS: 99},
			`{"event":"go","channel":"fly","station":"s","label":"","at":"t","source":"osc","seq":4,"epoch":"e"}`},
		{"unwarned go", Event{Event: "go", Channel: "sl", Station: "s", Label: "5", At: "t", Source: "mqtt", Seq: 1, Epoch: "e", Unwarned: true, ID: "c1"},
			`{"event":"go","channel":"sl","station":"s","label":"5","at":"t","source":"mqtt","seq":1,"epoch":"e","unwarned":true,"id":"c1","cmd":"c1"}`},
		{"rejected with reason and id", Event{Event: "rejected", Channel: "sl", Station: "s", At: "t", Source: "mqtt", Seq: 1, Epoch: "e", Reason: "duplicate command id", ID: "c1"},
			`{"event":"rejected","channel":"sl","station":"s","label":"","at":"t","source":"mqtt","seq":1,"epoch":"e","reason":"duplicate command id","id":"c1","cmd":"c1"}`},
		{"info", Info{Version: "0.1.0", Epoch: "e", Started: "t", Channels: []string{"fly", "sl"}, Link: "none", DroppedEvents: 3, MQTT: &MQTTInfo{ClientID: "cuelight-s", Broker: "tcp://127.0.0.1:1883", Connects: 2}},
			`{"version":"0.1.0","epoch":"e","started":"t","channels":["fly","sl"],"link":"none","dropped_events":3,"mqtt":{"client_id":"cuelight-s","broker":"tcp://127.0.0.1:1883","connects":2,"commands_rejected":0,"commands_dropped":0,"publish_failures":0}}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(b) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, b, tc.want)
		}
	}
}

func TestEventRoundTrip(t *testing.T) {
	t.Parallel()
	for _, e := range []Event{
		{Event: "ack", Channel: "fly", Station: "s", Label: "23", At: "t", Source: "button", Seq: 18, Epoch: "e", AckMS: 1520},
		{Event: "go", Channel: "fly", Station: "s", At: "t", Source: "osc", Seq: 4, Epoch: "e", Unwarned: true},
		{Event: "rejected", Channel: "fly", Station: "s", At: "t", Source: "mqtt", Seq: 4, Epoch: "e", Reason: "r", ID: "i"},
	} {
		b, _ := json.Marshal(e)
		var back Event
		if err := json.Unmarshal(b, &back); err != nil || back != e {
			t.Errorf("%s: round trip gave %+v, %v; want %+v", b, back, err, e)
		}
	}
}

func TestTopics(t *testing.T) {
	t.Parallel()
	def := Topics{}
	if got := def.Status("sl-wing"); got != "cuelight/station/sl-wing/status" {
		t.Errorf("Status = %s", got)
	}
	if got := def.Info("sl-wing"); got != "cuelight/station/sl-wing/info" {
		t.Errorf("Info = %s", got)
	}
	if got := def.State("fly"); got != "cuelight/channel/fly/state" {
		t.Errorf("State = %s", got)
	}
	if got := def.Event("fly"); got != "cuelight/channel/fly/event" {
		t.Errorf("Event = %s", got)
	}
	if got := (Topics{Prefix: "hamlet/"}).Cmd("fly"); got != "hamlet/channel/fly/cmd" {
		t.Errorf("Cmd with prefix = %s", got)
	}
	for _, tc := range []struct {
		topic string
		ch    string
		ok    bool
	}{
		{"cuelight/channel/fly/cmd", "fly", true},
		{"cuelight/all/cmd", "", true},
		{"cuelight/channel/fly/state", "", false},
		{"cuelight/channel//cmd", "", false},
		{"cuelight/channel/a/b/cmd", "", false},
		{"other/channel/fly/cmd", "", false},
		{"cuelight/all/cmd/extra", "", false},
		{"cuelightx/all/cmd", "", false},
	} {
		ch, ok := def.cmdChannel(tc.topic)
		if ch != tc.ch || ok != tc.ok {
			t.Errorf("cmdChannel(%s) = %q, %v; want %q, %v", tc.topic, ch, ok, tc.ch, tc.ok)
		}
	}
}

func TestNewEpochIsUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		e := NewEpoch()
		if len(e) != 16 || seen[e] {
			t.Fatalf("NewEpoch gave %q (len %d, repeated %v)", e, len(e), seen[e])
		}
		seen[e] = true
	}
}

func TestEventQueueDropsOldest(t *testing.T) {
	t.Parallel()
	o := newOutbox(3)
	var dropped int
	for i := range 5 {
		if o.putEvent(Event{Seq: int64(i)}) {
			dropped++
		}
	}
	if _, n := o.queued(); dropped != 2 || n != 3 {
		t.Fatalf("dropped %d, len %d; want 2, 3", dropped, n)
	}
	var got []int64
	for it, ok := o.pop(); ok; it, ok = o.pop() {
		got = append(got, it.event.Seq)
	}
	if fmt.Sprint(got) != "[2 3 4]" {
		t.Fatalf("popped %v, want seq 2,3,4", got)
	}
	o.putEvent(Event{Seq: 9})
	if it, ok := o.pop(); !ok || it.event.Seq != 9 {
		t.Fatalf("after wrap: %+v", it)
	}
	if _, n := o.queued(); n != 0 {
		t.Fatalf("%d events left", n)
	}
}

func TestIsPowerOf10(t *testing.T) {
	t.Parallel()
	var got []int64
	for n := int64(0); n <= 10000; n++ {
		if isPowerOf10(n) {
			got = append(got, n)
		}
	}
	if fmt.Sprint(got) != "[1 10 100 1000 10000]" {
		t.Fatalf("powers of 10 up to 10000: %v", got)
	}
}
