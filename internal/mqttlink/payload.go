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
// <prefix>/channel/<ch>/state (SPEC §4).
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

// Event is one non-retained report on <prefix>/channel/<ch>/event (SPEC §4).
//
// AckMS is written only on "ack" events (as "ack_ms", even when 0),
// Unwarned only when true, Reason and ID only when not empty.
type Event struct {
	Event    string `json:"event"` // standby ack press go off call refused rejected hold release lost restored fault
	Channel  string `json:"channel"`
	Station  string `json:"station"`
	Label    string `json:"label"`
	At       string `json:"at"`     // FormatTime
	Source   string `json:"source"` // button osc mqtt web
	Seq      int64  `json:"seq"`
	Epoch    string `json:"epoch"`
	AckMS    int64  `json:"-"`                  // milliseconds from standby to ack; "ack" events only
	Unwarned bool   `json:"unwarned,omitempty"` // a GO from off
	Reason   string `json:"reason,omitempty"`   // on refused and rejected
	ID       string `json:"id,omitempty"`       // the command id when the event answers an MQTT command
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

	Unacknowledged bool  `json:"unacknowledged,omitempty"`
	ElapsedMS      int64 `json:"elapsed_ms,omitempty"`
}

// MarshalJSON writes the event as SPEC §4 describes it.
func (e Event) MarshalJSON() ([]byte, error) {
	w := eventWire{
		Event: e.Event, Channel: e.Channel, Station: e.Station, Label: e.Label,
		At: e.At, Source: e.Source, Seq: e.Seq, Epoch: e.Epoch,
		Unwarned: e.Unwarned, Reason: e.Reason, ID: e.ID,
		Unacknowledged: e.Unacknowledged, ElapsedMS: e.ElapsedMS,
	}
	if e.Event == "ack" {
		ms := e.AckMS
		w.AckMS = &ms
	}
	return json.Marshal(w)
}

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
	if w.AckMS != nil {
		e.AckMS = *w.AckMS
	}
	return nil
}

// Info is the retained description of a station on
// <prefix>/station/<station>/info (SPEC §4). The link fills DroppedEvents
// and MQTT itself each time it publishes Info; the station fills the rest.
type Info struct {
	Version       string    `json:"version"`
	Show          string    `json:"show,omitempty"` // the link fills it from Options.Show when empty
	Epoch         string    `json:"epoch"`
	Started       string    `json:"started"` // FormatTime of the process start
	Channels      []string  `json:"channels"`
	Link          string    `json:"link"`               // ok, lost, or none (no heartbeat configured)
	Intercom      string    `json:"intercom,omitempty"` // ok or lost: the Green-GO intercom (docs/protocol.md §10); absent without one
	DroppedEvents int64     `json:"dropped_events"`     // events dropped because the outgoing queue was full
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
// <prefix>/all/cmd (SPEC §4).
//
//	{"id":"b1f0…","cmd":"go","label":"23","ts":"2025-03-01T20:15:04.250Z","ttl_ms":2000}
type Command struct {
	ID    string   `json:"id"`              // unique per command; repeats within 10 minutes are rejected
	Cmd   string   `json:"cmd"`             // one of Commands
	Label string   `json:"label,omitempty"` // the cue label (standby, standby_ack, go, force_go)
	Value *float64 `json:"value,omitempty"` // brightness 0.0–1.0; ignored by other commands
	TS    string   `json:"ts"`              // send time, RFC 3339 (any fraction)
	TTLMS int64    `json:"ttl_ms,omitempty"`
}

// Commands lists the accepted values of Command.Cmd.
var Commands = []string{"standby", "standby_ack", "go", "force_go", "off", "ack", "call", "brightness", "hold", "release"}

// Topics builds the topic names of SPEC §4 under one prefix.
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
