package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// logWriter gathers the log's lines and writes them to the journal (or
// the terminal) a moment later, in one write, from a goroutine of its own
// (docs/operations.md, "Logs"). So:
//
//   - the cue loop never waits for the journal: a write to a journal that
//     has stalled would otherwise hold up the next GO. Once maxPending
//     bytes wait, further lines are dropped and counted, and the count is
//     written with the next lines that go;
//   - the write's system call, tens of microseconds on a small computer,
//     comes after the broker and the subscribers have taken the state the
//     line was about, not in the middle (docs/performance.md).
//
// A line reaches the journal at most flushAfter after it was logged; on a
// crash the lines of the last flushAfter can be lost (the same events are
// on MQTT). Close writes what is left.
type logWriter struct {
	out io.Writer

	mu      sync.Mutex
	pending []byte
	dropped int
	armed   bool
	timer   *time.Timer
	closed  bool

	outMu sync.Mutex // one write to out at a time, in order
}

const (
	flushAfter = 2 * time.Millisecond
	maxPending = 256 << 10
)

func newLogWriter(out io.Writer) *logWriter {
	l := &logWriter{out: out}
	l.timer = time.AfterFunc(time.Hour, l.flush)
	l.timer.Stop()
	return l
}

// Write queues p and never blocks on the journal. slog writes one whole
// line per call.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock() // never hold mu while waiting for outMu (flush takes them the other way)
		l.outMu.Lock()
		defer l.outMu.Unlock()
		return l.out.Write(p)
	}
	defer l.mu.Unlock()
	if len(l.pending)+len(p) > maxPending {
		l.dropped++
		return len(p), nil
	}
	l.pending = append(l.pending, p...)
	if !l.armed {
		l.armed = true
		l.timer.Reset(flushAfter)
	}
	return len(p), nil
}

// flush writes what is pending.
func (l *logWriter) flush() {
	l.outMu.Lock()
	defer l.outMu.Unlock()
	l.mu.Lock()
	p, dropped := l.pending, l.dropped
	l.pending, l.dropped, l.armed = nil, 0, false
	l.mu.Unlock()
	if dropped > 0 {
		p = fmt.Appendf(p, "time=%s level=ERROR msg=\"%d log lines dropped: the journal did not take them in time\"\n",
			time.Now().Format("2006-01-02T15:04:05.000Z07:00"), dropped)
	}
	if len(p) > 0 {
		_, _ = l.out.Write(p)
	}
}

// Close writes what is pending; later lines are written at once.
func (l *logWriter) Close() error {
	l.timer.Stop()
	l.flush()
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return nil
}
