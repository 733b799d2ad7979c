package station

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/showview"
)

// The show-wide view: every station keeps the latest state of every
// channel of the show (docs/protocol.md §9), so that cuectl watch, a
// gateway's OSC feedback and the desk page read one model. This station's
// own channels go into it straight from the cue loop (the reporter); the
// others come from MQTT (Options.ShowWide on the link), ordered by what
// they say, never by arrival (package showview). None of it is on the path
// from OSC to a lamp.

// Show returns the show-wide view. Safe from any goroutine.
func (s *Station) Show() *showview.View { return s.view }

// ErrNoBroker is returned by SendCommand for another station's channel, or
// a show-wide command, while MQTT is not connected (or not configured).
var ErrNoBroker = errors.New("station: no MQTT broker connected: the command cannot reach other stations")

// SendCommand sends a command to a channel of the show (channel "": a
// show-wide command, hold, release, or a cue GO with its label) as an MQTT
// command, with a fresh id, ts and ttl; c.Source "web" makes the events it
// causes say so. Without MQTT, a command for this station's own channels is
// applied directly by the cue loop. It does not wait for the result: the
// events and states that follow show it. Safe from any goroutine.
func (s *Station) SendCommand(ctx context.Context, channel string, c mqttlink.Command) error {
	if c.ID == "" {
		c.ID = mqttlink.NewEpoch()
	}
	if c.TS == "" {
		c.TS = mqttlink.FormatTime(s.clock.Now())
	}
	if c.TTLMS == 0 {
		c.TTLMS = forwardTTL.Milliseconds()
	}
	if s.link != nil {
		return s.link.PublishCommand(channel, c)
	}
	if channel != "" && !s.router.isMine[channel] {
		return ErrNoBroker
	}
	// No MQTT: apply here, through the same checks and intake as an MQTT
	// command.
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if c, err = mqttlink.ParseCommand(b); err != nil {
		return err
	}
	in := mqttlink.Inbound{Channel: channel, Cmd: c, Topic: "local"}
	done := make(chan struct{})
	select {
	case s.calls <- func() { s.handleMQTT(s.clock.Now(), in); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

// forwardTTL is how long a forwarded command stays valid.
const forwardTTL = 2 * time.Second

// feedShow applies the show-wide messages from MQTT to the view until ctx
// ends. This station's own channels and status are not taken from MQTT:
// the reporter feeds them first-hand.
func (s *Station) feedShow(ctx context.Context) error {
	in := s.link.Show()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-in:
			switch m.Kind {
			case "state":
				if m.State.Station == s.name {
					continue
				}
				s.view.State(m.State)
			case "event":
				if m.Event.Station == s.name {
					continue
				}
				s.view.Event(m.Event)
			case "status":
				if m.Name == s.name {
					continue
				}
				s.view.Status(m.Name, m.Status)
			case "info":
				if m.Name == s.name {
					continue
				}
				if s.view.Info(m.Name, m.Info) && m.Info.ShowHash != "" && s.opts.ShowHash != "" && m.Info.ShowHash != s.opts.ShowHash {
					s.log.Warn("a station runs a different show file: start it with the same file as this one",
						"station", m.Name, "its_show_hash", m.Info.ShowHash, "show_hash", s.opts.ShowHash)
				}
			}
		}
	}
}

// viewState is a channel's state for OSC feedback from the view:
// "offline" when its station is not online.
func viewState(c showview.Channel) (state, label string) {
	if !c.Online || c.State.State == "" {
		return "offline", ""
	}
	return c.State.State, c.State.Label
}
