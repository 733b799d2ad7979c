package mqttlink

import "sync"

// eventQueue is a bounded FIFO of events that never blocks the producer:
// when full, push drops the oldest event and counts it.
type eventQueue struct {
	mu      sync.Mutex
	buf     []Event // ring of len(buf) slots
	head, n int
	dropped int64 // guarded by mu; mirrored in Link.dropped for lock-free reads
}

func newEventQueue(size int) *eventQueue {
	return &eventQueue{buf: make([]Event, size)}
}

// push appends e and reports whether an older event was dropped for it.
func (q *eventQueue) push(e Event) (dropped bool) {
	q.mu.Lock()
	if q.n == len(q.buf) {
		q.buf[q.head] = Event{}
		q.head = (q.head + 1) % len(q.buf)
		q.n--
		q.dropped++
		dropped = true
	}
	q.buf[(q.head+q.n)%len(q.buf)] = e
	q.n++
	q.mu.Unlock()
	return dropped
}

// popN moves up to max events, oldest first, into dst and returns it.
func (q *eventQueue) popN(dst []Event, max int) []Event {
	q.mu.Lock()
	for i := 0; i < max && q.n > 0; i++ {
		dst = append(dst, q.buf[q.head])
		q.buf[q.head] = Event{}
		q.head = (q.head + 1) % len(q.buf)
		q.n--
	}
	q.mu.Unlock()
	return dst
}

func (q *eventQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
