// Package report writes the performance report from the show log
// (docs/report.md): a header with run times, holds and stations offline;
// every cue with each position's standby, ack and GO and their flags; the
// faults; a timeline picture (SVG, in the HTML report); each position's
// ack times across performances; and a CSV of every message.
//
// Build reads the log; Compute is the pure part (messages in, report out)
// that the golden tests and the benchmark drive.
package report

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/recorder"
)

// DefaultLateAck is report.late_ack's default: an ack that took longer is
// flagged late.
const DefaultLateAck = 10 * time.Second

// maxTrend bounds how many performances the across-performances table
// shows (the latest, up to the one reported).
const maxTrend = 12

// Options shape a report.
type Options struct {
	Show          string            // the show's name (default: from the stations' info)
	LateAck       time.Duration     // default DefaultLateAck
	GoRequiresAck map[string]bool   // channels with go_requires_ack: a GO from standby there was a force_go
	Channels      []string          // lane order (configuration order); others follow by name
	StationOf     map[string]string // channel → station, from the show file (what MQTT says is added)
	Location      *time.Location    // times are shown in it; default time.Local
}

func (o *Options) defaults() {
	if o.LateAck <= 0 {
		o.LateAck = DefaultLateAck
	}
	if o.Location == nil {
		o.Location = time.Local
	}
}

// Report is one performance's report.
type Report struct {
	Show      string
	Perf      recorder.Performance
	Of        int       // how many performances the log holds
	End       time.Time // curtain down, or the last message while it runs
	Channels  []string  // lanes, in order
	Holds     []Span
	Offline   []Span // Who: the station
	Cues      []*Cue
	Faults    []Fault
	Trend     []TrendPerf
	Messages  []recorder.Message
	opts      Options
	stationOf map[string]string
}

// Span is a stretch of time: a hold, a station offline.
type Span struct {
	Who        string
	Start, End time.Time
	Open       bool // still going at the end of the performance
}

// Duration of the span.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// Cue is one standby label's cue: every position stood by for it.
type Cue struct {
	Label     string
	Standby   time.Time // first standby
	GO        time.Time // first GO; zero when none
	Positions []*Position
}

// Position is one channel's part in a cue.
type Position struct {
	Channel      string
	Standby      time.Time
	AckRequested bool
	Ack          time.Time
	AckMS        int64
	GO           time.Time
	Cleared      time.Time // left standby or ack without a GO (off, hold, lost, another standby)
	Late         bool      // ack took longer than late_ack
	Unacked      bool      // GO with an ack requested and none given
	Unwarned     bool      // GO from off
	Forced       bool      // force_go
	Escalated    bool      // the station called the position on the intercom (late_ack event)
	Refused      []string  // reasons of refused GOs and standbys
}

// Fault is one line of the faults section.
type Fault struct {
	At     time.Time
	Kind   string // stuck button, link lost, link restored, station offline, broker outage, rejected command
	Where  string // station or channels
	Detail string
}

// TrendPerf is one performance's ack times per position.
type TrendPerf struct {
	Number int
	Name   string
	Start  time.Time
	Stats  map[string]AckStats // by channel
}

// AckStats summarises one position's ack times in one performance.
type AckStats struct {
	N           int
	Median, P95 time.Duration
}

// Build reads the performance chosen by sel ("latest", its number, or a
// date YYYY-MM-DD) from db and computes its report.
func Build(ctx context.Context, db *recorder.DB, sel string, o Options) (*Report, error) {
	o.defaults()
	perfs, err := db.Performances(ctx)
	if err != nil {
		return nil, err
	}
	perf, err := recorder.Select(perfs, sel, o.Location)
	if err != nil {
		return nil, err
	}
	msgs, err := db.Between(ctx, perf.Start, perf.End)
	if err != nil {
		return nil, err
	}
	before, err := db.LatestBefore(ctx, recorder.KindStatus, perf.Start)
	if err != nil {
		return nil, err
	}
	infos, err := db.LatestBefore(ctx, recorder.KindInfo, perf.Start)
	if err != nil {
		return nil, err
	}
	before = append(before, infos...)
	var trend []TrendPerf
	first := max(0, perf.Number-maxTrend)
	for _, p := range perfs[first:perf.Number] {
		var acks []recorder.Message
		if p.Number == perf.Number {
			acks = msgs
		} else if acks, err = db.Between(ctx, p.Start, p.End); err != nil {
			return nil, err
		}
		trend = append(trend, Trend(p, acks))
	}
	r := Compute(perf, msgs, before, o)
	r.Of = len(perfs)
	r.Trend = trend
	return r, nil
}

// Trend computes one performance's ack-time statistics per position.
func Trend(p recorder.Performance, msgs []recorder.Message) TrendPerf {
	acks := map[string][]time.Duration{}
	for _, m := range msgs {
		if m.Kind != recorder.KindEvent {
			continue
		}
		var e mqttlink.Event
		if json.Unmarshal(m.Payload, &e) != nil || e.Event != "ack" {
			continue
		}
		acks[e.Channel] = append(acks[e.Channel], time.Duration(e.AckMS)*time.Millisecond)
	}
	t := TrendPerf{Number: p.Number, Name: p.Name, Start: p.Start, Stats: map[string]AckStats{}}
	for ch, ds := range acks {
		slices.Sort(ds)
		t.Stats[ch] = AckStats{N: len(ds), Median: quantile(ds, 0.5), P95: quantile(ds, 0.95)}
	}
	return t
}

// quantile of sorted ds by the nearest-rank method (a p95 of 10 acks is
// the slowest but one... or the slowest: ceil(0.95·10) = 10th).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if q == 0.5 && len(ds)%2 == 0 {
		return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
	}
	rank := int(q*float64(len(ds)) + 0.999999)
	rank = min(max(rank, 1), len(ds))
	return ds[rank-1]
}

// parseEvent reads an event payload, with the fields of later protocol
// versions that the report reads when present ("unacknowledged").
func parseEvent(b []byte) (e mqttlink.Event, unacked bool, err error) {
	if err = json.Unmarshal(b, &e); err != nil {
		return e, false, err
	}
	var x struct {
		Unacknowledged bool `json:"unacknowledged"`
	}
	_ = json.Unmarshal(b, &x)
	return e, x.Unacknowledged, nil
}

// Compute builds the report of perf from its messages (time order) and
// the status and info messages known before curtain up.
func Compute(perf recorder.Performance, msgs, before []recorder.Message, o Options) *Report {
	o.defaults()
	r := &Report{Perf: perf, Of: perf.Number, Show: o.Show, End: perf.End, opts: o}
	sortMessages(msgs)
	r.Messages = msgs
	if r.End.IsZero() {
		r.End = perf.Start
		if n := len(msgs); n > 0 && msgs[n-1].At.After(r.End) {
			r.End = msgs[n-1].At
		}
	}
	lanes := map[string]bool{}
	for _, ch := range o.Channels {
		lanes[ch] = true
	}
	var extra []string
	lane := func(ch string) {
		if ch != "" && !lanes[ch] {
			lanes[ch] = true
			extra = append(extra, ch)
		}
	}
	stationOf := map[string]string{} // channel → station
	for ch, st := range o.StationOf {
		stationOf[ch] = st
	}
	offline := map[string]*Span{}
	// info takes a station's info: the show's name, and which channels
	// are the station's (each gets a lane).
	info := func(m recorder.Message) {
		var in mqttlink.Info
		if json.Unmarshal(m.Payload, &in) != nil {
			return
		}
		if r.Show == "" {
			r.Show = in.Show
		}
		for _, ch := range in.Channels {
			stationOf[ch] = m.Station
			lane(ch)
		}
	}
	for _, m := range before {
		switch m.Kind {
		case recorder.KindStatus:
			if string(m.Payload) == "offline" {
				offline[m.Station] = &Span{Who: m.Station, Start: perf.Start}
			}
		case recorder.KindInfo:
			info(m)
		}
	}

	forcedIDs := map[string]bool{}
	open := map[string]*Cue{}     // label → cue in progress
	current := map[string]*Cue{}  // channel → its latest cue
	ackReq := map[string]string{} // channel → label of a standby with an ack requested
	var hold *Span
	type lostKey struct{ station, at string }
	lost := map[lostKey]*Fault{}
	position := func(c *Cue, ch string) *Position {
		for _, p := range c.Positions {
			if p.Channel == ch {
				return p
			}
		}
		p := &Position{Channel: ch}
		c.Positions = append(c.Positions, p)
		return p
	}
	newCue := func(label string, at time.Time) *Cue {
		c := &Cue{Label: label, Standby: at}
		r.Cues = append(r.Cues, c)
		open[label] = c
		return c
	}
	for _, m := range msgs {
		switch m.Kind {
		case recorder.KindInfo:
			info(m)
		case recorder.KindStatus:
			switch string(m.Payload) {
			case "offline":
				if offline[m.Station] == nil {
					offline[m.Station] = &Span{Who: m.Station, Start: m.At}
					r.Faults = append(r.Faults, Fault{At: m.At, Kind: "station offline", Where: m.Station, Detail: "its MQTT status went offline"})
				}
			case "online":
				if s := offline[m.Station]; s != nil {
					s.End = m.At
					r.Offline = append(r.Offline, *s)
					delete(offline, m.Station)
					r.Faults = append(r.Faults, Fault{At: m.At, Kind: "station online", Where: m.Station, Detail: "back after " + fmtDur(s.Duration())})
				}
			}
		case recorder.KindRecorder:
			var x struct{ Event, Reason string }
			if json.Unmarshal(m.Payload, &x) == nil {
				switch x.Event {
				case "lost":
					r.Faults = append(r.Faults, Fault{At: m.At, Kind: "broker outage", Where: "recorder", Detail: "the recorder lost the broker: " + x.Reason})
				case "connected":
					r.Faults = append(r.Faults, Fault{At: m.At, Kind: "broker back", Where: "recorder", Detail: "the recorder is connected again (messages held by the broker meanwhile are in the log)"})
				}
			}
		case recorder.KindCmd:
			var c mqttlink.Command
			if json.Unmarshal(m.Payload, &c) == nil && c.Cmd == "force_go" {
				forcedIDs[c.ID] = true
			}
		case recorder.KindState:
			var s mqttlink.State
			if json.Unmarshal(m.Payload, &s) == nil {
				lane(s.Channel)
				if s.Station != "" {
					stationOf[s.Channel] = s.Station
				}
				if s.State == "standby" && s.AckRequested {
					ackReq[s.Channel] = s.Label
					if c := current[s.Channel]; c != nil && c.Label == s.Label {
						position(c, s.Channel).AckRequested = true
					}
				} else if s.State != "standby" && s.State != "ack" {
					delete(ackReq, s.Channel)
				}
				if c := current[s.Channel]; c != nil && s.State != "ack" && s.State != "go" && !(s.State == "standby" && s.Label == c.Label) {
					if p := position(c, s.Channel); p.GO.IsZero() && p.Cleared.IsZero() && !p.Standby.IsZero() {
						p.Cleared = m.At
					}
				}
			}
		case recorder.KindEvent:
			e, unacked, err := parseEvent(m.Payload)
			if err != nil {
				continue
			}
			lane(e.Channel)
			if e.Station != "" && e.Channel != "" {
				stationOf[e.Channel] = e.Station
			}
			switch e.Event {
			case "standby":
				c := open[e.Label]
				if c == nil || (position(c, e.Channel).GO != time.Time{}) {
					c = newCue(e.Label, m.At)
				}
				p := position(c, e.Channel)
				*p = Position{Channel: e.Channel, Standby: m.At, AckRequested: ackReq[e.Channel] == e.Label && ackReq[e.Channel] != ""}
				current[e.Channel] = c
			case "ack":
				if c := current[e.Channel]; c != nil {
					p := position(c, e.Channel)
					p.Ack, p.AckMS = m.At, e.AckMS
					p.Late = time.Duration(e.AckMS)*time.Millisecond > o.LateAck
				}
			case "late_ack":
				// The station's escalate_after ran out: it called the
				// position on the intercom (docs/protocol.md §10).
				if c := current[e.Channel]; c != nil {
					position(c, e.Channel).Escalated = true
				}
			case "go":
				c := current[e.Channel]
				if c == nil || c.Label != e.Label || !position(c, e.Channel).GO.IsZero() {
					c = open[e.Label]
					if c == nil || !position(c, e.Channel).GO.IsZero() {
						c = newCue(e.Label, time.Time{})
					}
				}
				p := position(c, e.Channel)
				p.GO = m.At
				p.Unwarned = e.Unwarned
				requested := p.AckRequested || (ackReq[e.Channel] != "" && ackReq[e.Channel] == e.Label)
				p.Unacked = unacked || (requested && p.Ack.IsZero() && !p.Standby.IsZero())
				// force_go: the event does not say so; it is a GO that only
				// force_go could give: an MQTT force_go command, or a GO
				// without an ACK on a channel that needs one (go_requires_ack
				// in the show file, or a GO refused for it just before).
				p.Forced = forcedIDs[e.ID] || (p.Ack.IsZero() && (o.GoRequiresAck[e.Channel] || refusedForAck(p.Refused)))
				if c.GO.IsZero() || m.At.Before(c.GO) {
					c.GO = m.At
				}
				current[e.Channel] = c
				delete(ackReq, e.Channel)
			case "refused":
				c := current[e.Channel]
				if e.Label != "" && (c == nil || c.Label != e.Label) {
					c = open[e.Label]
				}
				reason := e.Reason
				if reason == "" {
					reason = "refused"
				}
				if c == nil {
					r.Faults = append(r.Faults, Fault{At: m.At, Kind: "refused", Where: e.Channel, Detail: reason})
					continue
				}
				position(c, e.Channel).Refused = append(position(c, e.Channel).Refused, reason)
			case "rejected":
				r.Faults = append(r.Faults, Fault{At: m.At, Kind: "rejected command", Where: joinNonEmpty(e.Station, e.Channel), Detail: e.Reason})
			case "fault":
				r.Faults = append(r.Faults, Fault{At: m.At, Kind: "stuck button", Where: joinNonEmpty(e.Station, e.Channel), Detail: e.Reason})
			case "lost", "restored":
				k := lostKey{e.Station + "\x00" + e.Event, m.At.String()}
				f := lost[k]
				if f == nil {
					kind := "link lost"
					detail := "booth not heard: every channel lost"
					if e.Event == "restored" {
						kind, detail = "link restored", "booth heard again"
					}
					r.Faults = append(r.Faults, Fault{At: m.At, Kind: kind, Where: e.Station, Detail: detail})
					f = &r.Faults[len(r.Faults)-1]
					lost[k] = f
					_ = f
				}
			case "hold":
				if hold == nil {
					hold = &Span{Who: "hold", Start: m.At}
				}
			case "release":
				if hold != nil {
					hold.End = m.At
					r.Holds = append(r.Holds, *hold)
					hold = nil
				}
			}
		}
	}
	if hold != nil {
		hold.End, hold.Open = r.End, true
		r.Holds = append(r.Holds, *hold)
	}
	for _, st := range sortedKeys(offline) {
		s := offline[st]
		s.End, s.Open = r.End, true
		r.Offline = append(r.Offline, *s)
	}
	sort.SliceStable(r.Offline, func(i, j int) bool { return r.Offline[i].Start.Before(r.Offline[j].Start) })
	sort.SliceStable(r.Faults, func(i, j int) bool { return r.Faults[i].At.Before(r.Faults[j].At) })
	slices.Sort(extra)
	for _, ch := range o.Channels {
		r.Channels = append(r.Channels, ch)
	}
	r.Channels = append(r.Channels, extra...)
	r.stationOf = stationOf
	return r
}

// refusedForAck reports whether one of the reasons is a GO refused for
// want of an ACK (go_requires_ack), which only force_go overrides.
func refusedForAck(reasons []string) bool {
	for _, r := range reasons {
		if strings.Contains(r, "force_go") {
			return true
		}
	}
	return false
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// kindRank orders messages of the same instant: markers, station status
// and info, commands, states, then events, so that the order does not
// depend on which arrived first.
var kindRank = map[string]int{recorder.KindMarker: 0, recorder.KindRecorder: 1, recorder.KindStatus: 2, recorder.KindInfo: 3,
	recorder.KindCmd: 4, recorder.KindState: 5, recorder.KindEvent: 6}

func sortMessages(ms []recorder.Message) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := &ms[i], &ms[j]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		if kindRank[a.Kind] != kindRank[b.Kind] {
			return kindRank[a.Kind] < kindRank[b.Kind]
		}
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.ID < b.ID
	})
}

// Flags lists a position's flags in words.
func (p *Position) Flags() []string {
	var f []string
	if p.Late {
		f = append(f, "late ack")
	}
	if p.Escalated {
		f = append(f, "escalated to the intercom")
	}
	if p.Unacked {
		f = append(f, "unacknowledged GO")
	}
	if p.Unwarned {
		f = append(f, "unwarned GO")
	}
	if p.Forced {
		f = append(f, "force_go")
	}
	for _, r := range p.Refused {
		f = append(f, "refused: "+r)
	}
	return f
}

// NotAcked lists the positions with an ack requested that had not
// acknowledged when the cue's GO came.
func (c *Cue) NotAcked() []string {
	var out []string
	if c.GO.IsZero() {
		return nil
	}
	for _, p := range c.Positions {
		if p.AckRequested && (p.Ack.IsZero() || p.Ack.After(c.GO)) {
			out = append(out, p.Channel)
		}
	}
	return out
}

// Sections returns the acts and intervals with their run times.
func (r *Report) Sections() []recorder.Section {
	out := slices.Clone(r.Perf.Sections)
	if n := len(out); n > 0 && out[n-1].End.IsZero() {
		out[n-1].End = r.End
	}
	return out
}

// HoldTotal is the holds' total duration.
func (r *Report) HoldTotal() time.Duration {
	var d time.Duration
	for _, h := range r.Holds {
		d += h.Duration()
	}
	return d
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	}
	return fmt.Sprintf("%dm%02ds", m, s)
}

// FromConfig takes the report's settings from a show file: its name,
// report.late_ack, the channels in order with their stations, and which
// channels have go_requires_ack.
func FromConfig(cfg *config.Config) Options {
	o := Options{Show: cfg.Show, LateAck: cfg.Report.LateAck, GoRequiresAck: map[string]bool{}, StationOf: map[string]string{}}
	for _, ch := range cfg.Channels {
		o.Channels = append(o.Channels, ch.Name)
		o.StationOf[ch.Name] = ch.Station
		if ch.GoRequiresAck {
			o.GoRequiresAck[ch.Name] = true
		}
	}
	return o
}
