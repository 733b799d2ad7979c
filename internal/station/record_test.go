package station

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/peertest"
	"github.com/cuelight/cuelight/internal/recorder"
	"github.com/cuelight/cuelight/internal/report"
	"github.com/cuelight/cuelight/osc"
)

// The show log's golden test (docs/report.md): a scripted performance
// runs through the real Station.Run, with the sim board, a fake clock and
// a real MQTT broker (mochi, in-process); the station's own recorder task
// (record: in the show file) writes the log; the report made from it is
// compared, as Markdown, CSV and SVG, with testdata/record/*.golden.
// go test ./internal/station -run TestRecordGolden -update rewrites them
// (read the diff before committing), and with chromium present also the
// screenshot docs/img/report.png.

const recordShow = `show: Hamlet
mqtt: {broker: "tcp://127.0.0.1:1883"}
osc: {listen: 127.0.0.1:53100, feedback: [FEEDBACK]}
report: {late_ack: 10s}
stations:
  wing: {driver: sim, record: RECORD}
  far: {driver: sim}
channels:
  fly:
    station: wing
    standby_lamp: GPIO17
    go_lamp: GPIO27
    ack_button: GPIO22
    require_ack: true
    go_requires_ack: true
    go_hold: 2s
  sl:
    station: wing
    standby_lamp: GPIO16
    ack_button: GPIO20
    go_hold: 1s
    stuck_after: 5s
  trap:
    station: far
    standby_lamp: GPIO17
`

// recordHarness is the golden harness with the recorder's log open
// beside it (read-only: the station's recorder writes it).
type recordHarness struct {
	*harness
	db      *recorder.DB
	path    string
	handled atomic.Int64
}

func newRecordHarness(t *testing.T) *recordHarness {
	t.Helper()
	rh := &recordHarness{path: filepath.Join(t.TempDir(), "showlog.db")}
	h := &harness{t: t, clk: clockwork.NewFakeClockAt(t0)}
	rh.harness = h
	h.startBroker()
	fb, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	h.feedback = fb
	show := strings.ReplaceAll(recordShow, "FEEDBACK", fb.LocalAddr().String())
	show = strings.ReplaceAll(show, "RECORD", rh.path)
	cfg, err := config.Parse(strings.NewReader(show), "record.yaml")
	if err != nil {
		t.Fatalf("show file: %v", err)
	}
	h.board = sim.New(sim.Options{Clock: h.clk})
	st, err := New(Options{
		Config: cfg, Station: "wing", Board: h.board, Clock: h.clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "golden", Epoch: "golden",
		OSCListen: "127.0.0.1:0", MQTTBroker: fmt.Sprintf("tcp://127.0.0.1:%d", h.port),
		onRecorded: func(recorder.Message, bool) { rh.handled.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.st = st
	runStation(t, st)
	waitFor(t, "station ready and MQTT connected", func() bool {
		return st.Ready() && st.link != nil && st.link.Connected()
	})
	waitFor(t, "the show log created", func() bool {
		db, err := recorder.OpenReadOnly(rh.path)
		if err != nil {
			return false
		}
		if n, _ := db.Count(context.Background()); n == 0 {
			db.Close()
			return false
		}
		rh.db = db
		return true
	})
	t.Cleanup(func() { rh.db.Close() })
	waitFor(t, "the recorder subscribed", func() bool { return len(rh.kind(recorder.KindRecorder)) > 0 })
	if h.client, err = osc.DialUDP(st.OSCAddr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.client.Close() })
	if h.sync, err = osc.DialUDP(st.OSCAddr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.sync.Close() })
	return rh
}

func (rh *recordHarness) kind(k string) []recorder.Message {
	ms, err := rh.db.Kind(context.Background(), k)
	if err != nil {
		rh.t.Fatal(err)
	}
	return ms
}

// settle waits until the log holds every event the station published and
// each of its channels' current state: the barrier between steps, so
// that what a step caused is in the log before the clock moves on.
func (rh *recordHarness) settle() {
	rh.t.Helper()
	want := rh.st.rep.eventsOut.Load()
	waitFor(rh.t, fmt.Sprintf("%d events in the show log", want), func() bool {
		return int64(len(rh.kind(recorder.KindEvent))) >= want
	})
	for _, s := range rh.st.States() {
		waitFor(rh.t, fmt.Sprintf("state %s seq %d in the show log", s.Channel, s.Seq), func() bool {
			for _, m := range rh.kind(recorder.KindState) {
				var got mqttlink.State
				if json.Unmarshal(m.Payload, &got) == nil && got.Channel == s.Channel && got.Seq == s.Seq {
					return true
				}
			}
			return false
		})
	}
}

// marker sends /cuelight/show/<kind> [name] to the station and waits for
// the marker in the log.
func (rh *recordHarness) marker(kind, name string) {
	rh.t.Helper()
	before := len(rh.kind(recorder.KindMarker))
	m := osc.NewMessage("/cuelight/show/" + kind)
	if name != "" {
		m.Args = append(m.Args, osc.String(name))
	}
	if err := rh.client.Send(m); err != nil {
		rh.t.Fatal(err)
	}
	rh.barrier(false)
	waitFor(rh.t, "marker "+kind+" in the show log", func() bool { return len(rh.kind(recorder.KindMarker)) > before })
}

// publish publishes as an outside client (a station far away, cuectl)
// and waits for the recorder to have handled it.
func (rh *recordHarness) publish(topic, payload string, retain bool) {
	rh.t.Helper()
	before := rh.handled.Load()
	payload = strings.ReplaceAll(payload, "NOW", mqttlink.FormatTime(rh.clk.Now()))
	if err := rh.broker.Publish(topic, []byte(payload), retain, 1); err != nil {
		rh.t.Fatal(err)
	}
	waitFor(rh.t, "the recorder to handle "+topic, func() bool { return rh.handled.Load() > before })
}

func (rh *recordHarness) run(steps ...string) {
	rh.t.Helper()
	for _, s := range steps {
		rh.step(s)
		rh.settle()
	}
}

// scriptPerformance plays the performance of the golden test: rehearsal
// before it, a preset check, two acts and an interval, a hold, a late
// ack, a refused GO then force_go, a stuck button, an unwarned GO, a
// rejected MQTT command, and station "far" offline for 20 s.
func scriptPerformance(rh *recordHarness) {
	rh.run("tick 1s", "osc /cuelight/sl/standby s:R1", "tick 1s", "osc /cuelight/sl/go s:R1", "tick 3s")
	rh.publish("cuelight/show/marker", `{"kind":"check","name":"2 of 3 positions acknowledged; missed: trap","at":"NOW","source":"mqtt","id":"m-check1","passed":false}`, false)
	rh.run("tick 10s")
	rh.marker("start", "Evening, 1 March")
	rh.run("tick 2s")
	rh.marker("act", "Act 1")
	// Cue 1: two positions, both acknowledge in time; GO by cue label.
	rh.run("tick 5s", "osc /cuelight/fly/standby_ack s:1", "osc /cuelight/sl/standby s:1", "tick 2s",
		"press GPIO22", "tick 1s", "press GPIO20", "tick 3s", "osc /cuelight/cue/1/go", "tick 5s")
	// Cue 2: a late ack (12 s > late_ack 10 s).
	rh.run("osc /cuelight/fly/standby_ack s:2", "tick 12s", "press GPIO22", "tick 1s", "osc /cuelight/fly/go s:2", "tick 4s")
	// Cue 3: GO refused (go_requires_ack), then force_go.
	rh.run("osc /cuelight/fly/standby_ack s:3", "tick 2s", "osc /cuelight/fly/go s:3", "tick 1s", "osc /cuelight/fly/force_go s:3", "tick 4s")
	// A stuck ACK button on sl (stuck_after 5s).
	rh.run("down GPIO20", "stuck 6s", "up GPIO20", "tick 2s")
	rh.marker("interval", "")
	rh.run("tick 1m")
	rh.marker("act", "Act 2")
	rh.run("tick 2s")
	// Station far offline for 20 s.
	rh.publish("cuelight/station/far/status", "offline", true)
	rh.run("tick 20s")
	rh.publish("cuelight/station/far/status", "online", true)
	// A hold of 30 s during cue 4's standby.
	rh.run("tick 3s", "osc /cuelight/sl/standby s:4", "tick 1s", "osc /cuelight/all/hold", "tick 30s", "osc /cuelight/all/release", "tick 2s")
	// An unwarned GO (from off) and a stale MQTT command, rejected.
	rh.run("osc /cuelight/sl/go s:5", "tick 3s",
		`mqtt cuelight/channel/fly/cmd {"id":"stale-1","cmd":"go","label":"6","ts":"2026-03-01T19:00:00.000Z","ttl_ms":2000}`, "tick 2s")
	rh.marker("end", "")
	rh.run("tick 5s", "osc /cuelight/sl/standby s:after", "tick 1s")
}

var recordOutputs = []struct{ file, format string }{
	{"performance.md", "md"},
	{"performance.csv", "csv"},
	{"timeline.svg", "svg"},
}

// docs/protocol.md §9, docs/report.md: the performance report of a
// scripted performance.
func TestRecordGolden(t *testing.T) {
	rh := newRecordHarness(t)
	scriptPerformance(rh)
	opts := rh.st.ReportOptions()
	opts.Location = time.UTC
	r, err := report.Build(context.Background(), rh.db, "latest", opts)
	if err != nil {
		t.Fatal(err)
	}
	checkRecordRules(t, r)
	for _, o := range recordOutputs {
		var buf bytes.Buffer
		if err := r.Write(&buf, o.format); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "record", o.file+".golden")
		if *update {
			if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/station -run TestRecordGolden -update to create it)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs from the golden file; diff with -update and git diff.\n--- got ---\n%s", golden, buf.String())
		}
	}
	var page bytes.Buffer
	if err := r.HTML(&page); err != nil {
		t.Fatal(err)
	}
	t.Run("chromium", func(t *testing.T) { checkInChromium(t, page.Bytes()) })
}

// checkRecordRules asserts the rules directly, so that the golden files
// are not their only oracle.
func checkRecordRules(t *testing.T, r *report.Report) {
	t.Helper()
	if r.Perf.Name != "Evening, 1 March" || r.Perf.Closed != "end" {
		t.Errorf("performance %q closed by %q", r.Perf.Name, r.Perf.Closed)
	}
	secs := r.Sections()
	if len(secs) != 3 || secs[0].Name != "Act 1" || secs[1].Kind != "interval" || secs[2].Name != "Act 2" {
		t.Errorf("sections: %+v", secs)
	}
	if got := secs[1].End.Sub(secs[1].Start); got != time.Minute {
		t.Errorf("interval ran %s, want 1m", got)
	}
	if len(r.Holds) != 1 || r.Holds[0].Duration() != 30*time.Second {
		t.Errorf("holds: %+v", r.Holds)
	}
	if len(r.Offline) != 1 || r.Offline[0].Who != "far" || r.Offline[0].Duration() != 20*time.Second {
		t.Errorf("offline: %+v", r.Offline)
	}
	if r.Perf.Check == nil || r.Perf.Check.ID != "m-check1" {
		t.Errorf("the preset check before curtain up is not with the performance: %+v", r.Perf.Check)
	}
	flags := map[string][]string{}
	for _, c := range r.Cues {
		if c.Label == "R1" || c.Label == "after" {
			t.Errorf("cue %s is outside the performance", c.Label)
		}
		for _, p := range c.Positions {
			flags[c.Label+"/"+p.Channel] = p.Flags()
		}
	}
	want := map[string]string{
		"1/fly": "", "1/sl": "", "2/fly": "late ack",
		"3/fly": "unacknowledged GO; force_go; refused: fly needs an acknowledged standby before GO",
		"5/sl":  "unwarned GO",
	}
	for k, w := range want {
		got, ok := flags[k]
		if !ok {
			t.Errorf("no position %s in the report; have %v", k, flags)
			continue
		}
		if g := strings.Join(got, "; "); !strings.HasPrefix(g, w) || (w == "" && g != "") {
			t.Errorf("%s flags %q, want %q", k, g, w)
		}
	}
	kinds := map[string]int{}
	for _, f := range r.Faults {
		kinds[f.Kind]++
	}
	for _, k := range []string{"stuck button", "station offline", "rejected command"} {
		if kinds[k] != 1 {
			t.Errorf("faults of kind %q: %d, want 1 (%+v)", k, kinds[k], r.Faults)
		}
	}
}

// checkInChromium opens the HTML report in headless Chromium: the page
// must load with its timeline drawn (the DOM holds the SVG's GO marks),
// and its screenshot is written to docs/img/report.png with -update.
func checkInChromium(t *testing.T, page []byte) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		peertest.Need(t, "chromium")
		return
	}
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	if err := os.WriteFile(html, page, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + filepath.Join(dir, "profile")}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dom, err := exec.CommandContext(ctx, bin, append(args, "--dump-dom", "file://"+html)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	for _, want := range []string{`<figure id="timeline"><svg`, `class="go"`, `class="hold"`, `class="offline"`, `id="cues"`, `id="trendtable"`} {
		if !bytes.Contains(dom, []byte(want)) {
			t.Errorf("the page as Chromium loaded it has no %s", want)
		}
	}
	shot := filepath.Join(dir, "report.png")
	cmd := exec.CommandContext(ctx, bin, append(args, "--window-size=1100,1900", "--screenshot="+shot, "file://"+html)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	png, err := os.ReadFile(shot)
	if err != nil || len(png) < 10000 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("no screenshot (%d bytes, %v)", len(png), err)
	}
	if *update {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", "report.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
