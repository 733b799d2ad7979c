package station

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
)

// outputs are the station's lamps and signals: opened dark, written only
// when the level the engine wants differs from the level last written,
// checked by the self-check, and halted at the end. Only the cue loop
// writes them; halt may be called from Run's goroutine once the loop has
// ended (or never started).
type outputs struct {
	board drivers.Board
	log   *slog.Logger
	m     map[outputKey]*output

	scratch  []cues.Output
	haltOnce sync.Once

	// colorOf is an RGB lamp's colour for a state name, or "call" for the
	// call lamp (config.Station.Color); faults are the output failures
	// not yet reported (devices.go).
	colorOf     func(state string) drivers.RGB
	faults      []outputFault
	failingDevs map[string]bool // devices whose check failed, reported once
}

type outputKey struct {
	channel string
	role    cues.Role
}

// output is one opened lamp or signal and the level last written to it.
type output struct {
	lamp    drivers.Lamp
	signal  drivers.Signal
	level   float64
	written bool // false until the first write after open (open is dark)

	color   drivers.ColorLamp // lamp as a colour lamp, or nil (devices.go)
	shown   drivers.RGB       // the colour last written to color
	failing bool              // the last write failed (reported once as a fault)
}

// lampRoles are a channel's lamp keys, with the engine's role for each.
var lampRoles = []struct {
	role cues.Role
	key  string
	pin  func(*config.Channel) config.Pin
}{
	{cues.StandbyLamp, drivers.RoleStandbyLamp, func(c *config.Channel) config.Pin { return c.StandbyLamp }},
	{cues.GoLamp, drivers.RoleGoLamp, func(c *config.Channel) config.Pin { return c.GoLamp }},
	{cues.CallLamp, drivers.RoleCallLamp, func(c *config.Channel) config.Pin { return c.CallLamp }},
}

// open opens a channel's lamps and call signal, dark, and fills in the
// outputs part of its engine spec.
func (o *outputs) open(ch *config.Channel, spec *cues.ChannelSpec) error {
	for _, l := range lampRoles {
		pin := l.pin(ch)
		if pin.Name == "" {
			continue
		}
		lamp, err := o.board.Lamp(pin.Name, drivers.PinOptions{Channel: ch.Name, Role: l.key, ActiveLow: pin.ActiveLow})
		if err != nil {
			return fmt.Errorf("station: channels.%s.%s: %w", ch.Name, l.key, err)
		}
		out := &output{lamp: lamp}
		out.color, _ = lamp.(drivers.ColorLamp)
		o.m[outputKey{ch.Name, l.role}] = out
	}
	spec.Lamps = 1
	if ch.GoLamp.Name != "" {
		spec.Lamps = 2
	}
	spec.HasCallLamp = ch.CallLamp.Name != ""
	if ch.CallOut.Name != "" {
		sig, err := o.board.Signal(ch.CallOut.Name, drivers.PinOptions{Channel: ch.Name, Role: drivers.RoleCallOut, ActiveLow: ch.CallOut.ActiveLow})
		if err != nil {
			return fmt.Errorf("station: channels.%s.call_out: %w", ch.Name, err)
		}
		o.m[outputKey{ch.Name, cues.CallOut}] = &output{signal: sig}
		spec.HasCallOut = true
	}
	return nil
}

// write drives every output whose level differs from what was last
// written. Outputs are never read back (reading a GPIO output is undefined
// on some backends).
func (o *outputs) write(now time.Time, eng *cues.Engine) {
	o.scratch = eng.Outputs(now, o.scratch[:0])
	for _, want := range o.scratch {
		out := o.m[outputKey{want.Channel, want.Role}]
		if out == nil {
			continue
		}
		rgb := o.colorFor(out, want)
		if (out.written && out.level == want.Level && out.shown == rgb) || (!out.written && want.Level == 0) {
			continue
		}
		var err error
		switch {
		case out.color != nil:
			err = out.color.SetColor(rgb, want.Level)
		case out.lamp != nil:
			err = out.lamp.Set(want.Level)
		case out.signal != nil:
			err = out.signal.Set(want.Level > 0)
		}
		if err != nil {
			o.failed(out, want, err)
			continue // written stays as it was: the next pass tries again
		}
		o.recovered(out, want)
		out.level, out.written, out.shown = want.Level, true, rgb
	}
}

// selfCheck re-asserts every output the engine wants (a write that failed
// earlier is retried) and reports whether every output is now as the
// engine wants it. The cue loop runs it before feeding the systemd
// watchdog, so a stalled loop or a failing output starves the watchdog
// (docs/protocol.md §6.6).
func (o *outputs) selfCheck(now time.Time, eng *cues.Engine) bool {
	checked := o.checkDevices() // devices.go
	o.write(now, eng)
	for _, want := range o.scratch {
		out := o.m[outputKey{want.Channel, want.Role}]
		if out == nil {
			continue
		}
		if out.written && out.level != want.Level || !out.written && want.Level != 0 {
			return false
		}
	}
	return checked
}

// halt drives every output of the board to its safe state (dark, not
// driven). Idempotent.
func (o *outputs) halt() {
	o.haltOnce.Do(func() {
		if err := o.board.Halt(); err != nil {
			o.log.Error("halting outputs", "err", err)
		}
	})
}
