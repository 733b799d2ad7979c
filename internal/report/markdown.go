package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

func (r *Report) clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(r.opts.Location).Format("15:04:05")
}

func (r *Report) title() string {
	show := r.Show
	if show == "" {
		show = "cuelight show"
	}
	return fmt.Sprintf("%s: %s", show, r.Perf.Name)
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\\\")
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}

// Markdown writes the report as Markdown.
func (r *Report) Markdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("# Show report: %s\n\n", mdCell(r.title()))
	p("Performance %d of %d, %s.\n\n", r.Perf.Number, r.Of, r.Perf.Start.In(r.opts.Location).Format("Monday 2 January 2006"))
	p("| | |\n|---|---|\n")
	p("| Curtain up | %s |\n", r.clock(r.Perf.Start))
	if r.Perf.End.IsZero() {
		p("| Curtain down | not yet (report up to %s) |\n", r.clock(r.End))
	} else {
		p("| Curtain down | %s |\n", r.clock(r.Perf.End))
	}
	p("| Running time | %s |\n", fmtDur(r.End.Sub(r.Perf.Start)))
	p("| Holds | %d, %s in all |\n", len(r.Holds), fmtDur(r.HoldTotal()))
	p("| Cues | %d |\n", len(r.Cues))
	p("| Faults | %d |\n\n", len(r.Faults))

	if secs := r.Sections(); len(secs) > 0 {
		p("## Run times\n\n| | from | to | run time |\n|---|---|---|---|\n")
		for _, s := range secs {
			p("| %s | %s | %s | %s |\n", mdCell(s.Name), r.clock(s.Start), r.clock(s.End), fmtDur(s.End.Sub(s.Start)))
		}
		p("\n")
	}
	if len(r.Holds) > 0 {
		p("## Holds\n\n| from | to | duration |\n|---|---|---|\n")
		for _, h := range r.Holds {
			to := r.clock(h.End)
			if h.Open {
				to = "not released"
			}
			p("| %s | %s | %s |\n", r.clock(h.Start), to, fmtDur(h.Duration()))
		}
		p("\n")
	}
	if len(r.Offline) > 0 {
		p("## Stations offline\n\n| station | from | to | for |\n|---|---|---|---|\n")
		for _, s := range r.Offline {
			to := r.clock(s.End)
			if s.Open {
				to = "still offline"
			}
			p("| %s | %s | %s | %s |\n", mdCell(s.Who), r.clock(s.Start), to, fmtDur(s.Duration()))
		}
		p("\n")
	}
	if c := r.Perf.Check; c != nil {
		result := "not every position acknowledged"
		if c.Passed != nil && *c.Passed {
			result = "every position acknowledged"
		}
		p("## Preset check\n\n%s (%s): %s\n\n", r.clock(parseAt(c.At)), result, mdCell(c.Name))
	}
	p("## Cues\n\n")
	if len(r.Cues) == 0 {
		p("No cue was called.\n\n")
	} else {
		p("Late ack: longer than %s.\n\n", fmtDur(r.opts.LateAck))
		p("| cue | standby | GO | standby→GO | position | ack | ack time | flags |\n|---|---|---|---|---|---|---|---|\n")
		for _, c := range r.Cues {
			for i, pos := range c.Positions {
				cue, sb, gotime, span := "", "", "", ""
				if i == 0 {
					cue, sb, gotime = mdCell(labelText(c.Label)), r.clock(c.Standby), r.clock(c.GO)
					if !c.GO.IsZero() && !c.Standby.IsZero() {
						span = fmtDur(c.GO.Sub(c.Standby))
					}
				}
				ackTime := "-"
				if !pos.Ack.IsZero() {
					ackTime = fmtDur(time.Duration(pos.AckMS) * time.Millisecond)
				}
				p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", cue, sb, gotime, span, pos.Channel, r.clock(pos.Ack), ackTime, mdCell(strings.Join(pos.Flags(), "; ")))
			}
			if na := c.NotAcked(); len(na) > 0 {
				p("| | | | | *no ack by GO: %s* | | | |\n", strings.Join(na, ", "))
			}
		}
		p("\n")
	}
	p("## Faults\n\n")
	if len(r.Faults) == 0 {
		p("None.\n\n")
	} else {
		p("| at | what | where | detail |\n|---|---|---|---|\n")
		for _, f := range r.Faults {
			p("| %s | %s | %s | %s |\n", r.clock(f.At), f.Kind, mdCell(f.Where), mdCell(f.Detail))
		}
		p("\n")
	}
	r.trendMarkdown(b)
	p("%d messages recorded during the performance (CSV: cuectl report --format csv).\n", len(r.Messages))
	return b.Flush()
}

func (r *Report) trendMarkdown(b *bufio.Writer) {
	if len(r.Trend) == 0 {
		return
	}
	chans := r.trendChannels()
	if len(chans) == 0 {
		return
	}
	fmt.Fprintf(b, "## Ack times across performances\n\nMedian / 95th percentile per performance; a slow position shows here before it misses a cue.\n\n| position |")
	for _, t := range r.Trend {
		fmt.Fprintf(b, " %d %s |", t.Number, mdCell(t.Name))
	}
	b.WriteString("\n|---|")
	for range r.Trend {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, ch := range chans {
		fmt.Fprintf(b, "| %s |", ch)
		for _, t := range r.Trend {
			s, ok := t.Stats[ch]
			if !ok {
				b.WriteString(" - |")
				continue
			}
			fmt.Fprintf(b, " %s / %s |", fmtDur(s.Median), fmtDur(s.P95))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// trendChannels are the positions with an ack in any performance of the
// trend, lanes first.
func (r *Report) trendChannels() []string {
	seen := map[string]bool{}
	var out []string
	for _, ch := range r.Channels {
		for _, t := range r.Trend {
			if _, ok := t.Stats[ch]; ok && !seen[ch] {
				seen[ch] = true
				out = append(out, ch)
			}
		}
	}
	var extra []string
	for _, t := range r.Trend {
		for ch := range t.Stats {
			if !seen[ch] {
				seen[ch] = true
				extra = append(extra, ch)
			}
		}
	}
	return append(out, sortStrings(extra)...)
}

func labelText(l string) string {
	if l == "" {
		return "(no label)"
	}
	return l
}

func parseAt(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
