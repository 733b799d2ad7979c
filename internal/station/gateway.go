package station

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/showview"
	"github.com/cuelight/cuelight/osc"
)

// A gateway (stations.<s>.gateway: true, docs/protocol.md §9) accepts OSC
// for every channel of the show, so that the booth sends to one address.
// Its own channels go straight to its lamps, as on any station. A command
// for another station's channel is forwarded as an MQTT command (a fresh
// id, ts and ttl) on <p>/channel/<ch>/cmd; show-wide commands (hold,
// release, a cue GO, heartbeats at most 4 a second) go on <p>/all/cmd.
// Every channel's state, whichever station owns it, is relayed to the
// feedback targets; a channel whose station is offline is reported as
// /cuelight/state/<ch>/offline. A forwarded command that the owning station
// refuses or rejects is answered to its OSC sender with /cuelight/error:
// its events carry the command's id as "cmd". Two gateways may run at once:
// each forwards its own copy, and the duplicate rules make the second a
// no-op.

// gateway is the forwarding and relaying state of a gateway station.
type gateway struct {
	s *Station

	mu      sync.Mutex
	pending map[string]pendingCmd // forwarded command id → who sent it
	lastHB  time.Time             // last heartbeat forwarded
	seq     uint64
}

// pendingCmd is a forwarded command waiting for its answer.
type pendingCmd struct {
	from    *osc.Sender
	address string
	until   time.Time
}

// heartbeatEvery limits forwarded heartbeats to 4 a second.
const heartbeatEvery = 250 * time.Millisecond

// pendingFor is how long a forwarded command's sender is remembered.
const pendingFor = 10 * time.Second

// forward sends the remote part of a routed OSC message over MQTT. It runs
// on the OSC loop; it never waits for the broker. A command that cannot be
// forwarded is answered to its sender at once.
func (g *gateway) forward(address string, r route, from *osc.Sender) {
	s := g.s
	now := s.clock.Now()
	if r.fwdAll {
		c := r.fwd
		if c.Verb == cues.VerbHeartbeat {
			g.mu.Lock()
			skip := now.Sub(g.lastHB) < heartbeatEvery
			if !skip {
				g.lastHB = now
			}
			g.mu.Unlock()
			if skip {
				return
			}
		}
		g.send(address, "", c, from, now)
		return
	}
	for _, ch := range r.remote {
		g.send(address, ch, r.fwd, from, now)
	}
}

// send publishes one forwarded command and remembers its sender.
func (g *gateway) send(address, channel string, c cues.Command, from *osc.Sender, now time.Time) {
	s := g.s
	mc := mqttlink.Command{Cmd: c.Verb.String(), TS: mqttlink.FormatTime(now), TTLMS: forwardTTL.Milliseconds(), Via: s.name}
	switch c.Verb {
	case cues.VerbGoCue:
		mc.Cmd = cues.VerbGo.String() // on all/cmd a GO with a label is a cue GO
	case cues.VerbHeartbeat:
		mc.Cmd = mqttlink.CmdHeartbeat
	}
	if c.HasLabel {
		mc.Label = c.Label
	}
	if c.Verb == cues.VerbBrightness {
		v := c.Value
		mc.Value = &v
	}
	g.mu.Lock()
	g.seq++
	mc.ID = s.epoch + "-" + strconv.FormatUint(g.seq, 10)
	g.pending[mc.ID] = pendingCmd{from: from, address: address, until: now.Add(pendingFor)}
	g.mu.Unlock()
	if s.link == nil {
		s.rep.replyError(from, address, ErrNoBroker.Error())
		return
	}
	if err := s.link.PublishCommand(channel, mc); err != nil {
		g.forget(mc.ID)
		if c.Verb != cues.VerbHeartbeat {
			s.rep.replyError(from, address, "gateway: not forwarded: "+err.Error())
		}
	}
}

// own reports whether id is a command this gateway forwarded: the gateway
// does not apply its own show-wide commands a second time when they come
// back from the broker (it applied them when they came in over OSC).
func (g *gateway) own(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.pending[id]
	return ok
}

func (g *gateway) forget(id string) {
	g.mu.Lock()
	delete(g.pending, id)
	g.mu.Unlock()
}

// take returns the sender of a forwarded command, and drops the entries
// that have expired.
func (g *gateway) take(id string, now time.Time) (pendingCmd, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, p := range g.pending {
		if now.After(p.until) {
			delete(g.pending, k)
		}
	}
	p, ok := g.pending[id]
	return p, ok
}

// relay sends every change of another station's channel to the feedback
// targets, and answers the senders of forwarded commands, until ctx ends.
func (g *gateway) relay(ctx context.Context) error {
	s := g.s
	updates, stop := s.view.Subscribe(1024)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-updates:
			switch u.Kind {
			case showview.UpdateState:
				if s.router.isMine[u.Channel.Name] {
					continue // the reporter sent it, after the lamps were written
				}
				msg := viewMessage(u.Channel)
				for _, t := range s.rep.feedback {
					s.rep.sendTo(t, msg)
				}
			case showview.UpdateEvent:
				ev := u.Event
				if !s.router.isMine[ev.Channel] {
					g.relayEvent(ev)
				}
				if ev.ID == "" {
					continue
				}
				p, ok := g.take(ev.ID, s.clock.Now())
				if !ok {
					continue
				}
				switch ev.Event {
				case string(cues.EventRefused), string(cues.EventRejected):
					s.rep.replyError(p.from, p.address, ev.Channel+": "+ev.Reason)
				default:
					if c, ok := s.view.Channel(ev.Channel); ok {
						s.rep.reply(p.from, viewMessage(c))
					}
				}
			}
		}
	}
}

// relayEvent sends another station's calls to the feedback targets, as
// that station would have without a gateway: a call from the wing
// (/cuelight/call/<ch>), an intercom call in (/cuelight/call_in/<ch>) and a
// late acknowledgement (/cuelight/late_ack/<ch> ,s label).
func (g *gateway) relayEvent(ev mqttlink.Event) {
	var msg *osc.Message
	switch ev.Event {
	case string(cues.EventCall):
		if ev.Source != cues.SourceButton.String() && ev.Source != cues.SourceWeb.String() {
			return // a call to the position (the call command), not from it
		}
		msg = osc.NewMessage("/cuelight/call/" + ev.Channel)
	case string(cues.EventCallIn):
		msg = osc.NewMessage("/cuelight/call_in/" + ev.Channel)
	case string(cues.EventLateAck):
		msg = osc.NewMessage("/cuelight/late_ack/"+ev.Channel, osc.String(ev.Label))
	default:
		return
	}
	g.s.rep.toFeedback(msg)
}

// viewMessage is /cuelight/state/<ch>/<state> ,s <label> for a channel of
// the view, or /cuelight/state/<ch>/offline when its station is offline.
func viewMessage(c showview.Channel) *osc.Message {
	state, label := viewState(c)
	return osc.NewMessage("/cuelight/state/"+c.Name+"/"+state, osc.String(label))
}
