package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cuelight/cuelight/internal/peertest"
)

// The real peers a show meets: Mosquitto and its clients, liblo's oscsend
// and oscdump. Each helper calls peertest.Need, so a missing program skips
// the test (or fails it under CUELIGHT_REQUIRE_PEERS=1).

// ---------------------------------------------------------------------------
// Mosquitto.

// mosquitto is a real Mosquitto broker on a loopback port, anonymous, no
// persistence, logging everything to its stderr.
type mosquitto struct {
	*proc
	t    *testing.T
	exe  string
	conf string
	port int
}

func startMosquitto(t *testing.T) *mosquitto {
	t.Helper()
	return startMosquittoWith(t, "log_type all\n")
}

// startMosquittoWith runs Mosquitto with extra configuration lines (the
// scale run uses the shipped configuration's set_tcp_nodelay true).
func startMosquittoWith(t *testing.T, extra string) *mosquitto {
	t.Helper()
	m := &mosquitto{t: t, exe: peertest.Need(t, "mosquitto"), conf: filepath.Join(t.TempDir(), "mosquitto.conf")}
	for attempt := 1; ; attempt++ {
		m.port = freePort(t, true, false)
		conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n%s", m.port, extra)
		if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if m.run() {
			return m
		}
		if attempt >= 3 || !addrInUse(m.err.String()) {
			t.Fatalf("mosquitto did not start:\n%s", m.err.String())
		}
	}
}

// run starts mosquitto on m.conf and waits until it runs; false if it
// exited instead.
func (m *mosquitto) run() bool {
	m.t.Helper()
	m.proc = startProc(m.t, nil, m.exe, "-c", m.conf)
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		if m.exited() {
			return false
		}
		if i, _, _ := m.err.find(0, func(s string) bool { return strings.Contains(s, " running") }); i >= 0 {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.t.Fatalf("mosquitto did not report running within %v:\n%s", patience, m.err.String())
	return false
}

// url is the broker URL for the show file.
func (m *mosquitto) url() string { return "tcp://127.0.0.1:" + strconv.Itoa(m.port) }

// stopBroker stops Mosquitto (SIGTERM) and waits until it exited.
func (m *mosquitto) stopBroker() {
	m.t.Helper()
	m.signal(m.t, syscall.SIGTERM)
	m.wait(m.t)
}

// restart starts Mosquitto again on the same port: a restarted broker
// keeps nothing (no persistence). The port came from the kernel's
// ephemeral range (freePort), so while the broker was down another
// program's outgoing connection can hold it as its local port for a
// while (seen once in .ci/run: "Address already in use" 30 ms after the
// stop): that is waited out, within patience.
func (m *mosquitto) restart() {
	m.t.Helper()
	deadline := time.Now().Add(patience)
	for tries := 1; ; tries++ {
		if m.run() {
			if tries > 1 {
				m.t.Logf("mosquitto restarted on port %d at try %d (the port was in use)", m.port, tries)
			}
			return
		}
		if !addrInUse(m.err.String()) || time.Now().After(deadline) {
			m.t.Fatalf("mosquitto did not restart on port %d:\n%s", m.port, m.err.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// mosquitto_sub and mosquitto_pub.

// mqttMsg is one message as mosquitto_sub printed it.
type mqttMsg struct {
	Retained bool
	Topic    string
	Payload  string
}

func (m mqttMsg) String() string {
	r := ""
	if m.Retained {
		r = " (retained)"
	}
	return m.Topic + " " + m.Payload + r
}

// json decodes the payload into a map (nil when it is not a JSON object).
func (m mqttMsg) json() map[string]any {
	var v map[string]any
	if json.Unmarshal([]byte(m.Payload), &v) != nil {
		return nil
	}
	return v
}

// parseSub reads a line printed with -F '%r %t %p'.
func parseSub(line string) (mqttMsg, bool) {
	r, rest, ok := strings.Cut(line, " ")
	if !ok || (r != "0" && r != "1") {
		return mqttMsg{}, false
	}
	topic, payload, _ := strings.Cut(rest, " ")
	return mqttMsg{Retained: r == "1", Topic: topic, Payload: payload}, true
}

// mqttSub is a mosquitto_sub process printing every message under a topic
// filter.
type mqttSub struct {
	*proc
}

// subscribe starts mosquitto_sub on the broker at port. It does not wait
// for the subscription: wait for a message (a retained one, typically).
func subscribe(t *testing.T, port int, filter string) *mqttSub {
	t.Helper()
	exe := peertest.Need(t, "mosquitto_sub")
	return &mqttSub{startProc(t, nil, exe, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-q", "1", "-t", filter, "-F", "%r %t %p")}
}

// watchStation starts a mosquitto_sub on everything under cuelight/ and
// waits until station wing's connect-time messages have arrived: status
// online, info, and the state of each channel given, retained (published
// before the subscription) or not (published after it: the station may
// still be connecting when the subscription is made). From then on the
// broker holds them, and a subscriber started later gets them retained.
func watchStation(t *testing.T, port int, channels ...string) *mqttSub {
	t.Helper()
	s := subscribe(t, port, "cuelight/#")
	s.wait(t, 0, "status online", topicIs("cuelight/station/wing/status", "online"))
	s.wait(t, 0, "info", topicIs("cuelight/station/wing/info", nil))
	for _, ch := range channels {
		s.wait(t, 0, ch+" state", topicIs("cuelight/channel/"+ch+"/state", nil))
	}
	return s
}

// subscribeWhenUp starts mosquitto_sub until one stays connected long
// enough to print a message matching first (a broker that is restarting
// refuses connections, and mosquitto_sub then exits).
func subscribeWhenUp(t *testing.T, port int, filter, what string, first func(mqttMsg) bool) (*mqttSub, mqttMsg) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		s := subscribe(t, port, filter)
		for !s.exited() && time.Now().Before(deadline) {
			if i, line, _ := s.out.find(0, s.matcher(first)); i >= 0 {
				m, _ := parseSub(line)
				return s, m
			}
			time.Sleep(10 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mosquitto_sub saw %s within %v; last one printed:\n%s%s", what, patience, s.out.String(), s.err.String())
		}
		time.Sleep(50 * time.Millisecond) // the broker is not up yet
	}
}

func (s *mqttSub) matcher(match func(mqttMsg) bool) func(string) bool {
	return func(line string) bool {
		m, ok := parseSub(line)
		return ok && match(m)
	}
}

// wait waits for a message at line index ≥ from that matches; it returns
// the message and the index after it.
func (s *mqttSub) wait(t testing.TB, from int, what string, match func(mqttMsg) bool) (mqttMsg, int) {
	t.Helper()
	i, line := s.out.waitLine(t, from, what, s.matcher(match))
	m, _ := parseSub(line)
	return m, i + 1
}

// messages returns every message printed so far.
func (s *mqttSub) messages() []mqttMsg {
	var out []mqttMsg
	for _, line := range s.out.Lines() {
		if m, ok := parseSub(line); ok {
			out = append(out, m)
		}
	}
	return out
}

// topicIs matches a message on topic whose JSON payload has every field of
// want (compared as fmt %v of the decoded value); a nil want matches any
// payload, a string want the payload text.
func topicIs(topic string, want any) func(mqttMsg) bool {
	return func(m mqttMsg) bool {
		if m.Topic != topic {
			return false
		}
		switch w := want.(type) {
		case nil:
			return true
		case string:
			return m.Payload == w
		case map[string]any:
			return hasFields(m.json(), w)
		}
		panic(fmt.Sprintf("topicIs: want of type %T", want))
	}
}

// hasFields reports whether got has every field of want, with the same
// value (compared as fmt %v, so 3 matches the JSON number 3).
func hasFields(got, want map[string]any) bool {
	if got == nil {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || fmt.Sprint(g) != fmt.Sprint(w) {
			return false
		}
	}
	return true
}

// retainedTopic matches a retained message on topic (and fields, as topicIs).
func retainedTopic(topic string, want any) func(mqttMsg) bool {
	is := topicIs(topic, want)
	return func(m mqttMsg) bool { return m.Retained && is(m) }
}

// publish sends one message with mosquitto_pub (QoS 1), optionally
// retained.
func publish(t testing.TB, port int, topic, payload string, retain bool) {
	t.Helper()
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-q", "1", "-t", topic, "-m", payload}
	if retain {
		args = append(args, "-r")
	}
	out, err := exec.Command(peertest.Need(t, "mosquitto_pub"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// command is an MQTT command payload (docs/protocol.md §4).
func command(id, cmd, label string, ts time.Time, ttlMS int) string {
	c := map[string]any{"id": id, "cmd": cmd, "ts": ts.UTC().Format(time.RFC3339Nano)}
	if label != "" {
		c["label"] = label
	}
	if ttlMS != 0 {
		c["ttl_ms"] = ttlMS
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// ---------------------------------------------------------------------------
// liblo: oscsend and oscdump.

// oscsend runs liblo's oscsend: address, then its type tags and arguments
// as oscsend takes them ("s", "23").
func oscsend(t testing.TB, to, address string, typesAndArgs ...string) {
	t.Helper()
	host, port, err := net.SplitHostPort(to)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{host, port, address}, typesAndArgs...)
	out, err := exec.Command(peertest.Need(t, "oscsend"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("oscsend %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// oscDump is liblo's oscdump listening on a loopback UDP port: a feedback
// target.
type oscDump struct {
	*proc
	port int
}

// startOscdump starts oscdump -L on a free port and waits until it prints
// what it receives.
func startOscdump(t *testing.T) *oscDump {
	t.Helper()
	exe := peertest.Need(t, "oscdump")
	for attempt := 1; ; attempt++ {
		port := freePort(t, false, true)
		o := &oscDump{proc: startProc(t, nil, exe, "-L", strconv.Itoa(port)), port: port}
		if o.ready(t) {
			return o
		}
		if attempt >= 3 {
			t.Fatalf("oscdump did not start:\n%s%s", o.out.String(), o.err.String())
		}
	}
}

// ready sends /probe datagrams until oscdump prints one; false if it
// exited (its port was taken).
func (o *oscDump) ready(t *testing.T) bool {
	t.Helper()
	conn, err := net.Dial("udp4", loopback(o.port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	probe := []byte("/probe\x00\x00,\x00\x00\x00")
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		if o.exited() {
			return false
		}
		_, _ = conn.Write(probe)
		if i, _, _ := o.out.find(0, func(s string) bool { return strings.Contains(s, "/probe") }); i >= 0 {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("oscdump on port %d printed no probe within %v", o.port, patience)
	return false
}

// messages returns what oscdump printed, without its time stamps and
// without the probes: "/cuelight/state/fly/standby s \"23\"".
func (o *oscDump) messages() []string {
	var out []string
	for _, line := range o.out.Lines() {
		_, msg, ok := strings.Cut(line, " ") // "eeb47799.d6379b76 /address types args"
		msg = strings.TrimSpace(msg)
		if !ok || strings.HasPrefix(msg, "/probe") {
			continue
		}
		out = append(out, msg)
	}
	return out
}

// waitMessages waits until oscdump printed n messages (probes aside).
func (o *oscDump) waitMessages(t testing.TB, n int) []string {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d messages at oscdump", n), func() bool { return len(o.messages()) >= n })
	return o.messages()
}
