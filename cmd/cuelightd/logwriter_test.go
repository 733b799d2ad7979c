package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// stuckJournal is a journal that takes its first write only when let go,
// as journald under disk pressure.
type stuckJournal struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (j *stuckJournal) Write(p []byte) (int, error) {
	j.once.Do(func() {
		close(j.started)
		<-j.release
	})
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.buf.Write(p)
}

// TestLogWriterNeverBlocks: while the journal is stuck, logging goes on
// without waiting; past maxPending lines are dropped and counted, and
// once the journal moves every kept line arrives, in order, with the count.
func TestLogWriterNeverBlocks(t *testing.T) {
	j := &stuckJournal{started: make(chan struct{}), release: make(chan struct{})}
	l := newLogWriter(j)
	fmt.Fprintf(l, "line 0\n")
	<-j.started // the flush of line 0 is stuck in the journal
	line := strings.Repeat("x", 1000)
	kept := maxPending / 1000 // lines of exactly 1000 bytes
	n := kept + 50            // more than fit
	for i := 1; i <= n; i++ {
		fmt.Fprintf(l, "%s %04d\n", line[:994], i)
	}
	close(j.release)
	l.Close()
	fmt.Fprintf(l, "after close\n")

	out := j.buf.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if !strings.HasPrefix(out, "line 0\n") {
		t.Fatalf("the first line is not first: %.40q", out)
	}
	for i := 1; i <= kept; i++ {
		if got, want := lines[i], fmt.Sprintf("%s %04d", line[:994], i); got != want {
			t.Fatalf("line %d: %.20q…, want line %d in order", i, got[len(got)-6:], i)
		}
	}
	want := fmt.Sprintf("%d log lines dropped", n-kept)
	if !strings.Contains(lines[kept+1], want) {
		t.Errorf("after the kept lines: %q, want %q", lines[kept+1], want)
	}
	if lines[len(lines)-1] != "after close" {
		t.Errorf("last line %q, want the line written after Close", lines[len(lines)-1])
	}
}
