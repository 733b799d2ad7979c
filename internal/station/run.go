package station

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/internal/broker"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/tlsconf"
	"github.com/cuelight/cuelight/osc"
)

// Run runs the station until ctx is done, then stops cleanly
// (docs/protocol.md §6.5): lamps to off, final state and "offline"
// published, lines released.
//
// Like corerad's daemon, it first builds every part (the OSC server's
// sockets, the TLS settings, the web listener, the embedded broker, the
// MQTT link) and only then starts the tasks; if any part cannot be built,
// whatever was built is closed again and nothing was ever served. READY=1
// goes to systemd once every task runs and the cue loop has checked the
// outputs; the MQTT link need not be connected (MQTT down must not stop the
// cue path: the station runs and reports MQTT as down).
func (s *Station) Run(ctx context.Context, web http.Handler) error {
	defer s.out.halt()
	p, err := s.buildParts(ctx, web)
	if err != nil {
		p.close()
		return err
	}
	loopCtx, stopLoop := context.WithCancel(context.Background())
	defer stopLoop()
	g, gctx := errgroup.WithContext(ctx)

	// OSC: the ordered ingress loop. It only routes; the cue loop acts.
	g.Go(func() error { return p.osc.Serve(gctx) })
	// The intercom adapter: its own goroutines, never waited on by the cue loop.
	if gg := s.intercom.gg; gg != nil {
		g.Go(func() error { return gg.Run(gctx) })
	}
	// The show-wide view from MQTT, and a gateway's relay.
	if s.link != nil {
		g.Go(func() error { return s.feedShow(gctx) })
	}
	if s.gw != nil {
		g.Go(func() error { return s.gw.relay(gctx) })
	}
	// Buttons: one watcher per button, feeding the cue loop.
	for _, b := range s.btns {
		g.Go(func() error {
			if err := b.Run(gctx, s.buttons); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("button %s: %w", b.Name(), err)
			}
			return nil
		})
	}
	if p.webLn != nil {
		// BaseContext: a stop ends the pages' live streams too.
		hs := &http.Server{Handler: web, ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return gctx }}
		g.Go(func() error {
			if err := hs.Serve(p.webLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			return hs.Shutdown(c)
		})
	}
	// The show log (record.go), when this station records: an MQTT
	// subscriber like any other, never on the cue path.
	if s.recordPath() != "" && p.brokerURL != "none" {
		g.Go(func() error { return s.runRecorder(gctx, p.brokerURL) })
	}
	// The cue loop runs on its own context so that it outlives the other
	// tasks during the clean stop.
	loopDone := make(chan error, 1)
	go func() { loopDone <- s.cueLoop(loopCtx) }()
	select {
	case <-s.loopReady:
	case <-ctx.Done():
	}
	s.view.Status(s.name, "online")
	s.ready.Store(true)
	s.notify("READY=1")
	s.notify("STATUS=" + s.status())
	webAddr := ""
	if p.webLn != nil {
		webAddr = p.webLn.Addr().String()
	}
	s.log.Info("station ready", "station", s.name, "osc", p.osc.Addr().String(), "web", webAddr, "mqtt", p.brokerURL,
		"epoch", s.epoch, "board", s.boardName(), "gateway", s.gw != nil)

	err = g.Wait()
	s.log.Debug("stopping: tasks ended")
	// Clean stop: no more input; lamps dark; final state and offline out.
	s.notify("STOPPING=1")
	stopLoop()
	<-loopDone
	final := s.engine.Stop(s.clock.Now()) // scheduled commands dropped, every channel off
	s.out.halt()
	s.log.Debug("stopping: outputs halted")
	for _, ev := range final.Events {
		s.rep.event(ev)
	}
	if s.link != nil {
		for _, st := range final.Changed {
			s.link.PublishState(s.rep.mqttState(st))
		}
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.link.Close(c)
		cancel()
		p.stopLink()
	}
	s.log.Debug("stopping: MQTT closed")
	if p.sup != nil {
		c, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_ = p.sup.Stop(c)
		cancel()
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// parts are what Run builds before it starts anything.
type parts struct {
	osc       *osc.Server
	webLn     net.Listener
	sup       *broker.Supervisor
	link      *mqttlink.Link
	stopLink  context.CancelFunc // ends the link's own context
	brokerURL string
	intercom  interface{ Close() error } // the Green-GO adapter, if any
}

// close closes whatever was built, for a Run that could not start.
func (p *parts) close() {
	if p.link != nil {
		c, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_ = p.link.Close(c)
		cancel()
	}
	if p.stopLink != nil {
		p.stopLink()
	}
	if p.sup != nil {
		c, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_ = p.sup.Stop(c)
		cancel()
	}
	if p.webLn != nil {
		p.webLn.Close()
	}
	if p.osc != nil {
		p.osc.Close()
	}
	if p.intercom != nil {
		p.intercom.Close()
	}
}

// buildParts creates every part in order of cost: sockets and settings
// first, then the broker child and the MQTT link. On error the parts built
// so far are in p, for close.
func (s *Station) buildParts(ctx context.Context, web http.Handler) (*parts, error) {
	p := &parts{}
	oscListen := s.cfg.OSC.Listen
	if s.opts.OSCListen != "" {
		oscListen = s.opts.OSCListen
	}
	srv, err := osc.Listen(osc.Options{
		Listen: oscListen,
		Allow:  s.cfg.OSC.Allow,
		Logger: s.log.With("part", "osc"),
		Clock:  s.clock,
	}, s.dispatcher())
	if err != nil {
		return p, listenError("OSC", "osc.listen", oscListen, "another cuelightd may be running (systemctl status cuelightd)", err)
	}
	p.osc, s.oscSrv, s.rep.oscSrv = srv, srv, srv
	if err := s.buildIntercom(); err != nil { // intercom.go
		return p, err
	}
	if s.intercom.gg != nil {
		p.intercom = s.intercom.gg
	}

	plan := s.cfg.BrokerFor(s.name)
	p.brokerURL = plan.URL
	if s.opts.MQTTBroker != "" {
		plan.RunEmbedded, p.brokerURL = s.opts.MQTTBroker == "embedded", s.opts.MQTTBroker
	}
	var tlsConf *tls.Config
	if p.brokerURL != "none" {
		if tlsConf, err = tlsconf.Client(s.cfg.MQTT.TLS); err != nil {
			return p, fmt.Errorf("MQTT: %w", err)
		}
	}

	webListen := s.cfg.Web.Listen
	if s.opts.WebListen != "" {
		webListen = s.opts.WebListen
	}
	if web != nil && webListen != "" {
		if p.webLn, err = net.Listen("tcp", webListen); err != nil {
			return p, listenError("web", "web.listen", webListen, "another cuelightd or web server may be running", err)
		}
	}

	// MQTT: the embedded broker in its own process, then the client link.
	if plan.RunEmbedded {
		sup := &broker.Supervisor{Logger: s.log.With("part", "broker")}
		listen := s.cfg.MQTT.Listen
		if s.opts.BrokerListen != "" {
			listen = s.opts.BrokerListen
		}
		err := sup.Start(ctx, broker.Options{
			Listen:        listen,
			TopicPrefix:   s.cfg.MQTT.TopicPrefix,
			Users:         brokerUsers(s.cfg),
			MaxClients:    s.cfg.MQTT.MaxClients,
			MaxPacketSize: s.cfg.MQTT.MaxPacketSize,
			Exe:           s.opts.BrokerExe,
		})
		if err != nil {
			return p, fmt.Errorf("embedded MQTT broker: %w", err)
		}
		p.sup, s.sup = sup, sup
		p.brokerURL = "tcp://" + sup.Addr()
	}
	if p.brokerURL == "none" {
		return p, nil
	}
	brokers := plan.URLs
	if plan.RunEmbedded || s.opts.MQTTBroker != "" || len(brokers) == 0 {
		brokers = []string{p.brokerURL}
	}
	link, err := mqttlink.New(mqttlink.Options{
		Brokers: brokers, ShowWide: true, ShowChannels: showChannels(s.cfg, s.router.isMine), Station: s.name, Show: s.cfg.Show,
		TopicPrefix: s.cfg.MQTT.TopicPrefix,
		Username:    s.cfg.MQTT.Username, Password: s.cfg.MQTT.Password,
		TLS:       tlsConf,
		ClockSkew: s.cfg.MQTT.ClockSkew,
		Clock:     s.clock,
		Logger:    s.log.With("part", "mqtt"),
		Channels:  append([]string(nil), s.router.local...),
		Snapshot:  func() (mqttlink.Info, []mqttlink.State) { return s.info(), s.States() },
	})
	if err != nil {
		return p, fmt.Errorf("MQTT: %w", err)
	}
	// Not ctx: the link must outlive the tasks, so that the clean stop
	// publishes the final states and "offline" after the outputs are dark.
	linkCtx, stopLink := context.WithCancel(context.Background())
	p.stopLink = stopLink
	if err := link.Start(linkCtx); err != nil {
		return p, fmt.Errorf("MQTT: %w", err)
	}
	p.link, s.link, s.rep.link = link, link, link
	return p, nil
}

// listenError explains a listener that cannot be opened: for an address in
// use, what probably holds it and what to change, without repeating the
// socket error's own words.
func listenError(what, key, addr, holder string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s: %s is already in use: %s; stop it or change %s in the show file", what, addr, holder, key)
	}
	return fmt.Errorf("%s: cannot listen on %s (%s): %w", what, addr, key, err)
}

func brokerUsers(cfg *config.Config) []broker.User {
	var out []broker.User
	for _, u := range cfg.MQTT.Users {
		out = append(out, broker.User{Name: u.Name, BcryptHash: u.PasswordHash, Role: u.Role})
	}
	return out
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

// maxShowFilterChannels is how many other stations' channels a station
// subscribes to one by one (two filters each); a bigger show takes every
// channel with two wildcard filters. Each filter is a subscription at the
// broker, and some brokers pay dearly for one (NATS's MQTT makes each
// QoS 1 subscription a JetStream consumer), while in a big show a
// station's own channels are a small part of what it receives anyway.
const maxShowFilterChannels = 16

// showChannels are the channels whose state and events the show-wide view
// takes from MQTT (mqttlink.Options.ShowChannels): the show's channels
// that other stations own, never this station's own, which it has
// first-hand (docs/mqtt.md); nil (every channel, by wildcard) past
// maxShowFilterChannels.
func showChannels(cfg *config.Config, mine map[string]bool) []string {
	out := []string{}
	for _, ch := range cfg.Channels {
		if !mine[ch.Name] {
			out = append(out, ch.Name)
		}
	}
	if len(out) > maxShowFilterChannels {
		return nil
	}
	return out
}
