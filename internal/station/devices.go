package station

import (
	"fmt"
	"log/slog"
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
		res := s.engine.Apply(now, cues.Command{Verb: cues.VerbButtonStuck, Channel: f.channel, Source: cues.SourceButton, Reason: f.reason})
		for _, ev := range res.Events {
			s.rep.event(ev)
		}
	}
}
