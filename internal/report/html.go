package report

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cuelight/cuelight/internal/recorder"
)

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"clock": func(r *Report, t time.Time) string { return r.clock(t) },
	"dur":   fmtDur,
	"ms":    func(ms int64) string { return fmtDur(time.Duration(ms) * time.Millisecond) },
	"label": labelText,
	"join":  strings.Join,
	"sub":   func(a, b time.Time) time.Duration { return a.Sub(b) },
	"stat": func(t TrendPerf, ch string) string {
		s, ok := t.Stats[ch]
		if !ok {
			return "-"
		}
		return fmtDur(s.Median) + " / " + fmtDur(s.P95)
	},
	"passed": func(r *Report) bool { c := r.Perf.Check; return c != nil && c.Passed != nil && *c.Passed },
	"at":     func(r *Report, s string) string { return r.clock(parseAt(s)) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Show report: {{.R.Show}}: {{.R.Perf.Name}}</title>
<style>
body{font-family:sans-serif;max-width:1040px;margin:1em auto;padding:0 1em;color:#000;background:#fff}
table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border:1px solid #999;padding:2px 8px;text-align:left;font-size:14px}
th{background:#eee}.flag{font-weight:bold}.muted{color:#555}figure{margin:0 0 1.5em}
@media print{body{max-width:none}a{color:#000}}
</style></head><body>
{{$r := .R}}
<h1>Show report: {{$r.Show}}: {{$r.Perf.Name}}</h1>
<p>Performance {{$r.Perf.Number}} of {{$r.Of}}, {{.Date}}.</p>
<table id="summary">
<tr><th>Curtain up</th><td>{{clock $r $r.Perf.Start}}</td></tr>
<tr><th>Curtain down</th><td>{{if $r.Perf.End.IsZero}}not yet (report up to {{clock $r $r.End}}){{else}}{{clock $r $r.Perf.End}}{{end}}</td></tr>
<tr><th>Running time</th><td>{{dur (sub $r.End $r.Perf.Start)}}</td></tr>
<tr><th>Holds</th><td>{{len $r.Holds}}, {{dur $r.HoldTotal}} in all</td></tr>
<tr><th>Cues</th><td>{{len $r.Cues}}</td></tr>
<tr><th>Faults</th><td>{{len $r.Faults}}</td></tr>
</table>
{{with $r.Sections}}<h2>Run times</h2><table id="sections"><tr><th></th><th>from</th><th>to</th><th>run time</th></tr>
{{range .}}<tr><td>{{.Name}}</td><td>{{clock $r .Start}}</td><td>{{clock $r .End}}</td><td>{{dur (sub .End .Start)}}</td></tr>
{{end}}</table>{{end}}
{{with $r.Holds}}<h2>Holds</h2><table id="holds"><tr><th>from</th><th>to</th><th>duration</th></tr>
{{range .}}<tr><td>{{clock $r .Start}}</td><td>{{if .Open}}not released{{else}}{{clock $r .End}}{{end}}</td><td>{{dur .Duration}}</td></tr>
{{end}}</table>{{end}}
{{with $r.Offline}}<h2>Stations offline</h2><table id="offline"><tr><th>station</th><th>from</th><th>to</th><th>for</th></tr>
{{range .}}<tr><td>{{.Who}}</td><td>{{clock $r .Start}}</td><td>{{if .Open}}still offline{{else}}{{clock $r .End}}{{end}}</td><td>{{dur .Duration}}</td></tr>
{{end}}</table>{{end}}
{{with $r.Perf.Check}}<h2>Preset check</h2><p>{{at $r .At}} ({{if passed $r}}every position acknowledged{{else}}not every position acknowledged{{end}}): {{.Name}}</p>{{end}}
<h2>Timeline</h2>
<figure id="timeline">{{.Timeline}}</figure>
<h2>Cues</h2>
{{if $r.Cues}}<p class="muted">Late ack: longer than {{dur .LateAck}}.</p>
<table id="cues"><tr><th>cue</th><th>standby</th><th>GO</th><th>standby→GO</th><th>position</th><th>ack</th><th>ack time</th><th>flags</th></tr>
{{range $c := $r.Cues}}{{range $i, $p := $c.Positions}}<tr>{{if eq $i 0}}<td>{{label $c.Label}}</td><td>{{clock $r $c.Standby}}</td><td>{{clock $r $c.GO}}</td><td>{{if and (not $c.GO.IsZero) (not $c.Standby.IsZero)}}{{dur (sub $c.GO $c.Standby)}}{{end}}</td>{{else}}<td></td><td></td><td></td><td></td>{{end}}<td>{{$p.Channel}}</td><td>{{clock $r $p.Ack}}</td><td>{{if not $p.Ack.IsZero}}{{ms $p.AckMS}}{{else}}-{{end}}</td><td class="flag">{{join $p.Flags "; "}}</td></tr>
{{end}}{{with $c.NotAcked}}<tr><td colspan="4"></td><td colspan="4"><em>no ack by GO: {{join . ", "}}</em></td></tr>
{{end}}{{end}}</table>{{else}}<p>No cue was called.</p>{{end}}
<h2>Faults</h2>
{{if $r.Faults}}<table id="faults"><tr><th>at</th><th>what</th><th>where</th><th>detail</th></tr>
{{range $r.Faults}}<tr><td>{{clock $r .At}}</td><td>{{.Kind}}</td><td>{{.Where}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
{{if .TrendChannels}}<h2>Ack times across performances</h2>
<p class="muted">Median / 95th percentile per performance: a slow position shows here before it misses a cue.</p>
<figure id="trend">{{.TrendSVG}}</figure>
<table id="trendtable"><tr><th>position</th>{{range $r.Trend}}<th>{{.Number}} {{.Name}}</th>{{end}}</tr>
{{range $ch := .TrendChannels}}<tr><td>{{$ch}}</td>{{range $r.Trend}}<td>{{stat . $ch}}</td>{{end}}</tr>
{{end}}</table>{{end}}
<p class="muted">{{len $r.Messages}} messages recorded during the performance. Written by cuelight.</p>
</body></html>
`))

// HTML writes the report as one self-contained HTML page with the
// timeline and the across-performances chart embedded as SVG.
func (r *Report) HTML(w io.Writer) error {
	var tl, tr bytes.Buffer
	bw := bufio.NewWriter(&tl)
	r.svg(bw)
	bw.Flush()
	bw = bufio.NewWriter(&tr)
	r.trendSVG(bw)
	bw.Flush()
	return page.Execute(w, map[string]any{
		"R":             r,
		"Date":          r.Perf.Start.In(r.opts.Location).Format("Monday 2 January 2006"),
		"Timeline":      template.HTML(tl.String()), // generated above, every text escaped
		"TrendSVG":      template.HTML(tr.String()),
		"TrendChannels": r.trendChannels(),
		"LateAck":       r.opts.LateAck,
	})
}

// Handler serves the report on the desk page's web listener as /report:
// ?performance=latest|N|YYYY-MM-DD and ?format=html (default), md, csv or
// svg (the timeline). open returns the show log, opened read-only (the
// recorder keeps writing it meanwhile; WAL lets both happen).
func Handler(open func() (*recorder.DB, error), o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "report: GET only", http.StatusMethodNotAllowed)
			return
		}
		q := req.URL.Query()
		format := q.Get("format")
		if format == "" {
			format = "html"
		}
		types := map[string]string{"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8",
			"csv": "text/csv; charset=utf-8", "svg": "image/svg+xml"}
		ct, ok := types[format]
		if !ok {
			http.Error(w, "report: format must be html, md, csv or svg", http.StatusBadRequest)
			return
		}
		db, err := open()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
		defer cancel()
		r, err := Build(ctx, db, q.Get("performance"), o)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		var buf bytes.Buffer
		if err := r.Write(&buf, format); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ct)
		if format == "csv" {
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="performance-%d.csv"`, r.Perf.Number))
		}
		_, _ = w.Write(buf.Bytes())
	})
}

// Write writes the report in format: md, html, csv or svg.
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case "md":
		return r.Markdown(w)
	case "html":
		return r.HTML(w)
	case "csv":
		return r.CSV(w)
	case "svg":
		return r.SVG(w)
	}
	return fmt.Errorf("report: unknown format %q: use md, html, csv or svg", format)
}
