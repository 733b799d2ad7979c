// Package cues is the show logic of a cuelight station: the state machine of
// each channel (off, standby, ack, go, hold, lost), the rules of docs/protocol.md §2 and
// §6, and the lamp patterns that show each state.
//
// It is pure. An Engine takes commands, button inputs and the current time,
// and returns what changed, what to report and what every output must show;
// it has no clock, goroutines, sockets or hardware of its own, and it never
// imports drivers, OSC or MQTT code. The station owns the clock and the
// outputs:
//
//	res := eng.Apply(now, cmd)     // a command or a button edge
//	res := eng.Advance(now)        // a timer tick, at the time NextChange gave
//	outs = eng.Outputs(now, outs[:0])
//	// write the outputs whose level changed, then report res.Changed,
//	// res.Events and res.Refused
//	wake := eng.NextChange(now)    // sleep until then (zero: until the next command)
//
// Lamp patterns are functions of the time since Options.Start, so all lamps
// showing one pattern flash in phase on every channel, with no per-channel
// timers and no drift.
//
// An Engine is not safe for concurrent use: the station calls it from one
// goroutine, the cue loop, which orders every input. The slices of a Result
// belong to the Engine and are reused by the next Apply or Advance.
//
// docs/states.md in the repository holds the full transition table and every
// decision where docs/protocol.md §2 is silent.
package cues
