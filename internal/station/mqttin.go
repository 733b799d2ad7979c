package station

import (
	"time"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/mqttlink"
)

// MQTT intake: commands from <prefix>/channel/<ch>/cmd and <prefix>/all/cmd,
// already validated by the link (retained, repeated and stale commands are
// marked rejected there), applied on the cue loop. Every valid MQTT command
// counts as the booth heard (docs/protocol.md §6.3): cuectl, the desk page
// and a gateway reach a station through MQTT.

// mqttIn returns the MQTT command channel, or nil (never ready) without MQTT.
func (s *Station) mqttIn() <-chan mqttlink.Inbound {
	if s.link == nil {
		return nil
	}
	return s.link.Commands()
}

// handleMQTT applies one MQTT command, or publishes its rejection as a
// "rejected" event on every channel it was addressed to.
func (s *Station) handleMQTT(now time.Time, in mqttlink.Inbound) {
	if s.gw != nil && s.gw.own(in.Cmd.ID) {
		return // a gateway's own forwarded command: applied when it came in over OSC
	}
	targets := []string{in.Channel}
	if in.Channel == "" {
		targets = s.router.local
	}
	verb, err := cues.ParseCommandVerb(in.Cmd.Cmd)
	switch in.Cmd.Cmd {
	case mqttlink.CmdCallButton: // a wing page's CALL (the link accepts it from the web only)
		verb, err = cues.VerbCallButton, nil
	case mqttlink.CmdHeartbeat:
		verb, err = cues.VerbHeartbeat, nil
	}
	if !in.Rejected && err != nil {
		in.Rejected, in.Reason = true, "unknown cmd "+in.Cmd.Cmd
	}
	// On <p>/all/cmd a GO is a cue GO: it fires the channels standing by
	// for its label, never every channel of the show.
	if in.Channel == "" && (verb == cues.VerbGo || verb == cues.VerbForceGo) && !in.Rejected {
		if in.Cmd.Label == "" {
			in.Rejected, in.Reason = true, "a GO on all/cmd is a cue GO and needs the cue label"
		}
		verb = cues.VerbGoCue
	}
	switch {
	case in.Rejected:
	case in.Channel != "" && verb == cues.VerbHeartbeat:
		in.Rejected, in.Reason = true, "heartbeat goes to all/cmd"
	case in.Channel == "" && verb == cues.VerbCallButton:
		in.Rejected, in.Reason = true, "call_button needs a channel: send it to channel/<ch>/cmd"
	}
	src := cues.SourceMQTT
	if in.Cmd.Source == "web" {
		src = cues.SourceWeb
	}
	if in.Rejected {
		for _, ch := range targets {
			st, ok := s.engine.Snapshot(ch)
			if !ok {
				continue
			}
			s.rep.event(cues.Event{Kind: cues.EventRejected, Channel: ch, Label: in.Cmd.Label, At: now,
				Source: src, Seq: st.Seq, Reason: in.Reason, ID: in.Cmd.ID})
		}
		return
	}
	c := cues.Command{Verb: verb, Label: in.Cmd.Label, HasLabel: in.Cmd.Label != "",
		Source: src, FromBooth: verb != cues.VerbCallButton, ID: in.Cmd.ID}
	if in.Cmd.Value != nil {
		c.Value = *in.Cmd.Value
	}
	via, sent := in.Cmd.Via, in.Cmd.Sent()
	if !verb.IsChannelVerb() && verb != cues.VerbCallButton { // hold, release, cue go, heartbeat: show-wide, once
		if s.isGatewayCopy(copyKey{"", verb, c.Label}, sent, via, in.Cmd.ID, now) {
			return
		}
		s.apply(now, s.engine.Apply(now, c), nil)
		return
	}
	for _, ch := range targets {
		c.Channel = ch
		if s.isGatewayCopy(copyKey{ch, verb, c.Label}, sent, via, in.Cmd.ID, now) {
			continue
		}
		res := s.engine.Apply(now, c)
		s.apply(now, res, nil)
		if verb == cues.VerbCallButton && len(res.Events) > 0 {
			s.rep.call(ch) // a call from the wing, as from its call button
		}
	}
}

// isGatewayCopy reports whether a command that came through gateway via,
// sent at sent, is the other gateway's copy of one carried out already
// (copies.go), and otherwise remembers it as carried out. via is "" for a
// command that came through no gateway: never a copy, not remembered. A
// copy changes nothing and emits nothing, as any duplicate
// (docs/protocol.md §2, §9). Used by the MQTT intake (via: the command's)
// and, on a gateway, by the OSC intake (via: this gateway).
func (s *Station) isGatewayCopy(k copyKey, sent time.Time, via, id string, now time.Time) bool {
	if via == "" {
		return false
	}
	if s.copies.isCopy(k, sent, via) {
		s.log.Debug("the other gateway's copy of a command carried out already: changes nothing",
			"channel", k.channel, "cmd", k.verb.String(), "cue", k.label, "via", via, "id", id)
		return true
	}
	s.copies.add(k, sent, via, now)
	return false
}
