package recorder

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cuelight/cuelight/internal/mqttlink"
)

// Performance is one performance found in the log: from a start marker to
// the next end marker (or the next start, or the last message recorded).
// Everything outside performances is rehearsal.
type Performance struct {
	Number   int       // 1, 2, ... in order of curtain up
	Name     string    // the start marker's name
	Start    time.Time // curtain up
	End      time.Time // curtain down; zero while it runs
	Closed   string    // how it ended: "end", "next start", "" while it runs
	Sections []Section // acts and intervals, in order
	Check    *mqttlink.Marker
}

// Section is an act or an interval.
type Section struct {
	Kind  string // act or interval
	Name  string
	Start time.Time
	End   time.Time // the next section's start or curtain down; zero while it runs
}

// Performances reads the markers and returns every performance, oldest
// first. Two markers of the same kind and name within dedupWindow are one
// (the booth sent it to two gateways).
func (d *DB) Performances(ctx context.Context) ([]Performance, error) {
	msgs, err := d.Kind(ctx, KindMarker)
	if err != nil {
		return nil, err
	}
	var markers []mqttlink.Marker
	for _, m := range msgs {
		mk, err := mqttlink.ParseMarker(m.Payload)
		if err != nil {
			continue
		}
		markers = append(markers, mk)
	}
	return Performances(markers), nil
}

// dedupWindow: markers of one kind and name this close are one.
const dedupWindow = 10 * time.Second

// Performances builds performances from markers in arrival order.
func Performances(markers []mqttlink.Marker) []Performance {
	var out []Performance
	var cur *Performance
	var lastCheck *mqttlink.Marker
	seen := map[string]time.Time{}
	closeSection := func(at time.Time) {
		if cur != nil && len(cur.Sections) > 0 && cur.Sections[len(cur.Sections)-1].End.IsZero() {
			cur.Sections[len(cur.Sections)-1].End = at
		}
	}
	finish := func(at time.Time, how string) {
		if cur == nil {
			return
		}
		closeSection(at)
		cur.End, cur.Closed = at, how
		out = append(out, *cur)
		cur = nil
	}
	for i := range markers {
		m := markers[i]
		at := parseTime(m.At)
		key := m.Kind + "\x00" + m.Name
		if prev, ok := seen[key]; ok && at.Sub(prev).Abs() < dedupWindow {
			continue
		}
		seen[key] = at
		switch m.Kind {
		case mqttlink.MarkerCheck:
			lastCheck = &m
		case mqttlink.MarkerStart:
			finish(at, "next start")
			cur = &Performance{Number: len(out) + 1, Name: m.Name, Start: at, Check: lastCheck}
			lastCheck = nil
		case mqttlink.MarkerAct, mqttlink.MarkerInterval:
			if cur == nil {
				continue // outside a performance: rehearsal
			}
			closeSection(at)
			name := m.Name
			if m.Kind == mqttlink.MarkerInterval && name == "" {
				name = "Interval"
			}
			cur.Sections = append(cur.Sections, Section{Kind: m.Kind, Name: name, Start: at})
		case mqttlink.MarkerEnd:
			finish(at, "end")
		}
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

// Select picks a performance: "latest" (or ""), its number, or a date
// (YYYY-MM-DD, in loc: the latest performance that began that day).
func Select(perfs []Performance, sel string, loc *time.Location) (Performance, error) {
	if len(perfs) == 0 {
		return Performance{}, fmt.Errorf("recorder: no performance in the log yet: open one with cuectl show start NAME (docs/report.md)")
	}
	switch {
	case sel == "" || sel == "latest":
		return perfs[len(perfs)-1], nil
	case isNumber(sel):
		n, _ := strconv.Atoi(sel)
		if n < 1 || n > len(perfs) {
			return Performance{}, fmt.Errorf("recorder: no performance %s: the log has 1 to %d", sel, len(perfs))
		}
		return perfs[n-1], nil
	}
	day, err := time.ParseInLocation("2006-01-02", sel, loc)
	if err != nil {
		return Performance{}, fmt.Errorf("recorder: --performance %q: write latest, a number, or a date YYYY-MM-DD", sel)
	}
	for i := len(perfs) - 1; i >= 0; i-- {
		y1, m1, d1 := perfs[i].Start.In(loc).Date()
		y2, m2, d2 := day.Date()
		if y1 == y2 && m1 == m2 && d1 == d2 {
			return perfs[i], nil
		}
	}
	var days []string
	for _, p := range perfs {
		days = append(days, p.Start.In(loc).Format("2006-01-02"))
	}
	return Performance{}, fmt.Errorf("recorder: no performance on %s (performances on %s)", sel, strings.Join(days, ", "))
}

func isNumber(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
