package drivers

import "time"

// Debouncer turns the raw levels of one button into debounced Press,
// Release and Stuck events. It is pure: it has no clock and no goroutine;
// the caller passes the time of every sample. Every backend runs the same
// Debouncer, so a simulated press behaves like a real one.
//
// The rules, with the durations of ButtonOptions:
//   - Settling: a raw change counts once the raw level has stayed
//     unchanged for Debounce. Contact bounce (any burst of changes shorter
//     than Debounce apart) is one change; a glitch that returns to the
//     debounced level within Debounce is none.
//   - Lock-out: two debounced changes are at least Lockout apart. A change
//     that settles inside the lock-out is reported when the lock-out ends,
//     if the raw level still differs then.
//   - Stuck: a button held (debounced pressed) for StuckAfter, counted from
//     the moment the press was first seen, is reported Stuck exactly once.
//     No other Press can follow until the button has been released
//     (debounced), which is reported as a Release and clears the fault.
//
// Each event's At is the moment the change was first seen, before it
// settled; a Stuck event's At is the moment the hold crossed StuckAfter.
//
// The level given to Reset is the baseline and is not an event: a button
// held when watching starts gives no Press (it might be stuck, or wired
// with the wrong active_low); it is reported Stuck after StuckAfter and a
// Release when it comes up.
//
// Times must not go backwards; a sample older than the newest one seen is
// taken as happening at the newest time. A Debouncer is not safe for
// concurrent use.
type Debouncer struct {
	pin                        string
	debounce, lockout, stuckAt time.Duration

	started   bool
	now       time.Time // newest time seen
	raw       bool      // newest raw level
	rawAt     time.Time // when raw last changed
	state     bool      // debounced level
	firstSeen time.Time // when raw first left state in this burst; zero if none
	changedAt time.Time // when state last changed (for the lock-out)
	locked    bool      // changedAt is set: the lock-out applies
	heldSince time.Time // when the current hold began
	stuck     bool
}

// NewDebouncer returns a Debouncer for the button on pin with the timings
// of o (defaults applied as ButtonOptions.WithDefaults says; o.Clock is not
// used). Call Reset with the level seen when watching starts; otherwise the
// first sample is the baseline.
func NewDebouncer(pin string, o ButtonOptions) *Debouncer {
	o = o.WithDefaults()
	return &Debouncer{pin: pin, debounce: max(o.Debounce, 0), lockout: max(o.Lockout, 0), stuckAt: max(o.StuckAfter, 0)}
}

// Reset forgets everything and takes pressed, seen at at, as the debounced
// level. It reports no event.
func (d *Debouncer) Reset(pressed bool, at time.Time) {
	*d = Debouncer{pin: d.pin, debounce: d.debounce, lockout: d.lockout, stuckAt: d.stuckAt}
	d.started = true
	d.now, d.rawAt, d.heldSince = at, at, at
	d.raw, d.state = pressed, pressed
}

// Sample feeds the raw level seen at at and appends to dst, in order, the
// events that became due up to at: first those due while the previous raw
// level held, then any the new level causes at once. It returns dst.
func (d *Debouncer) Sample(dst []ButtonEvent, pressed bool, at time.Time) []ButtonEvent {
	if !d.started {
		d.Reset(pressed, at)
		return dst
	}
	at = d.clamp(at)
	dst = d.advance(dst, at)
	if pressed != d.raw {
		if d.raw == d.state && (d.firstSeen.IsZero() || at.Sub(d.rawAt) >= d.debounce) {
			d.firstSeen = at // a new burst; a bounce keeps the first one's time
		}
		d.raw, d.rawAt = pressed, at
	}
	return d.advance(dst, at)
}

// Tick tells the Debouncer that time at has come with no new sample, and
// appends the events due by then to dst. Call it at Deadline.
func (d *Debouncer) Tick(dst []ButtonEvent, at time.Time) []ButtonEvent {
	if !d.started {
		return dst
	}
	return d.advance(dst, d.clamp(at))
}

// Deadline returns when the next event would become due if no new sample
// came, and false if none is pending. A watcher that has no edge by then
// calls Tick (or Sample) at that time.
func (d *Debouncer) Deadline() (time.Time, bool) {
	if !d.started {
		return time.Time{}, false
	}
	c, cok := d.commitDue()
	s, sok := d.stuckDue()
	switch {
	case cok && sok:
		if s.Before(c) {
			return s, true
		}
		return c, true
	case cok:
		return c, true
	case sok:
		return s, true
	}
	return time.Time{}, false
}

// Pressed reports the debounced level.
func (d *Debouncer) Pressed() bool { return d.state }

// Stuck reports whether the button is held past StuckAfter and not yet
// released.
func (d *Debouncer) Stuck() bool { return d.stuck }

func (d *Debouncer) clamp(at time.Time) time.Time {
	if at.Before(d.now) {
		return d.now
	}
	d.now = at
	return at
}

// commitDue is when the pending raw change settles, if one is pending.
func (d *Debouncer) commitDue() (time.Time, bool) {
	if d.raw == d.state {
		return time.Time{}, false
	}
	t := d.rawAt.Add(d.debounce)
	if d.locked {
		if l := d.changedAt.Add(d.lockout); l.After(t) {
			t = l
		}
	}
	return t, true
}

// stuckDue is when the current hold becomes a stuck fault, if it can.
func (d *Debouncer) stuckDue() (time.Time, bool) {
	if !d.state || d.stuck || d.stuckAt <= 0 {
		return time.Time{}, false
	}
	return d.heldSince.Add(d.stuckAt), true
}

// advance fires every deadline up to and including at, earliest first.
func (d *Debouncer) advance(dst []ButtonEvent, at time.Time) []ButtonEvent {
	for {
		c, cok := d.commitDue()
		s, sok := d.stuckDue()
		switch {
		case sok && !s.After(at) && (!cok || s.Before(c)):
			d.stuck = true
			dst = append(dst, ButtonEvent{Pin: d.pin, Kind: Stuck, At: s})
		case cok && !c.After(at):
			seen := d.firstSeen
			if seen.IsZero() {
				seen = d.rawAt
			}
			d.state, d.changedAt, d.locked, d.firstSeen = d.raw, c, true, time.Time{}
			kind := Release
			if d.state {
				kind, d.heldSince = Press, seen
			} else {
				d.stuck = false
			}
			dst = append(dst, ButtonEvent{Pin: d.pin, Kind: kind, At: seen})
		default:
			return dst
		}
	}
}
