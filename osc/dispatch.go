package osc

import (
	"container/heap"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Handler handles one message. from says who sent it and how to answer (see
// [Sender]); it may be nil when the message did not come from a network.
//
// Handlers called by a [Server] run one at a time on its single loop, in
// packet order: they must not block. msg, msg.Args and *from are lent for
// the duration of the call; keep a copy ([Message.Clone], s := *from), not
// the pointers.
type Handler func(msg *Message, from *Sender)

// DefaultHorizon is how far in the future a bundle's time tag may lie for
// the bundle to be held until then; later bundles are dropped. A
// dispatcher in DeliverFuture mode does not apply it: the application
// judges [Sender.Due] itself.
const DefaultHorizon = 10 * time.Second

// DefaultMaxPending is the default limit on bundles held for a future time.
const DefaultMaxPending = 1024

// Dispatcher delivers messages to the methods whose literal addresses their
// patterns match, and holds bundles tagged for the future until they are due.
//
// Delivery order: the messages of a packet are delivered in packet order,
// bundle elements in order; a message whose pattern matches several methods
// goes to each of them in the order they were registered. A message that
// matches no method goes to the fallback, if one is set, and is counted.
//
// Time: a bundle tagged [Immediately], or with a time at or before now, is
// delivered at once (one with a past time is counted as late); one with a
// future time no further than Horizon is copied and held, then delivered by
// [Dispatcher.RunDue] when due; one further away, or beyond MaxPending held
// bundles, is dropped and counted. A bundle inside a held bundle is judged
// again, by its own time tag, when the outer one is delivered.
//
// DeliverFuture mode: an application that must own scheduling (drop what
// is scheduled when a hold latches, refuse what is too far ahead with an
// answer to the sender) sets DeliverFuture. Then no bundle is ever held:
// the messages of a bundle with a future time tag are delivered at once,
// in order, and the handler learns the time they were meant for from
// [Sender.Due] on the Sender it is given. Horizon and MaxPending do not
// apply, nothing is pending, and each bundle whose own time tag lies in
// the future is counted in DispatchStats.Future. The edge cases:
//   - a message outside any bundle, and a bundle tagged [Immediately],
//     at or before now, carry a zero Due unless an enclosing bundle is in
//     the future;
//   - nested bundles: Due is the latest future time tag among the bundle
//     and the bundles around it (an inner bundle tagged earlier than its
//     outer one runs at the outer one's time, as in the holding mode);
//   - a past tag inside a future bundle is not counted as late; a past
//     tag elsewhere is, as in the holding mode;
//   - the Sender a handler gets for a future bundle is a copy of the
//     caller's with Due set (a Sender with no address when the caller
//     passed nil), lent for the call like any other.
//
// Registration ([Dispatcher.Handle], [Dispatcher.Remove],
// [Dispatcher.SetFallback]) is safe at any time, from any goroutine, also
// from inside a handler; the change applies to the next message. Dispatching
// calls handlers on the calling goroutine; callers that need packet order
// (a [Server] does) dispatch from one goroutine.
//
// Configure the exported fields before the first dispatch. The zero value is
// ready to use.
type Dispatcher struct {
	// Horizon is how far ahead a bundle may be scheduled; 0 means
	// DefaultHorizon.
	Horizon time.Duration
	// MaxPending limits the number of bundles held; 0 means
	// DefaultMaxPending.
	MaxPending int
	// PathWildcard enables the OSC 1.1 "//" wildcard in incoming patterns
	// (see [MatchOptions]).
	PathWildcard bool
	// DeliverFuture delivers future-tagged bundles at once, with their
	// time in [Sender.Due], instead of holding them (see "DeliverFuture
	// mode" above). The default, false, holds them.
	DeliverFuture bool

	mu  sync.Mutex // serialises registration
	tab atomic.Pointer[table]

	pmu     sync.Mutex // guards pending and seq
	pending pendingHeap
	seq     uint64

	unmatched, delivered, scheduled, future, late, dropped atomic.Uint64
}

type method struct {
	address string
	parts   []string
	h       Handler
}

// table is an immutable snapshot of the registrations.
type table struct {
	exact    map[string]*method
	all      []*method   // registration order
	byParts  [][]*method // by number of parts, registration order
	byPart   map[partKey][]*method
	fallback Handler
}

// partKey indexes methods by one literal part: the methods with n parts
// whose part i is s.
type partKey struct {
	n, i int
	s    string
}

// Handle registers h for the literal method address. The address must pass
// [ValidateAddress]; registering an address twice fails with [ErrDuplicate].
func (d *Dispatcher) Handle(address string, h Handler) error {
	if err := ValidateAddress(address); err != nil {
		return err
	}
	if h == nil {
		return fmt.Errorf("osc: nil handler for %s", address)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.tab.Load()
	if old != nil && old.exact[address] != nil {
		return fmt.Errorf("%w: %s", ErrDuplicate, address)
	}
	m := &method{address: address, parts: splitParts(nil, address), h: h}
	d.store(old, func(all []*method) []*method { return append(all, m) })
	return nil
}

// Remove unregisters the method address. It reports whether it was
// registered.
func (d *Dispatcher) Remove(address string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.tab.Load()
	if old == nil || old.exact[address] == nil {
		return false
	}
	d.store(old, func(all []*method) []*method {
		out := all[:0]
		for _, m := range all {
			if m.address != address {
				out = append(out, m)
			}
		}
		return out
	})
	return true
}

// SetFallback sets the handler for messages that match no method (nil
// removes it). Such messages are counted as unmatched either way.
func (d *Dispatcher) SetFallback(h Handler) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.tab.Load()
	t := &table{}
	if old != nil {
		*t = *old
	}
	t.fallback = h
	d.tab.Store(t)
}

// store builds a new table from old's method list edited by edit. d.mu is
// held.
func (d *Dispatcher) store(old *table, edit func([]*method) []*method) {
	var all []*method
	var fallback Handler
	if old != nil {
		all = append(all, old.all...)
		fallback = old.fallback
	}
	all = edit(all)
	t := &table{exact: make(map[string]*method, len(all)), all: all, byPart: map[partKey][]*method{}, fallback: fallback}
	for _, m := range all {
		t.exact[m.address] = m
		for i, p := range m.parts {
			k := partKey{len(m.parts), i, p}
			t.byPart[k] = append(t.byPart[k], m)
		}
		for len(t.byParts) <= len(m.parts) {
			t.byParts = append(t.byParts, nil)
		}
		t.byParts[len(m.parts)] = append(t.byParts[len(m.parts)], m)
	}
	d.tab.Store(t)
}

// Methods returns the registered method addresses in registration order.
func (d *Dispatcher) Methods() []string {
	t := d.tab.Load()
	if t == nil {
		return nil
	}
	out := make([]string, len(t.all))
	for i, m := range t.all {
		out[i] = m.address
	}
	return out
}

// DispatchMessage delivers m to every method its address pattern matches
// and returns how many there were; when none, it calls the fallback and
// returns 0. A literal address costs one map lookup. A pattern is matched
// only against the methods that have its number of parts and share its
// rarest literal part ("/cuelight/*/go": the methods ending in "go"); one
// with "//" against all methods. Neither allocates for addresses of up to
// 16 parts.
func (d *Dispatcher) DispatchMessage(m *Message, from *Sender) int {
	t := d.tab.Load()
	if t == nil {
		d.unmatched.Add(1)
		return 0
	}
	addr := m.Address
	path := d.PathWildcard && strings.Contains(addr, "//")
	if !path && !hasSpecial(addr) {
		if me := t.exact[addr]; me != nil {
			d.delivered.Add(1)
			me.h(m, from)
			return 1
		}
	} else if len(addr) > 0 && addr[0] == '/' {
		var buf [16]string
		parts := splitParts(buf[:0], addr)
		candidates := t.all
		if !path {
			candidates = nil
			if len(parts) < len(t.byParts) {
				candidates = t.byParts[len(parts)]
			}
		}
		// Literal parts are compared first: most methods fail there, and the
		// wildcard parts are matched only for the rest.
		// Among the methods that share the pattern's literal parts, only
		// those of the rarest one are candidates.
		var literal uint64
		for i, p := range parts {
			if i < 64 && !hasSpecial(p) {
				literal |= 1 << i
				if !path {
					if c := t.byPart[partKey{len(parts), i, p}]; len(c) < len(candidates) {
						candidates = c
					}
				}
			}
		}
		w := matchBudget
		n := 0
		for _, me := range candidates {
			if path && matchPathParts(parts, me.parts, &w) || !path && partsMatch(parts, literal, me.parts, &w) {
				if n == 0 {
					d.delivered.Add(1)
				}
				n++
				me.h(m, from)
			}
		}
		if n > 0 {
			return n
		}
	}
	d.unmatched.Add(1)
	if t.fallback != nil {
		t.fallback(m, from)
	}
	return 0
}

// partsMatch matches pattern parts against method parts of the same count.
// Bit i of literal says that pattern part i has no wildcard.
func partsMatch(pattern []string, literal uint64, method []string, w *int) bool {
	for i, p := range pattern {
		if i < 64 && literal&(1<<i) != 0 && p != method[i] {
			return false
		}
	}
	for i, p := range pattern {
		if (i >= 64 || literal&(1<<i) == 0) && !matchPart(p, method[i], w) {
			return false
		}
	}
	return true
}

// Dispatch delivers a packet: a message at once, a bundle according to its
// time tag compared with now (see [Dispatcher]). A held bundle is deep-copied
// first, so p may come from a [Decoder]; from is copied too.
func (d *Dispatcher) Dispatch(p Packet, from *Sender, now time.Time) {
	switch p := p.(type) {
	case *Message:
		d.DispatchMessage(p, from)
	case *Bundle:
		d.dispatchBundle(p, from, now)
	}
}

func (d *Dispatcher) dispatchBundle(b *Bundle, from *Sender, now time.Time) {
	if d.DeliverFuture {
		d.deliverBundle(b, from, now)
		return
	}
	if !b.Time.IsImmediate() {
		due := b.Time.Time()
		if due.After(now) {
			d.schedule(b, from, due, now)
			return
		}
		if due.Before(now) {
			d.late.Add(1)
		}
	}
	for _, e := range b.Elements {
		switch e := e.(type) {
		case *Message:
			d.DispatchMessage(e, from)
		case *Bundle:
			d.dispatchBundle(e, from, now)
		}
	}
}

// deliverBundle is dispatchBundle in DeliverFuture mode: every element at
// once, with the latest future time tag so far in the Sender's Due.
func (d *Dispatcher) deliverBundle(b *Bundle, from *Sender, now time.Time) {
	if !b.Time.IsImmediate() {
		tag := b.Time.Time()
		switch {
		case tag.After(now):
			d.future.Add(1)
			if tag.After(from.Due()) {
				s := Sender{}
				if from != nil {
					s = *from
				}
				s.due = tag
				from = &s
			}
		case tag.Before(now) && from.Due().IsZero():
			d.late.Add(1)
		}
	}
	for _, e := range b.Elements {
		switch e := e.(type) {
		case *Message:
			d.DispatchMessage(e, from)
		case *Bundle:
			d.deliverBundle(e, from, now)
		}
	}
}

func (d *Dispatcher) schedule(b *Bundle, from *Sender, due, now time.Time) {
	horizon := d.Horizon
	if horizon <= 0 {
		horizon = DefaultHorizon
	}
	limit := d.MaxPending
	if limit <= 0 {
		limit = DefaultMaxPending
	}
	if due.Sub(now) > horizon {
		d.dropped.Add(1)
		return
	}
	d.pmu.Lock()
	defer d.pmu.Unlock()
	if len(d.pending) >= limit {
		d.dropped.Add(1)
		return
	}
	it := &pending{due: due, seq: d.seq, bundle: b.Clone()}
	d.seq++
	if from != nil {
		s := *from
		it.from = &s
	}
	heap.Push(&d.pending, it)
	d.scheduled.Add(1)
}

// NextDue returns when the earliest held bundle is due; ok is false when
// none is held.
func (d *Dispatcher) NextDue() (due time.Time, ok bool) {
	d.pmu.Lock()
	defer d.pmu.Unlock()
	if len(d.pending) == 0 {
		return time.Time{}, false
	}
	return d.pending[0].due, true
}

// RunDue delivers every held bundle that is due at now, earliest first
// (bundles due at the same time in arrival order), and returns how many it
// delivered. Each bundle's elements are delivered as of its due time: a
// nested bundle tagged no later than that is delivered with it, not counted
// as late.
func (d *Dispatcher) RunDue(now time.Time) int {
	n := 0
	for {
		d.pmu.Lock()
		if len(d.pending) == 0 || d.pending[0].due.After(now) {
			d.pmu.Unlock()
			return n
		}
		it := heap.Pop(&d.pending).(*pending)
		d.pmu.Unlock()
		n++
		for _, e := range it.bundle.Elements {
			switch e := e.(type) {
			case *Message:
				d.DispatchMessage(e, it.from)
			case *Bundle:
				d.dispatchBundle(e, it.from, it.due)
			}
		}
	}
}

// DropPending discards every held bundle and returns how many there were.
// Use it when what was scheduled must not happen any more (a link loss, a
// stop); they are not counted as dropped.
func (d *Dispatcher) DropPending() int {
	d.pmu.Lock()
	defer d.pmu.Unlock()
	n := len(d.pending)
	clear(d.pending)
	d.pending = d.pending[:0]
	return n
}

// DispatchStats counts what a Dispatcher did. Every field only grows, except
// Pending.
type DispatchStats struct {
	Delivered uint64 // messages delivered to at least one method
	Unmatched uint64 // messages that matched no method (given to the fallback)
	Scheduled uint64 // bundles held for a future time tag
	Future    uint64 // future-tagged bundles delivered at once (DeliverFuture mode)
	Late      uint64 // bundles whose time tag had passed (delivered at once)
	Dropped   uint64 // bundles beyond the horizon or over MaxPending
	Pending   int    // bundles held now
}

// Stats returns a snapshot of the counters.
func (d *Dispatcher) Stats() DispatchStats {
	d.pmu.Lock()
	p := len(d.pending)
	d.pmu.Unlock()
	return DispatchStats{
		Delivered: d.delivered.Load(),
		Unmatched: d.unmatched.Load(),
		Scheduled: d.scheduled.Load(),
		Future:    d.future.Load(),
		Late:      d.late.Load(),
		Dropped:   d.dropped.Load(),
		Pending:   p,
	}
}

type pending struct {
	due    time.Time
	seq    uint64
	bundle *Bundle
	from   *Sender
}

// pendingHeap orders held bundles by due time, then arrival.
type pendingHeap []*pending

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h pendingHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)   { *h = append(*h, x.(*pending)) }
func (h *pendingHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
