package station

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/osc"
)

// cueLoop is the only goroutine that touches the engine and the outputs.
// Order of work for every input: engine → outputs written → feedback and
// reports. MQTT publishing is a non-blocking hand-off (mqttlink queues).
// Between inputs it sleeps until the engine's next change (a flash edge, a
// go_hold end, a scheduled command, the heartbeat deadline): an idle
// station does not poll.
//
// Its control surface, beside its inputs: calls runs a function on the
// loop between inputs (tests move a fake clock through it and read the
// engine), and buttonsHandled and mqttHandled count the button events and
// MQTT commands applied, so that a test can wait for the loop without
// sleeping.
func (s *Station) cueLoop(ctx context.Context) error {
	timer := s.clock.NewTimer(time.Hour)
	timer.Stop()
	rearm := func() {
		timer.Stop()
		now := s.clock.Now()
		next := s.engine.NextChange(now)
		if next.IsZero() {
			return
		}
		timer.Reset(max(next.Sub(now), 0))
	}
	fire := func() {
		now := s.clock.Now()
		s.apply(now, s.engine.Advance(now), nil)
	}
	var watchdog <-chan time.Time
	if s.opts.WatchdogEvery > 0 {
		t := s.clock.NewTicker(s.opts.WatchdogEvery)
		defer t.Stop()
		watchdog = t.Chan()
	}
	s.out.selfCheck(s.clock.Now(), s.engine) // outputs are dark: confirm, and let READY through
	close(s.loopReady)
	rearm()
	for {
		select {
		case <-ctx.Done():
			return nil
		case req := <-s.oscIn:
			s.handleOSC(s.clock.Now(), req)
		case ev := <-s.buttons:
			// A button counts from its edge (ack_ms is measured to the
			// press, not to the end of debouncing), but never from before
			// the last change the engine made.
			s.handleButton(later(ev.At, s.floor), ev)
			s.buttonsHandled.Add(1)
		case in := <-s.mqttIn():
			s.handleMQTT(s.clock.Now(), in)
			s.mqttHandled.Add(1)
		case <-timer.Chan():
			fire()
		case <-watchdog:
			ok := s.out.selfCheck(s.clock.Now(), s.engine)
			s.reportFaults(s.clock.Now())
			if ok {
				s.notify("WATCHDOG=1")
			}
			continue
		case fn := <-s.calls:
			// A timer already due is handled before the call, and the
			// timer is re-armed before it, so that a caller that moved
			// the clock sees its effect and may move it again at once.
			select {
			case <-timer.Chan():
				fire()
			default:
			}
			rearm()
			fn()
			continue
		}
		rearm()
	}
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// handleOSC applies one routed message and answers its sender.
func (s *Station) handleOSC(now time.Time, req request) {
	switch req.r.kind {
	case routeSync:
		s.heard(now)
		for _, st := range s.engine.States(s.scratchStates[:0]) {
			s.rep.reply(req.from, stateMessage(st))
		}
		if s.gw != nil { // a gateway answers for the whole show
			for _, c := range s.view.Channels() {
				if !s.router.isMine[c.Name] {
					s.rep.reply(req.from, viewMessage(c))
				}
			}
		}
		return
	case routeError:
		s.rep.replyError(req.from, req.address, req.r.reason)
		return
	case routeCommands:
	default:
		return
	}
	via := "" // on a gateway, the other gateway's copies come over MQTT (copies.go)
	if s.gw != nil {
		via = s.name
	}
	for _, c := range req.r.cmds {
		var res cues.Result
		switch {
		case req.due.After(now):
			res = s.engine.Schedule(now, req.due, c) // applied at once if due by now
		case s.isGatewayCopy(copyKey{c.Channel, c.Verb, c.Label}, now, via, "", now):
			// A duplicate, answered with the state.
			if c.Channel != "" {
				res.Touched = []string{c.Channel}
			}
		default:
			res = s.engine.Apply(now, c)
		}
		s.apply(now, res, req.from)
		if req.from != nil {
			for _, rf := range res.Refused {
				if s.gw != nil && req.r.fwdAll && c.Verb == cues.VerbGoCue && rf.Channel == "" &&
					rf.Reason != cues.ReasonHold && rf.Reason != cues.ReasonCueLabel {
					continue // no channel of the gateway's stands by for it; other stations' may
				}
				s.rep.replyError(req.from, req.address, rf.Reason)
			}
		}
	}
	for _, ch := range req.r.echo {
		if st, ok := s.engine.Snapshot(ch); ok {
			s.rep.reply(req.from, stateMessage(st))
		}
	}
	for _, ch := range req.r.echoRemote {
		if c, ok := s.view.Channel(ch); ok {
			s.rep.reply(req.from, viewMessage(c))
		}
	}
}

// heard marks the booth as heard (ping, sync) without other effect.
func (s *Station) heard(now time.Time) {
	s.apply(now, s.engine.Apply(now, cues.Command{Verb: cues.VerbHeartbeat, Source: cues.SourceOSC, FromBooth: true}), nil)
}

// buttonRef says which channel and role a button pin belongs to.
type buttonRef struct {
	channel string
	role    string // ack_button or call_button
}

// handleButton turns a debounced button event into a cue command.
func (s *Station) handleButton(now time.Time, ev drivers.ButtonEvent) {
	b, ok := s.buttonOf[ev.Pin]
	if !ok {
		return
	}
	c := cues.Command{Channel: b.channel, Source: cues.SourceButton}
	switch {
	case ev.Kind == drivers.Stuck:
		c.Verb = cues.VerbButtonStuck
		c.Reason = fmt.Sprintf("%s %s (%s) held down too long: check it is not jammed or shorted", b.channel, strings.ReplaceAll(b.role, "_", " "), ev.Pin)
	case b.role == drivers.RoleCallButton && ev.Kind == drivers.Press:
		c.Verb = cues.VerbCallButton
	case b.role == drivers.RoleAckButton && ev.Kind == drivers.Press:
		c.Verb = cues.VerbButtonPress
	case b.role == drivers.RoleAckButton && ev.Kind == drivers.Release:
		c.Verb = cues.VerbButtonRelease
	case b.role == config.RoleCallIn && ev.Kind == drivers.Press:
		c.Verb = cues.VerbCallIn // intercom.go reports it
	default:
		return
	}
	res := s.engine.Apply(now, c)
	s.apply(now, res, nil)
	if c.Verb == cues.VerbCallButton && len(res.Events) > 0 {
		s.rep.call(b.channel)
	}
}

// apply writes outputs for a result, then reports it: the MQTT states
// first (reporter.report), then OSC feedback, events, logs and the view.
// Feedback goes out only after the lamp outputs were written
// (docs/protocol.md §3).
func (s *Station) apply(now time.Time, res cues.Result, from *osc.Sender) {
	if len(res.Changed) > 0 || len(res.Events) > 0 {
		s.floor = later(s.floor, now)
	}
	s.out.write(later(s.clock.Now(), now), s.engine)
	s.rep.report(res.Changed, from)
	if from != nil {
		for _, ch := range res.Touched {
			if changedIn(res.Changed, ch) {
				continue
			}
			if st, ok := s.engine.Snapshot(ch); ok {
				s.rep.reply(from, stateMessage(st))
			}
		}
	}
	for _, ev := range res.Events {
		s.rep.event(ev)
	}
	s.intercomReport(res) // intercom.go
	if len(res.Changed) > 0 {
		s.storeSnapshot()
	}
	s.reportFaults(now) // last: it applies a command, which reuses res's buffers
}

func changedIn(changed []cues.ChannelState, ch string) bool {
	for _, st := range changed {
		if st.Channel == ch {
			return true
		}
	}
	return false
}
