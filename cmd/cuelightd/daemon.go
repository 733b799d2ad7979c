package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	sdaemon "github.com/coreos/go-systemd/v22/daemon"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/devices"
	"github.com/cuelight/cuelight/drivers/gpio"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/internal/showview"
	"github.com/cuelight/cuelight/internal/station"
	"github.com/cuelight/cuelight/internal/web"
)

// daemon runs stations one after another: a SIGHUP with a valid, changed
// show file stops the running one cleanly and starts the new one.
type daemon struct {
	configPath string
	station    string
	demo       bool
	stdout     io.Writer
	stderr     io.Writer
	log        *slog.Logger
}

// loaded is one accepted show file.
type loaded struct {
	cfg  *config.Config
	raw  []byte // file content, to tell whether a reload changes anything
	path string // "" for the demo show
}

func (d *daemon) load() (loaded, error) {
	path := d.configPath
	if d.demo {
		return loaded{cfg: config.Demo()}, nil
	}
	if path == "" {
		if _, err := os.Stat(defaultConfig); err != nil {
			return loaded{cfg: config.Demo()}, nil
		}
		path = defaultConfig
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return loaded{}, fmt.Errorf("cannot read the show file: %w", err)
	}
	cfg, err := config.Parse(bytes.NewReader(raw), path)
	if err != nil {
		return loaded{}, err
	}
	for _, w := range cfg.Warnings {
		d.log.Warn("show file", "warning", w.Error())
	}
	return loaded{cfg: cfg, raw: raw, path: path}, nil
}

func (d *daemon) run(ctx context.Context) error {
	cur, err := d.load()
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	for {
		next, err := d.runOne(ctx, cur, hup)
		if err != nil || next == nil {
			return err
		}
		cur = *next
	}
}

// runOne runs one station until ctx ends (nil, nil) or a reload is accepted
// (the new show, nil).
func (d *daemon) runOne(ctx context.Context, cur loaded, hup <-chan os.Signal) (*loaded, error) {
	name, err := cur.cfg.PickStation(d.station, hostname())
	if err != nil {
		return nil, err
	}
	st, _ := cur.cfg.Station(name)
	board, simBoard, err := openBoard(st, d.log)
	if err != nil {
		return nil, err
	}
	notify := func(state string) {
		_, _ = sdaemon.SdNotify(false, state)
		if state == "READY=1" && cur.path == "" {
			d.printDemo(cur.cfg)
		}
	}
	var every time.Duration
	if iv, err := sdaemon.SdWatchdogEnabled(false); err == nil && iv > 0 {
		every = iv / 2
	}
	s, err := station.New(station.Options{
		Config: cur.cfg, Station: name, Board: board, Logger: d.log,
		Version: version, WatchdogEvery: every, Notify: notify, ShowHash: showHash(cur),
	})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var next *loaded
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case <-hup:
				_, _ = sdaemon.SdNotify(false, "RELOADING=1")
				n, ok := d.reload(cur)
				if !ok {
					_, _ = sdaemon.SdNotify(false, "READY=1")
					continue
				}
				next = n
				stop()
				return
			}
		}
	}()
	h, err := webHandler(s, simBoard, cur.cfg, d.log)
	if err != nil {
		return nil, err
	}
	err = s.Run(runCtx, h)
	if ctx.Err() != nil {
		return nil, err
	}
	return next, err
}

// reload reads the show file again. An invalid file is refused and the
// running show untouched (docs/protocol.md §5).
func (d *daemon) reload(cur loaded) (*loaded, bool) {
	if cur.path == "" {
		d.log.Info("reload: running the demo show; nothing to reload")
		return nil, false
	}
	n, err := d.load()
	if err != nil {
		d.log.Error("reload refused: the show file has errors; the running show is unchanged", "file", cur.path, "err", err.Error())
		return nil, false
	}
	if bytes.Equal(n.raw, cur.raw) {
		d.log.Info("reload: show file unchanged", "file", cur.path)
		return nil, false
	}
	d.log.Warn("reload: restarting the station with the new show file; pending standbys are cleared", "file", cur.path)
	return &n, true
}

// openBoard opens the station's driver, with its add-on devices
// (docs/protocol.md §11) written dark. The sim board is also returned for
// the web API.
func openBoard(st config.Station, log *slog.Logger) (drivers.Board, *sim.Board, error) {
	switch st.Driver {
	case "sim":
		// No trace: nothing in the daemon reads it, and a demo left
		// running would hold the last 10,000 lamp changes (2–3 MB).
		b := sim.New(sim.Options{Devices: st.DeviceSpecs(), TraceLimit: -1})
		return b, b, nil
	case "gpio":
		b, err := gpio.New(gpio.Options{Logger: log.With("part", "gpio")})
		if err != nil || len(st.Devices) == 0 {
			return b, nil, err
		}
		db, err := devices.Open(b, st.DeviceSpecs(), devices.Options{Logger: log.With("part", "devices")})
		if err != nil {
			_ = b.Halt()
			return nil, nil, err
		}
		return db, nil, nil
	case "none":
		return drivers.None{}, nil, nil
	}
	return nil, nil, fmt.Errorf("unknown driver %q", st.Driver)
}

func hostname() string {
	h, _ := os.Hostname()
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	return h
}

// webHandler builds the web API and the desk, wing and board pages
// (docs/web.md).
func webHandler(s *station.Station, board *sim.Board, cfg *config.Config, log *slog.Logger) (http.Handler, error) {
	return web.New(web.Options{Station: s, Show: s, Board: board, Config: cfg, Listen: cfg.Web.Listen, Logger: log.With("part", "web"), Report: s.ReportHandler()})
}

// printDemo tells a newcomer how to drive the demo show.
func (d *daemon) printDemo(cfg *config.Config) {
	fmt.Fprintf(d.stdout, `
cuelight demo show is running: station "demo", channels fly (needs an ACK
before GO), sl, sr and trap, on a simulated board.

Open http://%[2]s/ for the stage manager's desk, /board for the
simulated board's lamps and buttons, /wing/fly for a wing page.

Try, in another terminal (apt-get install liblo-tools mosquitto-clients):
  mosquitto_sub -h 127.0.0.1 -p %[1]s -t 'cuelight/#' -v          # watch state and events
  oscdump -L 53001 &                                               # (optional) watch feedback
  oscsend localhost 53100 /cuelight/fly/standby_ack s 23           # fly: standby for cue 23
  curl -X POST http://%[2]s/api/v1/pins/GPIO22/press        # the fly crew presses ACK
  oscsend localhost 53100 /cuelight/fly/go s 23                    # GO
  oscsend localhost 53100 /cuelight/sl,sr/standby s 24             # two positions at once
  oscsend localhost 53100 /cuelight/cue/24/go                      # GO everyone standing by for 24
  curl http://%[2]s/api/v1/pins                             # what the lamps show
  curl http://%[2]s/api/v1/channels                         # channel states

Stop with Ctrl-C.
`, portOf(cfg.MQTT.Listen), cfg.Web.Listen)
}

func portOf(hostport string) string {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		return hostport[i+1:]
	}
	return hostport
}

// checkConfig implements "cuelightd check-config FILE".
func checkConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: cuelightd check-config FILE\n\nChecks a show file. Exit 0 when it is valid; 1 with one error per line\n(FILE:LINE: key.path: message) when it is not.")
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	cfg, err := config.Load(args[0])
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, ce.Error())
		} else {
			fmt.Fprintln(stderr, args[0]+":", err)
		}
		return 1
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "warning:", w.Error())
	}
	fmt.Fprintf(stdout, "%s: valid: %s\n", args[0], cfg.Summary())
	return 0
}

// newLogger logs as text; under journald (JOURNAL_STREAM set) without
// timestamps, which the journal adds.
func newLogger(w io.Writer, lvl slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: lvl}
	if os.Getenv("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// showHash identifies the show file for the station's info: stations that
// run different files are told apart (the demo show has none).
func showHash(l loaded) string {
	if l.raw == nil {
		return ""
	}
	return showview.ShowHash(l.raw)
}
