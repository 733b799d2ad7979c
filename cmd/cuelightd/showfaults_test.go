package main

import (
	"syscall"
	"testing"
	"time"
)

// Faults of a show of several stations through a gateway (issue 13), with
// real processes on a real Mosquitto. Each ends with showRun.check: no
// uncommanded GO, no GO fired twice, nothing published lost, and every
// view converged on the stations' own states.

// waitError reads replies from b until /cuelight/error for address, and
// checks its reason.
func waitError(t *testing.T, b booth, address, reason string) {
	t.Helper()
	for {
		m := b.receive(t, "/cuelight/error for "+address)
		if m.Address != "/cuelight/error" {
			continue // a state relayed to the sender
		}
		if err := errorReply(m, address, reason); err != nil {
			t.Error(err)
		}
		return
	}
}

// threeStations is the show of the fault tests: a booth gateway and three
// stations of two channels (aa, ab, ba, bb, ca, cb; the first of each
// needs an acknowledged standby before its GO).
func threeStations(brokers ...string) showFile {
	return showFile{Brokers: brokers, Gateways: []string{"booth"}, Stations: []string{"a", "b", "c"}, PerStation: 2}
}

// cueOne stands by ab, bb and cb for cue 1 and GOes them with one cue GO.
func (r *showRun) cueOne() {
	r.t.Helper()
	for _, ch := range []string{"ab", "bb", "cb"} {
		r.send("/cuelight/"+ch+"/standby", "1")
	}
	r.waitChannels(map[string]string{"ab": "standby 1", "bb": "standby 1", "cb": "standby 1"})
	r.send("/cuelight/cue/1/go")
	r.waitChannels(map[string]string{"ab": "go 1", "bb": "go 1", "cb": "go 1"})
}

// TestShowBrokerKilled kills Mosquitto (SIGKILL) mid-show and starts it
// again. While it is down the wings still acknowledge on their buttons
// (the events wait in the stations' queues), and a GO sent to the gateway
// cannot be forwarded: it is answered with /cuelight/error and never
// fires later. Once the broker is back every station reconnects, the
// queued events arrive, and the next cue works.
func TestShowBrokerKilled(t *testing.T) {
	t.Parallel()
	m := startPersistentMosquitto(t)
	r := startShow(t, threeStations(m.url()))
	r.cueOne()
	r.send("/cuelight/ba/standby_ack", "2")
	r.send("/cuelight/ca/standby_ack", "2")
	r.waitChannels(map[string]string{"ba": "standby 2", "ca": "standby 2"})
	r.check() // a quiet point: the observer has everything so far

	m.signal(t, syscall.SIGKILL)
	m.wait(t)
	for name, d := range r.stations {
		waitFor(t, name+" to see the broker gone", func() bool { return !d.stats(t).MQTTConnected })
	}
	r.stations["b"].press(t, "GPIO22")
	r.stations["c"].press(t, "GPIO22")
	r.waitChannels(map[string]string{"ba": "ack 2", "ca": "ack 2"})
	// Not through r.send: this GO must never act.
	r.booths[0].send(t, "/cuelight/ba/go", "2")
	waitError(t, r.booths[0], "/cuelight/ba/go", "not connected")

	restarted := time.Now()
	m.restart()
	for name, d := range r.stations {
		waitFor(t, name+" to reconnect", func() bool { return d.stats(t).MQTTConnected })
	}
	t.Logf("broker restarted: every station connected again after %v", time.Since(restarted).Round(10*time.Millisecond))
	syncAll(t, r.booths[0], r.f.allChannels(), "state from its station", notOffline)
	if st := r.stations["b"].channels(t)["ba"]; st.State != "ack" {
		t.Fatalf("ba after the broker came back: %+v, want ack (the GO sent while it was down must not act)", st)
	}
	r.send("/cuelight/cue/2/go")
	r.waitChannels(map[string]string{"ba": "go 2", "ca": "go 2"})
	r.check()
}

// TestShowMainGatewayKilled runs a main and a backup gateway; the booth
// sends every command to both. The main one is killed (SIGKILL) mid-show:
// the backup keeps the show, and no GO fires twice.
func TestShowMainGatewayKilled(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	f := threeStations(m.url())
	f.Gateways = []string{"booth", "booth2"}
	r := startShow(t, f)
	r.cueOne()
	r.ackStandby("ba", "2")

	r.stations["booth"].signal(t, syscall.SIGKILL)
	r.stations["booth"].wait(t)
	r.booths = r.booths[1:] // a UDP socket to a dead port fails its next write
	r.ackStandby("ca", "2")
	r.send("/cuelight/cue/2/go")
	r.waitChannels(map[string]string{"ba": "go 2", "ca": "go 2"})
	syncAll(t, r.booths[0], r.f.allChannels(), "state from its station", notOffline)
	r.check()
}

// TestShowGatewayStartedTwice starts the same gateway station twice (a
// copied SD card, or cuelightd started by hand on a second booth machine
// with --station booth). Both take the same MQTT client id, so the broker
// keeps one connection at a time and the two take turns (docs/mqtt.md):
// a command that reaches the one that is disconnected at that moment is
// answered /cuelight/error "not forwarded", and the booth sends it again.
// The test sends every command to both, again until it is carried out, as
// a booth that reads the errors does: it must never fire a GO twice or
// one that was not sent, nor lose what the stations publish.
func TestShowGatewayStartedTwice(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	r := startShow(t, threeStations(m.url()))
	second := runStation(t, r.path, "booth", "info")
	second.ready(t, patience)
	r.booths = append(r.booths, dialBooth(t, second.oscAddr))

	for _, ch := range []string{"ab", "bb", "cb"} {
		r.sendUntil(map[string]string{ch: "standby 1"}, "/cuelight/"+ch+"/standby", "1")
	}
	r.sendUntil(map[string]string{"ab": "go 1", "bb": "go 1", "cb": "go 1"}, "/cuelight/cue/1/go")
	for _, ch := range []string{"ba", "ca"} {
		r.sendUntil(map[string]string{ch: "standby 2"}, "/cuelight/"+ch+"/standby_ack", "2")
		d := r.stations[r.f.ownerOf(ch)]
		d.press(t, "GPIO22")
		d.waitState(t, ch, "ack", "2")
	}
	r.sendUntil(map[string]string{"ba": "go 2", "ca": "go 2"}, "/cuelight/cue/2/go")
	r.check()
	takeovers := 0
	for _, d := range []*stationProc{r.stations["booth"], second} {
		takeovers += len(d.err.grep("mqtt connection lost"))
		if d.exited() {
			t.Errorf("a booth process exited: status %d", exitCode(d.waitErr))
		}
	}
	t.Logf("%d commands sent (to both processes), %d MQTT connections lost to the other process's takeover", r.sent, takeovers)
}
