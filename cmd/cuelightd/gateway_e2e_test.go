package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGatewayEndToEnd runs a show of three cuelightd processes on one
// Mosquitto: a booth gateway (driver none, gateway: true) and two stations
// with lamps (sim). liblo's oscsend sends every command to the gateway
// only; the lamps are read on the stations that own them (GET
// /api/v1/pins); liblo's oscdump, the show's feedback target, sees every
// channel's state; a GO refused on a remote go_requires_ack channel comes
// back to the sender as /cuelight/error (our UDP client: oscsend cannot
// read replies); a station killed with SIGKILL is reported offline at the
// gateway within its keep-alive bound.
func TestGatewayEndToEnd(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	dump := startOscdump(t)
	f := showFile{
		Brokers: []string{m.url()}, Feedback: []string{loopback(dump.port)},
		Gateways: []string{"booth"}, Stations: []string{"a", "b"},
		Channels: map[string][]string{"a": {"fly", "flyb"}, "b": {"sl", "sr"}},
	}
	path := f.write(t)
	a := startStation(t, path, "a")
	b := startStation(t, path, "b")
	gw := startStation(t, path, "booth")
	sub := subscribe(t, m.port, "cuelight/#")
	booth := dialBooth(t, gw.oscAddr)
	syncAll(t, booth, f.allChannels(), "state from its station", notOffline)

	// Standbys for one channel of each remote station, then a cue GO by
	// label: both stations light their lamps.
	oscsend(t, gw.oscAddr, "/cuelight/sr/standby", "s", "5")
	oscsend(t, gw.oscAddr, "/cuelight/flyb/standby", "s", "5")
	b.waitPin(t, "GPIO16", true)
	a.waitPin(t, "GPIO16", true)
	// The cue GO from our client, which reads the replies: the gateway has
	// no channel standing by for cue 5, but it forwarded the GO, so it
	// must not answer that no channel stands by (a false error at the
	// booth for every cue GO). Replies come in order: up to the pong.
	booth.send(t, "/cuelight/cue/5/go")
	booth.send(t, "/cuelight/ping")
	for _, r := range booth.replies(t, "/cuelight/pong") {
		if r.Address == "/cuelight/error" {
			t.Errorf("cue GO at the gateway answered %s", r)
		}
	}
	b.waitPin(t, "GPIO20", true)
	a.waitPin(t, "GPIO20", true)
	b.waitState(t, "sr", "go", "5")
	a.waitState(t, "flyb", "go", "5")

	// fly needs an acknowledged standby: standby with ACK requested, the
	// fly crew presses ACK on station a's board, then GO.
	oscsend(t, gw.oscAddr, "/cuelight/fly/standby_ack", "s", "7")
	a.waitPin(t, "GPIO17", true)
	a.press(t, "GPIO22")
	a.waitState(t, "fly", "ack", "7")
	oscsend(t, gw.oscAddr, "/cuelight/fly/go", "s", "7")
	a.waitPin(t, "GPIO27", true)

	// A GO on sl (go_requires_ack, no standby): station b refuses it and
	// the gateway answers the sender with /cuelight/error.
	booth.send(t, "/cuelight/sl/go", "9")
	for {
		r := booth.receive(t, "/cuelight/error for the refused GO")
		if r.Address != "/cuelight/error" {
			continue // a state relayed to the sender
		}
		if err := errorReply(r, "/cuelight/sl/go", "needs an acknowledged standby"); err != nil {
			t.Error(err)
		}
		break
	}
	if b.pins(t)["GPIO27"].Level {
		t.Error("sl's GO lamp lit by a refused GO")
	}
	oscsend(t, gw.oscAddr, "/cuelight/sl/standby", "s", "9")
	b.waitPin(t, "GPIO17", true)

	// The feedback target saw every channel's changes.
	want := []string{
		`/cuelight/state/sr/standby s "5"`, `/cuelight/state/flyb/standby s "5"`,
		`/cuelight/state/sr/go s "5"`, `/cuelight/state/flyb/go s "5"`,
		`/cuelight/state/fly/standby s "7"`, `/cuelight/state/fly/ack s "7"`, `/cuelight/state/fly/go s "7"`,
		`/cuelight/state/sl/standby s "9"`,
	}
	for _, w := range want {
		waitFor(t, "oscdump to print "+w, func() bool { return countMsg(dump.messages(), w) > 0 })
	}

	// Station b dies without a word: its Last Will reaches the gateway
	// after the broker's keep-alive bound (10 s × 1.5), and the feedback
	// target is told that its channels are offline. Only the gateway can
	// say so: b is dead.
	mark := len(dump.messages())
	killed := time.Now()
	b.signal(t, syscall.SIGKILL)
	b.wait(t)
	const bound = 25 * time.Second
	for _, ch := range []string{"sl", "sr"} {
		w := `/cuelight/state/` + ch + `/offline s ""`
		for countMsg(dump.messages()[mark:], w) == 0 {
			if time.Since(killed) > bound {
				t.Fatalf("oscdump did not print %s within %v of SIGKILL; it printed:\n%s", w, bound, strings.Join(dump.messages(), "\n"))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("station b killed: offline at the gateway's feedback target after %v", time.Since(killed).Round(100*time.Millisecond))
	got := syncAll(t, booth, f.allChannels(), "state", func(ch, state, _ string) bool {
		return (f.ownerOf(ch) == "b") == (state == "offline")
	})
	if got["fly"] != "go 7" || got["flyb"] != "go 5" {
		t.Errorf("sync after b died: %v; want fly go 7, flyb go 5", got)
	}

	// Nothing went GO that was not sent: exactly three GO events.
	var gos []string
	for _, msg := range sub.messages() {
		if strings.HasSuffix(msg.Topic, "/event") && msg.json()["event"] == "go" {
			gos = append(gos, fmt.Sprint(msg.json()["channel"], " ", msg.json()["label"]))
		}
	}
	if strings.Join(gos, ", ") != "sr 5, flyb 5, fly 7" && strings.Join(gos, ", ") != "flyb 5, sr 5, fly 7" {
		t.Errorf("GO events on MQTT: %q, want sr 5 and flyb 5 (either order), then fly 7", gos)
	}
	t.Logf("feedback target: %d messages for %d changes (every station sends its own channels' feedback, and the gateway relays the remote ones)", len(dump.messages()), len(want)+2)
}

// countMsg counts the messages equal to w.
func countMsg(msgs []string, w string) int {
	n := 0
	for _, m := range msgs {
		if m == w {
			n++
		}
	}
	return n
}
