package main

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEndToEnd drives one cue the way a show does: oscsend from the booth
// → cuelightd → lamps (GET /api/v1/pins), MQTT state and events at a
// mosquitto_sub, and OSC feedback at oscdump; the ACK comes from the
// wing's button (POST /api/v1/pins/GPIO22/press). Once through a real
// Mosquitto (mqtt.broker: tcp://...), once through the station's embedded
// broker (mqtt.broker: embedded).
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		mosquitto bool
	}{
		{"through Mosquitto", true},
		{"through the embedded broker", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			endToEnd(t, tc.mosquitto)
		})
	}
}

func endToEnd(t *testing.T, useMosquitto bool) {
	dump := startOscdump(t)
	s := show{GoHold: "500ms", Feedback: []string{loopback(dump.port)}}
	var mqttPort int
	if useMosquitto {
		m := startMosquitto(t)
		s.Broker, mqttPort = m.url(), m.port
	}
	d := startDaemon(t, s)
	if !useMosquitto {
		mqttPort = portNum(t, d.show.MQTTListen)
	}
	epoch := d.epoch(t)

	// On connect the station publishes, retained: online, info, and the
	// state of every channel.
	sub := watchStation(t, mqttPort, "fly", "sl")
	late := subscribe(t, mqttPort, "cuelight/#")
	late.wait(t, 0, "retained status online", retainedTopic("cuelight/station/wing/status", "online"))
	info, _ := late.wait(t, 0, "retained info", retainedTopic("cuelight/station/wing/info", nil))
	wantInfo := map[string]any{"version": "dev", "epoch": epoch, "show": "e2e test show", "link": "none", "channels": []any{"fly", "sl"}}
	if !hasFields(info.json(), wantInfo) {
		t.Errorf("info %s\nwant fields %v", info.Payload, wantInfo)
	}
	if !isMillisTime(info.json()["started"]) {
		t.Errorf("info.started %v: want RFC 3339 with milliseconds", info.json()["started"])
	}
	for _, ch := range []string{"fly", "sl"} {
		late.wait(t, 0, "retained state of "+ch, retainedTopic("cuelight/channel/"+ch+"/state", map[string]any{
			"channel": ch, "station": "wing", "state": "off", "label": "", "ack_requested": false, "epoch": epoch,
		}))
	}
	if lit := litLamps(d.lamps(t)); len(lit) > 0 {
		t.Fatalf("lamps lit before any command: %v", lit)
	}
	mark := sub.out.Len()

	// Standby for cue 23, ack requested: the standby lamp flashes.
	oscsend(t, d.oscAddr, "/cuelight/fly/standby_ack", "s", "23")
	_, next := expectChange(t, sub, mark, "fly",
		map[string]any{"state": "standby", "label": "23", "ack_requested": true, "seq": 1, "epoch": epoch},
		map[string]any{"event": "standby", "label": "23", "source": "osc", "seq": 1, "epoch": epoch})
	d.waitPin(t, "GPIO17", true) // flashing: on, then off, then on...
	d.waitPin(t, "GPIO17", false)
	d.waitPin(t, "GPIO17", true)
	if p := d.pins(t)["GPIO27"]; p.Level {
		t.Errorf("go lamp lit in standby: %+v", p)
	}

	// The fly crew presses ACK: steady standby lamp, ack event with ack_ms.
	d.press(t, "GPIO22")
	ev, next := expectChange(t, sub, next, "fly",
		map[string]any{"state": "ack", "label": "23", "ack_requested": true, "seq": 2, "epoch": epoch},
		map[string]any{"event": "ack", "label": "23", "source": "button", "seq": 2, "epoch": epoch})
	if ms, ok := ev.json()["ack_ms"].(float64); !ok || ms < 0 || ms != math.Trunc(ms) {
		t.Errorf("ack event %s: want ack_ms, a whole number of milliseconds", ev.Payload)
	}
	d.waitPin(t, "GPIO17", true)

	// GO, then back to off after go_hold (500ms here).
	oscsend(t, d.oscAddr, "/cuelight/fly/go", "s", "23")
	ev, next = expectChange(t, sub, next, "fly",
		map[string]any{"state": "go", "label": "23", "seq": 3, "epoch": epoch},
		map[string]any{"event": "go", "label": "23", "source": "osc", "seq": 3, "epoch": epoch})
	if _, unwarned := ev.json()["unwarned"]; unwarned {
		t.Errorf("go after ack marked unwarned: %s", ev.Payload)
	}
	expectChange(t, sub, next, "fly",
		map[string]any{"state": "off", "label": "", "ack_requested": false, "seq": 4, "epoch": epoch},
		map[string]any{"event": "off", "label": "23", "seq": 4, "epoch": epoch})
	d.waitState(t, "fly", "off", "")
	if lit := litLamps(d.lamps(t)); len(lit) > 0 {
		t.Errorf("lamps lit after go_hold: %v", lit)
	}

	// Every fly state in order, once; nothing about sl.
	var states, events []string
	for _, m := range sub.messages()[mark:] {
		switch {
		case m.Topic == "cuelight/channel/fly/state":
			states = append(states, m.json()["state"].(string)+"#"+strconv.Itoa(int(m.json()["seq"].(float64))))
		case m.Topic == "cuelight/channel/fly/event":
			events = append(events, m.json()["event"].(string))
		case strings.HasPrefix(m.Topic, "cuelight/channel/"):
			t.Errorf("unexpected message %v", m)
		}
	}
	if got, want := strings.Join(states, " "), "standby#1 ack#2 go#3 off#4"; got != want {
		t.Errorf("fly states on MQTT: %s, want %s", got, want)
	}
	if got, want := strings.Join(events, " "), "standby ack go off"; got != want {
		t.Errorf("fly events on MQTT: %s, want %s", got, want)
	}

	// The feedback target got every change, in order, once.
	want := []string{
		`/cuelight/state/fly/standby s "23"`,
		`/cuelight/state/fly/ack s "23"`,
		`/cuelight/state/fly/go s "23"`,
		`/cuelight/state/fly/off s ""`,
	}
	got := dump.waitMessages(t, len(want))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("oscdump printed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// expectChange waits for a channel's state message, then its event, both
// at or after line from; it returns the event and the line index after
// both.
func expectChange(t *testing.T, sub *mqttSub, from int, ch string, state, event map[string]any) (mqttMsg, int) {
	t.Helper()
	state["channel"], state["station"] = ch, "wing"
	event["channel"], event["station"] = ch, "wing"
	st, n1 := sub.wait(t, from, fmt.Sprint(ch, " state ", state), topicIs("cuelight/channel/"+ch+"/state", state))
	if st.Retained {
		t.Errorf("live state change delivered as retained: %v", st)
	}
	if !isMillisTime(st.json()["since"]) {
		t.Errorf("state.since in %s: want RFC 3339 with milliseconds", st.Payload)
	}
	ev, n2 := sub.wait(t, from, fmt.Sprint(ch, " event ", event), topicIs("cuelight/channel/"+ch+"/event", event))
	if ev.Retained {
		t.Errorf("event delivered as retained: %v", ev)
	}
	if !isMillisTime(ev.json()["at"]) {
		t.Errorf("event.at in %s: want RFC 3339 with milliseconds", ev.Payload)
	}
	return ev, max(n1, n2)
}

// isMillisTime reports whether v is a time in the wire format of docs/protocol.md §4:
// RFC 3339 with exactly three fractional digits.
func isMillisTime(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, err := time.Parse("2006-01-02T15:04:05.000Z07:00", s)
	return err == nil
}

// litLamps lists the outputs that are on.
func litLamps(lamps map[string]bool) []string {
	var lit []string
	for name, on := range lamps {
		if on {
			lit = append(lit, name)
		}
	}
	return lit
}

func portNum(t testing.TB, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
