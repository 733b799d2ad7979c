package station

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/osc"
)

// The OSC address space (docs/protocol.md §3). Only the channel part of an
// address may be an OSC pattern ("/cuelight/s?/standby",
// "/cuelight/{sl,sr}/go", "/cuelight/*/off"); a comma list without braces
// ("/cuelight/sl,sr/standby", as existing cue-light controllers send it) is
// read as "{sl,sr}". Every other part is matched literally: the command is
// always written out, so a pattern can never reach force_go (the deliberate
// override) or fan one datagram out into every verb.

// patternChars are the characters that make an address part an OSC pattern.
const patternChars = "?*[]{}"

// routeKind says what an incoming OSC message asks for.
type routeKind uint8

const (
	routeIgnore    routeKind = iota // not for us (another console's chatter): silently counted
	routeCommands                   // one or more cue commands
	routePing                       // reply /cuelight/pong
	routeSync                       // reply every channel's state
	routeError                      // reply /cuelight/error with reason
	routeElsewhere                  // matches only channels of other stations: not an error here
	routeMarker                     // a performance marker for the show log (record.go)
)

// route is the outcome of reading one OSC message.
type route struct {
	kind routeKind
	cmds []cues.Command
	echo []string // channels whose current state is sent back to the sender

	// A gateway's part (docs/protocol.md §9): the channels of other
	// stations the message addressed, and the command to forward to each
	// (fwd); or, with fwdAll, fwd is show-wide and goes to <p>/all/cmd.
	remote     []string
	fwd        cues.Command
	fwdAll     bool
	echoRemote []string // other stations' channels whose state (from the show view) is sent back
	reason     string   // for routeError
	marker     marker   // for routeMarker (record.go)
}

// router turns OSC messages into cue commands for this station. It is used
// only from the OSC server's ordered loop.
type router struct {
	local  []string        // this station's channels, configuration order
	isMine map[string]bool // channel name → belongs to this station
	all    []string        // every channel of the show
	eos    string          // Eos cue list to follow; "" = not configured
	// gateway: commands for other stations' channels are routed too, to be
	// forwarded over MQTT, and show-wide commands are forwarded as well.
	gateway bool
}

func splitAddress(addr string) []string {
	if !strings.HasPrefix(addr, "/") {
		return nil
	}
	return strings.Split(addr[1:], "/")
}

// channelPattern turns a comma list "sl,sr" into the OSC pattern "{sl,sr}".
func channelPattern(p string) string {
	if strings.Contains(p, ",") && !strings.ContainsAny(p, "{}") {
		return "{" + p + "}"
	}
	return p
}

// route reads one message. A valid command from the booth (anything that
// becomes commands, a heartbeat, ping or sync) sets FromBooth on the
// commands it yields; the caller marks the booth as heard.
func (r *router) route(m *osc.Message) route {
	parts := splitAddress(m.Address)
	if len(parts) == 0 {
		return route{kind: routeIgnore}
	}
	switch parts[0] {
	case "eos":
		return r.routeEos(parts)
	case "cuelight":
	default:
		return route{kind: routeIgnore}
	}
	switch len(parts) {
	case 2:
		switch parts[1] {
		case "ping":
			return route{kind: routePing}
		case "sync":
			return route{kind: routeSync}
		case "heartbeat":
			return r.commands(cues.Command{Verb: cues.VerbHeartbeat})
		}
		if strings.ContainsAny(parts[1], patternChars) {
			return route{kind: routeError, reason: writeItOut}
		}
	case 3:
		if strings.ContainsAny(parts[2], patternChars) {
			return route{kind: routeError, reason: writeItOut}
		}
		if parts[1] == "all" {
			switch parts[2] {
			case "hold":
				return r.commands(cues.Command{Verb: cues.VerbHold})
			case "release":
				return r.commands(cues.Command{Verb: cues.VerbRelease})
			}
			return route{kind: routeError, reason: "unknown show-wide command " + parts[2] + ": use hold or release"}
		}
		if parts[1] == "show" && isMarkerKind(parts[2]) {
			return r.routeShow(parts[2], m)
		}
		if parts[1] == "cue" && parts[2] == "go" {
			a := readArgs(m, true)
			switch {
			case a.kind == argRelease:
				return r.commands(cues.Command{Verb: cues.VerbHeartbeat})
			case a.kind == argBad:
				return route{kind: routeError, reason: a.reason}
			case a.kind != argLabel || a.label == "":
				return route{kind: routeError, reason: "/cuelight/cue/go needs the cue label as a string argument"}
			}
			return r.commands(cues.Command{Verb: cues.VerbGoCue, Label: a.label, HasLabel: true})
		}
		return r.routeChannel(parts[1], parts[2], m)
	case 4:
		if parts[1] == "cue" && parts[3] == "go" {
			if readArgs(m, false).kind == argRelease {
				return r.commands(cues.Command{Verb: cues.VerbHeartbeat})
			}
			return r.commands(cues.Command{Verb: cues.VerbGoCue, Label: parts[2], HasLabel: true})
		}
		if strings.ContainsAny(parts[3], patternChars) {
			return route{kind: routeError, reason: writeItOut}
		}
	}
	return route{kind: routeError, reason: "unknown address: cuelight takes /cuelight/<channel>/<command>, /cuelight/cue/<label>/go, /cuelight/all/hold or release, ping, sync, heartbeat (docs/osc.md)"}
}

// writeItOut is the refusal of a pattern outside the channel part.
const writeItOut = "write the command out: only the channel part of an address may be a pattern (/cuelight/*/go is fine, /cuelight/fly/*go is not)"

// routeEos handles /eos/out/event/cue/<list>/<cue>/fire when consoles.eos
// is configured; every other Eos output is ignored.
func (r *router) routeEos(parts []string) route {
	if r.eos == "" || len(parts) != 7 {
		return route{kind: routeIgnore}
	}
	if parts[1] != "out" || parts[2] != "event" || parts[3] != "cue" || parts[6] != "fire" || parts[4] != r.eos {
		return route{kind: routeIgnore}
	}
	return r.commands(cues.Command{Verb: cues.VerbGoCue, Label: parts[5], HasLabel: true})
}

func (r *router) routeChannel(chPart, verbPart string, m *osc.Message) route {
	verb, err := cues.ParseCommandVerb(verbPart)
	if err != nil || !verb.IsChannelVerb() {
		return route{kind: routeError, reason: "unknown command " + verbPart + ": use standby, standby_ack, go, force_go, off, ack, call or brightness"}
	}
	var mine, others []string
	if !strings.ContainsAny(chPart, patternChars+",") {
		// A channel written out, the usual case: nothing to match.
		switch {
		case r.isMine[chPart]:
			mine = []string{chPart}
		case slices.Contains(r.all, chPart):
			others = []string{chPart}
		}
	} else {
		pattern := "/" + channelPattern(chPart)
		for _, ch := range r.all {
			if !osc.Match(pattern, "/"+ch) {
				continue
			}
			if r.isMine[ch] {
				mine = append(mine, ch)
			} else {
				others = append(others, ch)
			}
		}
	}
	if len(mine) == 0 && !(r.gateway && len(others) > 0) {
		if len(others) > 0 {
			return route{kind: routeElsewhere}
		}
		return route{kind: routeError, reason: "no channel " + chPart + " in this show"}
	}
	if !r.gateway {
		others = nil
	}
	base := cues.Command{Verb: verb, Source: cues.SourceOSC, FromBooth: true}
	if verb == cues.VerbBrightness {
		v, ok := numberArg(m)
		if !ok {
			return route{kind: routeError, reason: "brightness needs one number above 0.0, up to 1.0"}
		}
		base.Value = v
	} else {
		a := readArgs(m, verb.TakesLabel())
		switch a.kind {
		case argRelease:
			// A button release (0 or false): changes nothing, but the
			// sender still gets the current state (duplicates, docs/states.md),
			// and it is a sign of life from the booth.
			out := r.commands(cues.Command{Verb: cues.VerbHeartbeat})
			out.echo, out.echoRemote = mine, others // a gateway echoes the others' state from its view
			return out
		case argBad:
			return route{kind: routeError, reason: a.reason}
		case argLabel:
			base.Label, base.HasLabel = a.label, true
		}
	}
	out := route{kind: routeCommands, cmds: make([]cues.Command, 0, len(mine)), remote: others, fwd: base}
	for _, ch := range mine {
		c := base
		c.Channel = ch
		out.cmds = append(out.cmds, c)
	}
	return out
}

// argKind is what a command's arguments say (docs/protocol.md §3
// "Arguments").
type argKind uint8

const (
	argPress   argKind = iota // no argument, or a press (1, 1.0, T): the command without a label
	argRelease                // a release (0, 0.0, F): does nothing
	argLabel                  // a cue label
	argBad                    // arguments that cannot be read without losing a label
)

type args struct {
	kind   argKind
	label  string
	reason string // argBad
}

// readArgs reads a command's arguments. A string argument is the label. A
// single number or boolean follows the button convention of TouchOSC and
// Companion: zero or false is a release, one or true a press; on a verb
// that takes a label, any other number is the cue label as the shortest
// decimal text ("23", "23.5": QLab sends a cue number typed into a network
// cue as a number); on other verbs any non-zero number is a press. Several
// arguments with no string among them cannot be read as one label, and are
// refused rather than guessed at on a verb that takes one.
func readArgs(m *osc.Message, takesLabel bool) args {
	for _, a := range m.Args {
		if v, ok := a.String(); ok {
			return args{kind: argLabel, label: v}
		}
	}
	switch len(m.Args) {
	case 0:
		return args{kind: argPress}
	case 1:
	default:
		if takesLabel {
			return args{kind: argBad, reason: "send the cue label as one string argument (or one number)"}
		}
		return args{kind: argPress}
	}
	a := m.Args[0]
	truth, ok := a.Truth()
	if !ok {
		return args{kind: argPress} // nil, impulse, blob...: a press
	}
	if !truth {
		return args{kind: argRelease}
	}
	n, isNum := a.Number()
	if !isNum || n == 1 || !takesLabel {
		return args{kind: argPress}
	}
	label, ok := numberLabel(a)
	if !ok {
		return args{kind: argBad, reason: "a cue number must be a finite number; send the cue label as a string"}
	}
	return args{kind: argLabel, label: label}
}

// numberLabel writes a numeric argument as the shortest decimal text that
// reads back as the same value: ,i 23 → "23", ,f 23.5 → "23.5".
func numberLabel(a osc.Arg) (string, bool) {
	if v, ok := a.Int32(); ok {
		return strconv.FormatInt(int64(v), 10), true
	}
	if v, ok := a.Int64(); ok {
		return strconv.FormatInt(v, 10), true
	}
	if v, ok := a.Float32(); ok {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return "", false
		}
		return strconv.FormatFloat(float64(v), 'f', -1, 32), true
	}
	if v, ok := a.Float64(); ok {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", false
		}
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// commands routes one show-wide command; a gateway forwards it too.
func (r *router) commands(c cues.Command) route {
	c.Source, c.FromBooth = cues.SourceOSC, true
	return route{kind: routeCommands, cmds: []cues.Command{c}, fwd: c, fwdAll: r.gateway}
}
