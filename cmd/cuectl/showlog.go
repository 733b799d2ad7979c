package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/recorder"
	"github.com/cuelight/cuelight/internal/report"
)

// The show log from the command line (docs/report.md): cuectl show
// opens, divides and closes performances; cuectl report writes the
// performance report; cuectl record records the show log when no station
// does (and is the recorder process of the crash test).

const showHelp = `
Performance markers for the show log (docs/report.md): the recorder
(a station with record:, or cuectl record) divides what it records into
performances. Events outside a performance are kept as rehearsal.

Examples:
  cuectl show start "Evening, 12 May"   curtain up: a performance opens
  cuectl show act "Act 1"               an act begins
  cuectl show interval                  the interval begins
  cuectl show end                       curtain down

The marker is published on MQTT (<prefix>/show/marker, QoS 1); the booth
can send the same as OSC to any station: /cuelight/show/start ,s <name>,
/cuelight/show/act ,s <name>, /cuelight/show/interval, /cuelight/show/end.`

// showCmd implements "cuectl show".
func (c *cli) showCmd(ctx context.Context, name string, args []string) int {
	o := c.newOpts(name, "show start|act|interval|end [NAME]", showHelp, flagsMQTT)
	pos, code, ok := c.parse(o, args, 1, 2)
	if !ok {
		return code
	}
	kind := pos[0]
	mk := mqttlink.Marker{Kind: kind, At: mqttlink.FormatTime(c.clock.Now()), Source: "mqtt", ID: newID("m")}
	if len(pos) == 2 {
		mk.Name = pos[1]
	}
	switch kind {
	case mqttlink.MarkerStart, mqttlink.MarkerAct:
		if mk.Name == "" {
			fmt.Fprintf(c.stderr, "cuectl show %s: give the name: cuectl show %s \"Evening, 12 May\"\n", kind, kind)
			return exitUsage
		}
	case mqttlink.MarkerInterval, mqttlink.MarkerEnd:
	default:
		fmt.Fprintf(c.stderr, "cuectl show: unknown marker %q: use start, act, interval or end\n", kind)
		return exitUsage
	}
	if err := mqttlink.CheckMarker(mk); err != nil {
		fmt.Fprintln(c.stderr, "cuectl show:", strings.TrimPrefix(err.Error(), "mqttlink: "))
		return exitUsage
	}
	if err := c.publishMarker(ctx, o, mk); err != nil {
		return c.report(err)
	}
	what := kind
	if mk.Name != "" {
		what += " " + mk.Name
	}
	fmt.Fprintf(c.stdout, "show %s: marker published at %s\n", what, c.clock.Now().Format("15:04:05"))
	return exitOK
}

// publishMarker publishes one marker on <prefix>/show/marker and waits
// for the broker to take it.
func (c *cli) publishMarker(ctx context.Context, o *opts, mk mqttlink.Marker) error {
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	sess, err := c.dialMQTT(dctx, o, false)
	if err != nil {
		if dctx.Err() != nil && ctx.Err() == nil {
			return mqttProblem(o.brokerURL(), context.DeadlineExceeded, o.timeout)
		}
		return err
	}
	defer sess.close()
	return sess.publishMarker(dctx, mk)
}

func (s *mqttSession) publishMarker(ctx context.Context, mk mqttlink.Marker) error {
	b, err := json.Marshal(mk)
	if err != nil {
		return err
	}
	t := s.client.Publish(s.topics.Marker(), 1, false, b)
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			return fail(exitUnreachable, "broker %s did not take the marker: %v", s.url, err)
		}
		return nil
	case <-ctx.Done():
		return fail(exitUnreachable, "broker %s did not acknowledge the marker in time: %s", s.url, brokerHint)
	}
}

// recordCheck publishes a preset check's result as a check marker, so that
// the show log keeps it with the performance it precedes. Only when the
// check saw the broker; a failure is a note, not the check's result.
func (r *checkRun) recordCheck(ctx context.Context) {
	if r.sess == nil {
		return
	}
	var ok, missed []string
	for _, p := range r.pos {
		if p.status == "acked" {
			ok = append(ok, p.ch)
		} else {
			missed = append(missed, p.ch)
		}
	}
	summary := fmt.Sprintf("%d of %s acknowledged", len(ok), plural(len(r.pos), "position"))
	if len(missed) > 0 {
		summary += "; missed: " + strings.Join(missed, ", ")
	}
	if len(summary) > mqttlink.MaxMarkerName {
		summary = summary[:mqttlink.MaxMarkerName-3] + "..."
	}
	passed := len(missed) == 0
	mk := mqttlink.Marker{Kind: mqttlink.MarkerCheck, Name: summary, At: mqttlink.FormatTime(r.c.clock.Now()),
		Source: "mqtt", ID: newID("m"), Passed: &passed}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.timeout)
	defer cancel()
	if err := r.sess.publishMarker(pctx, mk); err != nil {
		fmt.Fprintf(r.c.stderr, "cuectl check: the result is not in the show log: %v\n", err)
	}
}

const reportHelp = `
The performance report from the show log (docs/report.md): run times,
holds, stations offline, every cue with each position's ack and GO and
their flags (late ack, unacknowledged, unwarned, refused, force_go), the
faults, a timeline, and each position's ack times across performances.

The log is the database of the station with record: in the show file
(give --db when there are several, or no show file).

Examples:
  cuectl report                                  latest performance, Markdown
  cuectl report --format html --out tonight.html also writes tonight.svg
  cuectl report --performance 2026-05-12 --format csv --out may12.csv
  cuectl report --performance 3                  the third performance`

// reportCmd implements "cuectl report".
func (c *cli) reportCmd(ctx context.Context, name string, args []string) int {
	o := c.newOpts(name, "report [--performance latest|N|YYYY-MM-DD] [--format md|html|csv|svg] [--out FILE]", reportHelp, 0)
	perf := o.fs.String("performance", "latest", "which performance: latest, its number, or a date YYYY-MM-DD (the last one that day)")
	format := o.fs.String("format", "md", "md, html (with the timeline), csv (every message) or svg (the timeline)")
	out := o.fs.String("out", "", "write to `FILE` instead of standard output (html: the timeline also as FILE.svg)")
	dbPath := o.fs.String("db", "", "the show log `FILE` (default: the record: path of the show file)")
	if _, code, ok := c.parse(o, args, 0, 0); !ok {
		return code
	}
	if !slices.Contains([]string{"md", "html", "csv", "svg"}, *format) {
		fmt.Fprintf(c.stderr, "cuectl report: --format %q: use md, html, csv or svg\n", *format)
		return exitUsage
	}
	path, err := logPath(o, *dbPath)
	if err != nil {
		fmt.Fprintln(c.stderr, "cuectl report:", err)
		return exitUsage
	}
	db, err := recorder.OpenReadOnly(path)
	if err != nil {
		fmt.Fprintln(c.stderr, "cuectl report:", strings.TrimPrefix(err.Error(), "recorder: "))
		return exitRefused
	}
	defer db.Close()
	ropts := report.Options{}
	if o.cfg != nil {
		ropts = report.FromConfig(o.cfg)
	}
	r, err := report.Build(ctx, db, *perf, ropts)
	if err != nil {
		fmt.Fprintln(c.stderr, "cuectl report:", strings.TrimPrefix(err.Error(), "recorder: "))
		return exitRefused
	}
	if *out == "" {
		if err := r.Write(c.stdout, *format); err != nil {
			fmt.Fprintln(c.stderr, "cuectl report:", err)
			return exitRefused
		}
		return exitOK
	}
	if err := writeFile(*out, func(f *os.File) error { return r.Write(f, *format) }); err != nil {
		fmt.Fprintln(c.stderr, "cuectl report:", err)
		return exitRefused
	}
	fmt.Fprintf(c.stdout, "performance %d, %s: %s\n", r.Perf.Number, r.Perf.Name, *out)
	if *format == "html" {
		svg := strings.TrimSuffix(*out, filepath.Ext(*out)) + ".svg"
		if err := writeFile(svg, func(f *os.File) error { return r.SVG(f) }); err != nil {
			fmt.Fprintln(c.stderr, "cuectl report:", err)
			return exitRefused
		}
		fmt.Fprintf(c.stdout, "timeline: %s\n", svg)
	}
	return exitOK
}

func writeFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// logPath is the show log: --db, else the one station of the show file
// with record:.
func logPath(o *opts, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if o.cfg == nil {
		return "", errors.New("no show file: give the show log with --db FILE")
	}
	var paths, names []string
	for _, st := range o.cfg.Stations {
		if st.Record != "" {
			paths, names = append(paths, st.Record), append(names, st.Name)
		}
	}
	switch len(paths) {
	case 0:
		return "", fmt.Errorf("no station of %s records the show (add record: /var/lib/cuelight/showlog.db to the booth station), or give --db FILE", o.cfg.File)
	case 1:
		return paths[0], nil
	}
	return "", fmt.Errorf("stations %s all record the show: choose one log with --db FILE", strings.Join(names, ", "))
}

const recordHelp = `
Records the show log into FILE, like a station with record: in the show
file: every state, event, status, command and marker of the show, from an
MQTT session the broker keeps while the recorder is away (client id
--client-id, clean session false, QoS 1). Runs until interrupted.

Example:
  cuectl record --db /var/lib/cuelight/showlog.db`

// recordCmd implements "cuectl record".
func (c *cli) recordCmd(ctx context.Context, name string, args []string) int {
	o := c.newOpts(name, "record --db FILE", recordHelp, flagsMQTT)
	dbPath := o.fs.String("db", "", "the show log `FILE` (created when missing)")
	clientID := o.fs.String("client-id", "cuelight-recorder-cuectl", "MQTT client `ID`: the broker keeps the session under it; keep it the same across restarts")
	if _, code, ok := c.parse(o, args, 0, 0); !ok {
		return code
	}
	if *dbPath == "" || *clientID == "" {
		fmt.Fprintln(c.stderr, "cuectl record: give --db FILE (and a non-empty --client-id)")
		return exitUsage
	}
	user, password := o.user, o.password
	if user == "" {
		user = c.getenv("CUELIGHT_MQTT_USER")
	}
	if password == "" {
		password = c.getenv("CUELIGHT_MQTT_PASSWORD")
	}
	url := o.brokerURL()
	if !strings.Contains(url, "://") {
		url = "tcp://" + url
	}
	db, err := recorder.Open(*dbPath)
	if err != nil {
		fmt.Fprintln(c.stderr, "cuectl record:", strings.TrimPrefix(err.Error(), "recorder: "))
		return exitRefused
	}
	defer db.Close()
	tc, err := c.brokerTLS(o, url)
	if err != nil {
		return c.report(err)
	}
	rec, err := recorder.New(db, recorder.Options{Broker: url, Username: user, Password: password,
		TLS: tc, TopicPrefix: o.topicPrefix(), ClientID: *clientID, Clock: c.clock})
	if err != nil {
		fmt.Fprintln(c.stderr, "cuectl record:", err)
		return exitUsage
	}
	fmt.Fprintf(c.stdout, "recording the show log into %s from %s (client id %s); Ctrl-C stops\n", *dbPath, url, *clientID)
	_ = rec.Run(ctx)
	fmt.Fprintf(c.stdout, "stopped: %d messages recorded, %d repeats skipped\n", rec.Stored(), rec.Skipped())
	return exitOK
}
