package web

import (
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/showview"
)

// The JSON the pages read: one model at the start of every stream (and
// again after the stream fell behind), then one message per change.
// Times are milliseconds since the Unix epoch; 0 means unknown.

type pageModel struct {
	Now      int64         `json:"now"` // the station's clock when the model was read
	Show     string        `json:"show"`
	Patterns patternsJSON  `json:"patterns"`
	Hold     bool          `json:"hold"` // the show's hold latch: some channel is in hold
	Stations []stationJSON `json:"stations"`
	Channels []channelJSON `json:"channels"`
	Events   []eventJSON   `json:"events"` // the latest, oldest first
	Pins     []pinJSON     `json:"pins,omitempty"`
	CSRF     string        `json:"csrf,omitempty"` // the session's token (a restarted station made a new session)
}

// patternsJSON are the lamp timings of docs/protocol.md §2 in ms.
type patternsJSON struct {
	Slow        int64 `json:"slow"`
	Fast        int64 `json:"fast"`
	WinkOn      int64 `json:"wink_on"`
	WinkEvery   int64 `json:"wink_every"`
	Alternate   int64 `json:"alternate"`
	DoubleEvery int64 `json:"double_every"`
	DoubleBlink int64 `json:"double_blink"`
}

type stationJSON struct {
	Name    string `json:"name"`
	Status  string `json:"status"`  // online, offline, "" (never heard)
	Link    string `json:"link"`    // the booth link: ok, lost, none, "" (unknown)
	Started int64  `json:"started"` // the phase origin of its lamp patterns
}

type channelJSON struct {
	Name         string    `json:"name"`
	Station      string    `json:"station"`
	Title        string    `json:"title"` // the channel's label in the show file
	Lamps        int       `json:"lamps"` // 1 or 2
	State        string    `json:"state"` // "" until one arrived
	Label        string    `json:"label"` // the cue label
	AckRequested bool      `json:"ack_requested"`
	Since        int64     `json:"since"`
	Online       bool      `json:"online"`
	Patterns     [2]string `json:"patterns"` // standby lamp, go lamp
	AckMS        *int64    `json:"ack_ms"`   // standby to ack of the latest ack, nil if none seen
}

type eventJSON struct {
	Event    string `json:"event"`
	Channel  string `json:"channel"`
	Station  string `json:"station"`
	Label    string `json:"label"`
	At       int64  `json:"at"`
	Source   string `json:"source"`
	AckMS    *int64 `json:"ack_ms,omitempty"`
	Unwarned bool   `json:"unwarned,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// DeskEvents is how many of the show's latest events the desk lists.
const DeskEvents = 20

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0
	}
	return t.UnixMilli()
}

func patternsOf(p cues.Patterns) patternsJSON {
	d := cues.DefaultPatterns()
	or := func(v, def time.Duration) int64 {
		if v == 0 {
			v = def
		}
		return v.Milliseconds()
	}
	return patternsJSON{
		Slow: or(p.Slow, d.Slow), Fast: or(p.Fast, d.Fast), WinkOn: or(p.WinkOn, d.WinkOn),
		WinkEvery: or(p.WinkEvery, d.WinkEvery), Alternate: or(p.Alternate, d.Alternate),
		DoubleEvery: or(p.DoubleEvery, d.DoubleEvery), DoubleBlink: cues.DoubleBlink.Milliseconds(),
	}
}

// lampPatterns returns the patterns of a channel's standby and go lamps
// in a state, as the station's engine lights them (docs/protocol.md §2;
// TestLampPatternsMatchEngine holds the two together).
func lampPatterns(state string, ackRequested bool, lamps int) [2]cues.Pattern {
	switch state {
	case "standby":
		if ackRequested {
			return [2]cues.Pattern{cues.PatternSlow, cues.PatternOff}
		}
		return [2]cues.Pattern{cues.PatternSteady, cues.PatternOff}
	case "ack":
		return [2]cues.Pattern{cues.PatternSteady, cues.PatternOff}
	case "go":
		if lamps == 1 {
			return [2]cues.Pattern{cues.PatternFast, cues.PatternOff}
		}
		return [2]cues.Pattern{cues.PatternOff, cues.PatternSteady}
	case "hold":
		if lamps == 1 {
			return [2]cues.Pattern{cues.PatternDouble, cues.PatternOff}
		}
		return [2]cues.Pattern{cues.PatternAlternateFirst, cues.PatternAlternateSecond}
	case "lost":
		return [2]cues.Pattern{cues.PatternWink, cues.PatternOff}
	}
	return [2]cues.Pattern{cues.PatternOff, cues.PatternOff}
}

func lampsOf(c config.Channel) int {
	if c.GoLamp.Name != "" {
		return 2
	}
	return 1
}

// modeler turns the show view into page JSON.
type modeler struct {
	cfg   *config.Config
	chans map[string]config.Channel
}

func newModeler(cfg *config.Config) *modeler {
	m := &modeler{cfg: cfg, chans: map[string]config.Channel{}}
	for _, c := range cfg.Channels {
		m.chans[c.Name] = c
	}
	return m
}

func (m *modeler) channel(c showview.Channel, ackMS *int64) channelJSON {
	cc := m.chans[c.Name]
	lamps := lampsOf(cc)
	p := lampPatterns(c.State.State, c.State.AckRequested, lamps)
	return channelJSON{
		Name: c.Name, Station: c.Station, Title: cc.Label, Lamps: lamps,
		State: c.State.State, Label: c.State.Label, AckRequested: c.State.AckRequested,
		Since: ms(c.State.Since), Online: c.Online,
		Patterns: [2]string{p[0].String(), p[1].String()}, AckMS: ackMS,
	}
}

func stationOf(s showview.StationView) stationJSON {
	j := stationJSON{Name: s.Name, Status: s.Status}
	if s.Info != nil {
		j.Link = s.Info.Link
		j.Started = ms(s.Info.Started)
	}
	return j
}

func eventOf(e mqttlink.Event) eventJSON {
	j := eventJSON{Event: e.Event, Channel: e.Channel, Station: e.Station, Label: e.Label, At: ms(e.At),
		Source: e.Source, Unwarned: e.Unwarned, Reason: e.Reason}
	if e.Event == "ack" {
		a := e.AckMS
		j.AckMS = &a
	}
	return j
}

// model reads the whole view.
func (m *modeler) model(v *showview.View, now time.Time) pageModel {
	pm := pageModel{Now: now.UnixMilli(), Show: m.cfg.Show, Patterns: patternsOf(m.cfg.Patterns)}
	all := v.Events(showview.EventHistory)
	acks := map[string]*int64{}
	for _, e := range all {
		if e.Event == "ack" {
			a := e.AckMS
			acks[e.Channel] = &a
		}
	}
	if len(all) > DeskEvents {
		all = all[len(all)-DeskEvents:]
	}
	pm.Events = make([]eventJSON, 0, len(all))
	for _, e := range all {
		pm.Events = append(pm.Events, eventOf(e))
	}
	for _, s := range v.Stations() {
		pm.Stations = append(pm.Stations, stationOf(s))
	}
	for _, c := range v.Channels() {
		cj := m.channel(c, acks[c.Name])
		pm.Hold = pm.Hold || cj.State == "hold"
		pm.Channels = append(pm.Channels, cj)
	}
	return pm
}
