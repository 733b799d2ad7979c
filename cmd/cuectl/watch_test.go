package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/testkit"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// startWatch runs cuectl watch in-process until the test ends.
func startWatch(t *testing.T, args ...string) (out *testkit.SyncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &testkit.SyncBuffer{}
	errb := &testkit.SyncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, out, errb) }()
	stopped := false
	stop = func() int {
		t.Helper()
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if errb.String() != "" {
				t.Errorf("watch wrote to stderr:\n%s", errb.String())
			}
			return code
		case <-time.After(waitFor):
			t.Fatalf("watch did not end after its context was cancelled")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

// watch --plain, driven by a scripted show: every event is one line.
func TestWatchPlain(t *testing.T) {
	t.Parallel()
	brokers(t, func(t *testing.T, s *station) {
		out, stop := startWatch(t, s.with("watch", "--plain")...)
		// First what is there: each station and each channel's current state.
		for _, p := range []string{
			`^\S+Z station demo online$`,
			`^\S+Z station demo started: show "cuectl test", version dev, channels fly,sl,sr,trap, link none, epoch [0-9a-f]{16}$`,
			`^\S+Z fly is off station=demo seq=0 \(current\)$`,
			`^\S+Z trap is off station=demo seq=0 \(current\)$`,
		} {
			waitOutput(t, out, p)
		}
		ctl(t, s.with("standby", "--ack", "fly", "30")...)
		s.press("GPIO22")
		s.waitState("ack", "fly")
		ctl(t, s.with("go", "fly", "30")...)
		ctl(t, s.with("go", "sl")...)
		ctl(t, s.with("go", "fly", "31")...)
		ctl(t, s.with("hold")...)
		ctl(t, s.with("standby", "sl", "5")...)
		ctl(t, s.with("release")...)
		ctl(t, s.with("standby", "--mqtt", "sl", "2")...)
		s.post("/api/v1/pins/GPIO21", `{"level":true}`) // trap's ACK button jammed
		waitOutput(t, out,
			`^\S+Z fly standby "30" src=osc station=demo seq=1$`,
			`^\S+Z fly ack "30" ack_ms=\d+ src=button station=demo seq=2$`,
			`^\S+Z fly go "30" src=osc station=demo seq=3$`,
			`^\S+Z sl go unwarned src=osc station=demo seq=1$`,
			`^\S+Z fly go "31" unwarned src=osc station=demo seq=4$`,
			`^\S+Z fly hold src=osc station=demo seq=5$`,
			`^\S+Z trap hold src=osc station=demo seq=1$`,
			`^\S+Z sl refused "5" reason="show is on hold" src=osc station=demo seq=2$`,
			`^\S+Z fly release src=osc`,
			`^\S+Z sl standby "2" src=mqtt station=demo seq=4 id=cuectl-[0-9a-f]{16}$`,
			`^\S+Z trap fault reason="trap ack button \(GPIO21\) held down too long: check it is not jammed or shorted" src=button station=demo seq=2$`,
		)
		s.post("/api/v1/pins/GPIO21", `{"level":false}`)
		s.stop()
		waitOutput(t, out, `^\S+Z station demo offline$`)
		if code := stop(); code != 0 {
			t.Errorf("watch ended with %d, want 0", code)
		}
	})
}

// The live screen: alternate screen, one frame per change, the terminal
// given back at the end.
func TestWatchScreen(t *testing.T) {
	t.Parallel()
	s := startStation(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &testkit.SyncBuffer{}
	c := &cli{stdout: out, stderr: out, clock: realClock(), getenv: noEnv}
	o := c.newOpts("watch", "", "", flagsMQTT)
	o.mqtt, o.timeout = mqttFlag{on: true, url: s.broker}, waitFor
	sess, err := c.dialMQTT(ctx, o, true)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.close()
	done := make(chan struct{})
	go func() {
		c.watchScreen(ctx, sess, newShowView("cuelight", nil), true)
		close(done)
	}()
	waitOutput(t, out, `fly\s.*off`)
	ctl(t, s.with("standby", "sl", "LX 9")...)
	waitOutput(t, out, `sl\s.*STANDBY.*LX 9`)
	cancel()
	<-done
	got := out.String()
	if !strings.HasPrefix(got, altScreenOn) || !strings.HasSuffix(got, altScreenOff) {
		t.Errorf("the screen does not start with %q and end with %q:\n%q", altScreenOn, altScreenOff, got)
	}
	if !strings.Contains(got, home) || !strings.Contains(got, sgrLampRed) {
		t.Errorf("no redraw from home, or no lamp colour:\n%q", got)
	}
}

// goldenView is a fixed show: one station online with every kind of
// channel state, one offline, and a few events.
func goldenView(t *testing.T) *showView {
	t.Helper()
	v := newShowView("cuelight", nil)
	msg := func(topic string, payload any, retained bool) {
		b, ok := payload.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(payload); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok := v.apply(inMsg{topic: "cuelight/" + topic, payload: b, retained: retained}); !ok {
			t.Fatalf("view refused %s %s", topic, b)
		}
	}
	const epoch = "9f2c4a1be07d3c55"
	msg("station/sl-wing/status", []byte("online"), true)
	msg("station/sl-wing/info", mqttlink.Info{Version: "1.2.0", Show: "Hamlet", Epoch: epoch, Started: "2025-03-01T18:02:11.000Z",
		Channels: []string{"fly", "sl", "sr", "trap"}, Link: "ok"}, true)
	msg("station/booth-r/status", []byte("offline"), true)
	msg("station/booth-r/info", mqttlink.Info{Version: "1.1.0", Show: "Hamlet", Epoch: "0011223344556677", Started: "2025-03-01T17:00:00.000Z",
		Channels: []string{"spot1"}, Link: "lost"}, true)
	state := func(ch, st, label string, ack bool, since string, seq int64, station string) {
		msg("channel/"+ch+"/state", mqttlink.State{Channel: ch, Station: station, State: st, Label: label, AckRequested: ack, Since: since, Seq: seq, Epoch: epoch}, true)
	}
	event := func(ev mqttlink.Event) {
		ev.Station, ev.Epoch = "sl-wing", epoch
		msg("channel/"+ev.Channel+"/event", ev, false)
	}
	state("trap", "off", "", false, "2025-03-01T20:01:00.000Z", 2, "sl-wing")
	event(mqttlink.Event{Event: "fault", Channel: "trap", At: "2025-03-01T20:13:40.000Z", Source: "button", Seq: 2,
		Reason: "trap ack button (GPIO21) held down too long: check it is not jammed or shorted"})
	state("fly", "standby", "23", true, "2025-03-01T20:14:52.000Z", 7, "sl-wing")
	state("sl", "standby", "23", true, "2025-03-01T20:14:52.000Z", 4, "sl-wing")
	event(mqttlink.Event{Event: "standby", Channel: "fly", Label: "23", At: "2025-03-01T20:14:52.000Z", Source: "osc", Seq: 7})
	event(mqttlink.Event{Event: "standby", Channel: "sl", Label: "23", At: "2025-03-01T20:14:52.000Z", Source: "osc", Seq: 4})
	state("sl", "ack", "23", true, "2025-03-01T20:14:54.000Z", 5, "sl-wing")
	event(mqttlink.Event{Event: "ack", Channel: "sl", Label: "23", At: "2025-03-01T20:14:54.000Z", Source: "button", Seq: 5, AckMS: 2000})
	state("sr", "go", "22", false, "2025-03-01T20:15:03.000Z", 9, "sl-wing")
	event(mqttlink.Event{Event: "go", Channel: "sr", Label: "22", At: "2025-03-01T20:15:03.000Z", Source: "osc", Seq: 9, Unwarned: true})
	event(mqttlink.Event{Event: "refused", Channel: "fly", Label: "23", At: "2025-03-01T20:15:04.000Z", Source: "osc", Seq: 7,
		Reason: "fly needs an acknowledged standby before GO; use force_go to override"})
	msg("channel/spot1/state", mqttlink.State{Channel: "spot1", Station: "booth-r", State: "lost", Since: "2025-03-01T20:10:00.000Z", Seq: 3, Epoch: "0011223344556677"}, true)
	return v
}

// goldenNow is the frame's clock: 12 s after fly's standby.
var goldenNow = time.Date(2025, 3, 1, 20, 15, 4, 0, time.UTC)

// One frame of watch, drawn from a fixed view at a fixed time, against
// golden files (go test -run TestRenderGolden -update rewrites them).
func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		color bool
		file  string
	}{
		{"monochrome", false, "watch-frame.golden"},
		{"colour", true, "watch-frame-color.golden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			frame := strings.Join(render(goldenView(t), goldenNow, screen{width: 110, height: 30, color: tc.color, broker: "tcp://10.10.0.1:1883"}), "\n") + "\n"
			path := filepath.Join("testdata", tc.file)
			if *updateGolden {
				if err := os.WriteFile(path, []byte(frame), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestRenderGolden -update to create it)", err)
			}
			if frame != string(want) {
				t.Errorf("frame differs from %s (go test -run TestRenderGolden -update rewrites it)\ngot:\n%s\nwant:\n%s", path, frame, want)
			}
		})
	}
}

// A standby waiting for its ACK flashes like the lamp: its style changes
// every 500 ms; nothing else in the frame does.
func TestRenderFlashes(t *testing.T) {
	t.Parallel()
	v := goldenView(t)
	sc := screen{width: 110, height: 30, color: true, broker: "tcp://10.10.0.1:1883"}
	a := render(v, goldenNow, sc)
	b := render(v, goldenNow.Add(500*time.Millisecond), sc)
	var differ []string
	for i := range a {
		if a[i] != b[i] {
			differ = append(differ, strings.Fields(stripANSI(a[i]))[0])
		}
	}
	// fly waits for its ACK; sl is acknowledged (steady). The clock in the
	// header shows the same second.
	if strings.Join(differ, ",") != "fly" {
		t.Errorf("lines that change in 500 ms: %v, want only fly's", differ)
	}
	sc.color = false
	if strings.Join(render(v, goldenNow, sc), "\n") != strings.Join(render(v, goldenNow.Add(500*time.Millisecond), sc), "\n") {
		t.Errorf("without colour the frame must not flash")
	}
}

// Lines never exceed the terminal's width, and the frame its height.
func TestRenderFits(t *testing.T) {
	t.Parallel()
	v := goldenView(t)
	for _, size := range [][2]int{{40, 10}, {80, 24}, {200, 60}} {
		lines := render(v, goldenNow, screen{width: size[0], height: size[1], color: true, broker: "tcp://10.10.0.1:1883"})
		if len(lines) > size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
		}
		for _, l := range lines {
			if n := len([]rune(stripANSI(l))); n > size[0] {
				t.Errorf("%dx%d: line of %d characters: %q", size[0], size[1], n, stripANSI(l))
			}
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && (s[i] < 'A' || s[i] > 'z' || s[i] == '[') {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// The NOTE column takes the terminal's width: a long note is on one line
// of a wide terminal and wraps, whole, under the column on a narrow one.
func TestRenderNotesUseTheWidth(t *testing.T) {
	t.Parallel()
	const note = "waiting for ACK; refused: fly needs an acknowledged standby before GO; use force_go to override"
	for _, width := range []int{80, 110, 200} {
		lines := render(goldenView(t), goldenNow, screen{width: width, height: 60, broker: "tcp://10.10.0.1:1883"})
		col := -1
		var parts []string
		for i, l := range lines {
			if strings.HasPrefix(l, "CHANNEL ") {
				col = strings.Index(l, "NOTE")
			}
			if col < 0 || !strings.HasPrefix(l, "fly ") {
				continue
			}
			parts = append(parts, l[col:])
			for _, next := range lines[i+1:] {
				if len(next) <= col || strings.TrimSpace(next[:col]) != "" {
					break
				}
				parts = append(parts, next[col:])
			}
			break
		}
		if got := strings.Join(parts, " "); got != note {
			t.Errorf("width %d: fly's note reads %q, want %q", width, got, note)
		}
		if width == 200 && len(parts) != 1 {
			t.Errorf("width 200: the note takes %d lines, want 1", len(parts))
		}
	}
}

// Without a terminal to ask, watch takes $COLUMNS and $LINES.
func TestScreenSize(t *testing.T) {
	t.Parallel()
	env := map[string]string{"COLUMNS": "160", "LINES": "50"}
	c := &cli{stdout: &testkit.SyncBuffer{}, getenv: func(k string) string { return env[k] }}
	if w, h := c.screenSize(); w != 160 || h != 50 {
		t.Errorf("size %dx%d, want 160x50 from the environment", w, h)
	}
	c.getenv = noEnv
	if w, h := c.screenSize(); w != 80 || h != 24 {
		t.Errorf("size %dx%d, want 80x24", w, h)
	}
}

// A lost broker connection is said in words, not as a Go error.
func TestConnLostReason(t *testing.T) {
	t.Parallel()
	opErr := func(err error) error {
		return &net.OpError{Op: "read", Net: "tcp", Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50312},
			Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1883}, Err: os.NewSyscallError("read", err)}
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"closed", fmt.Errorf("connection lost: %w", io.EOF), "the broker closed the connection"},
		{"reset", opErr(syscall.ECONNRESET), "the broker dropped the connection"},
		{"network down", opErr(syscall.ENETUNREACH), "the network to the broker is down"},
		{"keep-alive", errors.New("pingresp not received, disconnecting"), "the broker stopped answering"},
		{"time-out", opErr(syscall.ETIMEDOUT), "the broker stopped answering"},
		{"anything else", opErr(syscall.EBADF), "the connection failed (bad file descriptor)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := connLostReason(tc.err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The station (and its embedded broker) stops under a running watch: the
// connection loss is one line in words, and nothing Go-shaped.
func TestWatchBrokerLost(t *testing.T) {
	t.Parallel()
	s := startStation(t, "")
	out, stop := startWatch(t, s.with("watch", "--plain")...)
	waitOutput(t, out, `^\S+Z station demo online$`)
	s.stop()
	waitOutput(t, out, `^\S+Z broker connection lost: the broker (closed|dropped) the connection \(reconnecting\)$`)
	if strings.Contains(out.String(), "tcp ") || strings.Contains(out.String(), "->") {
		t.Errorf("a Go error in watch's output:\n%s", out.String())
	}
	if code := stop(); code != 0 {
		t.Errorf("watch ended with %d, want 0", code)
	}
}

// Wrapping the notes never loses, reorders or adds a word, and never makes
// a line wider than the column unless one word alone is.
func FuzzWrapNotes(f *testing.F) {
	f.Add("station offline: state may be stale", "link to the booth lost", 40)
	f.Add("waiting for ACK", "refused: fly needs an acknowledged standby before GO; use force_go to override", 20)
	f.Add("", "  ", 25)
	f.Add("ünïcödé wörds ×××", "a", 21)
	f.Fuzz(func(t *testing.T, a, b string, width int) {
		if width < minNoteWidth || width > 500 {
			return
		}
		notes := []cell{{a, sgrAlert}, {b, ""}}
		lines := wrapNotes(notes, width)
		var got []string
		for _, l := range lines {
			text := ""
			for _, c := range l {
				text += c.text
			}
			if n := utf8.RuneCountInString(text); n > width && len(strings.Fields(text)) > 1 {
				t.Errorf("line %q is %d wide, more than %d", text, n, width)
			}
			got = append(got, strings.Fields(text)...)
		}
		// The separator is glued to the last word of the first note.
		want := strings.Fields(b)
		if fa := strings.Fields(a); len(fa) > 0 {
			want = append(append(fa[:len(fa)-1:len(fa)-1], fa[len(fa)-1]+";"), want...)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("words %q, want %q", got, want)
		}
	})
}
