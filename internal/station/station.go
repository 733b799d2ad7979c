// Package station puts one cuelight station together: the show file's part
// for this host, its drivers, the cue engine, the OSC server, the MQTT link
// (and the embedded broker) and the web listener, run as tasks under one
// context. OSC → lamp never goes through MQTT and never waits on it.
package station

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/internal/broker"
	"github.com/cuelight/cuelight/internal/intercom/greengo"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/recorder"
	"github.com/cuelight/cuelight/internal/showview"
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
	// ShowHash identifies the show file (showview.ShowHash of its bytes);
	// it goes into the station's info, so that stations started with
	// different files can be told apart. Empty: not published.
	ShowHash string

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
	// onRecorded, for tests, sees every message the recorder handles.
	onRecorded func(m recorder.Message, stored bool)
}

// Station is one running cuelightd. Create it with New, run it with Run.
//
// Its parts, by concern: the cue loop (loop.go) owns the engine and is the
// only goroutine that changes it; outputs (outputs.go) write, self-check
// and halt the lamps and signals; the reporter (report.go) sends feedback,
// MQTT state and events, and logs; OSC intake (oscin.go, route.go) and
// MQTT intake (mqttin.go) turn messages into commands for the cue loop.
type Station struct {
	cfg     *config.Config
	name    string
	clock   clockwork.Clock
	log     *slog.Logger
	epoch   string
	started time.Time
	notify  func(string)
	opts    Options

	board    drivers.Board
	engine   *cues.Engine
	out      *outputs
	rep      *reporter
	router   router
	buttonOf map[string]buttonRef
	btns     []drivers.Button
	buttons  chan drivers.ButtonEvent
	oscIn    chan request
	oscCount oscCounters
	view     *showview.View // the whole show, from MQTT and this station
	gw       *gateway       // nil unless this station is a gateway
	copies   copies         // commands a second gateway's copy may follow (copies.go); cue loop only

	// Set by Run while it builds, before any goroutine starts.
	oscSrv *osc.Server
	link   *mqttlink.Link
	sup    *broker.Supervisor

	// The cue loop's control surface (see cueLoop) and start signal.
	calls          chan func()
	buttonsHandled atomic.Int64
	mqttHandled    atomic.Int64
	loopReady      chan struct{}

	intercom intercomPart // intercom.go

	snapshot atomic.Pointer[[]mqttlink.State]
	linkInfo atomic.Value // string: ok/lost/none

	floor         time.Time // the cue loop's: time of the engine's latest change or event
	scratchStates []cues.ChannelState

	ready atomic.Bool

	markers atomic.Int64 // performance markers published (record.go)
}

// New builds a station from the show file: it opens every output dark and
// every button, but starts nothing. If New fails after opening pins it
// halts the board itself.
func New(o Options) (*Station, error) {
	if o.Config == nil {
		return nil, errors.New("station: no configuration")
	}
	if _, ok := o.Config.Station(o.Station); !ok {
		return nil, fmt.Errorf("station: no station %q in the show file", o.Station)
	}
	if o.Board == nil {
		return nil, errors.New("station: no driver board")
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
	if o.Notify == nil {
		o.Notify = func(string) {}
	}
	s := &Station{
		cfg: o.Config, name: o.Station, clock: o.Clock, log: o.Logger,
		epoch: o.Epoch, started: o.Clock.Now(), notify: o.Notify, opts: o,
		board:    o.Board,
		out:      newOutputs(o.Board, o.Logger, o.Config, o.Station),
		buttonOf: map[string]buttonRef{},
		buttons:  make(chan drivers.ButtonEvent, 64),
		oscIn:    make(chan request, 256),
		calls:    make(chan func()),

		loopReady: make(chan struct{}),
	}
	s.view = showview.New(o.Config)
	s.rep = &reporter{
		station: o.Station, epoch: o.Epoch, clock: o.Clock, log: o.Logger,
		feedback: o.Config.OSC.Feedback, onEvent: o.onEvent, view: s.view,
		errLog: rateLimiter{every: time.Second},
	}
	s.copies.window = o.Config.MQTT.ClockSkew + copyMargin
	if st, _ := o.Config.Station(o.Station); st.Gateway {
		s.gw = &gateway{s: s, pending: map[string]pendingCmd{}}
	} else if showHasGateway(o.Config) {
		// The gateway relays every channel to the feedback targets: the
		// others answer only their own OSC senders, so that a target does
		// not get each change twice.
		s.rep.feedback = nil
	}
	if err := s.build(); err != nil {
		s.out.halt()
		return nil, err
	}
	s.linkInfo.Store(s.engine.Link())
	s.storeSnapshot()
	for _, st := range s.States() {
		s.view.State(st)
	}
	s.view.Info(s.name, s.info())
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
	s.router.gateway = st.Gateway
	for i := range chans {
		ch := &chans[i]
		s.router.local = append(s.router.local, ch.Name)
		s.router.isMine[ch.Name] = true
		spec := cues.ChannelSpec{
			Name: ch.Name, Label: ch.Label,
			RequireAck: ch.RequireAck, GoRequiresAck: ch.GoRequiresAck,
			GoHold: ch.GoHold, CallHold: ch.CallHold, EscalateAfter: ch.EscalateAfter,
		}
		if err := s.out.open(ch, &spec); err != nil {
			return err
		}
		for _, b := range []struct {
			pin config.Pin
			key string
		}{{ch.AckButton, drivers.RoleAckButton}, {ch.CallButton, drivers.RoleCallButton}, {ch.CallIn, config.RoleCallIn}} {
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
		MinBrightness:    st.MinBrightness,
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

// Epoch is this process's epoch id (docs/protocol.md §4).
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
	// Intercom: the Green-GO adapter's counters; nil without one.
	Intercom *greengo.Stats `json:"intercom,omitempty"`
}

// Stats returns the station's counters. Safe from any goroutine once Run
// has reported ready.
func (s *Station) Stats() Stats {
	st := Stats{
		OSCCommands: s.oscCount.routed.Load(), OSCErrors: s.oscCount.errors.Load(),
		OSCIgnored: s.oscCount.ignored.Load(), OSCDropped: s.oscCount.dropped.Load(),
	}
	if s.oscSrv != nil {
		st.OSC = s.oscSrv.Stats()
	}
	if s.link != nil {
		st.MQTTConnected = s.link.Connected()
	}
	if s.sup != nil {
		st.BrokerRestarts = s.sup.Restarts()
	}
	if gg := s.intercom.gg; gg != nil {
		ist := gg.Stats()
		st.Intercom = &ist
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
		out[i] = s.rep.mqttState(st)
	}
	s.snapshot.Store(&out)
	if link := s.engine.Link(); link != s.linkInfo.Load() {
		s.linkInfo.Store(link)
		if s.link != nil {
			s.link.PublishInfo(s.info())
		}
	}
}

// info is the retained info payload.
func (s *Station) info() mqttlink.Info {
	link, _ := s.linkInfo.Load().(string)
	return mqttlink.Info{
		Version: s.opts.Version, Show: s.cfg.Show, ShowHash: s.opts.ShowHash, Gateway: s.gw != nil, Board: s.boardName(), Epoch: s.epoch, Started: mqttlink.FormatTime(s.started),
		Channels: append([]string(nil), s.router.local...), Link: link, Intercom: s.intercomState(),
	}
}

// boardName is the board's backend as it names itself (the GPIO
// character device or gpiomem, none), else the show file's driver (sim),
// for the station's info and its start-up log line.
func (s *Station) boardName() string {
	if n, ok := s.board.(interface{ Backend() string }); ok {
		return n.Backend()
	}
	st, _ := s.cfg.Station(s.name)
	return st.Driver
}

// showHasGateway reports whether a station of the show is a gateway.
func showHasGateway(cfg *config.Config) bool {
	for _, st := range cfg.Stations {
		if st.Gateway {
			return true
		}
	}
	return false
}
