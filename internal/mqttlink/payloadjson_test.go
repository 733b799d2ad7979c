package mqttlink

import (
	"encoding/json"
	"testing"
)

// FuzzStateJSON holds State.AppendJSON to encoding/json: the same bytes
// for every state, whatever its strings hold.
func FuzzStateJSON(f *testing.F) {
	f.Add("fly", "sl-wing", "standby", "23.5", true, "2026-12-02T08:00:00.123Z", int64(7), "4a0f0f3f692d048c")
	f.Add("sl", "demo", "go", `a "quoted" <b>&amp;</b> \ label`, false, "", int64(-1), "")
	f.Add("\x00\x01\b\f\n\r\t\x1f\x7f", "\u2028\u2029", "\xff\xfe", "é ü 日本 🎭", false, "x", int64(1<<62), "\xe2\x80")
	f.Fuzz(func(t *testing.T, ch, station, state, label string, ack bool, since string, seq int64, epoch string) {
		s := State{Channel: ch, Station: station, State: state, Label: label, AckRequested: ack, Since: since, Seq: seq, Epoch: epoch}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
		}
	})
}

// FuzzEventJSON holds Event.AppendJSON to encoding/json's encoding of the
// eventWire that UnmarshalJSON reads, and reads every event back.
func FuzzEventJSON(f *testing.F) {
	f.Add("ack", "fly", "sl-wing", "23.5", "2026-12-02T08:00:00.123Z", "button", int64(7), "4a0f", int64(0), false, "", "", false, int64(0))
	f.Add("refused", "sl", "demo", `<a> "b" & \c`, "", "mqtt", int64(-3), "", int64(12), true, "held: show-wide hold", "cmd-1", true, int64(4500))
	f.Add("\x00\u2028\xff", "\t", "é", "🎭", "\x7f", "web", int64(1<<62), "\xe2\x80", int64(-1), false, "\n", "\"", false, int64(-9))
	f.Fuzz(func(t *testing.T, ev, ch, station, label, at, source string, seq int64, epoch string, ackMS int64, unwarned bool, reason, id string, unack bool, elapsed int64) {
		e := Event{Event: ev, Channel: ch, Station: station, Label: label, At: at, Source: source, Seq: seq, Epoch: epoch,
			AckMS: ackMS, Unwarned: unwarned, Reason: reason, ID: id, Unacknowledged: unack, ElapsedMS: elapsed}
		w := eventWire{
			Event: e.Event, Channel: e.Channel, Station: e.Station, Label: e.Label,
			At: e.At, Source: e.Source, Seq: e.Seq, Epoch: e.Epoch,
			Unwarned: e.Unwarned, Reason: e.Reason, ID: e.ID, Cmd: e.ID,
			Unacknowledged: e.Unacknowledged, ElapsedMS: e.ElapsedMS,
		}
		if e.Event == "ack" {
			w.AckMS = &e.AckMS
		}
		want, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		got := e.AppendJSON(nil)
		if string(got) != string(want) {
			t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
		}
		if m, err := json.Marshal(e); err != nil || string(m) != string(want) {
			t.Fatalf("json.Marshal(Event) = %s, %v; want %s", m, err, want)
		}
	})
}
