// Package station puts one cuelight station together: the show file's part
// for this host, its drivers, the cue engine, the OSC server, the MQTT link
// (and the embedded broker) and the web listener, run as tasks under one
// context. OSC → lamp never goes through MQTT and never waits on it.
package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/internal/broker"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/osc"
)

// Options configure a Station. Zero values mean: real clock, slog's
// default logger, the listen addresses of the show file.
type Options struct {
	Config  *config.Config
	Station string // this host's station (already picked)
	Board   drivers.Board
	Clock   clockwork.Clock
	Logger  *slog.Logger
	Version string
	Epoch   string // unique per process start; random when empty

	// OSCListen, WebListen and MQTTBroker override the show file (tests
	// use 127.0.0.1:0). MQTTBroker "" keeps the file's choice; "none"
	// runs without MQTT.
	OSCListen  string
	WebListen  string
	MQTTBroker string
	// BrokerListen overrides mqtt.listen for the embedded broker;
	// BrokerExe is the program run as the broker child (tests: the test
	// binary), default this executable.
	BrokerListen string
	BrokerExe    string

	// WatchdogEvery > 0 sends WATCHDOG=1 from the cue loop at that period.
	WatchdogEvery time.Duration
	// Notify receives systemd notify states ("READY=1", "WATCHDOG=1",
	// "STOPPING=1", "STATUS=..."); nil = none.
	Notify func(state string)

	// onEvent, for tests, sees every event the station reports, on the cue
	// loop, whether or not MQTT is configured.
	onEvent func(cues.Event)
}

type outputKey struct {
	channel string
	role    cues.Role
}

type buttonRef struct {
	channel string
	role    string // ack_button or call_button
}

// Station is one running cuelightd. Create it with New, run it with Run.
type Station struct {
	cfg     *config.Config
	name    string
	clock   clockwork.Clock
	log     *slog.Logger
	version string
	epoch   string
	started time.Time
	notify  func(string)

	board    drivers.Board
	engine   *cues.Engine
	outputs  map[outputKey]*output
	buttonOf map[string]buttonRef
	btns     []drivers.Button
	buttons  chan drivers.ButtonEvent
	router   router
	feedback []netip.AddrPort

	oscSrv *osc.Server
	oscIn  chan request
	link   *mqttlink.Link
	sup    *broker.Supervisor
	calls  chan func()

	watchdogEvery time.Duration
	loopReady     chan struct{}

	snapshot atomic.Pointer[[]mqttlink.State]
	linkInfo atomic.Value // string: ok/lost/none

	floor          time.Time    // the cue loop's: time of the engine's latest change or event
	buttonsHandled atomic.Int64 // button events the cue loop has applied (tests wait on it)
	eventsOut      atomic.Int64 // events handed to MQTT (tests wait on it)
	scratchMsg     osc.Message  // the OSC loop's, for routing a method's literal address
	scratchOutputs []cues.Output
	scratchStates  []cues.ChannelState

	errLog      rateLimiter
	opts        Options
	ready       atomic.Bool
	dropped     atomic.Int64 // OSC commands dropped because the cue loop was far behind
	routed      atomic.Int64 // OSC messages handed to the cue loop
	routeErrors atomic.Int64 // OSC messages the router refused
	ignored     atomic.Int64 // OSC messages not for this station
	webAddr     string
	haltOnce    sync.Once
}

// New builds a station from the show file: it opens every output dark and
// every button, but starts nothing. Close the board with Halt if New fails
// after opening pins (New does that itself).
func New(o Options) (*Station, error) {
	if o.Config == nil {
		return nil, errors.New("station: no configuration")
	}
	if _, ok := o.Config.Station(o.Station); !ok {
		return nil, fmt.Errorf("station: no station %q in the show file", o.Station)
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Epoch == "" {
		o.Epoch = mqttlink.NewEpoch()
	}
	if o.Board == nil {
		return nil, errors.New("station: no driver board")
	}
	s := &Station{
		cfg: o.Config, name: o.Station, clock: o.Clock, log: o.Logger,
		version: o.Version, epoch: o.Epoch, started: o.Clock.Now(), notify: o.Notify,
		board:    o.Board,
		outputs:  map[outputKey]*output{},
		buttonOf: map[string]buttonRef{},
		buttons:  make(chan drivers.ButtonEvent, 64),
		oscIn:    make(chan request, 256),
		calls:    make(chan func()),
		feedback: o.Config.OSC.Feedback,

		watchdogEvery: o.WatchdogEvery,
		loopReady:     make(chan struct{}),
		errLog:        rateLimiter{every: time.Second},
		opts:          o,
	}
	if s.notify == nil {
		s.notify = func(string) {}
	}
	if err := s.build(); err != nil {
		_ = s.board.Halt()
		return nil, err
	}
	s.linkInfo.Store(s.engine.Link())
	s.storeSnapshot()
	return s, nil
}

// build opens the pins and creates the engine.
func (s *Station) build() error {
	chans := s.cfg.ChannelsOf(s.name)
	specs := make([]cues.ChannelSpec, 0, len(chans))
	s.router = router{isMine: map[string]bool{}}
	for _, ch := range s.cfg.Channels {
		s.router.all = append(s.router.all, ch.Name)
	}
	if s.cfg.Consoles.Eos != nil {
		s.router.eos = s.cfg.Consoles.Eos.CueList
	}
	st, _ := s.cfg.Station(s.name)
	for _, ch := range chans {
		s.router.local = append(s.router.local, ch.Name)
		s.router.isMine[ch.Name] = true
		spec := cues.ChannelSpec{
			Name: ch.Name, Label: ch.Label, Lamps: 1,
			RequireAck: ch.RequireAck, GoRequiresAck: ch.GoRequiresAck,
			GoHold: ch.GoHold, CallHold: ch.CallHold,
		}
		lamps := []struct {
			pin  config.Pin
			role cues.Role
			key  string
		}{
			{ch.StandbyLamp, cues.StandbyLamp, drivers.RoleStandbyLamp},
			{ch.GoLamp, cues.GoLamp, drivers.RoleGoLamp},
			{ch.CallLamp, cues.CallLamp, drivers.RoleCallLamp},
		}
		for _, l := range lamps {
			if l.pin.Name == "" {
				continue
			}
			lamp, err := s.board.Lamp(l.pin.Name, drivers.PinOptions{Channel: ch.Name, Role: l.key, ActiveLow: l.pin.ActiveLow})
			if err != nil {
				return fmt.Errorf("station: channels.%s.%s: %w", ch.Name, l.key, err)
			}
			s.outputs[outputKey{ch.Name, l.role}] = &output{lamp: lamp}
		}
		if ch.GoLamp.Name != "" {
			spec.Lamps = 2
		}
		spec.HasCallLamp = ch.CallLamp.Name != ""
		if ch.CallOut.Name != "" {
			sig, err := s.board.Signal(ch.CallOut.Name, drivers.PinOptions{Channel: ch.Name, Role: drivers.RoleCallOut, ActiveLow: ch.CallOut.ActiveLow})
			if err != nil {
				return fmt.Errorf("station: channels.%s.call_out: %w", ch.Name, err)
			}
			s.outputs[outputKey{ch.Name, cues.CallOut}] = &output{signal: sig}
			spec.HasCallOut = true
		}
		for _, b := range []struct {
			pin config.Pin
			key string
		}{{ch.AckButton, drivers.RoleAckButton}, {ch.CallButton, drivers.RoleCallButton}} {
			if b.pin.Name == "" {
				continue
			}
			btn, err := s.board.Button(b.pin.Name, drivers.ButtonOptions{
				PinOptions: drivers.PinOptions{Channel: ch.Name, Role: b.key, ActiveLow: b.pin.ActiveLow},
				Pull:       drivers.Pull(b.pin.Pull),
				Debounce:   st.Debounce, StuckAfter: ch.StuckAfter, Clock: s.clock,
			})
			if err != nil {
				return fmt.Errorf("station: channels.%s.%s: %w", ch.Name, b.key, err)
			}
			s.btns = append(s.btns, btn)
			s.buttonOf[b.pin.Name] = buttonRef{channel: ch.Name, role: b.key}
		}
		specs = append(specs, spec)
	}
	eng, err := cues.New(cues.Options{
		Channels:         specs,
		Patterns:         s.cfg.Patterns,
		HeartbeatTimeout: s.cfg.OSC.HeartbeatTimeout,
		Start:            s.started,
	})
	if err != nil {
		return fmt.Errorf("station: %w", err)
	}
	s.engine = eng
	// A channel's configured brightness is set before anything is lit.
	for _, ch := range chans {
		if ch.Brightness != 1 {
			eng.Apply(s.started, cues.Command{Verb: cues.VerbBrightness, Channel: ch.Name, Value: ch.Brightness})
		}
	}
	return nil
}

// Epoch is this process's epoch id (SPEC §4).
func (s *Station) Epoch() string { return s.epoch }

// Stats are the station's counters, for GET /api/v1/stats.
type Stats struct {
	OSC            osc.Stats `json:"osc"`
	OSCCommands    int64     `json:"osc_commands"` // messages for this station handed to the cue loop (commands, ping, sync, heartbeat)
	OSCErrors      int64     `json:"osc_errors"`   // messages answered with /cuelight/error by the router (bad address, pattern or argument)
	OSCIgnored     int64     `json:"osc_ignored"`  // messages not for this station: other devices' traffic, channels of other stations
	OSCDropped     int64     `json:"osc_dropped"`  // routed commands dropped: the cue loop was far behind
	MQTTConnected  bool      `json:"mqtt_connected"`
	BrokerRestarts int       `json:"broker_restarts"` // embedded broker child restarts
}

// Stats returns the station's counters. Safe from any goroutine once Run
// has reported ready.
func (s *Station) Stats() Stats {
	st := Stats{OSCDropped: s.dropped.Load(), OSCCommands: s.routed.Load(), OSCErrors: s.routeErrors.Load(), OSCIgnored: s.ignored.Load()}
	if s.oscSrv != nil {
		st.OSC = s.oscSrv.Stats()
	}
	if s.link != nil {
		st.MQTTConnected = s.link.Connected()
	}
	if s.sup != nil {
		st.BrokerRestarts = s.sup.Restarts()
	}
	return st
}

// Ready reports whether the station has finished starting (GET /healthz).
func (s *Station) Ready() bool { return s.ready.Load() }

// OSCAddr is the OSC server's address once Run has reported ready.
func (s *Station) OSCAddr() netip.AddrPort {
	if s.oscSrv == nil {
		return netip.AddrPort{}
	}
	return s.oscSrv.Addr()
}

// WebAddr is the web listener's address once Run has started it.
func (s *Station) WebAddr() string { return s.webAddr }

// Name is this station's name.
func (s *Station) Name() string { return s.name }

// States returns every channel's state in configuration order, as
// published on MQTT. Safe from any goroutine.
func (s *Station) States() []mqttlink.State {
	p := s.snapshot.Load()
	if p == nil {
		return nil
	}
	return append([]mqttlink.State(nil), (*p)...)
}

// storeSnapshot publishes the engine's states for other goroutines (the
// MQTT on-connect handler, the web API). Called on the cue loop only.
func (s *Station) storeSnapshot() {
	s.scratchStates = s.engine.States(s.scratchStates[:0])
	out := make([]mqttlink.State, len(s.scratchStates))
	for i, st := range s.scratchStates {
		out[i] = s.mqttState(st)
	}
	s.snapshot.Store(&out)
	if link := s.engine.Link(); link != s.linkInfo.Load() {
		s.linkInfo.Store(link)
		if s.link != nil {
			s.link.PublishInfo(s.info())
		}
	}
}

func (s *Station) mqttState(st cues.ChannelState) mqttlink.State {
	return mqttlink.State{
		Channel: st.Channel, Station: s.name, State: st.State.String(), Label: st.Label,
		AckRequested: st.AckRequested, Since: mqttlink.FormatTime(st.Since), Seq: int64(st.Seq), Epoch: s.epoch,
	}
}

func (s *Station) publishState(st cues.ChannelState) {
	if s.link != nil {
		s.link.PublishState(s.mqttState(st))
	}
}

func (s *Station) publishEvent(ev cues.Event) {
	s.logEvent(ev)
	if s.opts.onEvent != nil {
		s.opts.onEvent(ev)
	}
	if s.link == nil {
		return
	}
	s.eventsOut.Add(1)
	s.link.PublishEvent(mqttlink.Event{
		Event: ev.Kind, Channel: ev.Channel, Station: s.name, Label: ev.Label,
		At: mqttlink.FormatTime(ev.At), Source: ev.Source.String(), Seq: int64(ev.Seq), Epoch: s.epoch,
		AckMS: ev.AckMs, Unwarned: ev.Unwarned, Reason: ev.Reason, ID: ev.ID,
	})
}

func (s *Station) logEvent(ev cues.Event) {
	lvl := slog.LevelInfo
	if ev.Kind == "refused" || ev.Kind == "rejected" || ev.Kind == "fault" || ev.Kind == "lost" {
		lvl = slog.LevelWarn
	}
	attrs := []any{"channel", ev.Channel, "cue", ev.Label, "seq", ev.Seq, "src", ev.Source.String()}
	if ev.Reason != "" {
		attrs = append(attrs, "reason", ev.Reason)
	}
	if ev.Kind == "ack" {
		attrs = append(attrs, "ack_ms", ev.AckMs)
	}
	if ev.Unwarned {
		attrs = append(attrs, "unwarned", true)
	}
	s.log.Log(context.Background(), lvl, ev.Kind, attrs...)
}

// info is the retained info payload.
func (s *Station) info() mqttlink.Info {
	link, _ := s.linkInfo.Load().(string)
	return mqttlink.Info{
		Version: s.version, Show: s.cfg.Show, Epoch: s.epoch, Started: mqttlink.FormatTime(s.started),
		Channels: append([]string(nil), s.router.local...), Link: link,
	}
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
