package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cuelight/cuelight/internal/peertest"
)

// A station cut off from the network for 5 s: station b runs in a network
// namespace that the test creates, joined to this one by a veth pair, and
// the test takes the link down and up again (ip link; root only).

// netns is a network namespace with a veth pair: host is the address on
// this side, inside the address in the namespace.
type netns struct {
	name, hostIf, host, inside string
}

// makeNetns creates the namespace and the link, and removes them at the
// end of the test. It skips when not root (fails under
// CUELIGHT_REQUIRE_PEERS=1).
func makeNetns(t *testing.T) netns {
	t.Helper()
	ipExe := peertest.Need(t, "ip")
	if os.Geteuid() != 0 {
		if os.Getenv("CUELIGHT_REQUIRE_PEERS") == "1" {
			t.Fatal("a network namespace needs root, and CUELIGHT_REQUIRE_PEERS=1 forbids skipping")
		}
		t.Skip("a network namespace needs root: run as root (CI does)")
	}
	id := os.Getpid() % 250
	n := netns{
		name:   fmt.Sprintf("cuelight-test-%d", os.Getpid()),
		hostIf: fmt.Sprintf("clh%d", os.Getpid()), host: fmt.Sprintf("10.213.%d.1", id),
		inside: fmt.Sprintf("10.213.%d.2", id),
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipExe, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", n.name)
	t.Cleanup(func() {
		_ = exec.Command(ipExe, "link", "del", n.hostIf).Run()
		_ = exec.Command(ipExe, "netns", "del", n.name).Run()
	})
	ip("link", "add", n.hostIf, "type", "veth", "peer", "name", "clns0", "netns", n.name)
	ip("addr", "add", n.host+"/30", "dev", n.hostIf)
	ip("link", "set", n.hostIf, "up")
	ip("-n", n.name, "addr", "add", n.inside+"/30", "dev", "clns0")
	ip("-n", n.name, "link", "set", "clns0", "up")
	ip("-n", n.name, "link", "set", "lo", "up")
	return n
}

// link takes the host side of the veth pair down or up.
func (n netns) link(t *testing.T, up bool) {
	t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	if out, err := exec.Command("ip", "link", "set", n.hostIf, state).CombinedOutput(); err != nil {
		t.Fatalf("ip link set %s %s: %v\n%s", n.hostIf, state, err, out)
	}
}

// TestShowStationPartitioned cuts station b off for 5 s (its link down,
// then up: no process notices a closed socket, only silence). A GO sent
// to the gateway for b during the cut reaches b only when the link is
// back, older than its ttl: b refuses it as stale, the gateway answers
// /cuelight/error, and it never fires. Then the show goes on with b.
func TestShowStationPartitioned(t *testing.T) {
	t.Parallel()
	n := makeNetns(t)
	mexe := peertest.Need(t, "mosquitto")
	m := &mosquitto{t: t, exe: mexe, conf: t.TempDir() + "/mosquitto.conf"}
	for attempt := 1; ; attempt++ {
		m.port = freePort(t, true, false)
		conf := fmt.Sprintf("per_listener_settings false\nlistener %d 127.0.0.1\nlistener %d %s\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type all\n", m.port, m.port, n.host)
		if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if m.run() {
			break
		}
		if attempt >= 3 || !addrInUse(m.err.String()) {
			t.Fatalf("mosquitto did not start:\n%s", m.err.String())
		}
	}
	broker := fmt.Sprintf("tcp://%s:%d", n.host, m.port)
	f := threeStations(broker)
	r := &showRun{t: t, f: f, path: f.write(t), stations: map[string]*stationProc{}, gos: map[string]bool{}}
	r.obs = observe(t, m.url())
	// b listens inside its namespace, on its veth address: its own copy of
	// the show file, which differs only there (the gateway notes the
	// different show hash in its log). A web listener beyond loopback needs
	// web.users (docs/web.md): the test presses b's buttons as user psm
	// (HTTP Basic, as curl -u does).
	bPath := t.TempDir() + "/show.yaml"
	hash, err := bcrypt.GenerateFromPassword([]byte("partition"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	writeFileAtomic(t, bPath, []byte(strings.NewReplacer(
		"web:\n  listen: 127.0.0.1:0\n", "web:\n  listen: "+n.inside+":0\n  users: {psm: {password_hash: \""+string(hash)+"\", role: sm}}\n",
		"listen: 127.0.0.1:0", "listen: "+n.inside+":0").Replace(f.yaml())))
	b := &stationProc{
		proc: startProc(t, []string{daemonEnv + "=1"}, "ip", "netns", "exec", n.name, os.Args[0],
			"--config", bPath, "--station", "b", "--log-level", "info"),
		t: t, showPath: bPath,
	}
	t.Cleanup(func() { b.check(t) })
	b.ready(t, patience)
	b.base = strings.Replace(b.base, "http://", "http://psm:partition@", 1)
	r.stations["b"] = b
	f.Stations = []string{"a", "c"}
	r.f = f
	r.start()
	f.Stations = []string{"a", "b", "c"}
	r.f = f
	syncAll(t, r.booths[0], f.allChannels(), "state from its station", notOffline)

	r.cueOne()
	r.ackStandby("ba", "2")
	r.check()

	n.link(t, false)
	cut := time.Now()
	r.booths[0].send(t, "/cuelight/ba/go", "2") // not recorded: must never act
	for time.Since(cut) < 5*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	n.link(t, true)
	// The GO reaches b late (TCP retransmits it once the link is back) and
	// is refused as stale, or b's keep-alive ping timed out during the cut
	// and the broker dropped it with b's old connection. Either way it
	// must not act. A standby on bb after it is the sync point.
	waitFor(t, "b connected after the cut", func() bool { return b.stats(t).MQTTConnected })
	r.sendUntil(map[string]string{"bb": "standby 3"}, "/cuelight/bb/standby", "3")
	if st := b.channels(t)["ba"]; st.State != "ack" || st.Label != "2" {
		t.Fatalf("ba after the cut: %+v, want still ack 2", st)
	}
	stale := false
	for _, e := range r.obs.allEvents() {
		if e.Channel == "ba" && e.Event == "rejected" && strings.Contains(e.Reason, "stale") {
			stale = true
		}
	}
	lost := len(b.err.grep("mqtt connection lost"))
	t.Logf("link down 5 s: the GO sent during the cut was refused as stale: %v; b lost its MQTT connection %d times", stale, lost)
	r.send("/cuelight/ba/go", "2")
	r.waitChannels(map[string]string{"ba": "go 2"})
	r.check()
	if b.exited() {
		t.Fatal("station b exited")
	}
}
