package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cuelight/cuelight/internal/mqttlink"
)

// ANSI SGR styles for the screen: the colours of the lamps.
const (
	sgrReset    = "\x1b[0m"
	sgrBold     = "\x1b[1m"
	sgrDim      = "\x1b[2m"
	sgrRed      = "\x1b[31m"
	sgrLampRed  = "\x1b[1;97;41m" // a lit red lamp: standby, ack
	sgrLampGo   = "\x1b[1;97;42m" // a lit green lamp: go
	sgrLampHold = "\x1b[1;30;43m" // hold
	sgrAlert    = "\x1b[1;31m"    // faults, refusals, link lost, offline
	sgrGood     = "\x1b[32m"
)

// screen is what render needs besides the view.
type screen struct {
	width, height int
	color         bool
	broker        string
}

// cell is one piece of a line and its style.
type cell struct {
	text  string
	style string
}

// line renders cells into at most width visible characters.
func (s screen) line(cells ...cell) string {
	var b strings.Builder
	left := s.width
	for _, c := range cells {
		if left <= 0 {
			break
		}
		t := c.text
		if n := utf8.RuneCountInString(t); n > left {
			t = string([]rune(t)[:left])
		}
		left -= utf8.RuneCountInString(t)
		if s.color && c.style != "" && t != "" {
			b.WriteString(c.style + t + sgrReset)
		} else {
			b.WriteString(t)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// render draws one frame of watch: a header, the stations, every channel,
// and as many of the latest events as fit. It is pure: the same view, time
// and size give the same frame. Standby with an ACK asked for flashes (the
// style alternates every 500 ms of now), as the lamp does.
func render(v *showView, now time.Time, s screen) []string {
	var out []string
	// Header.
	show := ""
	for _, n := range v.stationNames() {
		if info := v.stations[n].info; info != nil && info.Show != "" {
			show = info.Show
			break
		}
	}
	title := "cuelight watch"
	if show != "" {
		title += " · " + strconv.Quote(show)
	}
	connStyle, conn := sgrGood, "connected"
	if v.conn != "connected" {
		connStyle, conn = sgrAlert, "broker connection "+v.conn+" (reconnecting)"
	}
	out = append(out, s.line(cell{title, sgrBold}, cell{" · " + s.broker + " ", ""}, cell{conn, connStyle}, cell{" · " + now.Format("15:04:05"), ""}))
	out = append(out, "")

	// Stations.
	out = append(out, s.line(cell{pad("STATION", 12) + pad("STATUS", 9) + pad("LINK", 7) + pad("UP", 10) + pad("VERSION", 10) + "CHANNELS", sgrDim}))
	for _, n := range v.stationNames() {
		st := v.stations[n]
		status, statusStyle := st.status, ""
		switch status {
		case "online":
			statusStyle = sgrGood
		case "offline":
			statusStyle = sgrAlert
		case "":
			status = "?"
		}
		link, linkStyle, up, ver, chans := "?", "", "", "", ""
		if info := st.info; info != nil {
			link, ver, chans = info.Link, info.Version, strings.Join(info.Channels, " ")
			if link == "lost" {
				linkStyle = sgrAlert
			}
			if info.Intercom != "" { // docs/protocol.md §10
				chans += "  intercom " + info.Intercom
			}
			if t, err := time.Parse(time.RFC3339Nano, info.Started); err == nil && st.status == "online" {
				up = fmtSince(now.Sub(t))
			}
		}
		out = append(out, s.line(cell{pad(n, 12), ""}, cell{pad(status, 9), statusStyle}, cell{pad(link, 7), linkStyle},
			cell{pad(up, 10), ""}, cell{pad(ver, 10), ""}, cell{chans, ""}))
	}
	if len(v.stations) == 0 {
		out = append(out, s.line(cell{"(no station has published on this broker yet)", sgrDim}))
	}
	out = append(out, "")

	// Channels.
	order := v.order()
	chW := 10
	for _, n := range order {
		chW = max(chW, utf8.RuneCountInString(n)+2)
	}
	labelW := 8
	for _, n := range order {
		if st := v.channels[n]; st != nil && st.state != nil {
			labelW = max(labelW, min(utf8.RuneCountInString(st.state.Label)+2, 20))
		}
	}
	out = append(out, s.line(cell{pad("CHANNEL", chW) + pad("STATE", 10) + pad("CUE", labelW) + pad("FOR", 9) + pad("ACK", 8) + pad("STATION", 12) + "NOTE", sgrDim}))
	flashOn := now.UnixMilli()/500%2 == 0
	for _, n := range order {
		cv := v.channels[n]
		if cv == nil || cv.state == nil {
			out = append(out, s.line(cell{pad(n, chW), ""}, cell{pad("?", 10), sgrDim}, cell{"no state published", sgrDim}))
			continue
		}
		st := cv.state
		state, style := strings.ToUpper(st.State), ""
		var notes []cell
		switch st.State {
		case "off":
			state, style = "off", sgrDim
		case "standby":
			style = sgrLampRed
			if st.AckRequested {
				notes = append(notes, cell{"waiting for ACK", ""})
				if !flashOn {
					style = sgrRed
				}
			}
		case "ack":
			style = sgrLampRed
		case "go":
			style = sgrLampGo
		case "hold":
			style = sgrLampHold
		case "lost":
			style = sgrDim
			notes = append(notes, cell{"link to the booth lost", sgrAlert})
		}
		ack := ""
		if st.State == "ack" && cv.hasAck {
			ack = fmtMS(cv.ackMS)
		}
		dur := ""
		if t, err := time.Parse(time.RFC3339Nano, st.Since); err == nil {
			dur = fmtSince(now.Sub(t))
		}
		station := st.Station
		rowStyle := ""
		if sv := v.stations[station]; sv != nil && sv.status == "offline" {
			rowStyle = sgrDim
			style = sgrDim
			notes = append([]cell{{"station offline: state may be stale", sgrAlert}}, notes...)
		}
		if cv.fault != "" {
			notes = append(notes, cell{"FAULT at " + strings.TrimSuffix(shortTime(cv.faultAt, now), ".000") + ": " + cv.fault, sgrAlert})
		}
		if cv.note != "" {
			notes = append(notes, cell{cv.note, sgrAlert})
		}
		label := st.Label
		if utf8.RuneCountInString(label) > labelW-2 {
			label = string([]rune(label)[:labelW-3]) + "…"
		}
		cells := []cell{{pad(n, chW), rowStyle}, {pad(state, 8), style}, {"  ", ""}, {pad(label, labelW), rowStyle},
			{pad(dur, 9), rowStyle}, {pad(ack, 8), rowStyle}, {pad(station, 12), rowStyle}}
		noteCol := 0
		for _, c := range cells {
			noteCol += utf8.RuneCountInString(c.text)
		}
		for i, l := range wrapNotes(notes, s.width-noteCol) {
			if i == 0 {
				out = append(out, s.line(append(cells, l...)...))
				continue
			}
			out = append(out, s.line(append([]cell{{strings.Repeat(" ", noteCol), ""}}, l...)...))
		}
	}
	if len(order) == 0 {
		out = append(out, s.line(cell{"(no channel has published a state yet)", sgrDim}))
	}

	// Events: as many of the latest as fit.
	room := s.height - len(out) - 2
	if room > 0 && len(v.events) > 0 {
		out = append(out, "", s.line(cell{"EVENTS", sgrDim}))
		evs := v.events
		if len(evs) > room {
			evs = evs[len(evs)-room:]
		}
		for _, e := range evs {
			out = append(out, s.line(eventCells(e.ev, now)...))
		}
	}
	if s.height > 0 && len(out) > s.height {
		out = out[:s.height]
	}
	return out
}

// minNoteWidth is the narrowest NOTE column that notes wrap in; on a
// narrower terminal they are cut at its edge.
const minNoteWidth = 20

// wrapNotes lays the notes of one channel out in the NOTE column, width
// characters wide: joined by "; ", wrapped at spaces onto as many lines
// as they need, each note keeping its style. Nothing is lost on a
// terminal wide enough for the column (a single word longer than the
// column is cut). It returns at least one line, empty without notes.
func wrapNotes(notes []cell, width int) [][]cell {
	type word struct {
		text, style string
	}
	var words []word
	for i, nc := range notes {
		ws := strings.Fields(nc.text)
		if i < len(notes)-1 && len(ws) > 0 {
			ws[len(ws)-1] += ";"
		}
		for _, w := range ws {
			words = append(words, word{w, nc.style})
		}
	}
	if width < minNoteWidth {
		width = 1 << 30 // too narrow to wrap: one line, cut at the edge
	}
	lines := [][]cell{nil}
	used := 0
	for _, w := range words {
		n := utf8.RuneCountInString(w.text)
		cur := &lines[len(lines)-1]
		if used > 0 && used+1+n > width {
			lines = append(lines, nil)
			cur, used = &lines[len(lines)-1], 0
		}
		if used > 0 {
			if last := &(*cur)[len(*cur)-1]; last.style == w.style {
				last.text += " " + w.text
				used += 1 + n
				continue
			}
			*cur = append(*cur, cell{" ", ""})
			used++
		}
		*cur = append(*cur, cell{w.text, w.style})
		used += n
	}
	return lines
}

// eventCells is one event in watch's list.
func eventCells(ev mqttlink.Event, now time.Time) []cell {
	style := ""
	switch ev.Event {
	case "refused", "rejected", "fault", "lost", "late_ack":
		style = sgrAlert
	case "go":
		style = sgrGood
	}
	text := pad(ev.Channel, 8) + pad(ev.Event, 9)
	if len(ev.Event) >= 9 { // late_ack: keep a space before the label
		text += " "
	}
	if ev.Label != "" {
		text += strconv.Quote(ev.Label) + " "
	}
	var extra []string
	if ev.Event == "ack" {
		extra = append(extra, "after "+fmtMS(ev.AckMS))
	}
	if ev.Unwarned {
		extra = append(extra, "unwarned")
	}
	if ev.Unacknowledged {
		extra = append(extra, "never acknowledged")
	}
	switch ev.Event {
	case "late_ack":
		extra = append(extra, "no ACK after "+fmtMS(ev.ElapsedMS)+": position called")
	case "call_in":
		extra = append(extra, "intercom call from the position")
	}
	if ev.Reason != "" {
		extra = append(extra, ev.Reason)
	}
	extra = append(extra, "from "+ev.Source)
	return []cell{{shortTime(ev.At, now) + "  ", sgrDim}, {text + strings.Join(extra, ", "), style}}
}

// shortTime shows an RFC 3339 time as a clock time in now's zone.
func shortTime(rfc string, now time.Time) string {
	t, err := time.Parse(time.RFC3339Nano, rfc)
	if err != nil {
		return rfc
	}
	return t.In(now.Location()).Format("15:04:05.000")
}

// fmtSince shows a duration as m:ss, or h:mm:ss.
func fmtSince(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	sec := int64(d / time.Second)
	h, m, s := sec/3600, sec/60%60, sec%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
