package cues

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidOptions is returned (wrapped) by New and Patterns.Validate when
// the options cannot make a working engine. The message says which field
// and why.
var ErrInvalidOptions = errors.New("cues: invalid options")

// Defaults for ChannelSpec durations left zero.
const (
	DefaultGoHold   = 3 * time.Second // how long GO shows before the channel returns to off
	DefaultCallHold = 5 * time.Second // how long a call drives call_out and flashes call_lamp
)

// EventKind is what an Event reports; its value is the wire name of the
// event (docs/mqtt.md "event").
type EventKind string

// Event kinds (Event.Kind, docs/protocol.md §4). The engine never emits
// EventRejected: rejecting a retained, repeated or stale MQTT command is the
// station's job, before a Command exists; the constant is here so that
// every kind has one.
const (
	EventStandby  EventKind = "standby"
	EventAck      EventKind = "ack"
	EventPress    EventKind = "press"
	EventGo       EventKind = "go"
	EventOff      EventKind = "off"
	EventCall     EventKind = "call"
	EventRefused  EventKind = "refused"
	EventRejected EventKind = "rejected"
	EventHold     EventKind = "hold"
	EventRelease  EventKind = "release"
	EventLost     EventKind = "lost"
	EventRestored EventKind = "restored"
	EventFault    EventKind = "fault"
	EventCallIn   EventKind = "call_in"  // a call from the intercom on the channel's call_in input (docs/protocol.md §10)
	EventLateAck  EventKind = "late_ack" // a standby not acknowledged within escalate_after (docs/protocol.md §10)
)

// EventKinds lists every kind, in the order of docs/protocol.md §4.
var EventKinds = []EventKind{EventStandby, EventAck, EventPress, EventGo, EventOff, EventCall,
	EventRefused, EventRejected, EventHold, EventRelease, EventLost, EventRestored, EventFault,
	EventCallIn, EventLateAck}

// Reasons the engine gives in refusals (Refusal.Reason, Event.Reason) that
// callers may want to recognise. Others are built per case and name the
// channel or the cue.
const (
	ReasonHold           = "show is on hold"
	ReasonLost           = "the link to the booth is lost"
	ReasonUnknownChannel = "unknown channel"
	ReasonNoChannel      = "command needs a channel"
	ReasonUnknownVerb    = "unknown command"
	ReasonBrightness     = "brightness must be above 0 and at most 1: a dark lamp must never mean GO"
	ReasonCueLabel       = "cue go needs a cue label"
	ReasonTooFarAhead    = "scheduled more than 10s ahead: send it closer to its time"
)

// DefaultMinBrightness is the dimmest a lit lamp shows when a station sets
// no minimum: a lamp is never so dim that a state reads as dark.
const DefaultMinBrightness = 0.1

// MaxScheduleAhead is how far in the future a command may be scheduled
// (an OSC bundle's time tag); further ahead it is refused.
const MaxScheduleAhead = 10 * time.Second

// MaxLabelBytes is the longest cue label, in bytes of UTF-8.
const MaxLabelBytes = 64

// ChannelSpec is the part of a channel's configuration the engine needs.
type ChannelSpec struct {
	Name          string        // channel name (docs/protocol.md §1): a-z 0-9 - _, 1–32 characters, not reserved
	Label         string        // human label, e.g. "Fly rail" (not the cue label)
	Lamps         int           // 1 (standby lamp only) or 2 (standby and go lamp)
	HasCallLamp   bool          // the channel has a call_lamp output
	HasCallOut    bool          // the channel has a call_out output
	RequireAck    bool          // every standby requests an ack
	GoRequiresAck bool          // GO needs an acknowledged standby; force_go overrides
	GoHold        time.Duration // how long GO shows; 0 means DefaultGoHold
	CallHold      time.Duration // how long a call lasts; 0 means DefaultCallHold
	// EscalateAfter > 0: a standby with an ack requested that is not
	// acknowledged within it escalates once (docs/protocol.md §10); 0: never.
	EscalateAfter time.Duration
}

// Options configures an Engine.
type Options struct {
	Channels         []ChannelSpec // this station's channels, in configuration order
	Patterns         Patterns      // lamp timings; zero fields take defaults
	HeartbeatTimeout time.Duration // 0: no booth heartbeat required (Link() is "none")
	// MinBrightness is the dimmest level a lit lamp shows, whatever the
	// brightness commands asked for: above 0, at most 1; 0 means
	// DefaultMinBrightness.
	MinBrightness float64
	// Start is the phase origin of every lamp pattern and the instant from
	// which booth silence is counted. Required: normally the station's
	// start-up time from its clock.
	Start time.Time
}

// Command is one command or input for one channel (or for the show, for the
// show-wide verbs). The station resolves OSC patterns and comma lists to
// channel names and applies the command once per channel.
type Command struct {
	Verb     Verb
	Channel  string  // channel name; ignored by the show-wide verbs (hold, release, go_cue, heartbeat)
	Label    string  // cue label, when HasLabel
	HasLabel bool    // a label was given (possibly empty)
	Value    float64 // brightness, 0..1
	Source   Source
	// FromBooth marks a valid command from an allowed booth address: it
	// counts as "heard" for the heartbeat rule (docs/protocol.md §6.3), and when the
	// link is lost it restores it before the command applies.
	FromBooth bool
	ID        string // optional command id (MQTT), carried into the events it causes
	Reason    string // button_stuck: what is stuck, e.g. "ack button GPIO22 held 10s"
}

// ChannelState is the state of one channel (docs/protocol.md §4 state JSON, without
// the station-wide fields station and epoch).
type ChannelState struct {
	Channel      string    // channel name
	Label        string    // cue label; empty in off, hold and lost
	State        State     // the state
	AckRequested bool      // an ack was requested; only ever true in standby and ack
	Since        time.Time // when the channel entered this state
	Seq          uint64    // number of changes of this channel since the engine was made
}

// Event is one reportable happening (docs/protocol.md §4 event JSON, without station
// and epoch).
type Event struct {
	Kind     EventKind // what happened
	Channel  string    // channel name
	Label    string    // cue label (see docs/states.md for which one each kind carries)
	At       time.Time // when it happened; a timer's own deadline for timer events
	Source   Source    // where the cause came from; SourceTimer for go_hold expiry and link loss
	Seq      uint64    // seq of the change it reports, or the channel's current seq
	AckMs    int64     // ack only: milliseconds from the standby to the ack
	Unwarned bool      // go only: the position had no standby for this GO
	// Unacknowledged, go only: the GO found the channel in a standby whose
	// requested ack never came (docs/protocol.md §10).
	Unacknowledged bool
	ElapsedMs      int64  // late_ack only: milliseconds from the standby to the escalation
	Reason         string // refused and fault only
	ID             string // the command's id, if any
}

// Refusal is a command (or part of one) the engine did not carry out.
// Channel is empty for show-wide refusals (a cue go that matched nothing,
// a hold while the link is lost).
type Refusal struct {
	Channel string
	Reason  string
}

// Result is what one Apply or Advance did.
//
// The slices are owned by the Engine and reused: they are valid only until
// the next call of Apply or Advance. Copy what must be kept.
type Result struct {
	// Changed holds the channel states after each change, in order of
	// change. A channel changed twice (lost → off → standby) appears twice.
	Changed []ChannelState
	// Events holds the events to report, in order.
	Events []Event
	// Refused holds what was refused; every refusal that names a channel
	// is also reported as a refused event on it.
	Refused []Refusal
	// Touched lists the known channels the command addressed, whatever the
	// outcome (a duplicate too), so the sender can be given the current
	// state as feedback. Show-wide hold and release touch every channel; a
	// cue go touches the channels it matched.
	Touched []string
}

// Output is the level one output must show.
type Output struct {
	Channel string  // channel name
	Role    Role    // which output of the channel
	Level   float64 // lamps: 0 dark, up to 1, scaled by the channel's brightness; CallOut: 0 or 1
	State   State   // the channel's state (an RGB lamp's colour is the state's)
}

// channel is the engine's record of one channel.
type channel struct {
	spec      ChannelSpec // with defaults filled in
	cs        ChannelState
	goUntil   time.Time // end of go_hold while cs.State == StateGo
	callUntil time.Time // end of the current call; no call when not after now
	// callInUntil is the end of the call_lamp flash of a call in (the
	// call_out is not driven by it).
	callInUntil time.Time
	esc         escalation
	bright      float64
	goRefusal   string // the reason a GO without an ack is refused
}

// Engine is the cue state machine of one station: commands and clock times
// in, lamp levels and events out. It has no clock, goroutines or I/O of its
// own: every method that depends on time takes the current time, and
// nothing happens between calls.
//
// An Engine is not safe for concurrent use. The station calls it from one
// goroutine (the cue loop), which orders every command, button edge and
// timer tick.
type Engine struct {
	ch    []channel
	idx   map[string]int
	pat   Patterns
	shape [PatternDouble + 1]shape
	start time.Time

	hb    time.Duration // heartbeat timeout; 0 = none
	heard time.Time     // last time the booth was heard
	lost  bool
	held  bool

	minBright float64 // the dimmest lit level
	escOn     bool    // some channel has escalate_after (escalate.go)

	sched    []scheduled // commands held for a future time, in order of due time then arrival
	schedSeq uint64      // arrival order of scheduled commands

	goDue   time.Time // earliest goUntil of any channel in go; zero = none
	goDueCh int       // the channel of goDue
	goDueOK bool      // goDue is up to date

	res Result // reused buffers
}

// Reserved words that are never channel names (docs/protocol.md §1).
var reservedNames = [...]string{"all", "cue", "state", "ping", "pong", "sync", "heartbeat", "error", "station", "channel"}

// CheckChannelName reports why name is not a valid channel name (docs/protocol.md §1:
// lowercase a-z 0-9 - _, 1–32 characters, not a reserved word), or nil.
func CheckChannelName(name string) error {
	if why := nameProblem(name); why != "" {
		return fmt.Errorf("cues: channel name %q: %s", name, why)
	}
	return nil
}

func nameProblem(name string) string {
	if len(name) < 1 || len(name) > 32 {
		return "must be 1 to 32 characters"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "only lowercase a-z, 0-9, - and _ are allowed"
		}
	}
	for _, r := range reservedNames {
		if name == r {
			return "reserved word"
		}
	}
	return ""
}

// New returns an engine with every channel off, every output dark, and
// nothing pending. It checks the options: a valid Start, valid and unique
// channel names, 1 or 2 lamps, no negative durations, valid pattern
// timings, and, on a one-lamp channel, a go_hold of at least one fast-flash
// period (so that GO is lit at least once). Errors wrap ErrInvalidOptions.
func New(opts Options) (*Engine, error) {
	if opts.Start.IsZero() {
		return nil, fmt.Errorf("%w: Start is required (the phase origin of the lamp patterns)", ErrInvalidOptions)
	}
	if opts.HeartbeatTimeout < 0 {
		return nil, fmt.Errorf("%w: heartbeat timeout %v is negative", ErrInvalidOptions, opts.HeartbeatTimeout)
	}
	if err := opts.Patterns.Validate(); err != nil {
		return nil, err
	}
	if opts.MinBrightness == 0 {
		opts.MinBrightness = DefaultMinBrightness
	}
	if !(opts.MinBrightness > 0 && opts.MinBrightness <= 1) {
		return nil, fmt.Errorf("%w: minimum brightness %g must be above 0 and at most 1", ErrInvalidOptions, opts.MinBrightness)
	}
	e := &Engine{
		minBright: opts.MinBrightness,
		ch:        make([]channel, len(opts.Channels)),
		idx:       make(map[string]int, len(opts.Channels)),
		pat:       opts.Patterns.withDefaults(),
		start:     opts.Start,
		hb:        opts.HeartbeatTimeout,
		heard:     opts.Start,
	}
	for p := range e.shape {
		e.shape[p], _ = e.pat.shape(Pattern(p))
	}
	for i, sp := range opts.Channels {
		if why := nameProblem(sp.Name); why != "" {
			return nil, fmt.Errorf("%w: channels[%d]: channel name %q: %s", ErrInvalidOptions, i, sp.Name, why)
		}
		if _, dup := e.idx[sp.Name]; dup {
			return nil, fmt.Errorf("%w: channels[%d]: channel %q is listed twice", ErrInvalidOptions, i, sp.Name)
		}
		if sp.Lamps != 1 && sp.Lamps != 2 {
			return nil, fmt.Errorf("%w: channel %q: lamps must be 1 or 2, not %d", ErrInvalidOptions, sp.Name, sp.Lamps)
		}
		if sp.GoHold < 0 || sp.CallHold < 0 || sp.EscalateAfter < 0 {
			return nil, fmt.Errorf("%w: channel %q: go_hold, call_hold and escalate_after must not be negative", ErrInvalidOptions, sp.Name)
		}
		if sp.EscalateAfter > 0 {
			e.escOn = true
		}
		if sp.GoHold == 0 {
			sp.GoHold = DefaultGoHold
		}
		if sp.CallHold == 0 {
			sp.CallHold = DefaultCallHold
		}
		if sp.Lamps == 1 && sp.GoHold < e.pat.Fast {
			return nil, fmt.Errorf("%w: channel %q: go_hold %v is shorter than one fast-flash period (%v): a one-lamp channel could show GO dark",
				ErrInvalidOptions, sp.Name, sp.GoHold, e.pat.Fast)
		}
		e.idx[sp.Name] = i
		e.ch[i] = channel{
			spec:      sp,
			cs:        ChannelState{Channel: sp.Name, State: StateOff, Since: opts.Start},
			bright:    1,
			goRefusal: sp.Name + " needs an acknowledged standby before GO; use force_go to override",
		}
	}
	e.goDueOK = true
	return e, nil
}

// Link reports the booth link: "none" when no heartbeat timeout is set,
// otherwise "lost" or "ok".
func (e *Engine) Link() string {
	switch {
	case e.hb == 0:
		return "none"
	case e.lost:
		return "lost"
	}
	return "ok"
}

// Snapshot returns the state of the named channel, and false if the engine
// has no such channel.
func (e *Engine) Snapshot(name string) (ChannelState, bool) {
	i, ok := e.idx[name]
	if !ok {
		return ChannelState{}, false
	}
	return e.ch[i].cs, true
}

// States appends the state of every channel, in configuration order, to dst
// and returns the extended slice.
func (e *Engine) States(dst []ChannelState) []ChannelState {
	for i := range e.ch {
		dst = append(dst, e.ch[i].cs)
	}
	return dst
}

// Apply carries out one command at time now and reports what it did.
//
// Timers due at or before now (go_hold expiry, link loss) fire first, at
// their own deadlines, so the outcome does not depend on whether the
// station called Advance in time. Then, for a FromBooth command, the booth
// counts as heard, and a lost link is restored (every channel off). Then
// the command applies. See docs/states.md for every transition.
//
// The Result's slices are valid until the next Apply or Advance.
func (e *Engine) Apply(now time.Time, c Command) Result {
	if e.arrive(now, &c) {
		e.command(now, &c)
	}
	return e.res
}

// arrive starts a call for command c arriving at now: timers due by now
// fire, the booth is heard (a lost link restored) for a FromBooth command,
// and a label that breaks the label rule is refused. It reports whether
// the command may go on.
func (e *Engine) arrive(now time.Time, c *Command) bool {
	e.begin()
	e.runTimers(now)
	if c.FromBooth && e.hb > 0 {
		if now.After(e.heard) {
			e.heard = now
		}
		if e.lost {
			e.restore(now, c)
		}
	}
	if c.HasLabel {
		if err := CheckLabel(c.Label); err != nil {
			e.refuseLabel(now, c, err)
			return false
		}
	}
	return true
}

// command carries out c at now: the part of Apply after timers and the
// booth link, shared with scheduled commands.
func (e *Engine) command(now time.Time, c *Command) {
	switch c.Verb {
	case VerbHold:
		e.hold(now, c)
	case VerbRelease:
		e.release(now, c)
	case VerbGoCue:
		e.goCue(now, c)
	case VerbHeartbeat:
		// Heard in Apply; nothing more.
	default:
		if c.Verb == 0 || c.Verb > VerbFault {
			e.refuse(-1, c.Channel, ReasonUnknownVerb, now, c)
			break
		}
		i, ok := e.idx[c.Channel]
		if !ok {
			reason := ReasonUnknownChannel
			if c.Channel == "" {
				reason = ReasonNoChannel
			}
			e.refuse(-1, c.Channel, reason, now, c)
			break
		}
		e.res.Touched = append(e.res.Touched, e.ch[i].spec.Name)
		e.channelVerb(i, now, c)
	}
}

// refuseLabel refuses a command whose label breaks the label rule. The
// refusal names the problem; the bad label itself is not echoed.
func (e *Engine) refuseLabel(now time.Time, c *Command, err error) {
	bad := *c
	bad.Label, bad.HasLabel = "", false
	i, ok := e.idx[c.Channel]
	if !ok || isShowWide(c.Verb) {
		i = -1
	}
	e.refuse(i, c.Channel, err.Error(), now, &bad)
	if i >= 0 {
		e.res.Touched = append(e.res.Touched, c.Channel)
	}
}

func isShowWide(v Verb) bool {
	return v == VerbHold || v == VerbRelease || v == VerbGoCue || v == VerbHeartbeat
}

// CheckLabel reports why label cannot be a cue label, or nil: a label is at
// most MaxLabelBytes bytes of valid UTF-8 with no control characters. A
// label that breaks the rule is refused, never cut or emptied.
func CheckLabel(label string) error {
	if len(label) > MaxLabelBytes {
		return fmt.Errorf("cue label is %d bytes long; at most %d bytes are allowed", len(label), MaxLabelBytes)
	}
	if !utf8.ValidString(label) {
		return errors.New("cue label is not valid UTF-8 text")
	}
	for _, r := range label {
		if unicode.IsControl(r) {
			return fmt.Errorf("cue label contains the control character %U; use plain text", r)
		}
	}
	return nil
}

// Advance fires every timer due at or before now: go_hold expiry (go →
// off), link loss (every channel → lost). A call_hold ending changes
// outputs only and reports nothing. The station calls it at NextChange.
//
// The Result's slices are valid until the next Apply or Advance.
func (e *Engine) Advance(now time.Time) Result {
	e.begin()
	e.runTimers(now)
	return e.res
}

func (e *Engine) begin() {
	e.res.Changed = e.res.Changed[:0]
	e.res.Events = e.res.Events[:0]
	e.res.Refused = e.res.Refused[:0]
	e.res.Touched = e.res.Touched[:0]
}

// change moves channel i to a new state at time at.
func (e *Engine) change(i int, at time.Time, st State, label string, ackReq bool) {
	ch := &e.ch[i]
	if ch.cs.State == StateGo || st == StateGo {
		e.goDueOK = false
	}
	ch.endEscalation() // an escalation belongs to one standby (escalate.go)
	ch.cs.State = st
	ch.cs.Label = label
	ch.cs.AckRequested = ackReq
	ch.cs.Since = at
	ch.cs.Seq++
	e.res.Changed = append(e.res.Changed, ch.cs)
}

// event reports an event on channel i with the channel's current seq.
func (e *Engine) event(i int, kind EventKind, label string, at time.Time, src Source, id string) *Event {
	e.res.Events = append(e.res.Events, Event{
		Kind:    kind,
		Channel: e.ch[i].spec.Name,
		Label:   label,
		At:      at,
		Source:  src,
		Seq:     e.ch[i].cs.Seq,
		ID:      id,
	})
	return &e.res.Events[len(e.res.Events)-1]
}

// refuse records a refusal; with a channel (i >= 0) it is also reported as
// a refused event carrying the command's label, or the channel's.
func (e *Engine) refuse(i int, name, reason string, now time.Time, c *Command) {
	e.res.Refused = append(e.res.Refused, Refusal{Channel: name, Reason: reason})
	if i < 0 {
		return
	}
	label := e.ch[i].cs.Label
	if c.HasLabel {
		label = c.Label
	}
	e.event(i, EventRefused, label, now, c.Source, c.ID).Reason = reason
}

func (e *Engine) touchAll() {
	for i := range e.ch {
		e.res.Touched = append(e.res.Touched, e.ch[i].spec.Name)
	}
}

// heartbeatDue returns when the link will be lost, or zero.
func (e *Engine) heartbeatDue() time.Time {
	if e.hb == 0 || e.lost {
		return time.Time{}
	}
	return e.heard.Add(e.hb)
}

// updateGoDue recomputes the earliest go_hold deadline.
func (e *Engine) updateGoDue() {
	e.goDue, e.goDueCh = time.Time{}, -1
	for i := range e.ch {
		ch := &e.ch[i]
		if ch.cs.State == StateGo && (e.goDue.IsZero() || ch.goUntil.Before(e.goDue)) {
			e.goDue, e.goDueCh = ch.goUntil, i
		}
	}
	e.goDueOK = true
}

// runTimers fires every timer due at or before now, earliest first; at
// the same instant a go_hold expiry fires first, then a link loss, then
// scheduled commands (so a link lost at a command's due time drops it).
func (e *Engine) runTimers(now time.Time) {
	for {
		if !e.goDueOK {
			e.updateGoDue()
		}
		hbDue := e.heartbeatDue()
		goReady := !e.goDue.IsZero() && !e.goDue.After(now)
		hbReady := !hbDue.IsZero() && !hbDue.After(now)
		schedReady := len(e.sched) > 0 && !e.sched[0].due.After(now)
		escDue, escCh := e.escalationDue()
		// An escalation fires first only when it is strictly earlier than
		// every other timer due: at the same instant a go_hold end, a link
		// loss or a scheduled command (which may cancel it) comes first.
		escFirst := !escDue.IsZero() && !escDue.After(now) &&
			(!goReady || escDue.Before(e.goDue)) && (!hbReady || escDue.Before(hbDue)) &&
			(!schedReady || escDue.Before(e.sched[0].due))
		switch {
		case escFirst:
			e.escalate(escCh, escDue)
		case goReady && (!hbReady || !hbDue.Before(e.goDue)) && (!schedReady || !e.sched[0].due.Before(e.goDue)):
			i, at := e.goDueCh, e.goDue
			label := e.ch[i].cs.Label
			e.change(i, at, StateOff, "", false)
			e.event(i, EventOff, label, at, SourceTimer, "")
		case hbReady && (!schedReady || !e.sched[0].due.Before(hbDue)):
			e.loseLink(hbDue)
		case schedReady:
			s := e.sched[0]
			e.sched = e.sched[1:]
			e.command(s.due, &s.c)
		default:
			return
		}
	}
}

// loseLink moves every channel to lost at time at: pending standbys,
// GOs, calls and the hold latch are dropped.
func (e *Engine) loseLink(at time.Time) {
	e.dropScheduled(at, ReasonLost)
	e.lost = true
	e.held = false
	for i := range e.ch {
		e.ch[i].callUntil = time.Time{}
		e.change(i, at, StateLost, "", false)
		e.event(i, EventLost, "", at, SourceTimer, "")
	}
}

// restore moves every channel from lost to off: never to its old state.
func (e *Engine) restore(now time.Time, c *Command) {
	e.lost = false
	for i := range e.ch {
		e.change(i, now, StateOff, "", false)
		e.event(i, EventRestored, "", now, c.Source, c.ID)
	}
}

func (e *Engine) hold(now time.Time, c *Command) {
	switch {
	case e.lost:
		e.refuse(-1, "", ReasonLost, now, c)
		return
	case e.held:
		e.touchAll() // duplicate
		return
	}
	e.touchAll()
	e.dropScheduled(now, ReasonHold)
	e.held = true
	for i := range e.ch {
		e.change(i, now, StateHold, "", false)
		e.event(i, EventHold, "", now, c.Source, c.ID)
	}
}

func (e *Engine) release(now time.Time, c *Command) {
	if e.lost {
		e.refuse(-1, "", ReasonLost, now, c)
		return
	}
	e.touchAll()
	if !e.held {
		return // duplicate: the latch is already released
	}
	e.held = false
	for i := range e.ch {
		e.change(i, now, StateOff, "", false)
		e.event(i, EventRelease, "", now, c.Source, c.ID)
	}
}

func (e *Engine) goCue(now time.Time, c *Command) {
	switch {
	case e.lost:
		e.refuse(-1, "", ReasonLost, now, c)
		return
	case e.held:
		e.refuse(-1, "", ReasonHold, now, c)
		return
	case !c.HasLabel || c.Label == "":
		e.refuse(-1, "", ReasonCueLabel, now, c)
		return
	}
	matched := 0
	for i := range e.ch {
		cs := &e.ch[i].cs
		if (cs.State == StateStandby || cs.State == StateAck) && cs.Label == c.Label {
			matched++
			e.res.Touched = append(e.res.Touched, cs.Channel)
			e.goChannel(i, now, c, false)
		}
	}
	if matched == 0 {
		e.refuse(-1, "", "no channel is standing by for cue "+strconv.Quote(c.Label), now, c)
	}
}

// channelVerb applies a channel verb to the known channel i.
func (e *Engine) channelVerb(i int, now time.Time, c *Command) {
	ch := &e.ch[i]
	switch c.Verb {
	case VerbButtonRelease:
		return
	case VerbCallButton:
		e.event(i, EventCall, ch.cs.Label, now, c.Source, c.ID)
		return
	case VerbCallIn:
		e.callIn(i, now, c)
		return
	case VerbButtonStuck, VerbFault:
		reason := c.Reason
		if reason == "" {
			reason = "button stuck"
		}
		e.event(i, EventFault, ch.cs.Label, now, c.Source, c.ID).Reason = reason
		return
	case VerbButtonPress, VerbAck:
		if ch.cs.State != StateStandby {
			e.event(i, EventPress, ch.cs.Label, now, c.Source, c.ID)
			return
		}
		ms := now.Sub(ch.cs.Since).Milliseconds()
		if ms < 0 {
			ms = 0
		}
		e.change(i, now, StateAck, ch.cs.Label, ch.cs.AckRequested)
		e.event(i, EventAck, ch.cs.Label, now, c.Source, c.ID).AckMs = ms
		return
	}
	if e.lost { // not from the booth: FromBooth restored the link in Apply
		switch c.Verb {
		case VerbCall:
			e.call(i, now, c)
		case VerbBrightness:
			e.brightness(i, now, c)
		default:
			e.refuse(i, ch.spec.Name, ReasonLost, now, c)
		}
		return
	}
	if e.held {
		e.refuse(i, ch.spec.Name, ReasonHold, now, c)
		return
	}
	switch c.Verb {
	case VerbStandby, VerbStandbyAck:
		e.standby(i, now, c)
	case VerbGo:
		e.goChannel(i, now, c, false)
	case VerbForceGo:
		e.goChannel(i, now, c, true)
	case VerbOff:
		if !Quiet(ch.cs, *c) {
			label := ch.cs.Label
			e.change(i, now, StateOff, "", false)
			e.event(i, EventOff, label, now, c.Source, c.ID)
		}
	case VerbCall:
		e.call(i, now, c)
	case VerbBrightness:
		e.brightness(i, now, c)
	}
}

func (e *Engine) standby(i int, now time.Time, c *Command) {
	ch := &e.ch[i]
	ackReq := c.Verb == VerbStandbyAck || ch.spec.RequireAck
	label := ""
	if c.HasLabel {
		label = c.Label
	}
	if Quiet(ch.cs, *c) {
		return // duplicate: the same cue again (never un-acknowledge a position)
	}
	// Otherwise a new cue, or the same cue now asking for an ack: a new
	// standby.
	e.change(i, now, StateStandby, label, ackReq)
	e.event(i, EventStandby, label, now, c.Source, c.ID)
	e.armEscalation(i, now)
}

// goChannel applies a GO (force: a force_go) to channel i, which is
// neither lost nor held.
func (e *Engine) goChannel(i int, now time.Time, c *Command, force bool) {
	ch := &e.ch[i]
	label := ch.cs.Label
	unwarned := false
	unacked := ch.cs.State == StateStandby && ch.cs.AckRequested
	switch ch.cs.State {
	case StateGo:
		if Quiet(ch.cs, *c) {
			return // duplicate
		}
		label, unwarned = c.Label, true
	case StateStandby, StateAck:
		if ch.cs.State == StateStandby && ch.spec.GoRequiresAck && !force {
			e.refuse(i, ch.spec.Name, ch.goRefusal, now, c)
			return
		}
		if c.HasLabel && c.Label != ch.cs.Label {
			// Warned for another cue: a blank standby label warns for any.
			unwarned = ch.cs.Label != ""
			label = c.Label
		}
	default: // StateOff
		if ch.spec.GoRequiresAck && !force {
			e.refuse(i, ch.spec.Name, ch.goRefusal, now, c)
			return
		}
		label, unwarned = c.Label, true
	}
	ch.goUntil = now.Add(ch.spec.GoHold)
	e.change(i, now, StateGo, label, false)
	ev := e.event(i, EventGo, label, now, c.Source, c.ID)
	ev.Unwarned, ev.Unacknowledged = unwarned, unacked
}

func (e *Engine) call(i int, now time.Time, c *Command) {
	ch := &e.ch[i]
	ch.callUntil = now.Add(ch.spec.CallHold)
	ch.esc.calling = false // this call is the booth's, not the escalation's
	e.event(i, EventCall, ch.cs.Label, now, c.Source, c.ID)
}

func (e *Engine) brightness(i int, now time.Time, c *Command) {
	if !brightnessValid(c.Value) {
		e.refuse(i, e.ch[i].spec.Name, ReasonBrightness, now, c)
		return
	}
	e.ch[i].bright = c.Value
}

// lampPatterns returns the patterns of a channel's standby and go lamps
// (a one-lamp channel uses only the first).
func (ch *channel) lampPatterns() (standby, goLamp Pattern) {
	switch ch.cs.State {
	case StateStandby:
		if ch.cs.AckRequested {
			return PatternSlow, PatternOff
		}
		return PatternSteady, PatternOff
	case StateAck:
		return PatternSteady, PatternOff
	case StateGo:
		if ch.spec.Lamps == 1 {
			return PatternFast, PatternOff // never dark for GO
		}
		return PatternOff, PatternSteady
	case StateHold:
		if ch.spec.Lamps == 1 {
			return PatternDouble, PatternOff
		}
		return PatternAlternateFirst, PatternAlternateSecond
	case StateLost:
		return PatternWink, PatternOff
	}
	return PatternOff, PatternOff
}

// litAt returns, for every pattern, whether it is lit at offset d: the
// patterns are shared by all channels, so each is computed once per call.
func (e *Engine) litAt(d time.Duration) (lit [PatternDouble + 1]bool) {
	lit[PatternSteady] = true
	for p := PatternSlow; p <= PatternDouble; p++ {
		lit[p] = e.shape[p].on(d)
	}
	return lit
}

// Outputs appends the level every output must show at now to dst and
// returns the extended slice. The list always has the same outputs in the
// same order: for each channel in configuration order, its StandbyLamp,
// then its GoLamp (two-lamp channels), CallLamp (if it has one) and CallOut
// (if it has one). A one-lamp channel's only lamp is its StandbyLamp.
//
// Outputs reports the engine's state as it is: the station calls Apply or
// Advance for now first, so that timers due by now have fired.
func (e *Engine) Outputs(now time.Time, dst []Output) []Output {
	lit := e.litAt(now.Sub(e.start))
	level := func(ch *channel, p Pattern) float64 {
		if lit[p] {
			return max(ch.bright, e.minBright)
		}
		return 0
	}
	for i := range e.ch {
		ch := &e.ch[i]
		sp, gp := ch.lampPatterns()
		st := ch.cs.State
		dst = append(dst, Output{Channel: ch.spec.Name, Role: StandbyLamp, Level: level(ch, sp), State: st})
		if ch.spec.Lamps == 2 {
			dst = append(dst, Output{Channel: ch.spec.Name, Role: GoLamp, Level: level(ch, gp), State: st})
		}
		calling := now.Before(ch.callUntil)
		if ch.spec.HasCallLamp {
			p := PatternOff
			if calling || now.Before(ch.callInUntil) {
				p = PatternFast
			}
			dst = append(dst, Output{Channel: ch.spec.Name, Role: CallLamp, Level: level(ch, p), State: st})
		}
		if ch.spec.HasCallOut {
			v := 0.0
			if calling {
				v = 1
			}
			dst = append(dst, Output{Channel: ch.spec.Name, Role: CallOut, Level: v, State: st})
		}
	}
	return dst
}

// NextChange returns the earliest instant after now at which an output
// level changes or a timer is due (go_hold, call_hold, heartbeat), so the
// station can sleep until then; now itself if a timer is already overdue;
// and the zero time when nothing will ever change without a command. A
// scheduled command counts as a timer.
func (e *Engine) NextChange(now time.Time) time.Time {
	var best time.Time
	consider := func(t time.Time) {
		if best.IsZero() || t.Before(best) {
			best = t
		}
	}
	d := now.Sub(e.start)
	// The next edge of each pattern, computed once (zero: not yet).
	var edge [PatternDouble + 1]time.Time
	next := func(p Pattern) time.Time {
		if edge[p].IsZero() {
			edge[p] = e.start.Add(e.shape[p].next(d))
		}
		return edge[p]
	}
	for i := range e.ch {
		ch := &e.ch[i]
		sp, gp := ch.lampPatterns()
		if sp > PatternSteady {
			consider(next(sp))
		}
		if ch.spec.Lamps == 2 && gp > PatternSteady {
			consider(next(gp))
		}
		if ch.cs.State == StateGo {
			consider(ch.goUntil)
		}
		if ch.spec.HasCallOut && now.Before(ch.callUntil) {
			consider(ch.callUntil)
		}
		if ch.spec.HasCallLamp {
			// The call lamp flashes until lampUntil (a call or a call in),
			// then goes dark: a change only if it is lit then.
			if lampUntil := later(ch.callUntil, ch.callInUntil); now.Before(lampUntil) {
				if n := next(PatternFast); n.Before(lampUntil) {
					consider(n)
				} else if e.shape[PatternFast].on(d) {
					consider(lampUntil)
				}
			}
		}
		if e.escOn && !ch.esc.due.IsZero() {
			consider(ch.esc.due)
		}
	}
	if hb := e.heartbeatDue(); !hb.IsZero() {
		consider(hb)
	}
	if len(e.sched) > 0 {
		consider(e.sched[0].due)
	}
	if !best.IsZero() && best.Before(now) {
		return now
	}
	return best
}
