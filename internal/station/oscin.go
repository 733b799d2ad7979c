package station

import (
	"sync/atomic"
	"time"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/osc"
)

// OSC intake: the OSC server's one ordered loop reads each message, the
// router turns it into commands for this station (route.go), and deliver
// hands the result to the cue loop. Nothing here touches the engine or the
// outputs.

// request is one OSC message, already routed, handed from the OSC server's
// ordered loop to the cue loop.
type request struct {
	address string
	r       route
	from    *osc.Sender // reply path; nil when there is no one to answer
	due     time.Time   // a future bundle's time tag; zero: now
}

// oscCounters count what the router made of the messages it read.
type oscCounters struct {
	routed  atomic.Int64 // handed to the cue loop
	errors  atomic.Int64 // refused by the router
	ignored atomic.Int64 // not for this station
	dropped atomic.Int64 // dropped because the cue loop was far behind
}

// dispatcher sends every message through the router, on the OSC server's
// one ordered loop. The router, not the dispatcher's pattern matching, reads
// addresses: only the channel part may be a pattern (see route.go). Bundles
// with a future time tag are not held by the dispatcher: their commands go
// to the cue engine at once with their due time (Sender.Due), so that the
// engine can drop them on a hold, a link loss or a stop, and refuse those
// too far ahead with an answer to the sender.
func (s *Station) dispatcher() *osc.Dispatcher {
	d := &osc.Dispatcher{DeliverFuture: true}
	d.SetFallback(func(m *osc.Message, from *osc.Sender) {
		s.deliver(m.Address, s.router.route(m), from)
	})
	return d
}

// deliver hands a routed message to the cue loop. It never blocks for long:
// if the cue loop is far behind (its queue is full) the message is
// dropped, counted and logged rather than stalling intake, and a dropped
// standby or GO is answered to its sender.
func (s *Station) deliver(address string, r route, from *osc.Sender) {
	var back *osc.Sender
	var due time.Time
	if from != nil {
		f := *from // the server reuses *from; a copy stays valid
		back, due = &f, from.Due()
	}
	switch r.kind {
	case routeIgnore, routeElsewhere:
		s.oscCount.ignored.Add(1)
		return
	case routeError:
		s.oscCount.errors.Add(1)
	case routeMarker:
		s.publishMarker(address, r.marker, back)
		r = markerHeartbeat()
	case routePing:
		s.rep.reply(back, osc.NewMessage("/cuelight/pong"))
		r = route{kind: routeCommands, cmds: []cues.Command{{Verb: cues.VerbHeartbeat, Source: cues.SourceOSC, FromBooth: true}}}
	}
	if s.gw != nil && (len(r.remote) > 0 || r.fwdAll) {
		s.gw.forward(address, r, back)
	}
	select {
	case s.oscIn <- request{address: address, r: r, from: back, due: due}:
		if r.kind != routeError {
			s.oscCount.routed.Add(1)
		}
	default:
		s.oscCount.dropped.Add(1)
		if ok, n := s.rep.errLog.allow(s.clock.Now()); ok {
			s.log.Error("cue loop busy: OSC command dropped", "address", address, "also_dropped", n)
		}
		// The booth must hear that a standby or GO was not carried out,
		// so that it sends it again rather than believe it was obeyed.
		if back != nil && r.asksCue() {
			s.rep.reply(back, osc.NewMessage("/cuelight/error", osc.String(address), osc.String(reasonBusy)))
		}
	}
}

// reasonBusy answers a standby or GO dropped because the cue loop was far
// behind.
const reasonBusy = "station overloaded: command dropped, not carried out; send it again"

// asksCue reports whether a route carries a standby or a GO: the commands
// whose loss the booth must hear about.
func (r route) asksCue() bool {
	for _, c := range r.cmds {
		switch c.Verb {
		case cues.VerbStandby, cues.VerbStandbyAck, cues.VerbGo, cues.VerbForceGo, cues.VerbGoCue:
			return true
		}
	}
	return false
}

// numberArg returns the single numeric argument (brightness).
func numberArg(m *osc.Message) (float64, bool) {
	if len(m.Args) != 1 {
		return 0, false
	}
	return m.Args[0].Number()
}
