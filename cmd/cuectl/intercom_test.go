package main

import (
	"strings"
	"testing"
	"time"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/mqttlink"
)

// docs/protocol.md §10: cuectl watch and the command verbs show the
// headset side's events: call_in, late_ack with its elapsed time, and a GO
// that was never acknowledged.
func TestIntercomEventsShown(t *testing.T) {
	t.Parallel()
	late := mqttlink.Event{Event: "late_ack", Channel: "fly", Label: "12", At: "2026-03-01T19:30:10.000Z", Source: "timer", Station: "wing", Seq: 1, ElapsedMS: 10000}
	callIn := mqttlink.Event{Event: "call_in", Channel: "fly", At: "2026-03-01T19:30:11.000Z", Source: "button", Station: "wing", Seq: 1}
	goEv := mqttlink.Event{Event: "go", Channel: "fly", Label: "12", At: "2026-03-01T19:30:12.000Z", Source: "osc", Station: "wing", Seq: 2, Unacknowledged: true}
	plain := []struct {
		ev   mqttlink.Event
		want string
	}{
		{late, `2026-03-01T19:30:10.000Z fly late_ack "12" elapsed_ms=10000 src=timer station=wing seq=1`},
		{callIn, `2026-03-01T19:30:11.000Z fly call_in src=button station=wing seq=1`},
		{goEv, `2026-03-01T19:30:12.000Z fly go "12" unacknowledged src=osc station=wing seq=2`},
	}
	for _, tc := range plain {
		if got := plainEvent(&tc.ev); got != tc.want {
			t.Errorf("watch --plain\n got: %s\nwant: %s", got, tc.want)
		}
	}
	now := time.Date(2026, 3, 1, 19, 31, 0, 0, time.UTC)
	screen := func(ev mqttlink.Event) string {
		var b strings.Builder
		for _, c := range eventCells(ev, now) {
			b.WriteString(c.text)
		}
		return b.String()
	}
	for _, tc := range []struct {
		ev   mqttlink.Event
		want string
	}{
		{late, `late_ack "12" no ACK after 10.0s: position called`},
		{callIn, "intercom call from the position"},
		{goEv, "never acknowledged"},
	} {
		if got := screen(tc.ev); !strings.Contains(got, tc.want) {
			t.Errorf("watch screen line %q does not say %q", got, tc.want)
		}
	}
	// A command's answer (cuectl go fly over MQTT).
	cv := &channelView{name: "fly"}
	if got := mqttEventLine(request{verb: cues.VerbGo, target: "fly"}, cv, &goEv); !strings.Contains(got, "unacknowledged: the position never acknowledged the standby") {
		t.Errorf("go answer %q does not say it was unacknowledged", got)
	}
}
