package report

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"time"
)

// The timeline picture: one lane per channel across the performance.
// Everything is told apart by shape and pattern, not colour, so that it
// reads on a black-and-white printout: a standby is an open bar (outline)
// from standby to ack, a solid grey bar from ack to GO, the GO a black
// triangle; a refused command an ×; holds are grey bands across every
// lane; a station offline is hatched on its channels' lanes; acts and
// intervals are marked by vertical lines with their names.

const (
	svgWidth  = 1000.0
	svgLeft   = 90.0 // lane names
	svgRight  = 20.0
	svgTop    = 46.0 // section names and the time axis
	laneH     = 26.0
	svgLegend = 40.0
)

// SVG writes the timeline as a standalone SVG document.
func (r *Report) SVG(w io.Writer) error {
	b := bufio.NewWriter(w)
	r.svg(b)
	return b.Flush()
}

func (r *Report) svg(b *bufio.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	lanes := r.Channels
	height := svgTop + laneH*float64(max(len(lanes), 1)) + svgLegend
	start, end := r.Perf.Start, r.End
	if !end.After(start) {
		end = start.Add(time.Second)
	}
	span := end.Sub(start).Seconds()
	plotW := svgWidth - svgLeft - svgRight
	x := func(t time.Time) float64 {
		v := t.Sub(start).Seconds() / span
		v = min(max(v, 0), 1)
		return svgLeft + v*plotW
	}
	laneY := map[string]float64{}
	for i, ch := range lanes {
		laneY[ch] = svgTop + laneH*float64(i)
	}
	bottom := svgTop + laneH*float64(len(lanes))

	p(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11" role="img" aria-label="%s">`+"\n",
		svgWidth, height, svgWidth, height, html.EscapeString("Timeline of "+r.title()))
	p(`<title>%s</title>`+"\n", html.EscapeString("Timeline: "+r.title()))
	p(`<defs><pattern id="hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#000" stroke-width="1.5"/></pattern>` +
		`<pattern id="dots" patternUnits="userSpaceOnUse" width="5" height="5"><circle cx="2.5" cy="2.5" r="0.8" fill="#000"/></pattern></defs>` + "\n")
	p(`<rect x="0" y="0" width="%.0f" height="%.0f" fill="#fff"/>`+"\n", svgWidth, height)

	// Lanes.
	for i, ch := range lanes {
		y := laneY[ch]
		if i%2 == 1 {
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f4f4f4"/>`+"\n", svgLeft, y, plotW, laneH)
		}
		p(`<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", svgLeft-6, y+laneH/2+4, html.EscapeString(ch))
	}
	// Intervals dotted, holds grey, offline hatched.
	for _, s := range r.Sections() {
		if s.Kind == "interval" {
			p(`<rect class="interval" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="url(#dots)" opacity="0.35"/>`+"\n", x(s.Start), svgTop, max(x(s.End)-x(s.Start), 1), bottom-svgTop)
		}
	}
	for _, h := range r.Holds {
		p(`<rect class="hold" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#999" opacity="0.45"><title>hold %s</title></rect>`+"\n",
			x(h.Start), svgTop, max(x(h.End)-x(h.Start), 1.5), bottom-svgTop, fmtDur(h.Duration()))
	}
	for _, o := range r.Offline {
		for _, ch := range lanes {
			if r.stationOf[ch] != o.Who {
				continue
			}
			p(`<rect class="offline" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="url(#hatch)" stroke="#000" stroke-width="0.5"><title>%s offline %s</title></rect>`+"\n",
				x(o.Start), laneY[ch]+2, max(x(o.End)-x(o.Start), 1.5), laneH-4, html.EscapeString(o.Who), fmtDur(o.Duration()))
		}
	}
	// Section boundaries and the time axis.
	for _, s := range r.Sections() {
		sx := x(s.Start)
		p(`<line class="section" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-width="1.2" stroke-dasharray="4 2"/>`+"\n", sx, 14.0, sx, bottom)
		p(`<text x="%.1f" y="12" font-weight="bold">%s</text>`+"\n", sx+3, html.EscapeString(s.Name))
	}
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000"/>`+"\n", svgLeft, svgTop-2, svgLeft+plotW, svgTop-2)
	step := axisStep(end.Sub(start))
	for t := start.Truncate(step).Add(step); t.Before(end); t = t.Add(step) {
		tx := x(t)
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000"/><text x="%.1f" y="%.1f" text-anchor="middle" font-size="9">%s</text>`+"\n",
			tx, svgTop-6, tx, svgTop-2, tx, svgTop-9, t.In(r.opts.Location).Format("15:04"))
	}
	// Cues.
	for _, c := range r.Cues {
		for _, pos := range c.Positions {
			y, ok := laneY[pos.Channel]
			if !ok {
				continue
			}
			mid := y + laneH/2
			label := html.EscapeString(labelText(c.Label))
			if !pos.Standby.IsZero() {
				waitEnd := pos.GO
				if !pos.Ack.IsZero() {
					waitEnd = pos.Ack
				}
				if waitEnd.IsZero() {
					waitEnd = pos.Cleared
				}
				if waitEnd.IsZero() {
					waitEnd = r.End
				}
				p(`<rect class="standby" x="%.1f" y="%.1f" width="%.1f" height="8" fill="#fff" stroke="#000"><title>cue %s: standby %s</title></rect>`+"\n",
					x(pos.Standby), mid-4, max(x(waitEnd)-x(pos.Standby), 1), label, r.clock(pos.Standby))
			}
			if !pos.Ack.IsZero() {
				ackEnd := pos.GO
				if ackEnd.IsZero() {
					ackEnd = pos.Cleared
				}
				if ackEnd.IsZero() {
					ackEnd = r.End
				}
				stroke := "none"
				if pos.Late {
					stroke = "#000"
				}
				p(`<rect class="ack" x="%.1f" y="%.1f" width="%.1f" height="8" fill="#888" stroke="%s" stroke-width="1.5"><title>cue %s: ack after %s</title></rect>`+"\n",
					x(pos.Ack), mid-4, max(x(ackEnd)-x(pos.Ack), 1), stroke, label, fmtDur(time.Duration(pos.AckMS)*time.Millisecond))
				if pos.Late {
					p(`<text x="%.1f" y="%.1f" font-size="9" font-weight="bold">LATE</text>`+"\n", x(pos.Ack)+2, mid-6)
				}
			}
			if !pos.GO.IsZero() {
				gx := x(pos.GO)
				fill := "#000"
				if pos.Unacked || pos.Unwarned || pos.Forced {
					fill = "#fff"
				}
				p(`<path class="go" d="M%.1f %.1f l5 8 l-10 0 z" fill="%s" stroke="#000" stroke-width="1.2"><title>cue %s: GO %s</title></path>`+"\n",
					gx, mid-6, fill, label, r.clock(pos.GO))
				p(`<text x="%.1f" y="%.1f" font-size="8" text-anchor="middle">%s</text>`+"\n", gx, mid+12, label)
			}
			for range pos.Refused {
				at := pos.GO
				if at.IsZero() {
					at = pos.Standby
				}
				rx := x(at) - 8
				p(`<path class="refused" d="M%.1f %.1f l6 6 m0 -6 l-6 6" stroke="#000" stroke-width="1.8"/>`+"\n", rx-3, mid-3)
			}
		}
	}
	// Legend.
	ly := bottom + 22
	p(`<g class="legend" font-size="10">`)
	p(`<rect x="%.1f" y="%.1f" width="24" height="8" fill="#fff" stroke="#000"/><text x="%.1f" y="%.1f">standby, waiting</text>`, svgLeft, ly-8, svgLeft+28, ly)
	p(`<rect x="%.1f" y="%.1f" width="24" height="8" fill="#888"/><text x="%.1f" y="%.1f">acknowledged</text>`, svgLeft+130, ly-8, svgLeft+158, ly)
	p(`<path d="M%.1f %.1f l5 8 l-10 0 z" fill="#000"/><text x="%.1f" y="%.1f">GO</text>`, svgLeft+250, ly-9, svgLeft+258, ly)
	p(`<path d="M%.1f %.1f l5 8 l-10 0 z" fill="#fff" stroke="#000"/><text x="%.1f" y="%.1f">GO flagged</text>`, svgLeft+290, ly-9, svgLeft+298, ly)
	p(`<path d="M%.1f %.1f l6 6 m0 -6 l-6 6" stroke="#000" stroke-width="1.8"/><text x="%.1f" y="%.1f">refused</text>`, svgLeft+375, ly-7, svgLeft+386, ly)
	p(`<rect x="%.1f" y="%.1f" width="24" height="10" fill="#999" opacity="0.45"/><text x="%.1f" y="%.1f">hold</text>`, svgLeft+440, ly-9, svgLeft+468, ly)
	p(`<rect x="%.1f" y="%.1f" width="24" height="10" fill="url(#hatch)" stroke="#000" stroke-width="0.5"/><text x="%.1f" y="%.1f">station offline</text>`, svgLeft+505, ly-9, svgLeft+533, ly)
	p(`<rect x="%.1f" y="%.1f" width="24" height="10" fill="url(#dots)" opacity="0.5"/><text x="%.1f" y="%.1f">interval</text>`, svgLeft+625, ly-9, svgLeft+653, ly)
	p("</g>\n</svg>\n")
}

// axisStep picks a tick spacing giving at most about 12 ticks.
func axisStep(d time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour} {
		if d/s <= 12 {
			return s
		}
	}
	return 2 * time.Hour
}

// TrendSVG writes the across-performances chart: for each position, its
// median (solid) and 95th percentile (dashed) ack time per performance.
func (r *Report) TrendSVG(w io.Writer) error {
	b := bufio.NewWriter(w)
	r.trendSVG(b)
	return b.Flush()
}

func (r *Report) trendSVG(b *bufio.Writer) {
	chans := r.trendChannels()
	if len(chans) == 0 || len(r.Trend) == 0 {
		return
	}
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	const cellW, cellH, pad = 180.0, 90.0, 24.0
	cols := min(len(chans), 5)
	rows := (len(chans) + cols - 1) / cols
	W, H := float64(cols)*cellW, float64(rows)*cellH+14
	var top time.Duration
	for _, t := range r.Trend {
		for _, s := range t.Stats {
			top = max(top, s.P95)
		}
	}
	top = max(top, r.opts.LateAck)
	p(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" font-family="sans-serif" font-size="10" role="img" aria-label="ack times across performances">`+"\n", W, H, W, H)
	for i, ch := range chans {
		ox, oy := float64(i%cols)*cellW, float64(i/cols)*cellH
		plotW, plotH := cellW-2*pad, cellH-2*pad+6
		p(`<text x="%.1f" y="%.1f" font-weight="bold">%s</text>`, ox+pad, oy+12, html.EscapeString(ch))
		p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#000" stroke-width="0.5"/>`, ox+pad, oy+pad-6, plotW, plotH)
		ly := oy + pad - 6 + plotH*(1-r.opts.LateAck.Seconds()/top.Seconds())
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-width="0.5" stroke-dasharray="1 2"/><text x="%.1f" y="%.1f" font-size="8">late_ack %s</text>`,
			ox+pad, ly, ox+pad+plotW, ly, ox+pad+2, ly-2, fmtDur(r.opts.LateAck))
		for _, dash := range []string{"", "4 2"} {
			var pts string
			for j, t := range r.Trend {
				s, ok := t.Stats[ch]
				if !ok {
					continue
				}
				v := s.Median
				if dash != "" {
					v = s.P95
				}
				px := ox + pad + plotW*float64(j+1)/float64(len(r.Trend)+1)
				py := oy + pad - 6 + plotH*(1-v.Seconds()/top.Seconds())
				pts += fmt.Sprintf("%.1f,%.1f ", px, py)
				p(`<circle cx="%.1f" cy="%.1f" r="2" fill="#000"/>`, px, py)
			}
			if pts != "" {
				p(`<polyline points="%s" fill="none" stroke="#000" stroke-width="1.2" stroke-dasharray="%s"/>`, pts, dash)
			}
		}
		p("\n")
	}
	p(`<text x="4" y="%.1f" font-size="9">solid: median, dashed: 95th percentile, per performance (oldest left); dotted: late_ack</text>`+"\n", H-3)
	p("</svg>\n")
}
