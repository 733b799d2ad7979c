package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cuelight/cuelight/internal/mqttlink"
)

const watchHelp = `
Shows every channel of the show live, from MQTT: state (coloured like the
lamps: standby flashes while it waits for the ACK, steady once
acknowledged, green on GO), cue, time in that state, how fast the ACK came,
the station, faults and refusals; above them each station (online or
offline, booth link, uptime); below them the latest events. It redraws in
place with ANSI escapes (no curses), so it works over SSH on a Pi. Ctrl-C
ends it.

With --plain, or when the output is not a terminal, it prints one line per
event instead, for logs and scripts:

  2025-03-01T20:15:04.250Z fly standby "23" src=osc station=demo seq=1
  2025-03-01T20:15:05.481Z fly ack "23" ack_ms=1231 src=button station=demo seq=2

Examples:
  cuectl watch
  cuectl watch --plain | tee show.log
  cuectl watch --mqtt=tcp://10.10.0.1:1883 --user sm`

// watch implements "cuectl watch".
func (c *cli) watch(ctx context.Context, name string, args []string) int {
	o := c.newOpts(name, "watch [flags]", watchHelp, flagsMQTT)
	plain := o.fs.Bool("plain", false, "one line per event, for logs and scripts (the default when the output is not a terminal)")
	noColor := o.fs.Bool("no-color", false, "no colours (also when $NO_COLOR is set)")
	if _, code, ok := c.parse(o, args, 0, 0); !ok {
		return code
	}
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	sess, err := c.dialMQTT(dctx, o, true)
	timedOut := dctx.Err() != nil
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return exitOK
		}
		if timedOut {
			err = mqttProblem(o.brokerURL(), context.DeadlineExceeded, o.timeout)
		}
		return c.report(err)
	}
	defer sess.close()
	v := newShowView(sess.prefix, o.showChannels())
	if _, _, tty := terminalSize(c.stdout); *plain || !tty {
		c.watchPlain(ctx, sess, v)
		return exitOK
	}
	color := !*noColor && c.getenv("NO_COLOR") == "" && c.getenv("TERM") != "dumb"
	c.watchScreen(ctx, sess, v, color)
	return exitOK
}

// watchPlain prints one line per event until ctx ends: first the current
// (retained) state of each channel and station, then every event, station
// status and link change, and broker connection change.
func (c *cli) watchPlain(ctx context.Context, sess *mqttSession, v *showView) {
	var dropped int64
	_ = sess.collect(ctx, v, nil, func(u update) {
		if line := c.plainLine(v, u); line != "" {
			fmt.Fprintln(c.stdout, line)
		}
		if d := sess.dropped.Load(); d > dropped {
			fmt.Fprintf(c.stdout, "%s cuectl missed %d messages (it could not keep up)\n", c.nowText(), d-dropped)
			dropped = d
		}
	})
}

func (c *cli) nowText() string { return mqttlink.FormatTime(c.clock.Now()) }

// plainLine is the --plain line for one update, or "" for none.
func (c *cli) plainLine(v *showView, u update) string {
	switch u.kind {
	case "conn":
		if v.conn == "connected" {
			return c.nowText() + " broker connection back"
		}
		return c.nowText() + " broker connection " + v.conn + " (reconnecting)"
	case "status":
		s := v.stations[u.station]
		if u.prev != nil && u.prev.status == s.status {
			return ""
		}
		return c.nowText() + " station " + u.station + " " + s.status
	case "info":
		s := v.stations[u.station]
		info := s.info
		var prev *mqttlink.Info
		if u.prev != nil {
			prev = u.prev.info
		}
		switch {
		case prev == nil || prev.Epoch != info.Epoch:
			return fmt.Sprintf("%s station %s started: show %q, version %s, channels %s, link %s, epoch %s",
				info.Started, u.station, info.Show, info.Version, strings.Join(info.Channels, ","), info.Link, info.Epoch)
		case prev.Link != info.Link:
			return c.nowText() + " station " + u.station + " link " + info.Link
		case prev.Intercom != info.Intercom && info.Intercom != "":
			return c.nowText() + " station " + u.station + " intercom " + info.Intercom
		}
		return ""
	case "state":
		if !u.retained {
			return "" // every change also comes as an event
		}
		st := u.state
		line := fmt.Sprintf("%s %s is %s", st.Since, st.Channel, st.State)
		if st.Label != "" {
			line += " " + strconv.Quote(st.Label)
		}
		if st.AckRequested {
			line += " ack_requested"
		}
		return line + fmt.Sprintf(" station=%s seq=%d (current)", st.Station, st.Seq)
	case "event":
		return plainEvent(u.event)
	}
	return ""
}

// plainEvent is one event as a log line.
func plainEvent(ev *mqttlink.Event) string {
	var b strings.Builder
	b.WriteString(ev.At + " " + ev.Channel + " " + ev.Event)
	if ev.Label != "" {
		b.WriteString(" " + strconv.Quote(ev.Label))
	}
	if ev.Event == "ack" {
		b.WriteString(" ack_ms=" + strconv.FormatInt(ev.AckMS, 10))
	}
	if ev.Unwarned {
		b.WriteString(" unwarned")
	}
	if ev.Unacknowledged {
		b.WriteString(" unacknowledged")
	}
	if ev.Event == "late_ack" {
		b.WriteString(" elapsed_ms=" + strconv.FormatInt(ev.ElapsedMS, 10))
	}
	if ev.Reason != "" {
		b.WriteString(" reason=" + strconv.Quote(ev.Reason))
	}
	fmt.Fprintf(&b, " src=%s station=%s seq=%d", ev.Source, ev.Station, ev.Seq)
	if ev.ID != "" {
		b.WriteString(" id=" + ev.ID)
	}
	return b.String()
}

// Terminal control.
const (
	altScreenOn  = "\x1b[?1049h\x1b[?25l" // alternate screen, cursor hidden
	altScreenOff = "\x1b[?25h\x1b[?1049l"
	home         = "\x1b[H"
	clearEOL     = "\x1b[K"
	clearEOS     = "\x1b[J"
)

// redrawEvery paces the redraws that move time on (durations, flashing).
const redrawEvery = 250 * time.Millisecond

// screenSize is the size of the terminal watch draws on: as the terminal
// reports it (read at every redraw, so a resized window is used at once),
// else $COLUMNS and $LINES, else 80×24.
func (c *cli) screenSize() (cols, rows int) {
	cols, rows, ok := terminalSize(c.stdout)
	if !ok || cols < 20 || rows < 5 {
		cols, rows = 80, 24
		if n, err := strconv.Atoi(c.getenv("COLUMNS")); err == nil && n >= 20 {
			cols = n
		}
		if n, err := strconv.Atoi(c.getenv("LINES")); err == nil && n >= 5 {
			rows = n
		}
	}
	return cols, rows
}

// watchScreen draws the live view on the terminal until ctx ends.
func (c *cli) watchScreen(ctx context.Context, sess *mqttSession, v *showView, color bool) {
	io.WriteString(c.stdout, altScreenOn)
	defer io.WriteString(c.stdout, altScreenOff)
	tick := c.clock.NewTicker(redrawEvery)
	defer tick.Stop()
	draw := func() {
		w, h := c.screenSize()
		lines := render(v, c.clock.Now(), screen{width: w, height: h, color: color, broker: sess.url})
		var b strings.Builder
		b.WriteString(home)
		for i, l := range lines {
			b.WriteString(l)
			b.WriteString(clearEOL)
			if i < len(lines)-1 {
				b.WriteString("\r\n")
			}
		}
		b.WriteString(clearEOS)
		io.WriteString(c.stdout, b.String())
	}
	draw()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-sess.in:
			v.apply(m)
			for more := true; more; { // take what is queued, then draw once
				select {
				case m := <-sess.in:
					v.apply(m)
				default:
					more = false
				}
			}
			draw()
		case <-tick.Chan():
			draw()
		}
	}
}
