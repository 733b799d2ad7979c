package cues

// Quiet reports whether Apply(now, c) would leave a channel whose state is
// st exactly as it is and report no event on it: a duplicate (the same
// standby or GO to a channel already showing it, off when off, hold when
// held, release when not held; docs/protocol.md §2), a brightness within
// range, a button release, a heartbeat, or a show-wide command that does
// not concern the channel (a cue go for another cue; a hold, release or
// cue go refused show-wide because the link is lost).
//
// It reads only what a station publishes about the channel: st.State,
// st.Label and st.AckRequested, and of c: Verb, Label, HasLabel, Value
// and FromBooth. It does not need the channel's configuration: on a
// channel with require_ack every standby asks for the ACK, so a published
// standby without one never comes from such a channel.
//
// It assumes no timer falls due first (a GO whose go_hold has run out, a
// booth link about to be lost): Apply fires those before the command.
// Clients use it to know which commands no event will answer (cuectl does
// not wait for one); the engine follows the same rules, and a test drives
// a real Engine into every state to hold the two together.
func Quiet(st ChannelState, c Command) bool {
	if st.State == StateLost && c.FromBooth {
		return false // the booth is heard again: every channel goes off first
	}
	if c.HasLabel && CheckLabel(c.Label) != nil {
		return false // refused, and reported on the channel (or for the show)
	}
	switch c.Verb {
	case VerbHeartbeat, VerbButtonRelease:
		return true
	case VerbButtonPress, VerbAck, VerbCall, VerbCallButton, VerbButtonStuck, VerbCallIn, VerbFault:
		return false // always reported: ack or press, call, fault, call_in, or refused
	case VerbHold:
		// Held: a duplicate. Lost: refused for the whole show, nothing on
		// the channel.
		return st.State == StateHold || st.State == StateLost
	case VerbRelease:
		return st.State != StateHold // not held (or lost): nothing to release
	case VerbGoCue:
		return !(st.State == StateStandby || st.State == StateAck) || !c.HasLabel || c.Label == "" || c.Label != st.Label
	case VerbStandby, VerbStandbyAck, VerbGo, VerbForceGo, VerbOff, VerbBrightness:
	default:
		return true // not a verb: refused for the whole show, nothing on the channel
	}
	switch st.State {
	case StateLost: // and not from the booth
		return c.Verb == VerbBrightness && brightnessValid(c.Value) // the rest is refused
	case StateHold:
		return false // refused while held, and reported
	}
	label := ""
	if c.HasLabel {
		label = c.Label
	}
	switch c.Verb {
	case VerbStandby, VerbStandbyAck:
		switch st.State {
		case StateStandby:
			// The same cue, and no ACK asked for that was not asked before.
			return label == st.Label && (st.AckRequested || c.Verb == VerbStandby)
		case StateAck:
			return label == st.Label // never un-acknowledge a position
		}
		return false
	case VerbGo, VerbForceGo:
		return st.State == StateGo && (!c.HasLabel || c.Label == st.Label)
	case VerbOff:
		return st.State == StateOff
	}
	return brightnessValid(c.Value) // VerbBrightness: applied silently, or refused
}

// brightnessValid reports whether Apply accepts v as a brightness.
func brightnessValid(v float64) bool { return v > 0 && v <= 1 } // NaN too is refused
