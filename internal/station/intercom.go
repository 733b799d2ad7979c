package station

import (
	"fmt"
	"sync/atomic"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/intercom/greengo"
	"github.com/cuelight/cuelight/osc"
)

// This file is the station's headset side (docs/protocol.md §10): what a
// call in and a late-ack escalation tell the booth, and the Green-GO
// adapter. The rules themselves are the engine's (cues/escalate.go); the
// call_in input is a button (station.go, loop.go).

// intercomPart is the station's intercom state.
type intercomPart struct {
	gg    *greengo.Adapter // nil without intercom.greengo for this station's channels
	state atomic.Value     // string: the adapter's ok|lost, for info()
}

// buildIntercom opens the Green-GO adapter's socket when the show maps a
// channel of this station to a Green-GO channel. It starts nothing.
func (s *Station) buildIntercom() error {
	g := s.cfg.Intercom.GreenGO
	if g == nil {
		return nil
	}
	mine := map[string]int{}
	for _, name := range s.router.local {
		if n := g.GreenGOChannel(name); n > 0 {
			mine[name] = n
		}
	}
	if len(mine) == 0 {
		return nil
	}
	gg, err := greengo.New(greengo.Options{
		Address: g.Address, Channels: mine,
		Clock: s.clock, Logger: s.log.With("part", "greengo"),
		OnState: s.intercomChanged,
	})
	if err != nil {
		return fmt.Errorf("intercom.greengo: %w", err)
	}
	s.intercom.gg = gg
	s.intercom.state.Store(gg.State())
	return nil
}

// intercomChanged is called by the adapter (on its own goroutine) when the
// intercom is heard again or lost: the station's info says so.
func (s *Station) intercomChanged(state string) {
	s.intercom.state.Store(state)
	if s.link != nil {
		s.link.PublishInfo(s.info())
	}
}

// intercomState is "ok" or "lost" with an intercom, "" without one.
func (s *Station) intercomState() string {
	v, _ := s.intercom.state.Load().(string)
	return v
}

// intercomReport tells the booth and the intercom what a result did, after
// the lamps were written and the state feedback sent: /cuelight/call_in/<ch>
// and /cuelight/late_ack/<ch> ,s <label> to every feedback target, and the
// Green-GO cue signals and alert calls. It never blocks (the adapter only
// queues).
func (s *Station) intercomReport(res cues.Result) {
	gg := s.intercom.gg
	if gg != nil {
		for _, st := range res.Changed {
			gg.Cue(st.Channel, st.State)
		}
	}
	for _, ev := range res.Events {
		switch ev.Kind {
		case cues.EventCallIn:
			s.rep.toFeedback(osc.NewMessage("/cuelight/call_in/" + ev.Channel))
		case cues.EventLateAck:
			s.rep.toFeedback(osc.NewMessage("/cuelight/late_ack/"+ev.Channel, osc.String(ev.Label)))
			if gg != nil {
				gg.Alert(ev.Channel)
			}
		}
	}
}

// toFeedback sends m to every feedback target.
func (r *reporter) toFeedback(m *osc.Message) {
	for _, t := range r.feedback {
		r.sendTo(t, m)
	}
}
