package report

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"

	"github.com/cuelight/cuelight/internal/recorder"
)

// CSVHeader is the first row of the CSV export.
var CSVHeader = []string{"at", "kind", "station", "channel", "what", "label", "source", "seq", "ack_ms", "reason", "retained", "topic", "payload"}

// CSV writes every message of the performance, one row each, in time
// order: at is the message's own time (UTC, milliseconds), what the
// event, state, command or marker kind; payload the message as received.
func (r *Report) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, m := range r.Messages {
		if err := cw.Write(csvRow(m)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvRow(m recorder.Message) []string {
	var x struct {
		Event, State, Cmd, Kind, Label, Source, Reason, Name string
		Seq                                                  *int64
		AckMS                                                *int64 `json:"ack_ms"`
	}
	_ = json.Unmarshal(m.Payload, &x)
	what := x.Event
	switch m.Kind {
	case recorder.KindState:
		what = x.State
	case recorder.KindCmd:
		what = x.Cmd
	case recorder.KindMarker:
		what, x.Label = x.Kind, x.Name
	case recorder.KindStatus:
		what = string(m.Payload)
	}
	seq, ack := "", ""
	if x.Seq != nil {
		seq = strconv.FormatInt(*x.Seq, 10)
	}
	if x.AckMS != nil {
		ack = strconv.FormatInt(*x.AckMS, 10)
	}
	ret := "0"
	if m.Retained {
		ret = "1"
	}
	return []string{m.At.UTC().Format("2006-01-02T15:04:05.000Z"), m.Kind, m.Station, m.Channel, what, x.Label, x.Source, seq, ack, x.Reason, ret, m.Topic, string(m.Payload)}
}

func sortStrings(s []string) []string { slices.Sort(s); return s }
