package cues

import "time"

// This file holds the headset side of the engine (docs/protocol.md §10):
// the late-acknowledgement escalation and the call in from an intercom.
//
// An escalation belongs to one standby. A standby with an ack requested on a
// channel with EscalateAfter arms it; if the channel is still in that
// standby EscalateAfter later, it escalates once: call_out and call_lamp
// for call_hold (as a call) and a late_ack event. Every state change of the
// channel ends it, pending or calling: the ack, a GO, an off, a hold, a link
// loss, a new standby (which arms a fresh one if it asks for an ack). A
// duplicate standby changes nothing and so keeps the deadline: never more
// than one escalation per standby.

// escalation is one channel's late-ack escalation.
type escalation struct {
	due     time.Time // when the standby escalates; zero: nothing pending
	calling bool      // the channel's current call (callUntil) is the escalation's
}

// armEscalation starts the escalation deadline of channel i, which has just
// entered a standby at now, if that standby asks for an ack and the channel
// escalates.
func (e *Engine) armEscalation(i int, now time.Time) {
	ch := &e.ch[i]
	if ch.spec.EscalateAfter > 0 && ch.cs.State == StateStandby && ch.cs.AckRequested {
		ch.esc.due = now.Add(ch.spec.EscalateAfter)
	}
}

// endEscalation cancels a pending escalation and stops the call it made,
// if that call is still running. A call from the booth is left alone.
func (ch *channel) endEscalation() {
	ch.esc.due = time.Time{}
	if ch.esc.calling {
		ch.callUntil = time.Time{}
		ch.esc.calling = false
	}
}

// escalationDue returns the earliest pending escalation and its channel,
// or the zero time.
func (e *Engine) escalationDue() (time.Time, int) {
	if !e.escOn {
		return time.Time{}, -1
	}
	var due time.Time
	idx := -1
	for i := range e.ch {
		d := e.ch[i].esc.due
		if !d.IsZero() && (due.IsZero() || d.Before(due)) {
			due, idx = d, i
		}
	}
	return due, idx
}

// escalate fires the escalation of channel i at its deadline at: the
// position is called for call_hold and a late_ack event reports the
// standby's label and how long it has waited.
func (e *Engine) escalate(i int, at time.Time) {
	ch := &e.ch[i]
	ch.esc.due = time.Time{}
	ch.callUntil = at.Add(ch.spec.CallHold)
	ch.esc.calling = true
	ev := e.event(i, EventLateAck, ch.cs.Label, at, SourceTimer, "")
	ev.ElapsedMs = at.Sub(ch.cs.Since).Milliseconds()
}

// callIn reports a call from the intercom on channel i's call_in input: the
// call_lamp fast-flashes for call_hold from now (a new call in restarts it);
// the cue state, the cue lamps and call_out are untouched, in every state.
func (e *Engine) callIn(i int, now time.Time, c *Command) {
	ch := &e.ch[i]
	ch.callInUntil = now.Add(ch.spec.CallHold)
	e.event(i, EventCallIn, ch.cs.Label, now, c.Source, c.ID)
}

// Escalating reports whether the named channel has an escalation pending
// (a standby waiting for its ack, not yet late) and when it is due.
func (e *Engine) Escalating(name string) (time.Time, bool) {
	i, ok := e.idx[name]
	if !ok || e.ch[i].esc.due.IsZero() {
		return time.Time{}, false
	}
	return e.ch[i].esc.due, true
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
