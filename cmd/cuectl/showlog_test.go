package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The walk-through of docs/report.md, as a newcomer would do it: a station
// that records, a preset check, a short show called from cuectl, and its
// report as Markdown and as HTML with the timeline beside it.
func TestShowAndReport(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "showlog.db")
	s := startStationWith(t, "", "    record: "+db+"\n", "")
	deadline := time.Now().Add(waitFor)
	for !strings.Contains(s.log.String(), "recording the show log") {
		if time.Now().After(deadline) {
			t.Fatalf("the station never started its recorder:\n%s", s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A check that only fly passes (the others are not pressed).
	out, wait := runCheck(t, realClock(), s.with("check", "--wait", "3s", "fly")...)
	s.waitState("standby", "fly")
	s.press("GPIO22")
	if r := wait(); r.code != 0 {
		t.Fatalf("check: %s\n%s", r, out.String())
	}
	steps := [][]string{
		{"show", "start", "Preview 1"},
		{"show", "act", "Act 1"},
		{"standby", "--ack", "fly", "10"},
		{"standby", "sl", "10"},
	}
	for _, a := range steps {
		if r := ctl(t, s.with(a...)...); r.code != 0 {
			t.Fatalf("cuectl %v: %s", a, r)
		}
	}
	s.waitState("standby", "fly", "sl")
	// The check's press may still be held on the sim board (it holds a
	// press for 100 ms): press until the ACK is taken.
	for i := 0; s.states()["fly"].State != "ack"; i++ {
		if i == 100 {
			t.Fatal("fly never acknowledged")
		}
		s.press("GPIO22")
		time.Sleep(200 * time.Millisecond)
	}
	for _, a := range [][]string{{"go", "--cue", "10"}, {"show", "interval"}, {"show", "act", "Act 2"},
		{"go", "sr", "11"}, {"show", "end"}} {
		if r := ctl(t, s.with(a...)...); r.code != 0 {
			t.Fatalf("cuectl %v: %s", a, r)
		}
	}
	// The report: the events reach the log through MQTT; wait for the GO
	// of cue 11 (the last) to be in it.
	var md result
	deadline = time.Now().Add(waitFor)
	for {
		md = ctl(t, s.with("report")...)
		if md.code == 0 && strings.Contains(md.stdout, "| 11 |") && strings.Contains(md.stdout, "## Preset check") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the report never showed cue 11 and the check: %s", md)
		}
		time.Sleep(100 * time.Millisecond)
	}
	expect(t, md, 0, []string{
		`^# Show report: cuectl test: Preview 1$`,
		`^\| Act 1 \|`, `^\| Interval \|`, `^\| Act 2 \|`,
		`\(every position acknowledged\): 1 of 1 position acknowledged$`,
		`^\| 10 \| .* \| fly \| `,
		`^\| +\| +\| +\| +\| sl \| `,
		`^\| 11 \| - \| .* \| sr \| .* unwarned GO \|$`,
	}, nil)
	dir := t.TempDir()
	html := filepath.Join(dir, "tonight.html")
	r := ctl(t, s.with("report", "--format", "html", "--out", html)...)
	expect(t, r, 0, []string{`^performance 1, Preview 1: .*tonight.html$`, `^timeline: .*tonight.svg$`}, nil)
	for _, f := range []string{html, filepath.Join(dir, "tonight.svg")} {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), `class="go"`) {
			t.Errorf("%s: no GO mark in it (%v)", f, err)
		}
	}
	r = ctl(t, s.with("report", "--performance", "2")...)
	expect(t, r, 1, nil, []string{`no performance 2: the log has 1 to 1`})
}
