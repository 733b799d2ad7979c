package mqttlink

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// TimeLayout is the wire format of every time in a cuelight payload: RFC 3339
// with exactly three fractional digits, in UTC ("2025-03-01T20:15:04.250Z").
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// FormatTime formats t as RFC 3339 with milliseconds, in UTC, the form used
// by State.Since, Event.At, Info.Started and Command.TS.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeLayout)
}

// NewEpoch returns a fresh random identifier for one process start (16 hex
// digits). State, Event and Info carry it so that a subscriber can tell a
// restarted station from a running one (seq starts again at 1 in a new epoch).
func NewEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// State is the retained state of one channel, published on
// <prefix>/channel/<ch>/state (docs/protocol.md §4).
//
//	{"channel":"fly","station":"sl-wing","state":"ack","label":"23","ack_requested":true,
//	 "since":"2025-03-01T20:15:04.250Z","seq":17,"epoch":"9f2c4a1be07d3c55"}
type State struct {
	Channel      string `json:"channel"`
	Station      string `json:"station"`
	State        string `json:"state"` // off standby ack go hold lost
	Label        string `json:"label"` // empty in lost and hold
	AckRequested bool   `json:"ack_requested"`
	Since        string `json:"since"` // FormatTime of the change
	Seq          int64  `json:"seq"`   // grows by one per change of the channel within one epoch
	Epoch        string `json:"epoch"`
}

// Event is one non-retained report on <prefix>/channel/<ch>/event (docs/protocol.md §4).
//
// AckMS is written only on "ack" events (as "ack_ms", even when 0),
// Unwarned only when true, Reason and ID only when not empty.
type Event struct {
	Event    string `json:"event"` // standby ack press go off call refused rejected hold release lost restored fault
	Channel  string `json:"channel"`
	Station  string `json:"station"`
	Label    string `json:"label"`
	At       string `json:"at"`     // FormatTime
	Source   string `json:"source"` // button osc mqtt web timer
	Seq      int64  `json:"seq"`
	Epoch    string `json:"epoch"`
	AckMS    int64  `json:"-"`                  // milliseconds from standby to ack; "ack" events only
	Unwarned bool   `json:"unwarned,omitempty"` // a GO from off
	Reason   string `json:"reason,omitempty"`   // on refused and rejected
	// ID is the id of the MQTT command that caused the event. It is
	// written twice: as "id", and as "cmd", the name a gateway matches
	// refusals by (docs/protocol.md §9); either is read.
	ID string `json:"id,omitempty"`
	// Unacknowledged: a GO given to a standby whose requested ack never
	// came (docs/protocol.md §10); written only when true.
	Unacknowledged bool `json:"unacknowledged,omitempty"`
	// ElapsedMS: late_ack only, milliseconds from the standby to the
	// escalation; written only when not 0.
	ElapsedMS int64 `json:"elapsed_ms,omitempty"`
}

// eventWire is Event as written: ack_ms present exactly on ack events.
type eventWire struct {
	Event    string `json:"event"`
	Channel  string `json:"channel"`
	Station  string `json:"station"`
	Label    string `json:"label"`
	At       string `json:"at"`
	Source   string `json:"source"`
	Seq      int64  `json:"seq"`
	Epoch    string `json:"epoch"`
	AckMS    *int64 `json:"ack_ms,omitempty"`
	Unwarned bool   `json:"unwarned,omitempty"`
	Reason   string `json:"reason,omitempty"`
	ID       string `json:"id,omitempty"`
	Cmd      string `json:"cmd,omitempty"`

	Unacknowledged bool  `json:"unacknowledged,omitempty"`
	ElapsedMS      int64 `json:"elapsed_ms,omitempty"`
}

// MarshalJSON writes the event as docs/protocol.md §4 describes it.
func (e Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// UnmarshalJSON reads an event written by MarshalJSON.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w eventWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = Event{
		Event: w.Event, Channel: w.Channel, Station: w.Station, Label: w.Label,
		At: w.At, Source: w.Source, Seq: w.Seq, Epoch: w.Epoch,
		Unwarned: w.Unwarned, Reason: w.Reason, ID: w.ID,
		Unacknowledged: w.Unacknowledged, ElapsedMS: w.ElapsedMS,
	}
	if e.ID == "" {
		e.ID = w.Cmd
	}
	if w.AckMS != nil {
		e.AckMS = *w.AckMS
	}
	return nil
}

// Info is the retained description of a station on
// <prefix>/station/<station>/info (docs/protocol.md §4). The link fills DroppedEvents
// and MQTT itself each time it publishes Info; the station fills the rest.
type Info struct {
	Version       string    `json:"version"`
	Show          string    `json:"show,omitempty"` // the link fills it from Options.Show when empty
	Epoch         string    `json:"epoch"`
	Started       string    `json:"started"` // FormatTime of the process start
	Channels      []string  `json:"channels"`
	Link          string    `json:"link"`                // ok, lost, or none (no heartbeat configured)
	ShowHash      string    `json:"show_hash,omitempty"` // a hash of the show file the station runs: stations that disagree run different files
	Gateway       bool      `json:"gateway,omitempty"`   // the station is a gateway (docs/protocol.md §9)
	Board         string    `json:"board,omitempty"`     // the GPIO backend or board: "chardev", "bcm283x", "sim", "none", ...
	Intercom      string    `json:"intercom,omitempty"`  // ok or lost: the Green-GO intercom (docs/protocol.md §10); absent without one
	DroppedEvents int64     `json:"dropped_events"`      // events dropped because the outgoing queue was full
	MQTT          *MQTTInfo `json:"mqtt,omitempty"`
}

// MQTTInfo describes the station's MQTT connection inside Info.
type MQTTInfo struct {
	ClientID         string `json:"client_id"`
	Broker           string `json:"broker"`
	Connects         int64  `json:"connects"`          // successful (re)connections since start
	CommandsRejected int64  `json:"commands_rejected"` // commands handed over flagged Rejected
	CommandsDropped  int64  `json:"commands_dropped"`  // commands lost because the station's intake was full
	PublishFailures  int64  `json:"publish_failures"`  // publishes that failed or timed out
}

// Command is a command received on <prefix>/channel/<ch>/cmd or
// <prefix>/all/cmd (docs/protocol.md §4).
//
//	{"id":"b1f0…","cmd":"go","label":"23","ts":"2025-03-01T20:15:04.250Z","ttl_ms":2000}
type Command struct {
	ID    string   `json:"id"`              // unique per command; repeats within 10 minutes are rejected
	Cmd   string   `json:"cmd"`             // a command verb (cues.ParseCommandVerb), or call_button from a web page
	Label string   `json:"label,omitempty"` // the cue label (standby, standby_ack, go, force_go; go on <p>/all/cmd is a cue GO)
	Value *float64 `json:"value,omitempty"` // brightness, above 0.0 up to 1.0; ignored by other commands
	TS    string   `json:"ts"`              // send time, RFC 3339 (any fraction)
	TTLMS int64    `json:"ttl_ms,omitempty"`
	// Source is who sent it, carried into the events it causes: "" or
	// "mqtt" (cuectl, a gateway, a script), or "web" (a desk or wing page).
	Source string `json:"source,omitempty"`
	// Via is the gateway station that took the command from the booth over
	// OSC and forwarded it; "" for any other sender. A station uses it to
	// tell the copies of one booth command sent through two gateways
	// (docs/protocol.md §9).
	Via string `json:"via,omitempty"`
}

// CmdCallButton is the command a wing page sends for its CALL button: a
// press of the channel's call button (a call from the wing), accepted only
// with Source "web".
const CmdCallButton = "call_button"

// CmdHeartbeat is the booth keep-alive a gateway forwards on <p>/all/cmd
// (docs/protocol.md §9); like every valid command it counts as the booth
// heard, and it does nothing else.
const CmdHeartbeat = "heartbeat"

// Topics builds the topic names of docs/protocol.md §4 under one prefix.
type Topics struct {
	Prefix string // "cuelight" when empty
}

func (t Topics) p() string {
	if t.Prefix == "" {
		return DefaultTopicPrefix
	}
	return strings.TrimSuffix(t.Prefix, "/")
}

// Status is <p>/station/<station>/status (retained "online"/"offline").
func (t Topics) Status(station string) string { return t.p() + "/station/" + station + "/status" }

// Info is <p>/station/<station>/info (retained Info JSON).
func (t Topics) Info(station string) string { return t.p() + "/station/" + station + "/info" }

// State is <p>/channel/<ch>/state (retained State JSON).
func (t Topics) State(channel string) string { return t.p() + "/channel/" + channel + "/state" }

// Event is <p>/channel/<ch>/event (Event JSON, not retained).
func (t Topics) Event(channel string) string { return t.p() + "/channel/" + channel + "/event" }

// Cmd is <p>/channel/<ch>/cmd (Command JSON in).
func (t Topics) Cmd(channel string) string { return t.p() + "/channel/" + channel + "/cmd" }

// AllCmd is <p>/all/cmd (Command JSON in, for every channel).
func (t Topics) AllCmd() string { return t.p() + "/all/cmd" }

// ShowFilters are the subscriptions of the show-wide view: every station's
// status and info, and the state and events of channels, or of every
// channel when channels is nil.
func (t Topics) ShowFilters(channels []string) []string {
	f := []string{t.p() + "/station/+/status", t.p() + "/station/+/info"}
	if channels == nil {
		return append(f, t.State("+"), t.Event("+"))
	}
	for _, ch := range channels {
		f = append(f, t.State(ch), t.Event(ch))
	}
	return f
}

// ShowTopic says which show-wide topic topic is: kind "state" or "event"
// with the channel, or "status" or "info" with the station; ok is false for
// any other topic.
func (t Topics) ShowTopic(topic string) (kind, name string, ok bool) {
	rest, ok := strings.CutPrefix(topic, t.p()+"/")
	if !ok {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[1] == "" {
		return "", "", false
	}
	switch {
	case parts[0] == "channel" && (parts[2] == "state" || parts[2] == "event"):
		return parts[2], parts[1], true
	case parts[0] == "station" && (parts[2] == "status" || parts[2] == "info"):
		return parts[2], parts[1], true
	}
	return "", "", false
}

// cmdChannel reports which command topic topic is: ok is false for any
// other topic; channel is "" for <p>/all/cmd.
func (t Topics) cmdChannel(topic string) (channel string, ok bool) {
	rest, ok := strings.CutPrefix(topic, t.p()+"/")
	if !ok {
		return "", false
	}
	if rest == "all/cmd" {
		return "", true
	}
	rest, ok = strings.CutPrefix(rest, "channel/")
	if !ok {
		return "", false
	}
	ch, ok := strings.CutSuffix(rest, "/cmd")
	if !ok || ch == "" || strings.Contains(ch, "/") {
		return "", false
	}
	return ch, true
}
