package mosquitto

import (
	"github.com/cuelight/cuelight/internal/testkit"

	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cuelight/cuelight/internal/peertest"
)

// patience bounds every wait for the broker. It is a deadline for
// something that happens, never a measure of speed: qemu and a loaded CI
// machine are slow.
const patience = 30 * time.Second

// The users of the test, as in acl and passwords.example.
var users = map[string]string{
	"station": "station-secret",
	"qlab":    "qlab-secret",
	"phone":   "phone-secret",
}

// broker is a Mosquitto running the shipped cuelight.conf, with the
// listener moved to a free loopback port and the files into a temporary
// directory.
type broker struct {
	addr string // host:port
	cmd  *exec.Cmd
	log  *testkit.SyncBuffer
	done chan struct{}
}

// startBroker writes the shipped configuration with only the listener and
// the file paths changed, makes the password file with mosquitto_passwd,
// and starts Mosquitto on it.
func startBroker(t *testing.T) *broker {
	t.Helper()
	exe := peertest.Need(t, "mosquitto")
	passwd := peertest.Need(t, "mosquitto_passwd")
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "cuelight.passwd")
	aclFile := filepath.Join(dir, "cuelight.acl")

	acl, err := os.ReadFile("acl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(aclFile, acl, 0o600); err != nil {
		t.Fatal(err)
	}
	first := true
	for _, u := range []string{"station", "qlab", "phone"} {
		args := []string{"-b", pwFile, u, users[u]}
		if first {
			args = append([]string{"-c"}, args...)
			first = false
		}
		if out, err := exec.Command(passwd, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd %s: %v\n%s", u, err, out)
		}
	}
	shipped, err := os.ReadFile("cuelight.conf")
	if err != nil {
		t.Fatal(err)
	}

	for attempt := 1; ; attempt++ {
		port := freePort(t)
		conf := string(shipped)
		for _, r := range []struct{ old, new string }{
			{"\nlistener 1883 10.10.0.1\n", "\nlistener " + strconv.Itoa(port) + " 127.0.0.1\n"},
			{"\npassword_file /etc/mosquitto/cuelight.passwd\n", "\npassword_file " + pwFile + "\n"},
			{"\nacl_file /etc/mosquitto/cuelight.acl\n", "\nacl_file " + aclFile + "\n"},
		} {
			if !strings.Contains(conf, r.old) {
				t.Fatalf("cuelight.conf no longer has %q: update this test with it", strings.TrimSpace(r.old))
			}
			conf = strings.Replace(conf, r.old, r.new, 1)
		}
		conf += "log_dest stderr\n"
		if os.Geteuid() == 0 {
			// As root Mosquitto would switch to user mosquitto, who cannot
			// read the test's private directory.
			conf += "user root\n"
		}
		confFile := filepath.Join(dir, "mosquitto.conf")
		if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		b := &broker{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), log: &testkit.SyncBuffer{}, done: make(chan struct{})}
		b.cmd = exec.Command(exe, "-c", confFile)
		b.cmd.Stdout = b.log
		b.cmd.Stderr = b.log
		if err := b.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = b.cmd.Wait(); close(b.done) }()
		t.Cleanup(b.stop)
		if b.waitListening() {
			return b
		}
		b.stop()
		if attempt >= 3 || !strings.Contains(b.log.String(), "in use") {
			t.Fatalf("mosquitto did not start on the shipped configuration:\n%s", b.log.String())
		}
	}
}

// waitListening waits until the broker accepts TCP connections; false
// when it exited first.
func (b *broker) waitListening() bool {
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		select {
		case <-b.done:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", b.addr, time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func (b *broker) stop() {
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.cmd.Process.Kill()
	<-b.done
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var clientSeq atomic.Int64

// connect logs in as user (password "" for none, or a wrong one).
func (b *broker) connect(user, password string) (mqtt.Client, error) {
	o := mqtt.NewClientOptions().
		AddBroker("tcp://" + b.addr).
		SetClientID(fmt.Sprintf("acl-test-%s-%d", user, clientSeq.Add(1))).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(patience).
		SetOrderMatters(true)
	if user != "" {
		o.SetUsername(user).SetPassword(password)
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(patience) {
		return nil, errors.New("connect: no answer from the broker")
	}
	return c, tok.Error()
}

func (b *broker) mustConnect(t *testing.T, user string) mqtt.Client {
	t.Helper()
	c, err := b.connect(user, users[user])
	if err != nil {
		t.Fatalf("%s cannot log in: %v\nbroker log:\n%s", user, err, b.log.String())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

// msg is one message a watcher received.
type msg struct{ topic, payload string }

// watch subscribes user to the whole show and returns what arrives, in
// order.
func (b *broker) watch(t *testing.T, user string) <-chan msg {
	t.Helper()
	c := b.mustConnect(t, user)
	ch := make(chan msg, 256)
	tok := c.Subscribe("cuelight/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		ch <- msg{m.Topic(), string(m.Payload())}
	})
	if !tok.WaitTimeout(patience) || tok.Error() != nil {
		t.Fatalf("%s cannot subscribe: %v", user, tok.Error())
	}
	return ch
}

// publish publishes at QoS 1 and waits for the broker's PUBACK: once it is
// back, Mosquitto (one thread) has delivered or dropped the message. An
// error is returned, not fatal: a broker may also answer a refused publish
// by closing the connection.
func publish(c mqtt.Client, topic, payload string) error {
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(patience) {
		return errors.New("publish: no PUBACK")
	}
	return tok.Error()
}

// published reports whether the publish of topic/payload by user reached
// the watcher. It is decided without waiting on a clock: after the PUBACK,
// user qlab publishes a marker command; the watcher's messages arrive in
// the order Mosquitto handled them, so a publish that was let through
// arrives before the marker, and one that was dropped never does.
func (b *broker) published(t *testing.T, w <-chan msg, user, topic, payload string) bool {
	t.Helper()
	c, err := b.connect(user, users[user])
	if err != nil {
		t.Fatalf("%s cannot log in: %v", user, err)
	}
	_ = publish(c, topic, payload)
	c.Disconnect(0)

	marker := fmt.Sprintf(`{"id":"marker-%d","cmd":"off"}`, clientSeq.Add(1))
	booth, err := b.connect("qlab", users["qlab"])
	if err != nil {
		t.Fatalf("qlab cannot log in: %v", err)
	}
	err = publish(booth, "cuelight/all/cmd", marker)
	booth.Disconnect(0)
	if err != nil {
		t.Fatalf("qlab cannot publish the marker: %v", err)
	}
	seen := false
	timeout := time.After(patience)
	for {
		select {
		case m := <-w:
			if m.topic == topic && m.payload == payload {
				seen = true
			}
			if m.payload == marker {
				return seen
			}
		case <-timeout:
			t.Fatalf("the marker never reached the watcher\nbroker log:\n%s", b.log.String())
		}
	}
}

func TestLogin(t *testing.T) {
	b := startBroker(t)
	for _, tc := range []struct {
		name     string
		user     string
		password string
		ok       bool
	}{
		{"anonymous is refused", "", "", false},
		{"wrong password is refused", "qlab", "not-the-password", false},
		{"unknown user is refused", "stranger", "qlab-secret", false},
		{"station logs in", "station", users["station"], true},
		{"booth logs in", "qlab", users["qlab"], true},
		{"viewer logs in", "phone", users["phone"], true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := b.connect(tc.user, tc.password)
			if c != nil && err == nil {
				c.Disconnect(0)
			}
			if tc.ok && err != nil {
				t.Fatalf("refused: %v\nbroker log:\n%s", err, b.log.String())
			}
			if !tc.ok && err == nil {
				t.Fatal("accepted; want refused")
			}
		})
	}
}

func TestACL(t *testing.T) {
	b := startBroker(t)
	w := b.watch(t, "phone") // a viewer reads everything
	for _, tc := range []struct {
		name    string
		user    string
		topic   string
		allowed bool
	}{
		{"booth sends a channel command", "qlab", "cuelight/channel/fly/cmd", true},
		{"booth sends a show-wide command", "qlab", "cuelight/all/cmd", true},
		{"booth cannot fake a channel state", "qlab", "cuelight/channel/fly/state", false},
		{"booth cannot fake a station status", "qlab", "cuelight/station/sl-wing/status", false},
		{"station sends a channel command", "station", "cuelight/channel/sl/cmd", true},
		{"station sends a show-wide command", "station", "cuelight/all/cmd", true},
		{"station publishes channel state", "station", "cuelight/channel/fly/state", true},
		{"station publishes channel events", "station", "cuelight/channel/fly/event", true},
		{"station publishes its status", "station", "cuelight/station/sl-wing/status", true},
		{"station publishes its info", "station", "cuelight/station/sl-wing/info", true},
		{"station cannot write elsewhere", "station", "cuelight/channel/fly/other", false},
		{"station cannot write outside the prefix", "station", "other/channel/fly/cmd", false},
		{"viewer cannot send a channel command", "phone", "cuelight/channel/fly/cmd", false},
		{"viewer cannot send a show-wide command", "phone", "cuelight/all/cmd", false},
		{"viewer cannot fake a channel state", "phone", "cuelight/channel/fly/state", false},
	} {
		// Not parallel: one watcher sees every case in turn.
		t.Run(tc.name, func(t *testing.T) {
			payload := fmt.Sprintf(`{"id":"case-%d","cmd":"go","label":"23"}`, clientSeq.Add(1))
			got := b.published(t, w, tc.user, tc.topic, payload)
			if got != tc.allowed {
				t.Fatalf("%s publishing to %s: delivered=%v, want %v\nbroker log:\n%s", tc.user, tc.topic, got, tc.allowed, b.log.String())
			}
		})
	}
}

// TestStationWill checks that a station that vanishes (no DISCONNECT) has
// its Last Will, "offline" on its status topic, delivered: the ACL must
// let a station's will through, or the booth would never see it go.
func TestStationWill(t *testing.T) {
	b := startBroker(t)
	w := b.watch(t, "phone")
	conn, err := net.DialTimeout("tcp", b.addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(patience)); err != nil {
		t.Fatal(err)
	}
	const topic = "cuelight/station/sl-wing/status"
	if _, err := conn.Write(connectPacket("will-test", "station", users["station"], topic, "offline")); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(bufio.NewReader(conn), ack); err != nil {
		t.Fatalf("no CONNACK: %v\nbroker log:\n%s", err, b.log.String())
	}
	if !bytes.Equal(ack, []byte{0x20, 0x02, 0x00, 0x00}) {
		t.Fatalf("CONNACK % x, want 20 02 00 00 (accepted)", ack)
	}
	conn.Close() // vanish: the broker publishes the will
	timeout := time.After(patience)
	for {
		select {
		case m := <-w:
			if m.topic == topic {
				if m.payload != "offline" {
					t.Fatalf("will payload %q, want offline", m.payload)
				}
				return
			}
		case <-timeout:
			t.Fatalf("the station's will never arrived\nbroker log:\n%s", b.log.String())
		}
	}
}

// connectPacket is an MQTT 3.1.1 CONNECT with user name, password and a
// retained QoS 1 will.
func connectPacket(clientID, user, password, willTopic, willPayload string) []byte {
	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	var body []byte
	body = append(body, str("MQTT")...)
	body = append(body, 4)                             // protocol level 3.1.1
	body = append(body, 0x80|0x40|0x20|0x08|0x04|0x02) // user, password, will retain, will QoS 1, will, clean session
	body = append(body, 0, 60)                         // keep-alive 60 s
	body = append(body, str(clientID)...)
	body = append(body, str(willTopic)...)
	body = append(body, str(willPayload)...)
	body = append(body, str(user)...)
	body = append(body, str(password)...)
	pkt := []byte{0x10}
	for n := len(body); ; {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		pkt = append(pkt, d)
		if n == 0 {
			break
		}
	}
	return append(pkt, body...)
}

// testkit.SyncBuffer collects the broker's log for failure messages.
