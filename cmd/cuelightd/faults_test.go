package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cuelight/cuelight/internal/testkit"
	"github.com/cuelight/cuelight/osc"
)

// Faults a show meets (issue 4, docs/protocol.md §6): brokers that go away, commands
// that must not act, a killed process, floods, strangers, signals.

// noGo fails the test if any MQTT message reports a GO: a state "go" or a
// "go" event. Nobody sent one in the tests that call it.
func noGo(t *testing.T, subs ...*mqttSub) {
	t.Helper()
	for _, s := range subs {
		for _, m := range s.messages() {
			j := m.json()
			if j["state"] == "go" || j["event"] == "go" {
				t.Errorf("a GO that nobody sent: %v", m)
			}
		}
	}
}

// TestBrokerStoppedAndRestarted stops Mosquitto mid-show: the lamps keep
// following OSC while it is down, and once it is back the station
// republishes online, info and every channel's retained state, and nothing
// fires.
func TestBrokerStoppedAndRestarted(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	d := startDaemon(t, show{Broker: m.url()})
	epoch := d.epoch(t)
	sub := watchStation(t, m.port, "fly", "sl")

	oscsend(t, d.oscAddr, "/cuelight/fly/standby_ack", "s", "1")
	sub.wait(t, 0, "fly standby on MQTT", topicIs("cuelight/channel/fly/state", map[string]any{"state": "standby", "label": "1"}))

	m.stopBroker()
	waitFor(t, "the station to see MQTT down (stats mqtt_connected false)", func() bool { return !d.stats(t).MQTTConnected })

	// While the broker is down, OSC still drives the lamps.
	oscsend(t, d.oscAddr, "/cuelight/sl/standby", "s", "2")
	d.waitPin(t, "GPIO16", true)
	d.waitState(t, "sl", "standby", "2")
	oscsend(t, d.oscAddr, "/cuelight/fly/off")
	d.waitState(t, "fly", "off", "")
	d.waitPin(t, "GPIO17", false)
	oscsend(t, d.oscAddr, "/cuelight/sl/standby", "s", "3")
	d.waitState(t, "sl", "standby", "3")
	if st := d.stats(t); st.MQTTConnected {
		t.Fatalf("stats say MQTT connected with the broker stopped: %+v", st)
	}

	m.restart()
	waitFor(t, "the station to reconnect (stats mqtt_connected true)", func() bool { return d.stats(t).MQTTConnected })
	// A change after the reconnect: once a subscriber has it, everything
	// the station published before it has reached the broker.
	oscsend(t, d.oscAddr, "/cuelight/fly/standby", "s", "9")
	sub2, _ := subscribeWhenUp(t, m.port, "cuelight/#", "fly standby 9", topicIs("cuelight/channel/fly/state", map[string]any{"state": "standby", "label": "9"}))

	// The restarted broker kept nothing: what a new subscriber gets
	// retained was published again by the station.
	sub3 := subscribe(t, m.port, "cuelight/#")
	sub3.wait(t, 0, "retained online", retainedTopic("cuelight/station/wing/status", "online"))
	sub3.wait(t, 0, "retained info", retainedTopic("cuelight/station/wing/info", map[string]any{"epoch": epoch}))
	sub3.wait(t, 0, "retained sl state", retainedTopic("cuelight/channel/sl/state", map[string]any{"state": "standby", "label": "3", "epoch": epoch}))
	sub3.wait(t, 0, "retained fly state", retainedTopic("cuelight/channel/fly/state", map[string]any{"state": "standby", "label": "9", "epoch": epoch}))

	noGo(t, sub, sub2, sub3)
	for ch, st := range d.channels(t) {
		if st.State == "go" {
			t.Errorf("channel %s in go: %+v", ch, st)
		}
	}
	if d.pins(t)["GPIO27"].Level {
		t.Error("fly go lamp lit")
	}
}

// TestMQTTCommandsThatMustNotAct sends a retained, a duplicate and a stale
// command through Mosquitto: none acts, each is a "rejected" event with
// its reason; then a fresh command works.
func TestMQTTCommandsThatMustNotAct(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	now := time.Now()
	// Retained before the station subscribes: Mosquitto replays it to the
	// station's new subscription with the retain flag.
	publish(t, m.port, "cuelight/channel/sl/cmd", command("r1", "standby", "R", now, 600000), true)
	sub := subscribe(t, m.port, "cuelight/#")
	sub.wait(t, 0, "the retained command (subscribed)", retainedTopic("cuelight/channel/sl/cmd", nil))

	d := startDaemon(t, show{Broker: m.url()})
	epoch := d.epoch(t)
	rejected := func(from int, id, reason string) int {
		t.Helper()
		ev, next := sub.wait(t, from, "rejected event for "+id, topicIs("cuelight/channel/sl/event", map[string]any{
			"event": "rejected", "id": id, "channel": "sl", "station": "wing", "source": "mqtt", "epoch": epoch,
		}))
		if r, _ := ev.json()["reason"].(string); !strings.Contains(r, reason) {
			t.Errorf("rejected event %s: reason should contain %q", ev.Payload, reason)
		}
		return next
	}
	next := rejected(0, "r1", "retained")
	if st := d.channels(t)["sl"]; st.State != "off" || st.Seq != 0 {
		t.Errorf("sl after the retained command: %+v, want off, seq 0", st)
	}
	if d.pins(t)["GPIO16"].Level {
		t.Error("sl lamp lit by a retained command")
	}

	// A valid command acts...
	now = time.Now()
	publish(t, m.port, "cuelight/channel/sl/cmd", command("c1", "standby", "40", now, 60000), false)
	sub.wait(t, next, "sl standby 40", topicIs("cuelight/channel/sl/event", map[string]any{"event": "standby", "label": "40", "source": "mqtt", "id": "c1"}))
	d.waitPin(t, "GPIO16", true)
	before := d.channels(t)["sl"]

	// ...its id again does not, whatever it asks.
	mark := sub.out.Len()
	publish(t, m.port, "cuelight/channel/sl/cmd", command("c1", "off", "", time.Now(), 60000), false)
	next = rejected(mark, "c1", "duplicate")
	// A command older than its ttl does not act.
	publish(t, m.port, "cuelight/channel/sl/cmd", command("s1", "off", "", time.Now().Add(-time.Hour), 2000), false)
	next = rejected(next, "s1", "stale")
	if after := d.channels(t)["sl"]; after != before {
		t.Errorf("sl changed by rejected commands: %+v → %+v", before, after)
	}
	if !d.pins(t)["GPIO16"].Level {
		t.Error("sl lamp went dark after rejected commands")
	}
	for _, msg := range sub.messages() {
		if msg.Topic == "cuelight/channel/sl/state" && msg.json()["state"] == "off" && msg.json()["seq"] != 0.0 {
			t.Errorf("a rejected command changed the state: %v", msg)
		}
	}

	// A fresh, valid command works.
	publish(t, m.port, "cuelight/channel/sl/cmd", command("c2", "off", "", time.Now(), 60000), false)
	sub.wait(t, next, "sl off", topicIs("cuelight/channel/sl/state", map[string]any{"state": "off", "seq": before.Seq + 1}))
	d.waitPin(t, "GPIO16", false)
}

// TestKillDuringStandbyThenRestart kills cuelightd with SIGKILL during a
// standby and starts it again on the same show file: it starts dark, fires
// nothing, and publishes every channel "off" with a new epoch. Once with
// Mosquitto (which holds the old retained standby and publishes the Last
// Will), once with the embedded broker (whose child must die with the
// station, or the restart could not listen on its port).
func TestKillDuringStandbyThenRestart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		mosquitto bool
	}{
		{"with Mosquitto", true},
		{"with the embedded broker", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := show{}
			var port int
			if tc.mosquitto {
				m := startMosquitto(t)
				s.Broker, port = m.url(), m.port
			}
			d := startDaemon(t, s)
			if !tc.mosquitto {
				port = portNum(t, d.show.MQTTListen)
			}
			epoch1 := d.epoch(t)
			sub := watchStation(t, port, "fly", "sl")

			oscsend(t, d.oscAddr, "/cuelight/fly/standby_ack", "s", "5")
			oscsend(t, d.oscAddr, "/cuelight/sl/standby", "s", "6")
			sub.wait(t, 0, "fly standby", topicIs("cuelight/channel/fly/state", map[string]any{"state": "standby", "label": "5"}))
			sub.wait(t, 0, "sl standby", topicIs("cuelight/channel/sl/state", map[string]any{"state": "standby", "label": "6"}))
			d.waitPin(t, "GPIO16", true)

			d.signal(t, syscall.SIGKILL)
			if code := d.wait(t); code != 128+int(syscall.SIGKILL) {
				t.Fatalf("exit status %d, want killed", code)
			}
			if tc.mosquitto {
				sub.wait(t, 0, "the Last Will", topicIs("cuelight/station/wing/status", "offline"))
			}

			d2 := runDaemon(t, d.show, d.showPath)
			if err := d2.waitReady(); err != nil {
				t.Fatalf("restart on the same show file: %v\n%s", err, d2.err.String())
			}
			if lit := litLamps(d2.lamps(t)); len(lit) > 0 {
				t.Errorf("lamps lit right after the restart: %v", lit)
			}
			epoch2 := d2.epoch(t)
			if epoch2 == epoch1 {
				t.Errorf("the restarted station kept epoch %s", epoch1)
			}
			for ch, st := range d2.channels(t) {
				if st.State != "off" || st.Label != "" || st.Seq != 0 {
					t.Errorf("after restart %s is %+v, want off", ch, st)
				}
			}
			sub2, _ := subscribeWhenUp(t, port, "cuelight/#", "fly off in the new epoch",
				topicIs("cuelight/channel/fly/state", map[string]any{"state": "off", "epoch": epoch2}))
			sub2.wait(t, 0, "sl off in the new epoch", topicIs("cuelight/channel/sl/state", map[string]any{"state": "off", "label": "", "epoch": epoch2}))
			sub2.wait(t, 0, "online", topicIs("cuelight/station/wing/status", "online"))
			// What the broker now holds, retained: the new epoch's states
			// replaced the standbys of the killed run.
			late := subscribe(t, port, "cuelight/#")
			late.wait(t, 0, "retained online", retainedTopic("cuelight/station/wing/status", "online"))
			late.wait(t, 0, "retained fly off", retainedTopic("cuelight/channel/fly/state", map[string]any{"state": "off", "label": "", "seq": 0, "epoch": epoch2}))
			late.wait(t, 0, "retained sl off", retainedTopic("cuelight/channel/sl/state", map[string]any{"state": "off", "label": "", "seq": 0, "epoch": epoch2}))
			// A barrier: a change made now reaches the subscriber after
			// anything the restarted station published before it.
			oscsend(t, d2.oscAddr, "/cuelight/sl/off")
			oscsend(t, d2.oscAddr, "/cuelight/sl/standby", "s", "7")
			sub2.wait(t, 0, "sl standby 7", topicIs("cuelight/channel/sl/state", map[string]any{"state": "standby", "label": "7", "seq": 1, "epoch": epoch2}))
			noGo(t, sub, sub2, late)
		})
	}
}

// malformed are datagrams no OSC parser may accept, of many kinds.
func malformed() [][]byte {
	valid, _ := osc.NewMessage("/cuelight/sl/go", osc.String("1")).AppendBinary(nil)
	le := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	kinds := [][]byte{
		[]byte("hello, cue lights"), // not OSC at all
		valid[:len(valid)-3],        // truncated mid-argument
		valid[:5],                   // truncated mid-address
		[]byte("/cuelight/sl/go\x00,s\x00\x0023\x00"),                           // misaligned
		[]byte("/cuelight/sl/go\x00xyz\x00"),                                    // type tags without ','
		[]byte("/cuelight/sl/go\x00,i\x00\x00"),                                 // int32 announced, missing
		[]byte("/cuelight/sl/go\x00,Q\x00\x00"),                                 // unknown type tag
		[]byte("/cuelight/sl/go\x00,s\x00\x00abcd"),                             // string without terminator
		[]byte("/cuelight/sl/go\x00,[i\x00\x00\x00\x01"),                        // unclosed array
		append([]byte("#bundle\x00\x00\x00\x00\x00"), 0),                        // short time tag
		append(append([]byte("#bundle\x00"), make([]byte, 8)...), le(1<<20)...), // element longer than the packet
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		b := make([]byte, 4+r.IntN(60))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		b[0] = '/' + 1 // neither an address nor a bundle
		kinds = append(kinds, b)
	}
	return kinds
}

// TestMalformedFloodThenGo sends 10,000 malformed datagrams, then one GO:
// the GO is processed and /api/v1/stats counts every malformed one. The
// datagrams go in batches, each sent only once the station has counted
// the previous ones, so that no kernel buffer drops any and the count can
// be exact.
func TestMalformedFloodThenGo(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, show{})
	conn, err := net.Dial("udp4", d.oscAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const total, batch = 10000, 100
	kinds := malformed()
	for sent := 0; sent < total; {
		for range batch {
			if _, err := conn.Write(kinds[sent%len(kinds)]); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		waitFor(t, fmt.Sprintf("%d malformed counted", sent), func() bool { return d.stats(t).OSC.Malformed >= uint64(sent) })
	}
	b := dialBooth(t, d.oscAddr)
	b.send(t, "/cuelight/sl/go")
	if got, want := b.receive(t, "the GO's feedback").String(), `/cuelight/state/sl/go ,s ""`; got != want {
		t.Errorf("reply %s, want %s", got, want)
	}
	d.waitState(t, "sl", "go", "")
	d.waitPin(t, "GPIO16", true) // a one-lamp GO: fast flash
	st := d.stats(t)
	if st.OSC.Malformed != total {
		t.Errorf("stats count %d malformed, want %d", st.OSC.Malformed, total)
	}
	if st.OSC.Received != total+1 || st.OSCCommands != 1 {
		t.Errorf("stats: received %d, commands %d; want %d and 1", st.OSC.Received, st.OSCCommands, total+1)
	}
}

// TestOSCFromOutsideAllow allows only 127.0.0.2 and sends from 127.0.0.1:
// a valid command, a malformed datagram and a TCP connection are dropped
// before parsing (neither received nor malformed), counted as rejected,
// and change nothing. The same command from 127.0.0.2 works.
func TestOSCFromOutsideAllow(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, show{Allow: []string{"127.0.0.2/32"}})
	stranger := dialFrom(t, "127.0.0.1", d.oscAddr)
	stranger.write(t, encode(t, message("/cuelight/sl/standby", "1")))
	stranger.write(t, []byte("not OSC"))
	if c, err := osc.DialTCP(d.oscAddr, osc.LengthPrefix); err == nil {
		_ = c.Send(message("/cuelight/sl/standby", "1"))
		c.Close()
	}
	waitFor(t, "3 rejected in stats", func() bool { return d.stats(t).OSC.Rejected >= 3 })
	st := d.stats(t)
	if st.OSC.Rejected != 3 || st.OSC.Received != 0 || st.OSC.Malformed != 0 {
		t.Errorf("stats %+v: want 3 rejected, none received or malformed", st.OSC)
	}
	if s := d.channels(t)["sl"]; s.State != "off" || s.Seq != 0 {
		t.Errorf("sl changed by a stranger: %+v", s)
	}

	booth := dialFrom(t, "127.0.0.2", d.oscAddr)
	booth.write(t, encode(t, message("/cuelight/sl/standby", "1")))
	if got, want := booth.receive(t, "feedback to 127.0.0.2").String(), `/cuelight/state/sl/standby ,s "1"`; got != want {
		t.Errorf("reply %s, want %s", got, want)
	}
	d.waitPin(t, "GPIO16", true)
	if st := d.stats(t); st.OSC.Rejected != 3 || st.OSC.Received != 1 {
		t.Errorf("stats %+v: want 3 rejected, 1 received", st.OSC)
	}
}

// TestSIGTERMDuringStandby stops cuelightd with SIGTERM during a standby
// (docs/protocol.md §6.5): it exits 0 within 2 s, the lamps go dark, and the station
// itself publishes "offline", retained, before a clean MQTT disconnect.
// Once with Mosquitto, once with the embedded broker (whose child the
// station stops too, within the same 2 s).
func TestSIGTERMDuringStandby(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		mosquitto bool
		cgroup    bool
	}{
		{"with Mosquitto", true, false},
		{"with the embedded broker", false, false},
		// systemd's default KillMode=control-group signals every process
		// of the service at once: the broker child too.
		{"with the embedded broker, signal to the whole control group", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sigtermDuringStandby(t, tc.mosquitto, tc.cgroup)
		})
	}
}

// brokerChildPID is the pid of the embedded broker's child, from the
// station's log.
func brokerChildPID(t *testing.T, d *stationProc) int {
	t.Helper()
	re := regexp.MustCompile(`embedded broker ready.* pid=(\d+)`)
	_, line := d.err.waitLine(t, 0, "the broker child's pid", re.MatchString)
	pid, err := strconv.Atoi(re.FindStringSubmatch(line)[1])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func sigtermDuringStandby(t *testing.T, useMosquitto, cgroup bool) {
	var m *mosquitto
	s := show{}
	if useMosquitto {
		m = startMosquitto(t)
		s.Broker = m.url()
	}
	d := startDaemon(t, s)
	var port int
	if useMosquitto {
		port = m.port
	} else {
		port = portNum(t, d.show.MQTTListen)
	}
	sub := watchStation(t, port, "fly", "sl")
	oscsend(t, d.oscAddr, "/cuelight/fly/standby_ack", "s", "7")
	oscsend(t, d.oscAddr, "/cuelight/sl/standby", "s", "8")
	sub.wait(t, 0, "sl standby", topicIs("cuelight/channel/sl/state", map[string]any{"state": "standby", "label": "8"}))
	d.waitPin(t, "GPIO16", true)
	mark := d.err.Len()

	child := 0
	if cgroup {
		child = brokerChildPID(t, d)
	}
	sent := time.Now()
	d.signal(t, syscall.SIGTERM)
	if child != 0 {
		if err := syscall.Kill(child, syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM to the broker child %d: %v", child, err)
		}
	}
	code := d.wait(t)
	took := time.Since(sent)
	if code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	if took >= 2*time.Second {
		t.Errorf("took %v from SIGTERM to exit, want < 2 s (docs/protocol.md §6.5)", took)
	}
	t.Logf("SIGTERM to exit: %v", took)

	// The outputs were halted (the sim board is inside the process: its
	// log line says so), before the MQTT link closed.
	halted, _ := d.err.waitLine(t, mark, "outputs halted", func(s string) bool { return strings.Contains(s, "stopping: outputs halted") })
	closed, _ := d.err.waitLine(t, halted, "MQTT closed after the outputs", func(s string) bool { return strings.Contains(s, "mqtt link closed") })
	if !useMosquitto {
		// The embedded broker stops with the station, after the link
		// closed, and after passing on what it had accepted: a live
		// subscriber gets "offline" and the final states.
		d.err.waitLine(t, closed, "the broker child stopped after the link", func(s string) bool { return strings.Contains(s, "embedded broker stopped") })
		if !cgroup { // a SIGTERM to the child itself may cut it short
			sub.wait(t, 0, "sl off", topicIs("cuelight/channel/sl/state", map[string]any{"state": "off"}))
			sub.wait(t, 0, "offline", topicIs("cuelight/station/wing/status", "offline"))
		}
		return
	}
	sub.wait(t, 0, "offline", topicIs("cuelight/station/wing/status", "offline"))

	late := subscribe(t, m.port, "cuelight/#")
	late.wait(t, 0, "retained offline", retainedTopic("cuelight/station/wing/status", "offline"))
	// Nothing pending survives the stop: the retained states say off
	// (the lamps are dark), not the standbys that were running.
	late.wait(t, 0, "retained fly off", retainedTopic("cuelight/channel/fly/state", map[string]any{"state": "off", "label": ""}))
	late.wait(t, 0, "retained sl off", retainedTopic("cuelight/channel/sl/state", map[string]any{"state": "off", "label": ""}))
	// It was the station's own "offline" (a retained QoS 1 publish of 7
	// bytes) and a clean DISCONNECT, not the broker's Last Will.
	pub := regexp.MustCompile(`Received PUBLISH from (\S+) \(d0, q1, r1, m\d+, 'cuelight/station/wing/status', \.\.\. \(7 bytes\)\)`)
	_, line := m.err.waitLine(t, 0, "the station's offline publish at Mosquitto", pub.MatchString)
	id := pub.FindStringSubmatch(line)[1]
	m.err.waitLine(t, 0, "a clean disconnect of "+id, func(s string) bool { return strings.HasSuffix(s, "Received DISCONNECT from "+id) })
}

// TestEmbeddedBrokerCrash crashes the station's embedded broker with the
// packet that makes mochi v2.7.9 panic: the station keeps obeying OSC, the
// broker comes back, and a new subscriber sees the retained state.
func TestEmbeddedBrokerCrash(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, show{})
	port := portNum(t, d.show.MQTTListen)
	sub := watchStation(t, port, "fly", "sl")
	mark := d.err.Len()

	conn, err := net.DialTimeout("tcp", d.show.MQTTListen, patience)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(patience))
	if _, err := conn.Write(testkit.ConnectV5); err != nil {
		t.Fatal(err)
	}
	connack := make([]byte, 2)
	if _, err := io.ReadFull(conn, connack); err != nil || connack[0] != 0x20 {
		t.Fatalf("CONNACK % x: %v", connack, err)
	}
	if _, err := io.ReadFull(conn, make([]byte, connack[1])); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(testkit.TruncatedSubscribe); err != nil {
		t.Fatal(err)
	}
	// The child's panic reaches the station's log.
	d.err.waitLine(t, mark, "the broker child's crash in the station's log", func(s string) bool { return strings.Contains(s, "index out of range") })

	// The station goes on obeying OSC.
	oscsend(t, d.oscAddr, "/cuelight/sl/standby", "s", "11")
	d.waitPin(t, "GPIO16", true)
	d.waitState(t, "sl", "standby", "11")
	if d.exited() {
		t.Fatal("cuelightd died with its broker")
	}

	// The broker comes back and the station republishes there.
	waitFor(t, "broker_restarts ≥ 1", func() bool { return d.stats(t).BrokerRestarts >= 1 })
	waitFor(t, "the station to reconnect", func() bool { return d.stats(t).MQTTConnected })
	oscsend(t, d.oscAddr, "/cuelight/fly/standby", "s", "12")
	subscribeWhenUp(t, port, "cuelight/#", "fly standby 12", topicIs("cuelight/channel/fly/state", map[string]any{"state": "standby", "label": "12"}))
	late := subscribe(t, port, "cuelight/#")
	late.wait(t, 0, "retained online", retainedTopic("cuelight/station/wing/status", "online"))
	late.wait(t, 0, "retained sl standby 11", retainedTopic("cuelight/channel/sl/state", map[string]any{"state": "standby", "label": "11"}))
	late.wait(t, 0, "retained fly standby 12", retainedTopic("cuelight/channel/fly/state", map[string]any{"state": "standby", "label": "12"}))
	noGo(t, sub, late)
}

// TestCommandsForAnotherStation sends commands for channel sr, which
// belongs to station "right" of the same show: no error reply, nothing
// changes here. A pattern or a comma list naming sr and a channel of this
// station acts on this station's channel only.
func TestCommandsForAnotherStation(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t) // two stations cannot share a loopback embedded broker
	d := startDaemon(t, show{Broker: m.url(), Right: true})
	sub := watchStation(t, m.port, "fly", "sl")
	b := dialBooth(t, d.oscAddr)

	for _, c := range []struct{ address, label string }{
		{"/cuelight/sr/standby", "1"},
		{"/cuelight/sr/standby_ack", "1"},
		{"/cuelight/sr/go", "1"},
		{"/cuelight/sr/force_go", ""},
		{"/cuelight/sr/off", ""},
		{"/cuelight/sr/ack", ""},
		{"/cuelight/s[r]/standby", "1"},
	} {
		if c.label != "" {
			b.send(t, c.address, c.label)
		} else {
			b.send(t, c.address)
		}
	}
	// /cuelight/sync is answered by the cue loop, in order after the
	// commands before it: its replies (one per channel here) come right
	// after anything those commands caused.
	b.send(t, "/cuelight/sync")
	if got, want := texts(b.receiveN(t, 2)), "/cuelight/state/fly/off ,s \"\"\n/cuelight/state/sl/off ,s \"\""; got != want {
		t.Errorf("replies to commands for another station's channel, then sync:\n%s\nwant only the sync:\n%s", got, want)
	}

	b.send(t, "/cuelight/sl,sr/standby", "2")
	b.send(t, "/cuelight/sync")
	if got, want := texts(b.receiveN(t, 3)), "/cuelight/state/sl/standby ,s \"2\"\n/cuelight/state/fly/off ,s \"\"\n/cuelight/state/sl/standby ,s \"2\""; got != want {
		t.Errorf("replies to /cuelight/sl,sr/standby, then sync:\n%s\nwant:\n%s", got, want)
	}
	b.send(t, "/cuelight/s?/off")
	b.send(t, "/cuelight/sync")
	if got, want := texts(b.receiveN(t, 3)), "/cuelight/state/sl/off ,s \"\"\n/cuelight/state/fly/off ,s \"\"\n/cuelight/state/sl/off ,s \"\""; got != want {
		t.Errorf("replies to /cuelight/s?/off, then sync:\n%s\nwant:\n%s", got, want)
	}

	chans := d.channels(t)
	if _, ok := chans["sr"]; ok || len(chans) != 2 {
		t.Errorf("channels here: %v, want fly and sl only", chans)
	}
	if chans["fly"].Seq != 0 || chans["sl"].Seq != 2 {
		t.Errorf("channels changed: %+v", chans)
	}
	sub.wait(t, 0, "sl off", topicIs("cuelight/channel/sl/state", map[string]any{"state": "off", "seq": 2}))
	for _, msg := range sub.messages() {
		if strings.HasPrefix(msg.Topic, "cuelight/channel/sr/") {
			t.Errorf("station wing reported on sr: %v", msg)
		}
	}
	if _, ok := d.pins(t)["GPIO12"]; ok {
		t.Error("station wing opened sr's pins")
	}
}

// TestOSCErrors sends what must be answered with /cuelight/error ,ss
// <address> <reason>: unknown channels and commands, bad arguments, and a
// GO refused by go_requires_ack (also a "refused" event on MQTT); nothing
// changes.
func TestOSCErrors(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, show{})
	sub := watchStation(t, portNum(t, d.show.MQTTListen), "fly", "sl")
	epoch := d.epoch(t)
	b := dialBooth(t, d.oscAddr)

	for _, c := range []struct {
		name    string
		msg     *osc.Message
		address string
		reason  string
	}{
		{"unknown channel", message("/cuelight/nosuch/standby", "1"), "/cuelight/nosuch/standby", "no channel nosuch"},
		{"unknown channel in a list", message("/cuelight/xx,yy/go"), "/cuelight/xx,yy/go", "no channel"},
		{"unknown command", message("/cuelight/sl/frobnicate"), "/cuelight/sl/frobnicate", "unknown command"},
		{"brightness without a number", message("/cuelight/sl/brightness", "bright"), "/cuelight/sl/brightness", "brightness needs one number"},
		{"brightness with two numbers", osc.NewMessage("/cuelight/sl/brightness", osc.Float32(0.5), osc.Float32(1)), "/cuelight/sl/brightness", "brightness needs one number"},
		{"cue go without a label", message("/cuelight/cue/go"), "/cuelight/cue/go", "label"},
		{"unknown show-wide command", message("/cuelight/all/panic"), "/cuelight/all/panic", "hold or release"},
		{"unknown address", message("/cuelight/sl/go/now"), "/cuelight/sl/go/now", "unknown address"},
	} {
		b.Send(c.msg)
		if err := errorReply(b.receive(t, c.name), c.address, c.reason); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	for ch, st := range d.channels(t) {
		if st.Seq != 0 {
			t.Errorf("%s changed by bad commands: %+v", ch, st)
		}
	}

	// fly needs an ACK before GO: a GO in standby is refused.
	b.send(t, "/cuelight/fly/standby", "9")
	if got, want := b.receive(t, "standby feedback").String(), `/cuelight/state/fly/standby ,s "9"`; got != want {
		t.Fatalf("reply %s, want %s", got, want)
	}
	mark := sub.out.Len()
	b.send(t, "/cuelight/fly/go", "9")
	got := b.replies(t, "/cuelight/error")
	if err := errorReply(got[len(got)-1], "/cuelight/fly/go", ""); err != nil {
		t.Error(err)
	}
	for _, r := range got[:len(got)-1] {
		if r.String() != `/cuelight/state/fly/standby ,s "9"` {
			t.Errorf("reply %s to a refused GO", r)
		}
	}
	ev, _ := sub.wait(t, mark, "refused event", topicIs("cuelight/channel/fly/event", map[string]any{
		"event": "refused", "channel": "fly", "station": "wing", "label": "9", "source": "osc", "epoch": epoch,
	}))
	if r, _ := ev.json()["reason"].(string); r == "" {
		t.Errorf("refused event without a reason: %s", ev.Payload)
	}
	if st := d.channels(t)["fly"]; st.State != "standby" || st.Label != "9" || st.Seq != 1 {
		t.Errorf("fly after the refused GO: %+v, want standby 9, seq 1", st)
	}
	if d.pins(t)["GPIO27"].Level {
		t.Error("fly go lamp lit by a refused GO")
	}
	noGo(t, sub)
}

// TestReload sends SIGHUP: with an invalid show file the running show
// goes on untouched and the error is logged; with a valid, changed file
// the new show runs (a renamed channel).
func TestReload(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, show{})
	epoch := d.epoch(t)
	oscsend(t, d.oscAddr, "/cuelight/sl/standby", "s", "3")
	d.waitPin(t, "GPIO16", true)
	d.waitState(t, "sl", "standby", "3")

	// Invalid: a pin used twice.
	bad := d.show
	bad.SL = "sl"
	bad.render(t, d.showPath)
	text := readFile(t, d.showPath)
	writeFileAtomic(t, d.showPath, []byte(strings.Replace(text, "standby_lamp: GPIO16", "standby_lamp: GPIO17", 1)))
	mark := d.err.Len()
	d.signal(t, syscall.SIGHUP)
	_, line := d.err.waitLine(t, mark, "reload refused in the log", func(s string) bool { return strings.Contains(s, "reload refused") })
	if !strings.Contains(line, "GPIO17") || !strings.Contains(line, "level=ERROR") {
		t.Errorf("log line %q: want an error naming the problem (GPIO17)", line)
	}
	if d.exited() {
		t.Fatal("cuelightd exited on a bad reload")
	}
	if st := d.channels(t)["sl"]; st.State != "standby" || st.Label != "3" || st.Epoch != epoch {
		t.Errorf("sl after a refused reload: %+v, want standby 3 in epoch %s", st, epoch)
	}
	if !d.pins(t)["GPIO16"].Level {
		t.Error("sl lamp went dark on a refused reload")
	}
	oscsend(t, d.oscAddr, "/cuelight/fly/standby", "s", "4")
	d.waitState(t, "fly", "standby", "4")

	// Valid and changed: sl is now called left.
	good := d.show
	good.SL = "left"
	good.render(t, d.showPath)
	d.signal(t, syscall.SIGHUP)
	waitFor(t, "channel left in GET /api/v1/channels", func() bool {
		var body struct{ Channels []stateJSON }
		if d.tryGet("/api/v1/channels", &body) != nil {
			return false // the web listener restarts with the station
		}
		return len(body.Channels) == 2 && body.Channels[1].Channel == "left"
	})
	if err := d.waitReady(); err != nil {
		t.Fatal(err)
	}
	if e := d.epoch(t); e == epoch {
		t.Errorf("the new show runs in the old epoch %s", e)
	}
	if lit := litLamps(d.lamps(t)); len(lit) > 0 {
		t.Errorf("lamps lit after the reload: %v (a new show starts dark)", lit)
	}
	b := dialBooth(t, d.oscAddr)
	b.send(t, "/cuelight/left/standby", "5")
	if got, want := b.receive(t, "left standby").String(), `/cuelight/state/left/standby ,s "5"`; got != want {
		t.Errorf("reply %s, want %s", got, want)
	}
	d.waitPin(t, "GPIO16", true)
	b.send(t, "/cuelight/sl/standby", "5")
	if err := errorReply(b.receive(t, "error for the old name"), "/cuelight/sl/standby", "no channel sl"); err != nil {
		t.Error(err)
	}
}
