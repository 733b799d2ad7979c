package station

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/osc"
)

// request is one OSC message, already routed, handed from the OSC server's
// ordered loop to the cue loop.
type request struct {
	address string
	r       route
	from    *osc.Sender // reply path; nil for a scheduled bundle element with no sender
}

// output is one opened lamp or signal and the level last written to it.
type output struct {
	lamp    drivers.Lamp
	signal  drivers.Signal
	level   float64
	written bool // false until the first write after open (open is dark)
}

// cueLoop is the only goroutine that touches the engine and the outputs.
// Order of work for every input: engine → outputs written → feedback and
// reports. MQTT publishing is a non-blocking hand-off (mqttlink queues).
// Between inputs it sleeps until the engine's next change (a flash edge, a
// go_hold end, the heartbeat deadline): an idle station does not poll.
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
	if s.watchdogEvery > 0 {
		t := s.clock.NewTicker(s.watchdogEvery)
		defer t.Stop()
		watchdog = t.Chan()
	}
	s.selfCheck(s.clock.Now()) // outputs are dark: confirm, and let READY through
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
		case <-timer.Chan():
			fire()
		case <-watchdog:
			if s.selfCheck(s.clock.Now()) {
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

// mqttIn returns the MQTT command channel, or nil (never ready) without MQTT.
func (s *Station) mqttIn() <-chan mqttlink.Inbound {
	if s.link == nil {
		return nil
	}
	return s.link.Commands()
}

// handleOSC applies one routed message and answers its sender.
func (s *Station) handleOSC(now time.Time, req request) {
	switch req.r.kind {
	case routeSync:
		s.heard(now)
		for _, st := range s.engine.States(s.scratchStates[:0]) {
			s.reply(req.from, stateMessage(st))
		}
		return
	case routeError:
		s.replyError(req.from, req.address, req.r.reason)
		return
	case routeCommands:
	default:
		return
	}
	var res cues.Result
	for _, c := range req.r.cmds {
		res = s.engine.Apply(now, c)
		s.apply(now, res, req.from)
		if req.from != nil {
			for _, rf := range res.Refused {
				s.replyError(req.from, req.address, rf.Reason)
			}
		}
	}
	for _, ch := range req.r.echo {
		if st, ok := s.engine.Snapshot(ch); ok {
			s.reply(req.from, stateMessage(st))
		}
	}
}

// heard marks the booth as heard (ping, sync) without other effect.
func (s *Station) heard(now time.Time) {
	s.apply(now, s.engine.Apply(now, cues.Command{Verb: cues.VerbHeartbeat, Source: cues.SourceOSC, FromBooth: true}), nil)
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
	default:
		return
	}
	res := s.engine.Apply(now, c)
	s.apply(now, res, nil)
	if c.Verb == cues.VerbCallButton && len(res.Events) > 0 {
		for _, t := range s.feedback {
			s.sendTo(t, callMessage(b.channel))
		}
	}
}

// apply writes outputs for a result, then sends feedback and reports.
// Feedback goes out only after the lamp outputs were written (SPEC §3).
func (s *Station) apply(now time.Time, res cues.Result, from *osc.Sender) {
	if len(res.Changed) > 0 || len(res.Events) > 0 {
		s.floor = later(s.floor, now)
	}
	s.writeOutputs(later(s.clock.Now(), now))
	for _, st := range res.Changed {
		msg := stateMessage(st)
		for _, t := range s.feedback {
			s.sendTo(t, msg)
		}
		s.reply(from, msg)
		s.publishState(st)
	}
	if from != nil {
		for _, ch := range res.Touched {
			if changedIn(res.Changed, ch) {
				continue
			}
			if st, ok := s.engine.Snapshot(ch); ok {
				s.reply(from, stateMessage(st))
			}
		}
	}
	for _, ev := range res.Events {
		s.publishEvent(ev)
	}
	if len(res.Changed) > 0 {
		s.storeSnapshot()
	}
}

func changedIn(changed []cues.ChannelState, ch string) bool {
	for _, st := range changed {
		if st.Channel == ch {
			return true
		}
	}
	return false
}

// writeOutputs drives every output whose level differs from what was last
// written. Outputs are never read back (libraries.md §1.5).
func (s *Station) writeOutputs(now time.Time) {
	s.scratchOutputs = s.engine.Outputs(now, s.scratchOutputs[:0])
	for _, o := range s.scratchOutputs {
		out := s.outputs[outputKey{o.Channel, o.Role}]
		if out == nil || (out.written && out.level == o.Level) || (!out.written && o.Level == 0) {
			continue
		}
		var err error
		if out.lamp != nil {
			err = out.lamp.Set(o.Level)
		} else if out.signal != nil {
			err = out.signal.Set(o.Level > 0)
		}
		if err != nil {
			s.log.Error("output write failed", "channel", o.Channel, "role", o.Role.String(), "err", err)
			continue // written stays as it was: the next pass tries again
		}
		out.level, out.written = o.Level, true
	}
}

// selfCheck runs on the cue loop, so a stalled loop starves the systemd
// watchdog (SPEC §6.6): it re-asserts every output the engine wants (a write
// that failed earlier is retried; outputs are never read back) and reports
// whether every output is now as the engine wants it.
func (s *Station) selfCheck(now time.Time) bool {
	s.writeOutputs(now)
	for _, o := range s.scratchOutputs {
		out := s.outputs[outputKey{o.Channel, o.Role}]
		if out != nil && out.written && out.level != o.Level {
			return false
		}
		if out != nil && !out.written && o.Level != 0 {
			return false
		}
	}
	return true
}
