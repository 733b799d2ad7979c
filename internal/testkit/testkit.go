// Package testkit holds small helpers that several packages' tests share:
// a goroutine-safe buffer, a slog logger that writes through testing.T,
// and the MQTT packets that crash mochi-mqtt v2.7.9 (issue #501). It is
// imported only by tests.
package testkit

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// SyncBuffer is a bytes.Buffer safe for concurrent Write and String, for
// capturing a process's or a logger's output while a test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Logger returns a logger that writes records at min or above through
// t.Log until the test ends, and discards them afterwards (a goroutine
// that outlives the test must not call t.Log).
func Logger(t testing.TB, min slog.Level) *slog.Logger {
	h := &tHandler{t: t, min: min, mu: new(sync.Mutex), done: new(bool)}
	t.Cleanup(func() {
		h.mu.Lock()
		*h.done = true
		h.mu.Unlock()
	})
	return slog.New(h)
}

type tHandler struct {
	t     testing.TB
	min   slog.Level
	mu    *sync.Mutex
	done  *bool
	attrs string
}

func (h *tHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }

func (h *tHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message + h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if !*h.done {
		h.t.Log(b.String())
	}
	return nil
}

func (h *tHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	for _, a := range as {
		n.attrs += fmt.Sprintf(" %s=%v", a.Key, a.Value)
	}
	return &n
}

func (h *tHandler) WithGroup(string) slog.Handler { return h }

// MQTT v5 packets that crash mochi-mqtt v2.7.9 (issue #501): a CONNECT,
// then a SUBSCRIBE whose payload ends right after the topic filter,
// without the subscription options byte, which mochi indexes past the end
// of the packet. Send them in this order on one TCP connection.
var (
	ConnectV5 = []byte{
		0x10, 17, // CONNECT, remaining length
		0, 4, 'M', 'Q', 'T', 'T', 5, // protocol name, level 5
		0x02, 0, 60, // clean start, keep-alive 60 s
		0,                        // properties length
		0, 4, 'c', 'r', 's', 'h', // client id
	}
	TruncatedSubscribe = []byte{
		0x82, 6, // SUBSCRIBE, remaining length
		0, 1, // packet id
		0,         // properties length
		0, 1, 'a', // topic filter "a", and no options byte
	}
)
