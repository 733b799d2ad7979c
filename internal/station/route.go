package station

import (
	"strings"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/osc"
)

// The OSC address space of SPEC §3. Addresses are matched part by part with
// OSC 1.0 pattern rules (osc.Match), so "/cuelight/s?/standby",
// "/cuelight/{sl,sr}/go" and "/cuelight/*/off" all work; a comma list without
// braces ("/cuelight/sl,sr/standby", as existing cue-light controllers send
// it) is read as "{sl,sr}".

// channelVerbs are the per-channel methods, in the order a pattern that
// matches several of them applies them.
var channelVerbs = []struct {
	name string
	verb cues.Verb
}{
	{"standby", cues.VerbStandby},
	{"standby_ack", cues.VerbStandbyAck},
	{"go", cues.VerbGo},
	{"force_go", cues.VerbForceGo},
	{"off", cues.VerbOff},
	{"ack", cues.VerbAck},
	{"call", cues.VerbCall},
	{"brightness", cues.VerbBrightness},
}

// routeKind says what an incoming OSC message asks for.
type routeKind uint8

const (
	routeIgnore    routeKind = iota // not for us (another console's chatter): silently counted
	routeCommands                   // one or more cue commands
	routePing                       // reply /cuelight/pong
	routeSync                       // reply every channel's state
	routeError                      // reply /cuelight/error with reason
	routeElsewhere                  // matches only channels of other stations: not an error here
)

// route is the outcome of reading one OSC message.
type route struct {
	kind   routeKind
	cmds   []cues.Command
	echo   []string // channels whose current state is sent back to the sender
	reason string   // for routeError
}

// router turns OSC messages into cue commands for this station. It is used
// only from the OSC server's ordered loop.
type router struct {
	local  []string        // this station's channels, configuration order
	isMine map[string]bool // channel name → belongs to this station
	all    []string        // every channel of the show
	eos    string          // Eos cue list to follow; "" = not configured
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
	switch {
	case len(parts) >= 2 && osc.Match("/"+parts[0], "/eos"):
		return r.routeEos(parts)
	case !osc.Match("/"+parts[0], "/cuelight"):
		return route{kind: routeIgnore}
	}
	switch len(parts) {
	case 2:
		switch {
		case osc.Match("/"+parts[1], "/ping"):
			return route{kind: routePing}
		case osc.Match("/"+parts[1], "/sync"):
			return route{kind: routeSync}
		case osc.Match("/"+parts[1], "/heartbeat"):
			return r.commands(cues.Command{Verb: cues.VerbHeartbeat})
		}
	case 3:
		if parts[1] == "all" {
			switch parts[2] {
			case "hold":
				return r.commands(cues.Command{Verb: cues.VerbHold})
			case "release":
				return r.commands(cues.Command{Verb: cues.VerbRelease})
			}
			return route{kind: routeError, reason: "unknown show-wide command " + parts[2] + ": use hold or release"}
		}
		if parts[1] == "cue" && parts[2] == "go" {
			label, ok := labelArg(m)
			if !ok || label == "" {
				return route{kind: routeError, reason: "/cuelight/cue/go needs the cue label as a string argument"}
			}
			return r.commands(cues.Command{Verb: cues.VerbGoCue, Label: label, HasLabel: true})
		}
		return r.routeChannel(parts[1], parts[2], m)
	case 4:
		if parts[1] == "cue" && parts[3] == "go" {
			if isButtonRelease(m) {
				return r.commands(cues.Command{Verb: cues.VerbHeartbeat})
			}
			return r.commands(cues.Command{Verb: cues.VerbGoCue, Label: parts[2], HasLabel: true})
		}
	}
	return route{kind: routeError, reason: "unknown address: cuelight takes /cuelight/<channel>/<command>, /cuelight/cue/<label>/go, /cuelight/all/hold or release, ping, sync, heartbeat (docs/station.md)"}
}

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
	pattern := "/" + channelPattern(chPart)
	var verbs []cues.Verb
	for _, v := range channelVerbs {
		if osc.Match("/"+verbPart, "/"+v.name) {
			verbs = append(verbs, v.verb)
		}
	}
	if len(verbs) == 0 {
		return route{kind: routeError, reason: "unknown command " + verbPart + ": use standby, standby_ack, go, force_go, off, ack, call or brightness"}
	}
	var mine []string
	others := false
	for _, ch := range r.all {
		if !osc.Match(pattern, "/"+ch) {
			continue
		}
		if r.isMine[ch] {
			mine = append(mine, ch)
		} else {
			others = true
		}
	}
	if len(mine) == 0 {
		if others {
			return route{kind: routeElsewhere}
		}
		return route{kind: routeError, reason: "no channel " + chPart + " in this show"}
	}
	base := cues.Command{}
	if len(verbs) == 1 && verbs[0] == cues.VerbBrightness {
		v, ok := numberArg(m)
		if !ok {
			return route{kind: routeError, reason: "brightness needs one number from 0.0 to 1.0"}
		}
		base.Value = v
	} else {
		if isButtonRelease(m) {
			// A button release (0 or false): changes nothing, but the
			// sender still gets the current state (SPEC §2 duplicates),
			// and it is a sign of life from the booth.
			out := r.commands(cues.Command{Verb: cues.VerbHeartbeat})
			out.echo = mine
			return out
		}
		if label, ok := labelArg(m); ok {
			base.Label, base.HasLabel = label, true
		}
	}
	out := route{kind: routeCommands}
	for _, ch := range mine {
		for _, v := range verbs {
			c := base
			c.Verb, c.Channel, c.Source, c.FromBooth = v, ch, cues.SourceOSC, true
			out.cmds = append(out.cmds, c)
		}
	}
	return out
}

func (r *router) commands(c cues.Command) route {
	c.Source, c.FromBooth = cues.SourceOSC, true
	return route{kind: routeCommands, cmds: []cues.Command{c}}
}
