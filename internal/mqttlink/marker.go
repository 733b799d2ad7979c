package mqttlink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"
)

// Performance markers (docs/protocol.md §9): a performance is opened,
// divided and closed by markers published on <prefix>/show/marker, not
// retained, QoS 1. A station publishes one for each /cuelight/show/...
// OSC message it receives; cuectl publishes them directly; the recorder
// reads them.
//
//	{"kind":"start","name":"Evening 12 May","at":"2026-05-12T19:30:00.000Z","station":"booth","source":"osc","id":"m-9f2c4a1be07d3c55"}

// Marker kinds.
const (
	MarkerStart    = "start"    // curtain up: a performance opens (name: the performance)
	MarkerAct      = "act"      // an act begins (name: the act)
	MarkerInterval = "interval" // the interval begins
	MarkerEnd      = "end"      // curtain down: the performance closes
	MarkerCheck    = "check"    // a preset check's result (name: the summary)
)

// MarkerKinds lists the accepted values of Marker.Kind.
var MarkerKinds = []string{MarkerStart, MarkerAct, MarkerInterval, MarkerEnd, MarkerCheck}

// MaxMarkerName bounds a marker's name in bytes of UTF-8; a check summary
// is the longest.
const MaxMarkerName = 512

// MaxMarkerSize bounds a marker's payload.
const MaxMarkerSize = 4096

// ErrBadMarker: a marker payload that cannot be read or breaks a rule;
// the error says which.
var ErrBadMarker = errors.New("mqttlink: malformed marker")

// Marker is one performance marker on <prefix>/show/marker.
type Marker struct {
	Kind    string `json:"kind"`           // one of MarkerKinds
	Name    string `json:"name,omitempty"` // the performance, the act, or the check's summary
	At      string `json:"at"`             // FormatTime of the marker
	Station string `json:"station,omitempty"`
	Source  string `json:"source,omitempty"` // osc, mqtt (cuectl), web
	ID      string `json:"id"`               // unique per marker: a duplicate (two gateways) is recorded once
	// Passed is set on check markers: whether every position acknowledged.
	Passed *bool `json:"passed,omitempty"`
}

// Marker is <p>/show/marker (Marker JSON, not retained, QoS 1).
func (t Topics) Marker() string { return t.p() + "/show/marker" }

// NewMarkerID returns a fresh marker id.
func NewMarkerID() string { return "m-" + NewEpoch() }

// CheckMarker checks the rules of a marker: a known kind, a name on start
// and act (at most MaxMarkerName bytes of UTF-8 without control
// characters), a time in TimeLayout (any fraction) and an id.
func CheckMarker(m Marker) error {
	switch m.Kind {
	case MarkerStart, MarkerAct, MarkerCheck:
		if m.Name == "" {
			return fmt.Errorf("%w: %s needs a name", ErrBadMarker, m.Kind)
		}
	case MarkerInterval, MarkerEnd:
	case "":
		return fmt.Errorf("%w: missing kind", ErrBadMarker)
	default:
		return fmt.Errorf("%w: unknown kind %q: use start, act, interval, end or check", ErrBadMarker, m.Kind)
	}
	if err := checkMarkerText("name", m.Name, MaxMarkerName); err != nil {
		return err
	}
	for _, f := range []struct{ k, v string }{{"station", m.Station}, {"source", m.Source}, {"id", m.ID}} {
		if err := checkMarkerText(f.k, f.v, 128); err != nil {
			return err
		}
	}
	if m.ID == "" {
		return fmt.Errorf("%w: missing id", ErrBadMarker)
	}
	if _, err := time.Parse(time.RFC3339Nano, m.At); err != nil {
		return fmt.Errorf("%w: at %q is not an RFC 3339 time", ErrBadMarker, m.At)
	}
	return nil
}

func checkMarkerText(key, v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("%w: %s is %d bytes, at most %d", ErrBadMarker, key, len(v), max)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not UTF-8", ErrBadMarker, key)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%w: %s holds a control character", ErrBadMarker, key)
		}
	}
	return nil
}

// ParseMarker reads and checks a marker payload.
func ParseMarker(b []byte) (Marker, error) {
	var m Marker
	if len(b) > MaxMarkerSize {
		return m, fmt.Errorf("%w: payload is %d bytes, at most %d", ErrBadMarker, len(b), MaxMarkerSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return Marker{}, fmt.Errorf("%w: %v", ErrBadMarker, err)
	}
	if dec.More() {
		return Marker{}, fmt.Errorf("%w: data after the JSON object", ErrBadMarker)
	}
	if err := CheckMarker(m); err != nil {
		return Marker{}, err
	}
	return m, nil
}

// markerQueue holds the markers a link has not yet published, in order.
// Markers are rare (a handful per performance), so one goroutine started
// on the first marker publishes them one by one, each confirmed before
// the next, and waits while the broker is away.
type markerQueue struct {
	mu    sync.Mutex
	items []Marker
	once  sync.Once
	wake  chan struct{}
}

// PublishMarker queues m for publication on <prefix>/show/marker at QoS 1,
// not retained, after the markers queued before it. It never blocks.
// While the broker is away markers wait (up to 64; beyond that the oldest
// is dropped and logged); a marker still queued when the link closes is
// lost and logged.
func (l *Link) PublishMarker(m Marker) {
	q := &l.markers
	q.once.Do(func() {
		q.wake = make(chan struct{}, 1)
		go l.markerPublisher()
	})
	q.mu.Lock()
	if len(q.items) >= 64 {
		l.log.Warn("mqtt marker queue full: dropped the oldest marker", "kind", q.items[0].Kind, "name", q.items[0].Name)
		q.items = q.items[1:]
	}
	q.items = append(q.items, m)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (l *Link) markerPublisher() {
	q := &l.markers
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	for {
		q.mu.Lock()
		var next *Marker
		if len(q.items) > 0 {
			next = &q.items[0]
		}
		q.mu.Unlock()
		if next != nil && l.up.Load() {
			b, err := json.Marshal(*next)
			ok := err == nil
			if ok {
				t := l.client.Publish(l.topics.Marker(), 1, false, b)
				ok = waitToken(t, l.closing, l.opts.PublishTimeout) && t.Error() == nil
			}
			if ok || err != nil {
				q.mu.Lock()
				q.items = q.items[1:]
				more := len(q.items) > 0
				q.mu.Unlock()
				if more {
					continue
				}
				next = nil
			}
		}
		if next != nil {
			// Broker away or publish not confirmed: try again shortly.
			retry.Reset(500 * time.Millisecond)
		}
		select {
		case <-q.wake:
		case <-retry.C:
		case <-l.closing:
			q.mu.Lock()
			if n := len(q.items); n > 0 {
				l.log.Warn("mqtt link closed with performance markers unpublished", "markers", n)
			}
			q.mu.Unlock()
			return
		}
	}
}
