package cues

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/cuelight/cuelight/drivers"
)

// ErrUnknownName is returned (wrapped) by ParseState, ParseVerb and
// ParseSource for a name that is not one of theirs.
var ErrUnknownName = errors.New("cues: unknown name")

// State is the cue state of one channel (docs/protocol.md §2). The zero value is
// StateOff: nothing pending.
type State uint8

// The channel states, in the order of docs/protocol.md §2.
const (
	StateOff     State = iota // nothing pending
	StateStandby              // standby given; ack maybe requested
	StateAck                  // the position acknowledged the standby
	StateGo                   // GO given; back to off after go_hold
	StateHold                 // show-wide hold latched
	StateLost                 // the station lost its booth link
)

var stateNames = [...]string{"off", "standby", "ack", "go", "hold", "lost"}

// String returns the wire name: "off", "standby", "ack", "go", "hold" or
// "lost".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText returns the wire name, so encoding/json writes a State as a
// string.
func (s State) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) {
		return nil, fmt.Errorf("cues: invalid state %d", uint8(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText parses a wire name (see ParseState).
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseState parses a wire name ("off", "standby", ...). The error wraps
// ErrUnknownName.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("%w: state %q", ErrUnknownName, name)
}

// Verb says what a Command asks for. The zero value is not a verb: Apply
// refuses it.
type Verb uint8

// The verbs. Those marked show-wide ignore Command.Channel.
const (
	_                 Verb = iota
	VerbStandby            // standby; ack requested only if the channel requires it
	VerbStandbyAck         // standby with ack requested
	VerbGo                 // GO
	VerbForceGo            // GO that overrides go_requires_ack
	VerbOff                // clear
	VerbAck                // software acknowledge (same effect as the ack button)
	VerbCall               // call the position: call_out and call_lamp for call_hold
	VerbBrightness         // lamp brightness 0..1 in Command.Value
	VerbHold               // show-wide: latch the hold
	VerbRelease            // show-wide: release the hold
	VerbGoCue              // show-wide: GO every channel standing by for Command.Label
	VerbHeartbeat          // show-wide: booth keep-alive; only FromBooth matters
	VerbButtonPress        // the channel's ack button went down
	VerbButtonRelease      // the channel's ack button came up (does nothing)
	VerbCallButton         // the channel's call button: a call from the wing
	VerbButtonStuck        // a driver reports a stuck button (fault)
	VerbCallIn             // the channel's call_in input: a call from the intercom (docs/protocol.md §10)
	VerbFault              // the station's hardware reports a fault on the channel: an output or a device (Command.Reason)
)

var verbNames = [...]string{
	"", "standby", "standby_ack", "go", "force_go", "off", "ack", "call",
	"brightness", "hold", "release", "go_cue", "heartbeat",
	"button_press", "button_release", "call_button", "button_stuck", "call_in", "fault",
}

// String returns the verb's name, as in OSC addresses and MQTT commands:
// "standby", "standby_ack", "go", "force_go", "off", "ack", "call",
// "brightness", "hold", "release", and for the others "go_cue",
// "heartbeat", "button_press", "button_release", "call_button",
// "button_stuck", "call_in".
func (v Verb) String() string {
	if v != 0 && int(v) < len(verbNames) {
		return verbNames[v]
	}
	return "Verb(" + strconv.Itoa(int(v)) + ")"
}

// MarshalText returns the verb's name.
func (v Verb) MarshalText() ([]byte, error) {
	if v == 0 || int(v) >= len(verbNames) {
		return nil, fmt.Errorf("cues: invalid verb %d", uint8(v))
	}
	return []byte(verbNames[v]), nil
}

// UnmarshalText parses a verb's name (see ParseVerb).
func (v *Verb) UnmarshalText(b []byte) error {
	x, err := ParseVerb(string(b))
	if err != nil {
		return err
	}
	*v = x
	return nil
}

// ParseVerb parses a verb's name ("standby_ack", "force_go", ...). The error
// wraps ErrUnknownName.
func ParseVerb(name string) (Verb, error) {
	if name != "" {
		for i, n := range verbNames {
			if n == name {
				return Verb(i), nil
			}
		}
	}
	return 0, fmt.Errorf("%w: verb %q", ErrUnknownName, name)
}

// ParseCommandVerb parses the name of a verb that a remote may send: the
// per-channel verbs (standby, standby_ack, go, force_go, off, ack, call,
// brightness) and the show-wide hold and release. It is the one verb table
// of the OSC addresses, the MQTT "cmd" field and cuectl. The engine's inner
// verbs (go_cue, heartbeat, the button verbs) are not commands and give an
// error wrapping ErrUnknownName.
func ParseCommandVerb(name string) (Verb, error) {
	v, err := ParseVerb(name)
	if err != nil || v > VerbRelease {
		return 0, fmt.Errorf("%w: command %q: use standby, standby_ack, go, force_go, off, ack, call, brightness, hold or release", ErrUnknownName, name)
	}
	return v, nil
}

// IsChannelVerb reports whether v is a command for one channel (standby,
// standby_ack, go, force_go, off, ack, call, brightness).
func (v Verb) IsChannelVerb() bool { return v >= VerbStandby && v <= VerbBrightness }

// TakesLabel reports whether v carries a cue label: standby, standby_ack,
// go and force_go.
func (v Verb) TakesLabel() bool { return v >= VerbStandby && v <= VerbForceGo }

// Source says where a command came from. It is carried into events
// (docs/protocol.md §4 "source"); the engine does not otherwise care.
type Source uint8

// The sources. The zero value is "unknown".
const (
	_            Source = iota
	SourceButton        // a button at the station
	SourceOSC           // an OSC message
	SourceMQTT          // an MQTT command
	SourceWeb           // the web page or API
	SourceTimer         // the engine itself: go_hold expiry, link loss
	SourceDevice        // the station's own hardware: an output or a device that failed
)

var sourceNames = [...]string{"unknown", "button", "osc", "mqtt", "web", "timer", "device"}

// String returns "button", "osc", "mqtt", "web", "timer", "device", or "unknown" for
// the zero value.
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "Source(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText returns the source's name.
func (s Source) MarshalText() ([]byte, error) {
	if int(s) >= len(sourceNames) {
		return nil, fmt.Errorf("cues: invalid source %d", uint8(s))
	}
	return []byte(sourceNames[s]), nil
}

// UnmarshalText parses a source's name (see ParseSource).
func (s *Source) UnmarshalText(b []byte) error {
	x, err := ParseSource(string(b))
	if err != nil {
		return err
	}
	*s = x
	return nil
}

// ParseSource parses "button", "osc", "mqtt", "web", "timer" or "device". The error
// wraps ErrUnknownName.
func ParseSource(name string) (Source, error) {
	for i, n := range sourceNames {
		if i > 0 && n == name {
			return Source(i), nil
		}
	}
	return 0, fmt.Errorf("%w: source %q", ErrUnknownName, name)
}

// Role is what an output of a channel is for. The names are the
// configuration keys (docs/protocol.md §5, §7).
type Role uint8

// The output roles.
const (
	_           Role = iota
	StandbyLamp      // the standby lamp; the only lamp of a one-lamp channel
	GoLamp           // the go lamp of a two-lamp channel
	CallLamp         // the optional call lamp
	CallOut          // the optional call signal (relay to an intercom call input, buzzer)
)

var roleNames = [...]string{"", drivers.RoleStandbyLamp, drivers.RoleGoLamp, drivers.RoleCallLamp, drivers.RoleCallOut}

// String returns "standby_lamp", "go_lamp", "call_lamp" or "call_out".
func (r Role) String() string {
	if r != 0 && int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}
