package mqttlink

import "sync"

// outbox holds what the link has still to publish, in the order the
// station handed it over: the info (always first), channel states and
// events. It never blocks the producer and its size is bounded:
//
//   - States queue one entry per change while there is room: fewer than
//     window entries queued and in flight together. Without room, a change
//     replaces the newest queued state of its channel in place ("latest
//     wins"); a channel with none queued still gets an entry, so at most
//     window + (number of channels) states are queued.
//   - Events go into a ring that drops the oldest when full.
type outbox struct {
	mu     sync.Mutex
	order  uint64 // hand-over counter: the publishing order
	info   *Info
	states []*queuedState // FIFO; superseded entries are marked dead
	live   int            // entries of states not dead
	newest map[string]*queuedState
	events eventQueue
}

type queuedState struct {
	order uint64
	s     State
	dead  bool
}

func newOutbox(eventCap int) *outbox {
	return &outbox{newest: map[string]*queuedState{}, events: eventQueue{buf: make([]queuedEvent, eventCap)}}
}

// putState queues s. inflight and window say whether there is room (see
// outbox); it reports whether s replaced a queued state (coalesced).
func (o *outbox) putState(s State, inflight, window int) (coalesced bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p := o.newest[s.Channel]; p != nil && inflight+o.live >= window {
		p.s = s
		return true
	}
	o.order++
	p := &queuedState{order: o.order, s: s}
	o.states = append(o.states, p)
	o.live++
	o.newest[s.Channel] = p
	return false
}

// requeue puts back a state whose publish failed, first in line, unless a
// state of its channel is queued (it is newer).
func (o *outbox) requeue(s State) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.newest[s.Channel] != nil {
		return
	}
	p := &queuedState{order: 0, s: s}
	o.states = append([]*queuedState{p}, o.states...)
	o.live++
	o.newest[s.Channel] = p
}

// supersede drops the queued states of s.Channel that the snapshot state s
// makes obsolete (all but those of s's epoch with a higher seq) and reports
// whether a newer one stays queued.
func (o *outbox) supersede(s State) (newer bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range o.states {
		if p.dead || p.s.Channel != s.Channel {
			continue
		}
		if p.s.Epoch == s.Epoch && p.s.Seq > s.Seq {
			newer = true
			continue
		}
		p.dead = true
		o.live--
		if o.newest[s.Channel] == p {
			delete(o.newest, s.Channel)
		}
	}
	return newer
}

func (o *outbox) putInfo(info Info) {
	o.mu.Lock()
	o.info = &info
	o.mu.Unlock()
}

// takeInfo removes and returns the queued info, if any.
func (o *outbox) takeInfo() *Info {
	o.mu.Lock()
	defer o.mu.Unlock()
	info := o.info
	o.info = nil
	return info
}

// putEvent queues e and reports whether the oldest event was dropped for it.
func (o *outbox) putEvent(e Event) (dropped bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.order++
	return o.events.push(queuedEvent{order: o.order, e: e})
}

// outItem is one publish taken from the outbox: exactly one field is set.
type outItem struct {
	info  *Info
	state *State
	event *Event
}

// pop removes the next item in hand-over order (the info first).
func (o *outbox) pop() (outItem, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.info != nil {
		info := o.info
		o.info = nil
		return outItem{info: info}, true
	}
	for len(o.states) > 0 && o.states[0].dead {
		o.states[0] = nil
		o.states = o.states[1:]
	}
	var head *queuedState
	if len(o.states) > 0 {
		head = o.states[0]
	}
	if ev, ok := o.events.peek(); ok && (head == nil || ev.order < head.order) {
		o.events.drop()
		return outItem{event: &ev.e}, true
	}
	if head == nil {
		return outItem{}, false
	}
	o.states[0] = nil
	o.states = o.states[1:]
	o.live--
	if o.newest[head.s.Channel] == head {
		delete(o.newest, head.s.Channel)
	}
	return outItem{state: &head.s}, true
}

// queued is the number of states and events waiting.
func (o *outbox) queued() (states, events int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.live, o.events.n
}

// queuedEvent is an event with its hand-over order.
type queuedEvent struct {
	order uint64
	e     Event
}

// eventQueue is a bounded FIFO of events that never blocks the producer:
// when full, push drops the oldest event. Guarded by outbox.mu.
type eventQueue struct {
	buf     []queuedEvent // ring of len(buf) slots
	head, n int
}

// push appends e and reports whether an older event was dropped for it.
func (q *eventQueue) push(e queuedEvent) (dropped bool) {
	if q.n == len(q.buf) {
		q.drop()
		dropped = true
	}
	q.buf[(q.head+q.n)%len(q.buf)] = e
	q.n++
	return dropped
}

func (q *eventQueue) peek() (queuedEvent, bool) {
	if q.n == 0 {
		return queuedEvent{}, false
	}
	return q.buf[q.head], true
}

// drop removes the oldest event.
func (q *eventQueue) drop() {
	q.buf[q.head] = queuedEvent{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
}
