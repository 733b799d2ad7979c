package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/recorder"
)

var t0 = time.Date(2026, 3, 1, 19, 30, 0, 0, time.UTC)

// synthetic builds a log of performances: each a start marker, cues
// every few seconds on the channels (standby with an ack requested, the
// ack, the GO, back to off: two events and two states per step), and an
// end marker. It returns about eventsPer events per performance.
func synthetic(perfs, eventsPer int, length time.Duration) []recorder.Message {
	chans := []string{"fly", "sl", "sr", "trap", "spot1", "spot2"}
	var out []recorder.Message
	add := func(at time.Time, topic, kind, station, ch string, v any) {
		b, _ := json.Marshal(v)
		out = append(out, recorder.Message{Received: at, At: at, Topic: topic, Kind: kind, Station: station, Channel: ch, Payload: b})
	}
	for p := 0; p < perfs; p++ {
		start := t0.Add(time.Duration(p) * 24 * time.Hour)
		add(start, "cuelight/show/marker", recorder.KindMarker, "booth", "", mqttlink.Marker{Kind: "start", Name: fmt.Sprintf("Show %d", p+1), At: mqttlink.FormatTime(start), ID: fmt.Sprint("s", p)})
		steps := eventsPer / 3 // standby, ack, go: three events (and three states) per step
		gap := length / time.Duration(steps+1)
		seq := map[string]int64{}
		for i := 0; i < steps; i++ {
			ch := chans[i%len(chans)]
			label := fmt.Sprint(i/len(chans) + 1)
			at := start.Add(gap * time.Duration(i+1))
			ack := time.Duration(800+((i*7919)%4000)+p*300) * time.Millisecond
			for _, ev := range []struct {
				kind  string
				after time.Duration
			}{{"standby", 0}, {"ack", ack}, {"go", ack + 2*time.Second}} {
				seq[ch]++
				when := at.Add(ev.after)
				e := mqttlink.Event{Event: ev.kind, Channel: ch, Station: "wing", Label: label, At: mqttlink.FormatTime(when), Source: "osc", Seq: seq[ch], Epoch: "e"}
				if ev.kind == "ack" {
					e.AckMS = ack.Milliseconds()
				}
				st := ev.kind
				add(when, "cuelight/channel/"+ch+"/state", recorder.KindState, "wing", ch, mqttlink.State{Channel: ch, Station: "wing", State: st, Label: label, AckRequested: true, Since: e.At, Seq: seq[ch], Epoch: "e"})
				add(when, "cuelight/channel/"+ch+"/event", recorder.KindEvent, "wing", ch, e)
			}
		}
		end := start.Add(length)
		add(end, "cuelight/show/marker", recorder.KindMarker, "booth", "", mqttlink.Marker{Kind: "end", At: mqttlink.FormatTime(end), ID: fmt.Sprint("e", p)})
	}
	return out
}

func syntheticDB(t testing.TB, perfs, eventsPer int, length time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "showlog.db")
	db, err := recorder.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.InsertBatch(context.Background(), synthetic(perfs, eventsPer, length)); err != nil {
		t.Fatal(err)
	}
	return path
}

// Across performances: each position's ack-time median and p95 per
// performance, the slow one growing slower.
func TestTrendAcrossPerformances(t *testing.T) {
	t.Parallel()
	path := syntheticDB(t, 3, 600, time.Hour)
	db, err := recorder.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := Build(context.Background(), db, "latest", Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trend) != 3 || r.Perf.Number != 3 || r.Of != 3 {
		t.Fatalf("trend of %d performances, report of %d of %d", len(r.Trend), r.Perf.Number, r.Of)
	}
	for _, ch := range []string{"fly", "trap"} {
		a, b := r.Trend[0].Stats[ch], r.Trend[2].Stats[ch]
		if a.N == 0 || b.Median-a.Median != 600*time.Millisecond || b.P95 < b.Median {
			t.Errorf("%s: first %+v, third %+v", ch, a, b)
		}
	}
	var md strings.Builder
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| position | 1 Show 1 | 2 Show 2 | 3 Show 3 |") {
		t.Errorf("no trend table:\n%s", md.String())
	}
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		in       []time.Duration
		med, p95 time.Duration
	}{
		{nil, 0, 0},
		{ms(5), 5 * time.Millisecond, 5 * time.Millisecond},
		{ms(1, 2, 3, 4), 2500 * time.Microsecond, 4 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 100), 10500 * time.Microsecond, 19 * time.Millisecond},
	} {
		if m, p := quantile(tc.in, 0.5), quantile(tc.in, 0.95); m != tc.med || p != tc.p95 {
			t.Errorf("%v: median %v p95 %v, want %v %v", tc.in, m, p, tc.med, tc.p95)
		}
	}
}

// /report on the desk page's web listener.
func TestHandler(t *testing.T) {
	t.Parallel()
	path := syntheticDB(t, 1, 120, 10*time.Minute)
	open := func() (*recorder.DB, error) { return recorder.OpenReadOnly(path) }
	srv := httptest.NewServer(Handler(open, Options{Location: time.UTC}))
	defer srv.Close()
	missing := httptest.NewServer(Handler(func() (*recorder.DB, error) {
		return recorder.OpenReadOnly(filepath.Join(t.TempDir(), "none.db"))
	}, Options{}))
	defer missing.Close()
	for _, tc := range []struct {
		url, method string
		code        int
		ctype, body string
	}{
		{srv.URL + "/report", "GET", 200, "text/html", `<figure id="timeline"><svg`},
		{srv.URL + "/report?format=md&performance=1", "GET", 200, "text/markdown", "# Show report: cuelight show: Show 1"},
		{srv.URL + "/report?format=csv", "GET", 200, "text/csv", "at,kind,station,channel,what"},
		{srv.URL + "/report?format=svg", "GET", 200, "image/svg+xml", `class="go"`},
		{srv.URL + "/report?format=pdf", "GET", 400, "text/plain", "html, md, csv or svg"},
		{srv.URL + "/report?performance=9", "GET", 404, "text/plain", "no performance 9"},
		{srv.URL + "/report", "POST", 405, "text/plain", "GET only"},
		{missing.URL + "/report", "GET", 503, "text/plain", "none.db"},
	} {
		req, _ := http.NewRequest(tc.method, tc.url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(b), tc.body) {
			t.Errorf("%s %s: %d %s\n%.300s\nwant %d %s with %q", tc.method, tc.url, resp.StatusCode, resp.Header.Get("Content-Type"), b, tc.code, tc.ctype, tc.body)
		}
	}
}

// BenchmarkReport3h renders the report of a 3-hour performance with about
// 20,000 events (and as many states) in every format, from the log on
// disk: the target is under 2 s (docs/report.md).
//
//	go test -run '^$' -bench Report3h -benchtime 5x ./internal/report/
func BenchmarkReport3h(b *testing.B) {
	path := syntheticDB(b, 1, 20000, 3*time.Hour)
	db, err := recorder.OpenReadOnly(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Build(context.Background(), db, "latest", Options{})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			n := 0
			for _, m := range r.Messages {
				if m.Kind == recorder.KindEvent {
					n++
				}
			}
			b.ReportMetric(float64(n), "events")
		}
		for _, f := range []string{"md", "html", "csv", "svg"} {
			if err := r.Write(io.Discard, f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// force_go is read from what only it can do: a GO without an ACK after a
// GO refused for want of one, even without the show file.
func TestForceGoWithoutShowFile(t *testing.T) {
	t.Parallel()
	at := func(s int) string { return mqttlink.FormatTime(t0.Add(time.Duration(s) * time.Second)) }
	ev := func(s int, e mqttlink.Event) recorder.Message {
		e.At, e.Channel, e.Station = at(s), "fly", "wing"
		b, _ := json.Marshal(e)
		return recorder.Message{At: t0.Add(time.Duration(s) * time.Second), Kind: recorder.KindEvent, Topic: "cuelight/channel/fly/event", Channel: "fly", Payload: b}
	}
	msgs := []recorder.Message{
		ev(1, mqttlink.Event{Event: "standby", Label: "7"}),
		ev(2, mqttlink.Event{Event: "refused", Label: "7", Reason: "fly needs an acknowledged standby before GO; use force_go to override"}),
		ev(3, mqttlink.Event{Event: "go", Label: "7"}),
		ev(4, mqttlink.Event{Event: "standby", Label: "8"}),
		ev(5, mqttlink.Event{Event: "go", Label: "8"}),
	}
	r := Compute(recorder.Performance{Number: 1, Start: t0, End: t0.Add(time.Minute)}, msgs, nil, Options{Location: time.UTC})
	if len(r.Cues) != 2 {
		t.Fatalf("cues: %+v", r.Cues)
	}
	if p := r.Cues[0].Positions[0]; !p.Forced {
		t.Errorf("cue 7: %+v, want force_go", p)
	}
	if p := r.Cues[1].Positions[0]; p.Forced {
		t.Errorf("cue 8: a plain GO taken for force_go: %+v", p)
	}
}
