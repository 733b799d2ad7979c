package station

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/broker"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/osc"
)

// dispatcher sends every message through the router, on the OSC server's
// one ordered loop. The router, not the dispatcher's pattern matching, reads
// addresses: only the channel part may be a pattern (see route.go).
func (s *Station) dispatcher() *osc.Dispatcher {
	d := &osc.Dispatcher{}
	d.SetFallback(func(m *osc.Message, from *osc.Sender) {
		s.deliver(m.Address, s.router.route(m), from)
	})
	return d
}

// deliver hands a routed message to the cue loop. It never blocks for long:
// if the cue loop is far behind (256 queued messages) the message is
// dropped, counted and logged, rather than stalling intake.
func (s *Station) deliver(address string, r route, from *osc.Sender) {
	var back *osc.Sender
	if from != nil {
		f := *from // the server reuses *from; a copy stays valid
		back = &f
	}
	switch r.kind {
	case routeIgnore, routeElsewhere:
		s.ignored.Add(1)
		return
	case routeError:
		s.routeErrors.Add(1)
	case routePing:
		s.reply(back, osc.NewMessage("/cuelight/pong"))
		r = route{kind: routeCommands, cmds: []cues.Command{{Verb: cues.VerbHeartbeat, Source: cues.SourceOSC, FromBooth: true}}}
	}
	select {
	case s.oscIn <- request{address: address, r: r, from: back}:
		if r.kind != routeError {
			s.routed.Add(1)
		}
	default:
		s.dropped.Add(1)
		if ok, n := s.errLog.allow(s.clock.Now()); ok {
			s.log.Error("cue loop busy: OSC command dropped", "address", address, "also_dropped", n)
		}
	}
}

// stateMessage is /cuelight/state/<ch>/<state> ,s <label>.
func stateMessage(st cues.ChannelState) *osc.Message {
	return osc.NewMessage("/cuelight/state/"+st.Channel+"/"+st.State.String(), osc.String(st.Label))
}

// callMessage is /cuelight/call/<ch>: a call from the wing.
func callMessage(ch string) *osc.Message {
	return osc.NewMessage("/cuelight/call/" + ch)
}

func (s *Station) reply(from *osc.Sender, m *osc.Message) {
	if from == nil {
		return
	}
	if err := from.Reply(m); err != nil {
		s.log.Debug("OSC reply failed", "to", from.Addr().String(), "err", err)
	}
}

func (s *Station) sendTo(to netip.AddrPort, m *osc.Message) {
	if s.oscSrv == nil {
		return
	}
	if err := s.oscSrv.SendTo(to, m); err != nil {
		if ok, _ := s.errLog.allow(s.clock.Now()); ok {
			s.log.Warn("OSC feedback failed", "to", to.String(), "err", err)
		}
	}
}

// replyError answers /cuelight/error ,ss <address> <reason> and logs it,
// rate-limited.
func (s *Station) replyError(from *osc.Sender, address, reason string) {
	if ok, n := s.errLog.allow(s.clock.Now()); ok {
		attrs := []any{"address", address, "reason", reason}
		if from != nil {
			attrs = append(attrs, "src", from.Addr().String())
		}
		if n > 0 {
			attrs = append(attrs, "suppressed", n)
		}
		s.log.Warn("OSC command refused", attrs...)
	}
	s.reply(from, osc.NewMessage("/cuelight/error", osc.String(address), osc.String(reason)))
}

// numberArg returns the single numeric argument (brightness).
func numberArg(m *osc.Message) (float64, bool) {
	if len(m.Args) != 1 {
		return 0, false
	}
	return m.Args[0].Number()
}

// mqttVerbs maps the "cmd" of an MQTT command (SPEC §4) to a verb.
var mqttVerbs = map[string]cues.Verb{
	"standby": cues.VerbStandby, "standby_ack": cues.VerbStandbyAck, "go": cues.VerbGo,
	"force_go": cues.VerbForceGo, "off": cues.VerbOff, "ack": cues.VerbAck, "call": cues.VerbCall,
	"brightness": cues.VerbBrightness, "hold": cues.VerbHold, "release": cues.VerbRelease,
}

// handleMQTT applies one MQTT command, or publishes its rejection as a
// "rejected" event on every channel it was addressed to.
func (s *Station) handleMQTT(now time.Time, in mqttlink.Inbound) {
	targets := []string{in.Channel}
	if in.Channel == "" {
		targets = s.router.local
	}
	verb, known := mqttVerbs[in.Cmd.Cmd]
	if !in.Rejected && !known {
		in.Rejected, in.Reason = true, "unknown cmd "+in.Cmd.Cmd
	}
	if in.Rejected {
		for _, ch := range targets {
			st, ok := s.engine.Snapshot(ch)
			if !ok {
				continue
			}
			s.publishEvent(cues.Event{Kind: "rejected", Channel: ch, Label: in.Cmd.Label, At: now,
				Source: cues.SourceMQTT, Seq: st.Seq, Reason: in.Reason, ID: in.Cmd.ID})
		}
		return
	}
	c := cues.Command{Verb: verb, Label: in.Cmd.Label, HasLabel: in.Cmd.Label != "",
		Source: cues.SourceMQTT, FromBooth: true, ID: in.Cmd.ID}
	if in.Cmd.Value != nil {
		c.Value = *in.Cmd.Value
	}
	if verb == cues.VerbHold || verb == cues.VerbRelease {
		s.apply(now, s.engine.Apply(now, c), nil)
		return
	}
	for _, ch := range targets {
		c.Channel = ch
		s.apply(now, s.engine.Apply(now, c), nil)
	}
}

func brokerUsers(cfg *config.Config) []broker.User {
	var out []broker.User
	for _, u := range cfg.MQTT.Users {
		out = append(out, broker.User{Name: u.Name, BcryptHash: u.PasswordHash, Role: u.Role})
	}
	return out
}

// tlsConfig builds the client TLS settings for an outside broker. A CA
// or key file that cannot be read is an error: connecting without it
// would fail later with a far less helpful message (or, for the CA, trust
// the system roots instead of the show's own).
func tlsConfig(cfg *config.Config) (*tls.Config, error) {
	t := cfg.MQTT.TLS
	if t.CAFile == "" && t.CertFile == "" && !t.InsecureSkipVerify {
		return nil, nil
	}
	c := &tls.Config{InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.tls.ca_file: %s holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.cert_file / key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// halt drives every output to its safe state. Idempotent.
func (s *Station) halt() {
	s.haltOnce.Do(func() {
		if err := s.board.Halt(); err != nil {
			s.log.Error("halting outputs", "err", err)
		}
	})
}

// status is the one-line systemd STATUS.
func (s *Station) status() string {
	mq := "MQTT off"
	if s.link != nil {
		if s.link.Connected() {
			mq = "MQTT connected"
		} else {
			mq = "MQTT not connected"
		}
	}
	return fmt.Sprintf("%s: %d channels, %s", s.name, len(s.router.local), mq)
}
