package cues

import (
	"fmt"
	"slices"
	"time"
)

// scheduled is a command held until its due time.
type scheduled struct {
	due time.Time
	seq uint64 // arrival order, for commands due at the same instant
	c   Command
}

// Schedule holds c until due: an OSC bundle with a future time tag
// (docs/protocol.md §3 "Scheduled commands"). The command is checked when it
// arrives and carried out at due as if Apply had been called then, except
// that it cannot restore a lost link: a scheduled command is never "the
// booth heard" at its due time. A FromBooth command counts as the booth
// heard now, when it arrives (and restores a lost link now, to off).
//
// A command due at or before now is applied at once (Apply). One due more
// than MaxScheduleAhead after now is refused (ReasonTooFarAhead), and so is
// one whose label breaks the label rule.
//
// Every command still waiting is dropped, and reported as a refusal (and a
// refused event on its channel), when a hold latches, when the booth link
// is lost, and at Stop: a GO scheduled before any of those never fires
// after it. NextChange counts the earliest due time, so the station wakes
// for it.
//
// The Result's slices are valid until the next call that returns one.
func (e *Engine) Schedule(now, due time.Time, c Command) Result {
	if !due.After(now) {
		return e.Apply(now, c)
	}
	if !e.arrive(now, &c) {
		return e.res
	}
	if due.Sub(now) > MaxScheduleAhead {
		i, ok := e.idx[c.Channel]
		if !ok || isShowWide(c.Verb) {
			i = -1
		}
		e.refuse(i, c.Channel, ReasonTooFarAhead, now, &c)
		return e.res
	}
	c.FromBooth = false // at its time it is the schedule speaking, not the booth
	e.schedSeq++
	s := scheduled{due: due, seq: e.schedSeq, c: c}
	at, _ := slices.BinarySearchFunc(e.sched, s, func(a, b scheduled) int {
		if c := a.due.Compare(b.due); c != 0 {
			return c
		}
		return cmpUint(a.seq, b.seq)
	})
	e.sched = slices.Insert(e.sched, at, s)
	return e.res
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Scheduled returns how many commands are waiting for their time.
func (e *Engine) Scheduled() int { return len(e.sched) }

// dropScheduled drops every waiting command at time at, each reported as a
// refusal: "scheduled <verb> dropped: <why>".
func (e *Engine) dropScheduled(at time.Time, why string) {
	if len(e.sched) == 0 {
		return
	}
	dropped := e.sched
	e.sched = nil
	for k := range dropped {
		c := &dropped[k].c
		i, ok := e.idx[c.Channel]
		if !ok || isShowWide(c.Verb) {
			i = -1
		}
		e.refuse(i, c.Channel, fmt.Sprintf("scheduled %s dropped: %s", c.Verb, why), at, c)
	}
}

// ReasonStopping is why scheduled commands are dropped by Stop.
const ReasonStopping = "the station is stopping or reloading"

// Stop ends the engine's show at now, for a clean stop or a reload: every
// scheduled command is dropped and reported as refused (ReasonStopping),
// and every channel that is not off changes to off with no event (its lamps
// are dark once the station halts them, and nothing pending survives a
// restart). The hold latch and a lost link are cleared with them. After
// Stop the engine may still be asked for States, but should not be given
// commands.
//
// The Result's slices are valid until the next call that returns one.
func (e *Engine) Stop(now time.Time) Result {
	e.begin()
	e.dropScheduled(now, ReasonStopping)
	e.held, e.lost = false, false
	for i := range e.ch {
		e.ch[i].callUntil = time.Time{}
		if e.ch[i].cs.State != StateOff {
			e.change(i, now, StateOff, "", false)
		}
	}
	return e.res
}
