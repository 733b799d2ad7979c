package station

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/broker"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/osc"
)

// Run runs the station until ctx is done, then stops cleanly (SPEC §6.5):
// lamps to off, final state and "offline" published, lines released.
// READY=1 goes to systemd once OSC, the drivers, the web listener and the
// MQTT link are up; the link need not be connected (MQTT down must not stop
// the cue path: the station runs and reports MQTT as down).
func (s *Station) Run(ctx context.Context, web http.Handler) error {
	defer s.halt()
	loopCtx, stopLoop := context.WithCancel(context.Background())
	defer stopLoop()
	g, gctx := errgroup.WithContext(ctx)

	// OSC: the ordered ingress loop. It only routes; the cue loop acts.
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
		return fmt.Errorf("OSC: cannot listen on %s: %w", oscListen, err)
	}
	s.oscSrv = srv
	g.Go(func() error { return srv.Serve(gctx) })

	// Buttons: one watcher per button, feeding the cue loop.
	for _, b := range s.btns {
		b := b
		g.Go(func() error {
			if err := b.Run(gctx, s.buttons); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("button %s: %w", b.Name(), err)
			}
			return nil
		})
	}

	// MQTT: the embedded broker in its own process, then the client link.
	plan := s.cfg.BrokerFor(s.name)
	brokerURL := plan.URL
	if s.opts.MQTTBroker != "" {
		plan.RunEmbedded, brokerURL = s.opts.MQTTBroker == "embedded", s.opts.MQTTBroker
	}
	var sup *broker.Supervisor
	if plan.RunEmbedded {
		sup = &broker.Supervisor{Logger: s.log.With("part", "broker")}
		s.sup = sup
		listen := s.cfg.MQTT.Listen
		if s.opts.BrokerListen != "" {
			listen = s.opts.BrokerListen
		}
		err := sup.Start(gctx, broker.Options{
			Listen:        listen,
			TopicPrefix:   s.cfg.MQTT.TopicPrefix,
			Users:         brokerUsers(s.cfg),
			MaxClients:    s.cfg.MQTT.MaxClients,
			MaxPacketSize: s.cfg.MQTT.MaxPacketSize,
			Exe:           s.opts.BrokerExe,
		})
		if err != nil {
			return fmt.Errorf("embedded MQTT broker: %w", err)
		}
		brokerURL = "tcp://" + sup.Addr()
	}
	if brokerURL != "none" {
		tlsConf, err := tlsConfig(s.cfg)
		if err != nil {
			return fmt.Errorf("MQTT: %w", err)
		}
		link, err := mqttlink.New(mqttlink.Options{
			Broker: brokerURL, Station: s.name, Show: s.cfg.Show,
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
			return fmt.Errorf("MQTT: %w", err)
		}
		s.link = link
		// Not gctx: the link must outlive the tasks, so that the clean
		// stop below publishes the final states and "offline" after the
		// outputs are dark. An early return closes it through linkCtx.
		linkCtx, stopLink := context.WithCancel(context.Background())
		defer stopLink()
		if err := link.Start(linkCtx); err != nil {
			return fmt.Errorf("MQTT: %w", err)
		}
	}

	// Web listener (sim board API, health). Started after every part
	// above exists, so that its handlers can read them.
	webListen := s.cfg.Web.Listen
	if s.opts.WebListen != "" {
		webListen = s.opts.WebListen
	}
	var webLn net.Listener
	if web != nil && webListen != "" {
		webLn, err = net.Listen("tcp", webListen)
		if err != nil {
			return fmt.Errorf("web: cannot listen on %s: %w", webListen, err)
		}
		hs := &http.Server{Handler: web, ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			if err := hs.Serve(webLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
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
		s.webAddr = webLn.Addr().String()
	}

	// The cue loop runs on its own context so that it outlives the other
	// tasks during the clean stop.
	loopDone := make(chan error, 1)
	go func() { loopDone <- s.cueLoop(loopCtx) }()
	select {
	case <-s.loopReady:
	case <-ctx.Done():
	}
	s.ready.Store(true)
	s.notify("READY=1")
	s.notify("STATUS=" + s.status())
	s.log.Info("station ready", "station", s.name, "osc", srv.Addr().String(), "web", s.webAddr, "mqtt", brokerURL, "epoch", s.epoch)

	err = g.Wait()
	s.log.Debug("stopping: tasks ended")
	// Clean stop: no more input; lamps dark; final state and offline out.
	s.notify("STOPPING=1")
	stopLoop()
	<-loopDone
	s.halt()
	s.log.Debug("stopping: outputs halted")
	if s.link != nil {
		s.publishFinalStates()
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.link.Close(c)
		cancel()
	}
	s.log.Debug("stopping: MQTT closed")
	if sup != nil {
		c, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_ = sup.Stop(c)
		cancel()
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// publishFinalStates reports every channel that was not off as off: the
// lamps are dark and nothing pending survives the stop (SPEC §6.2, §6.5),
// so a retained "standby" beside "offline" would tell the booth something
// the wing no longer shows. Called after the cue loop has ended.
func (s *Station) publishFinalStates() {
	now := mqttlink.FormatTime(s.clock.Now())
	for _, st := range s.States() {
		if st.State == cues.StateOff.String() {
			continue
		}
		st.State, st.Label, st.AckRequested, st.Since, st.Seq = cues.StateOff.String(), "", false, now, st.Seq+1
		s.link.PublishState(st)
	}
}
