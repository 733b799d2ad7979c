package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/cuelight/cuelight/internal/peertest"
	"github.com/cuelight/cuelight/osc"
)

// TestBrokerDownAtStart starts cuelightd while its outside broker is not
// running: the station becomes ready anyway and lamps follow OSC (MQTT is
// never on the cue path); once Mosquitto starts, the station connects and
// publishes its retained state, including the change made meanwhile.
func TestBrokerDownAtStart(t *testing.T) {
	t.Parallel()
	m := &mosquitto{t: t, exe: peertest.Need(t, "mosquitto"), conf: t.TempDir() + "/mosquitto.conf", port: freePort(t, true, false)}
	d := startDaemon(t, show{Broker: m.url()})
	if st := d.stats(t); st.MQTTConnected {
		t.Fatalf("stats say MQTT connected with no broker: %+v", st)
	}
	oscsend(t, d.oscAddr, "/cuelight/sl/standby", "s", "1")
	d.waitPin(t, "GPIO16", true)
	d.waitState(t, "sl", "standby", "1")

	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n", m.port)
	if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if !m.run() {
		t.Skipf("port %d was taken meanwhile; cannot start Mosquitto there:\n%s", m.port, m.err.String())
	}
	waitFor(t, "the station to connect", func() bool { return d.stats(t).MQTTConnected })
	oscsend(t, d.oscAddr, "/cuelight/fly/standby", "s", "2")
	subscribeWhenUp(t, m.port, "cuelight/#", "fly standby 2", topicIs("cuelight/channel/fly/state", map[string]any{"state": "standby", "label": "2"}))
	late := subscribe(t, m.port, "cuelight/#")
	late.wait(t, 0, "retained online", retainedTopic("cuelight/station/wing/status", "online"))
	late.wait(t, 0, "retained sl standby 1", retainedTopic("cuelight/channel/sl/state", map[string]any{"state": "standby", "label": "1"}))
	late.wait(t, 0, "retained fly standby 2", retainedTopic("cuelight/channel/fly/state", map[string]any{"state": "standby", "label": "2"}))
}

// TestOSCOverTCP sends commands over TCP in both framings (OSC 1.0 length
// prefix, OSC 1.1 SLIP) on the station's one OSC port: the feedback comes
// back on the same connection, in the framing the sender used.
func TestOSCOverTCP(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, show{})
	for _, c := range []struct {
		name    string
		framing osc.Framing
		channel string
	}{
		{"length prefix", osc.LengthPrefix, "fly"},
		{"SLIP", osc.SLIP, "sl"},
	} {
		client, err := osc.DialTCP(d.oscAddr, c.framing)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		b := booth{client}
		b.send(t, "/cuelight/"+c.channel+"/standby", "T")
		if got, want := b.receive(t, c.name+" feedback").String(), `/cuelight/state/`+c.channel+`/standby ,s "T"`; got != want {
			t.Errorf("%s: reply %s, want %s", c.name, got, want)
		}
		b.send(t, "/cuelight/nosuch/go")
		if err := errorReply(b.receive(t, c.name+" error"), "/cuelight/nosuch/go", "no channel nosuch"); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	d.waitState(t, "fly", "standby", "T")
	d.waitState(t, "sl", "standby", "T")
}

// TestWebAPI checks the sim board API's answers to what a browser, curl
// or a typo sends (docs/protocol.md §7; malformed HTTP never hurts the station, §6.4).
func TestWebAPI(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, show{})
	req := func(method, path, body string) (int, string) {
		t.Helper()
		r, err := http.NewRequest(method, d.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := httpClient.Do(r)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// Every pin of the station, with its channel and role.
	want := map[string]string{
		"GPIO17": "fly standby_lamp", "GPIO27": "fly go_lamp", "GPIO22": "fly ack_button",
		"GPIO16": "sl standby_lamp", "GPIO20": "sl ack_button",
	}
	pins := d.pins(t)
	if len(pins) != len(want) {
		t.Errorf("GET /api/v1/pins: %d pins, want %d: %v", len(pins), len(want), pins)
	}
	for name, w := range want {
		if p := pins[name]; p.Channel+" "+p.Role != w || p.Level {
			t.Errorf("pin %s: %+v, want %s, not lit", name, p, w)
		}
	}

	for _, c := range []struct {
		name, method, path, body string
		code                     int
		says                     string
	}{
		{"health", "GET", "/healthz", "", 200, "ok"},
		{"press an unknown pin", "POST", "/api/v1/pins/GPIO99/press", "", 404, "GPIO99"},
		{"press a lamp", "POST", "/api/v1/pins/GPIO17/press", "", 400, "error"},
		{"level without a body", "POST", "/api/v1/pins/GPIO22", "", 400, `body must be`},
		{"level as text", "POST", "/api/v1/pins/GPIO22", `{"level":"on"}`, 400, `body must be`},
		{"level with an unknown field", "POST", "/api/v1/pins/GPIO22", `{"level":true,"x":1}`, 400, `body must be`},
		{"level, not JSON", "POST", "/api/v1/pins/GPIO22", "\x00\xff{", 400, `body must be`},
		{"GET on press", "GET", "/api/v1/pins/GPIO22/press", "", 405, ""},
		{"no such endpoint", "GET", "/api/v1/nothing", "", 404, ""},
	} {
		code, body := req(c.method, c.path, c.body)
		if code != c.code || !strings.Contains(body, c.says) {
			t.Errorf("%s: %s %s → %d %q, want %d and %q", c.name, c.method, c.path, code, body, c.code, c.says)
		}
	}

	// Holding the ack button down (as a stuck or held button would be)
	// acknowledges the standby.
	oscsend(t, d.oscAddr, "/cuelight/fly/standby_ack", "s", "31")
	d.waitState(t, "fly", "standby", "31")
	if code, body := req("POST", "/api/v1/pins/GPIO22", `{"level":true}`); code != 204 {
		t.Fatalf("hold the ack button: %d %s", code, body)
	}
	d.waitPin(t, "GPIO22", true)
	d.waitState(t, "fly", "ack", "31")
	if code, body := req("POST", "/api/v1/pins/GPIO22", `{"level":false}`); code != 204 {
		t.Fatalf("release the ack button: %d %s", code, body)
	}
	d.waitPin(t, "GPIO22", false)
}
