package station

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
)

// This file is the outputs' part for add-on devices (docs/protocol.md
// §11): the colour of an RGB lamp, and an output that fails to write
// reported as a fault event once, then retried on every pass until it
// works again.

// newOutputs returns the outputs of station name of cfg on board.
func newOutputs(board drivers.Board, log *slog.Logger, cfg *config.Config, name string) *outputs {
	st, _ := cfg.Station(name)
	return &outputs{board: board, log: log, m: map[outputKey]*output{}, colorOf: st.Color}
}

// colorFor is the colour an RGB lamp shows for want: the call lamp's, or
// its channel state's. Other outputs have none.
func (o *outputs) colorFor(out *output, want cues.Output) drivers.RGB {
	if out.color == nil || o.colorOf == nil || want.Level == 0 {
		return drivers.RGB{}
	}
	if want.Role == cues.CallLamp {
		return o.colorOf("call")
	}
	return o.colorOf(want.State.String())
}

// outputFault is an output write that failed, not yet reported.
type outputFault struct {
	channel, reason string
}

// failed logs a failed write and queues one fault event when the output
// was working until now.
func (o *outputs) failed(out *output, want cues.Output, err error) {
	o.log.Error("output write failed", "channel", want.Channel, "role", want.Role.String(), "err", err)
	if out.failing {
		return
	}
	out.failing = true
	name := ""
	if out.lamp != nil {
		name = out.lamp.Name()
	} else if out.signal != nil {
		name = out.signal.Name()
	}
	o.faults = append(o.faults, outputFault{want.Channel, fmt.Sprintf("%s %s (%s) cannot be written: %v; retrying",
		want.Channel, strings.ReplaceAll(want.Role.String(), "_", " "), name, err)})
}

// recovered logs an output that works again after a failure.
func (o *outputs) recovered(out *output, want cues.Output) {
	if out.failing {
		out.failing = false
		o.log.Info("output works again", "channel", want.Channel, "role", want.Role.String())
	}
}

// reportFaults turns the output failures found by the last write into
// fault events (docs/protocol.md §11: never left in an unknown state
// silently).
func (s *Station) reportFaults(now time.Time) {
	for len(s.out.faults) > 0 {
		f := s.out.faults[0]
		s.out.faults = s.out.faults[1:]
		res := s.engine.Apply(now, cues.Command{Verb: cues.VerbFault, Channel: f.channel, Source: cues.SourceDevice, Reason: f.reason})
		for _, ev := range res.Events {
			s.rep.event(ev)
		}
	}
}

// checkDevices runs the board's device check (drivers.Checker) when it
// has one. A device that failed it was written dark and set up again:
// every output is then written again by the next write (the ones that
// are dark stay dark), each failing device is one fault event on the
// channels that use it, and the self-check fails.
func (o *outputs) checkDevices() bool {
	c, ok := o.board.(drivers.Checker)
	if !ok {
		return true
	}
	err := c.Check()
	if err == nil {
		if len(o.failingDevs) > 0 {
			o.log.Info("devices answer again")
			clear(o.failingDevs)
		}
		return true
	}
	o.log.Error("device check failed", "err", err)
	for _, out := range o.m {
		out.written = false
	}
	var devErrs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		devErrs = j.Unwrap()
	} else {
		devErrs = []error{err}
	}
	if o.failingDevs == nil {
		o.failingDevs = map[string]bool{}
	}
	for _, e := range devErrs {
		var de *drivers.DeviceError
		if !errors.As(e, &de) || o.failingDevs[de.Device] {
			continue
		}
		o.failingDevs[de.Device] = true
		for _, ch := range o.channelsOn(de.Device) {
			o.faults = append(o.faults, outputFault{ch, de.Error()})
		}
	}
	return false
}

// channelsOn lists the channels with an output on device dev, sorted.
func (o *outputs) channelsOn(dev string) []string {
	seen := map[string]bool{}
	var out []string
	for key, op := range o.m {
		name := ""
		if op.lamp != nil {
			name = op.lamp.Name()
		} else if op.signal != nil {
			name = op.signal.Name()
		}
		if d, _, ok := drivers.ParseDevicePin(name); ok && d == dev && !seen[key.channel] {
			seen[key.channel] = true
			out = append(out, key.channel)
		}
	}
	sort.Strings(out)
	return out
}
