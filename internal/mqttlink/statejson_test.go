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
