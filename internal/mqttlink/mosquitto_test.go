package mqttlink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cuelight/cuelight/internal/peertest"
)

// Tests against a real Mosquitto broker and Mosquitto's own clients.

// mosquitto is one broker process on a port of its own.
type mosquitto struct {
	t    testing.TB
	bin  string
	conf string
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startMosquitto(t testing.TB) *mosquitto {
	t.Helper()
	bin := peertest.Need(t, "mosquitto")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	// persistence false (the default): a restart forgets retained messages,
	// so what is retained afterwards was published again.
	body := "listener " + port + " 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &mosquitto{t: t, bin: bin, conf: conf, addr: addr}
	m.start()
	t.Cleanup(m.kill)
	return m
}

func (m *mosquitto) url() string { return "tcp://" + m.addr }

// start runs the broker and waits until it accepts connections.
func (m *mosquitto) start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	m.cmd.Stderr = os.Stderr
	if err := m.cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	m.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(m.cmd, m.done)
	deadline := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("tcp", m.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-m.done:
			m.t.Fatalf("mosquitto exited at start (port %s taken?)", m.addr)
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto does not accept connections on %s: %v", m.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the broker abruptly (SIGKILL) and waits for it.
func (m *mosquitto) kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.done
	m.cmd = nil
}

// mosquittoSub runs mosquitto_sub -v on filter (under cuelight/) and
// delivers its lines ("topic payload"). It returns once mosquitto_sub is
// subscribed: it waits for a retained probe published before it started.
func mosquittoSub(t *testing.T, m *mosquitto, filter string) <-chan string {
	t.Helper()
	probe := fmt.Sprintf("cuelight/test-probe/%d", time.Now().UnixNano())
	mosquittoPub(t, m, probe, "p", true)
	bin := peertest.Need(t, "mosquitto_sub")
	_, port, _ := net.SplitHostPort(m.addr)
	cmd := exec.Command(bin, "-h", "127.0.0.1", "-p", port, "-q", "1", "-v", "-t", filter)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expectLine(t, lines, probe+" p")
	return lines
}

// expectLine waits for a mosquitto_sub line with the given prefix.
func expectLine(t *testing.T, lines <-chan string, prefix string) string {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("mosquitto_sub ended before %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("mosquitto_sub printed no line starting %q within %s", prefix, wait)
			return ""
		}
	}
}

// mosquittoPub publishes one message with mosquitto_pub at QoS 1.
func mosquittoPub(t *testing.T, m *mosquitto, topic, payload string, retain bool) {
	t.Helper()
	bin := peertest.Need(t, "mosquitto_pub")
	_, port, _ := net.SplitHostPort(m.addr)
	args := []string{"-h", "127.0.0.1", "-p", port, "-q", "1", "-t", topic}
	if payload == "" {
		args = append(args, "-n")
	} else {
		args = append(args, "-m", payload)
	}
	if retain {
		args = append(args, "-r")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub %v: %v: %s", args, err, out)
	}
}

func TestMosquittoEssentials(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	lines := mosquittoSub(t, m, "cuelight/#")
	st := newStation("sl-wing", "fly", "sl")

	// A retained command already on the broker when the station subscribes.
	mosquittoPub(t, m, "cuelight/channel/fly/cmd", cmdNow("r1", "go", "stored"), true)

	p := newProxy(t, m.addr, true)
	l := startLink(t, p.url(), st, "sl-wing", nil)
	waitStatus(t, l, true)

	// mosquitto_sub, a real client, sees the station's retained set.
	expectLine(t, lines, "cuelight/station/sl-wing/status online")
	info := expectLine(t, lines, "cuelight/station/sl-wing/info ")
	if !strings.Contains(info, `"epoch":"ep1"`) || !strings.Contains(info, `"client_id":"cuelight-sl-wing"`) {
		t.Fatalf("info line: %s", info)
	}
	expectLine(t, lines, `cuelight/channel/fly/state {"channel":"fly","station":"sl-wing","state":"off"`)
	expectLine(t, lines, `cuelight/channel/sl/state {"channel":"sl","station":"sl-wing","state":"off"`)

	// The stored command was replayed on subscription: rejected.
	in := inbound(t, l)
	if !in.Rejected || !errors.Is(in.Err, ErrRetained) || in.Cmd.ID != "r1" || in.Reason != "retained command ignored: commands must not be retained" {
		t.Fatalf("retained command: %+v", in)
	}

	// mosquitto_pub, a real client, sends commands.
	mosquittoPub(t, m, "cuelight/channel/fly/cmd", cmdNow("c1", "standby", "23"), false)
	if in := inbound(t, l); in.Rejected || in.Cmd.ID != "c1" || in.Cmd.Label != "23" || in.Channel != "fly" {
		t.Fatalf("command: %+v", in)
	}
	mosquittoPub(t, m, "cuelight/channel/fly/cmd", cmdNow("c1", "standby", "23"), false)
	if in := inbound(t, l); !errors.Is(in.Err, ErrDuplicate) {
		t.Fatalf("repeated id: %+v", in)
	}
	mosquittoPub(t, m, "cuelight/all/cmd", cmdAt("c2", "go", t0.Add(-5*time.Second), ""), false)
	if in := inbound(t, l); !errors.Is(in.Err, ErrStale) || in.Reason != "stale: sent 5 s ago, ttl 2 s" || in.Channel != "" {
		t.Fatalf("stale command: %+v", in)
	}

	// Events at QoS 1, in order, to a real subscriber.
	for i := range 50 {
		l.PublishEvent(Event{Event: "press", Channel: "sl", Station: "sl-wing", Seq: int64(i)})
	}
	for i := range 50 {
		line := expectLine(t, lines, "cuelight/channel/sl/event ")
		if want := fmt.Sprintf(`"seq":%d,`, i); !strings.Contains(line, want) {
			t.Fatalf("event %d: %s", i, line)
		}
	}

	// The Will: the connection dies without a DISCONNECT.
	p.kill()
	expectLine(t, lines, "cuelight/station/sl-wing/status offline")
	// ...and after the reconnect the retained command is rejected again,
	// never acted on.
	expectLine(t, lines, "cuelight/station/sl-wing/status online")
	if in := inbound(t, l); !errors.Is(in.Err, ErrRetained) || in.Cmd.ID != "r1" {
		t.Fatalf("after reconnect: %+v", in)
	}
	mosquittoPub(t, m, "cuelight/channel/fly/cmd", "", true) // clear it
}

func TestMosquittoRestartRepublishesAndFiresNothingAgain(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	st := newStation("sr-wing", "trap")
	l := startLink(t, m.url(), st, "sr-wing", nil)
	waitStatus(t, l, true)
	pub := publisher(t, m.url())
	send(t, pub, "cuelight/channel/trap/cmd", false, cmdNow("g1", "go", "40"))
	if in := inbound(t, l); in.Rejected || in.Cmd.ID != "g1" {
		t.Fatalf("GO before the restart: %+v", in)
	}
	l.PublishState(st.set("trap", "go", "40"))

	m.kill()
	waitStatus(t, l, false)
	m.start() // a fresh broker: no retained messages, no sessions
	waitStatus(t, l, true)

	// Everything retained on the new broker was published again.
	w := watch(t, m.url(), "cuelight/#")
	got := map[string]msg{}
	for len(got) < 3 {
		select {
		case mm := <-w.msgs:
			if mm.retained {
				got[mm.topic] = mm
			}
		case <-time.After(wait):
			t.Fatalf("retained after the restart: only %v", got)
		}
	}
	if got["cuelight/station/sr-wing/status"].payload != "online" {
		t.Errorf("status after the restart: %+v", got["cuelight/station/sr-wing/status"])
	}
	if s := decode[State](t, got["cuelight/channel/trap/state"]); s.State != "go" || s.Seq != 2 {
		t.Errorf("state after the restart: %+v", s)
	}
	if i := decode[Info](t, got["cuelight/station/sr-wing/info"]); i.MQTT.Connects != 2 {
		t.Errorf("info after the restart: %+v", i.MQTT)
	}

	// Nothing fired again: the next command handed over is the new one.
	pub2 := publisher(t, m.url())
	send(t, pub2, "cuelight/channel/trap/cmd", false, cmdNow("m1", "off", ""))
	if in := inbound(t, l); in.Cmd.ID != "m1" {
		t.Fatalf("after the restart got %+v, want the marker m1 (something was re-fired)", in)
	}
}

// A GO sent while the station is away is not queued for it by the broker
// (clean session): it never arrives late.
func TestMosquittoDoesNotQueueCommandsWhileAway(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	p := newProxy(t, m.addr, true)
	st := newStation("fly-rail", "fly")
	l := startLink(t, p.url(), st, "fly-rail", nil)
	waitStatus(t, l, true)

	p.setUp(false)
	waitStatus(t, l, false)
	mosquittoPub(t, m, "cuelight/channel/fly/cmd", cmdNow("late-go", "go", "12"), false)
	p.setUp(true)
	waitStatus(t, l, true)

	mosquittoPub(t, m, "cuelight/channel/fly/cmd", cmdNow("m1", "off", ""), false)
	if in := inbound(t, l); in.Cmd.ID != "m1" {
		t.Fatalf("after the outage got %+v, want the marker m1 (a GO sent while away was delivered late)", in)
	}
}
