package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cuelight/cuelight/internal/peertest"
)

// The warm standby broker of docs/scale.md: deploy/mosquitto/cuelight.conf
// as the primary and deploy/mosquitto/standby.conf (which bridges to it)
// as the standby, on loopback. The tests change the listen and bridge
// addresses, and use anonymous access instead of the password and ACL
// files (whose use deploy/mosquitto's own test covers).

// startMosquittoFile starts Mosquitto on a shipped file, rewritten by
// edit for this port.
func startMosquittoFile(t *testing.T, file string, edit func(conf string, port int) string) *mosquitto {
	t.Helper()
	src := readFile(t, filepath.Join("..", "..", "deploy", "mosquitto", file))
	m := &mosquitto{t: t, exe: peertest.Need(t, "mosquitto"), conf: filepath.Join(t.TempDir(), file)}
	for attempt := 1; ; attempt++ {
		m.port = freePort(t, true, false)
		conf := edit(src, m.port)
		if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if m.run() {
			return m
		}
		if attempt >= 3 || !addrInUse(m.err.String()) {
			t.Fatalf("mosquitto (%s) did not start:\n%s", file, m.err.String())
		}
	}
}

var (
	listenLine = regexp.MustCompile(`(?m)^listener 1883 10\.10\.0\.[12]$`)
	authLines  = regexp.MustCompile(`(?m)^(password_file|acl_file|remote_username|remote_password) .*\n`)
)

// loopbackConf moves a shipped file's listener to 127.0.0.1:port and
// opens it to anonymous clients, and points a bridge at the primary.
func loopbackConf(conf string, port, primary int) string {
	conf = listenLine.ReplaceAllString(conf, fmt.Sprintf("listener %d 127.0.0.1", port))
	conf = authLines.ReplaceAllString(conf, "")
	conf = strings.Replace(conf, "allow_anonymous false", "allow_anonymous true", 1)
	conf = strings.Replace(conf, "address 10.10.0.1:1883", "address 127.0.0.1:"+strconv.Itoa(primary), 1)
	return conf + "log_dest stderr\nlog_type all\n"
}

// TestShowStandbyBroker runs the show on a primary Mosquitto and its warm
// standby (mqtt.broker: [primary, standby]). The observer watches the
// standby only: the bridge brings it everything while the primary is up.
// The primary is killed mid-show: every station moves to the standby and
// the show goes on; the primary is started again: every station moves
// back to it (a station tries the first broker every 5 s), and the show
// goes on. No GO fires twice or unsent, nothing published is lost.
func TestShowStandbyBroker(t *testing.T) {
	t.Parallel()
	primary := startMosquittoFile(t, "cuelight.conf", func(c string, port int) string { return loopbackConf(c, port, 0) })
	standby := startMosquittoFile(t, "standby.conf", func(c string, port int) string { return loopbackConf(c, port, primary.port) })
	bridged := func(from int) {
		t.Helper()
		standby.err.waitLine(t, from, "the standby's bridge connected", func(s string) bool {
			return strings.Contains(s, "Received CONNACK on connection") && strings.Contains(s, "cuelight-primary")
		})
	}
	bridged(0)

	f := threeStations(primary.url(), standby.url())
	r := &showRun{t: t, f: f, path: f.write(t), stations: map[string]*stationProc{}, gos: map[string]bool{}}
	r.obs = observe(t, standby.url())
	r.start()
	onBroker := func(what string, m *mosquitto, marks map[string]int) time.Duration {
		t.Helper()
		start := time.Now()
		for name, d := range r.stations {
			d.err.waitLine(t, marks[name], name+" "+what, func(s string) bool {
				return strings.Contains(s, `msg="mqtt connected"`) && strings.Contains(s, "broker="+m.url()+" ")
			})
			// The line comes just before the link says it is up.
			waitFor(t, name+" connected", func() bool { return d.stats(t).MQTTConnected })
		}
		return time.Since(start)
	}
	marks := func() map[string]int {
		m := map[string]int{}
		for name, d := range r.stations {
			m[name] = d.err.Len()
		}
		return m
	}
	onBroker("on the primary", primary, map[string]int{})

	r.cueOne()
	r.ackStandby("ba", "2")
	r.check()

	mark := marks()
	killed := time.Now()
	primary.signal(t, syscall.SIGKILL)
	primary.wait(t)
	onBroker("on the standby", standby, mark)
	t.Logf("primary killed: every station on the standby after %v", time.Since(killed).Round(10*time.Millisecond))
	r.ackStandby("ca", "2")
	r.send("/cuelight/cue/2/go")
	r.waitChannels(map[string]string{"ba": "go 2", "ca": "go 2"})
	r.check()

	mark, bmark := marks(), standby.err.Len()
	restarted := time.Now()
	primary.restart()
	onBroker("back on the primary", primary, mark)
	bridged(bmark)
	t.Logf("primary restarted: every station back on it after %v", time.Since(restarted).Round(10*time.Millisecond))
	r.ackStandby("aa", "3")
	r.send("/cuelight/aa/go", "3")
	r.waitChannels(map[string]string{"aa": "go 3"})
	r.check()
}
