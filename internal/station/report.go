package station

import (
	"context"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/showview"
	"github.com/cuelight/cuelight/osc"
)

// reporter tells the world what the cue loop did, after the outputs were
// written: OSC feedback to the configured targets and replies to senders,
// MQTT state and events (a non-blocking hand-off: the link queues), and the
// log. Only the cue loop calls its report methods; reply and replyError are
// also safe from the OSC loop (UDP writes and TCP reply queues are).
type reporter struct {
	station string
	epoch   string
	clock   clockwork.Clock
	log     *slog.Logger

	feedback []netip.AddrPort
	oscSrv   *osc.Server      // set by Run before the loops start
	link     *mqttlink.Link   // nil without MQTT
	onEvent  func(cues.Event) // Options.onEvent
	view     *showview.View   // the whole show: this station's part goes in first-hand
	errLog   rateLimiter

	eventsOut atomic.Int64 // events handed to MQTT (tests wait on it)

	states []mqttlink.State // report's scratch: the changes as published
}

// mqttState is a channel state as published (docs/mqtt.md).
func (r *reporter) mqttState(st cues.ChannelState) mqttlink.State {
	return mqttlink.State{
		Channel: st.Channel, Station: r.station, State: st.State.String(), Label: st.Label,
		AckRequested: st.AckRequested, Since: mqttlink.FormatTime(st.Since), Seq: int64(st.Seq), Epoch: r.epoch,
	}
}

// report reports a result's state changes. The MQTT states go first (the
// hand-off never blocks), then the cue loop yields this core once, so that
// the link's publisher, just woken, writes them to the broker now instead
// of after the rest of the report. Measured on a 2-core machine: without
// the yield a state waited about 100 µs for the cue loop to send its OSC
// feedback and log the event before it left (docs/performance.md). The
// yield is not a wait: the cue loop carries on as soon as a core is free,
// whether or not the broker is reachable. Then, for each change, the
// feedback targets, the sender and the view.
func (r *reporter) report(changed []cues.ChannelState, from *osc.Sender) {
	r.states = r.states[:0]
	for _, st := range changed {
		r.states = append(r.states, r.mqttState(st))
	}
	if r.link != nil && len(changed) > 0 {
		for _, ms := range r.states {
			r.link.PublishState(ms)
		}
		runtime.Gosched()
	}
	for i, st := range changed {
		msg := stateMessage(st)
		for _, t := range r.feedback {
			r.sendTo(t, msg)
		}
		r.reply(from, msg)
		r.view.State(r.states[i])
	}
}

// event reports one event: the log, MQTT.
func (r *reporter) event(ev cues.Event) {
	r.logEvent(ev)
	if r.onEvent != nil {
		r.onEvent(ev)
	}
	me := mqttlink.Event{
		Event: string(ev.Kind), Channel: ev.Channel, Station: r.station, Label: ev.Label,
		At: mqttlink.FormatTime(ev.At), Source: ev.Source.String(), Seq: int64(ev.Seq), Epoch: r.epoch,
		AckMS: ev.AckMs, Unwarned: ev.Unwarned, Reason: ev.Reason, ID: ev.ID,
		Unacknowledged: ev.Unacknowledged, ElapsedMS: ev.ElapsedMs,
	}
	r.view.Event(me)
	if r.link == nil {
		return
	}
	r.eventsOut.Add(1)
	r.link.PublishEvent(me)
}

func (r *reporter) logEvent(ev cues.Event) {
	lvl := slog.LevelInfo
	switch ev.Kind {
	case cues.EventRefused, cues.EventRejected, cues.EventFault, cues.EventLost:
		lvl = slog.LevelWarn
	}
	attrs := []any{"channel", ev.Channel, "cue", ev.Label, "seq", ev.Seq, "src", ev.Source.String()}
	if ev.Reason != "" {
		attrs = append(attrs, "reason", ev.Reason)
	}
	if ev.Kind == cues.EventAck {
		attrs = append(attrs, "ack_ms", ev.AckMs)
	}
	if ev.Unwarned {
		attrs = append(attrs, "unwarned", true)
	}
	if ev.Unacknowledged {
		attrs = append(attrs, "unacknowledged", true)
	}
	if ev.Kind == cues.EventLateAck {
		attrs = append(attrs, "elapsed_ms", ev.ElapsedMs)
		lvl = slog.LevelWarn
	}
	r.log.Log(context.Background(), lvl, string(ev.Kind), attrs...)
}

// call reports a call from the wing to every feedback target.
func (r *reporter) call(ch string) {
	r.toFeedback(osc.NewMessage("/cuelight/call/" + ch))
}

// stateMessage is /cuelight/state/<ch>/<state> ,s <label>.
func stateMessage(st cues.ChannelState) *osc.Message {
	return osc.NewMessage("/cuelight/state/"+st.Channel+"/"+st.State.String(), osc.String(st.Label))
}

func (r *reporter) reply(from *osc.Sender, m *osc.Message) {
	if from == nil {
		return
	}
	if err := from.Reply(m); err != nil {
		r.log.Debug("OSC reply failed", "to", from.Addr().String(), "err", err)
	}
}

func (r *reporter) sendTo(to netip.AddrPort, m *osc.Message) {
	if r.oscSrv == nil {
		return
	}
	if err := r.oscSrv.SendTo(to, m); err != nil {
		if ok, _ := r.errLog.allow(r.clock.Now()); ok {
			r.log.Warn("OSC feedback failed", "to", to.String(), "err", err)
		}
	}
}

// replyError answers /cuelight/error ,ss <address> <reason> and logs it,
// rate-limited.
func (r *reporter) replyError(from *osc.Sender, address, reason string) {
	if ok, n := r.errLog.allow(r.clock.Now()); ok {
		attrs := []any{"address", address, "reason", reason}
		if from != nil {
			attrs = append(attrs, "src", from.Addr().String())
		}
		if n > 0 {
			attrs = append(attrs, "suppressed", n)
		}
		r.log.Warn("OSC command refused", attrs...)
	}
	r.reply(from, osc.NewMessage("/cuelight/error", osc.String(address), osc.String(reason)))
}

// rateLimiter lets one log line through per period and counts the rest.
type rateLimiter struct {
	mu         sync.Mutex
	every      time.Duration
	last       time.Time
	suppressed int
}

func (r *rateLimiter) allow(now time.Time) (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.last) < r.every {
		r.suppressed++
		return false, 0
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	return true, n
}
