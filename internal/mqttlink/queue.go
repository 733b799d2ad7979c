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
	states stateRing
	live   int               // entries of states not dead
	newest map[string]uint64 // channel → ring position of its newest entry
	events eventQueue
}

type queuedState struct {
	order uint64
	s     State
	dead  bool
}

func newOutbox(eventCap int) *outbox {
	return &outbox{newest: map[string]uint64{}, events: eventQueue{buf: make([]queuedEvent, eventCap)}}
}

// putState queues s. inflight and window say whether there is room (see
// outbox); it reports whether s replaced a queued state (coalesced).
func (o *outbox) putState(s State, inflight, window int) (coalesced bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if pos, ok := o.newest[s.Channel]; ok && inflight+o.live >= window {
		o.states.at(pos).s = s
		return true
	}
	o.order++
	o.newest[s.Channel] = o.states.push(queuedState{order: o.order, s: s})
	o.live++
	return false
}

// requeue puts back a state whose publish failed, first in line, unless a
// state of its channel is queued (it is newer).
func (o *outbox) requeue(s State) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.newest[s.Channel]; ok {
		return
	}
	o.newest[s.Channel] = o.states.pushFront(queuedState{order: 0, s: s})
	o.live++
}

// supersede drops the queued states of s.Channel that the snapshot state s
// makes obsolete (all but those of s's epoch with a higher seq) and reports
// whether a newer one stays queued.
func (o *outbox) supersede(s State) (newer bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for pos := o.states.head; pos < o.states.head+uint64(o.states.n); pos++ {
		p := o.states.at(pos)
		if p.dead || p.s.Channel != s.Channel {
			continue
		}
		if p.s.Epoch == s.Epoch && p.s.Seq > s.Seq {
			newer = true
			continue
		}
		p.dead = true
		o.live--
		if o.newest[s.Channel] == pos {
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
	for o.states.n > 0 && o.states.at(o.states.head).dead {
		o.states.popFront()
	}
	var head *queuedState
	if o.states.n > 0 {
		head = o.states.at(o.states.head)
	}
	if ev, ok := o.events.peek(); ok && (head == nil || ev.order < head.order) {
		o.events.drop()
		e := ev.e // only this copy escapes (to the publisher)
		return outItem{event: &e}, true
	}
	if head == nil {
		return outItem{}, false
	}
	s := head.s
	if o.newest[s.Channel] == o.states.head {
		delete(o.newest, s.Channel)
	}
	o.states.popFront()
	o.live--
	return outItem{state: &s}, true
}

// queued is the number of states and events waiting.
func (o *outbox) queued() (states, events int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.live, o.events.n
}

// stateRing is a growable FIFO of queued states addressed by position: the
// entry pushed k-th has position k (pushFront gives head-1), stable until
// it is popped.
type stateRing struct {
	buf  []queuedState // len is a power of two
	head uint64        // position of the first entry
	n    int
}

func (r *stateRing) at(pos uint64) *queuedState { return &r.buf[pos&uint64(len(r.buf)-1)] }

func (r *stateRing) grow() {
	if r.n < len(r.buf) {
		return
	}
	nb := make([]queuedState, max(2*len(r.buf), 16))
	for pos := r.head; pos < r.head+uint64(r.n); pos++ {
		nb[pos&uint64(len(nb)-1)] = *r.at(pos)
	}
	r.buf = nb
}

func (r *stateRing) push(q queuedState) uint64 {
	r.grow()
	pos := r.head + uint64(r.n)
	*r.at(pos) = q
	r.n++
	return pos
}

func (r *stateRing) pushFront(q queuedState) uint64 {
	r.grow()
	r.head--
	*r.at(r.head) = q
	r.n++
	return r.head
}

func (r *stateRing) popFront() {
	*r.at(r.head) = queuedState{}
	r.head++
	r.n--
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
