package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cuelight/cuelight/osc"
)

// A whole show of separate cuelightd processes (docs/protocol.md §9): one
// show file shared by every station, as in a real show, with every
// listener on 127.0.0.1:0 so that any number of stations can run on one
// machine. Each process says where it listens in its "station ready" log
// line. The gateways (driver none, gateway: true) and the stations with
// lamps (driver sim) are all the real cuelightd main.

// showFile describes a show file of several stations.
type showFile struct {
	Name     string
	Brokers  []string // mqtt.broker, one URL or several
	Feedback []string // osc.feedback
	Gateways []string // driver none, gateway: true
	Stations []string // driver sim
	// PerStation channels on each sim station, named <station><a|b|c|d>;
	// channel <station>a needs an acknowledged standby before its GO.
	PerStation int
	// Channels renames the channels of a station (instead of <station>a...).
	Channels map[string][]string
	GoHold   string // go_hold of every channel (default 1m: a GO stays visible)
}

// simPins are the standby lamp, GO lamp and ACK button of a station's
// first, second, third and fourth channel.
var simPins = [][3]string{
	{"GPIO17", "GPIO27", "GPIO22"},
	{"GPIO16", "GPIO20", "GPIO21"},
	{"GPIO12", "GPIO13", "GPIO19"},
	{"GPIO23", "GPIO24", "GPIO25"},
}

// channelsOf returns the channels of a sim station, in order.
func (f showFile) channelsOf(station string) []string {
	if chs, ok := f.Channels[station]; ok {
		return chs
	}
	var out []string
	for i := range f.PerStation {
		out = append(out, station+string(rune('a'+i)))
	}
	return out
}

// allChannels returns every channel of the show, station by station.
func (f showFile) allChannels() []string {
	var out []string
	for _, s := range f.Stations {
		out = append(out, f.channelsOf(s)...)
	}
	return out
}

// ownerOf returns the station of a channel.
func (f showFile) ownerOf(ch string) string {
	for _, s := range f.Stations {
		if slices.Contains(f.channelsOf(s), ch) {
			return s
		}
	}
	return ""
}

// pinsOf returns the standby lamp, GO lamp and ACK button of a channel.
func (f showFile) pinsOf(ch string) [3]string {
	i := slices.Index(f.channelsOf(f.ownerOf(ch)), ch)
	return simPins[i]
}

func (f showFile) yaml() string {
	var b strings.Builder
	name := f.Name
	if name == "" {
		name = "gateway test show"
	}
	fmt.Fprintf(&b, "show: %s\n\nmqtt:\n", name)
	if len(f.Brokers) == 1 {
		fmt.Fprintf(&b, "  broker: %s\n", f.Brokers[0])
	} else {
		fmt.Fprintf(&b, "  broker: [%s]\n", strings.Join(f.Brokers, ", "))
	}
	b.WriteString("\nosc:\n  listen: 127.0.0.1:0\n")
	if len(f.Feedback) > 0 {
		fmt.Fprintf(&b, "  feedback: [%s]\n", strings.Join(f.Feedback, ", "))
	}
	b.WriteString("\nweb:\n  listen: 127.0.0.1:0\n\nstations:\n")
	for _, g := range f.Gateways {
		fmt.Fprintf(&b, "  %s: {driver: none, gateway: true}\n", g)
	}
	for _, s := range f.Stations {
		fmt.Fprintf(&b, "  %s: {driver: sim}\n", s)
	}
	hold := f.GoHold
	if hold == "" {
		hold = "1m"
	}
	b.WriteString("\nchannels:\n")
	for _, s := range f.Stations {
		for i, ch := range f.channelsOf(s) {
			p := simPins[i]
			fmt.Fprintf(&b, "  %s: {station: %s, standby_lamp: %s, go_lamp: %s, ack_button: %s, go_hold: %s", ch, s, p[0], p[1], p[2], hold)
			if i == 0 {
				b.WriteString(", require_ack: true, go_requires_ack: true")
			}
			b.WriteString("}\n")
		}
	}
	return b.String()
}

// write writes the show file into a temporary directory.
func (f showFile) write(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "show.yaml")
	writeFileAtomic(t, path, []byte(f.yaml()))
	return path
}

// readyLine is the daemon's "station ready" log line, with its listeners.
var readyLine = regexp.MustCompile(`msg="station ready".* osc=(\S+) web=(\S+)`)

// runStation starts cuelightd as station name on the show file at path,
// without waiting.
func runStation(t *testing.T, path, name, logLevel string) *stationProc {
	t.Helper()
	p := startProc(t, []string{daemonEnv + "=1"}, os.Args[0], "--config", path, "--station", name, "--log-level", logLevel)
	d := &stationProc{proc: p, t: t, showPath: path}
	t.Cleanup(func() { d.check(t) })
	return d
}

// ready waits for the "station ready" line and fills in the listeners.
func (d *stationProc) ready(t testing.TB, wait time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if _, line, _ := d.err.find(0, readyLine.MatchString); line != "" {
			m := readyLine.FindStringSubmatch(line)
			d.oscAddr, d.base = m[1], "http://"+m[2]
			return
		}
		if d.exited() {
			t.Fatalf("cuelightd %v exited with status %d before it was ready:\n%s", d.cmd.Args[1:], exitCode(d.waitErr), d.err.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("cuelightd %v not ready within %v:\n%s", d.cmd.Args[1:], wait, d.err.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startStation starts a station and waits until it is ready and connected
// to its broker.
func startStation(t *testing.T, path, name string) *stationProc {
	t.Helper()
	d := runStation(t, path, name, "debug")
	d.ready(t, patience)
	waitFor(t, name+" connected to MQTT", func() bool { return d.stats(t).MQTTConnected })
	return d
}

// stateMsg is "/cuelight/state/<ch>/<state> ,s <label>" as text: ch,
// state, label.
func stateOf(m *osc.Message) (ch, state, label string, ok bool) {
	rest, found := strings.CutPrefix(m.Address, "/cuelight/state/")
	if !found {
		return "", "", "", false
	}
	ch, state, found = strings.Cut(rest, "/")
	if !found {
		return "", "", "", false
	}
	if len(m.Args) > 0 {
		label, _ = m.Args[0].String()
	}
	return ch, state, label, true
}

// syncAll sends /cuelight/sync to a gateway until its answer names every
// channel in a state that want accepts (for example: not offline); it
// returns the last answer by channel.
func syncAll(t *testing.T, b booth, channels []string, what string, want func(ch, state, label string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		got := map[string]string{}
		b.send(t, "/cuelight/sync")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		for len(got) < len(channels) {
			p, err := b.Client.Receive(ctx)
			if err != nil {
				break
			}
			if m, ok := p.(*osc.Message); ok {
				if ch, st, label, ok := stateOf(m); ok && want(ch, st, label) {
					got[ch] = st + " " + label
				}
			}
		}
		cancel()
		if len(got) == len(channels) {
			return got
		}
		if time.Now().After(deadline) {
			var missing []string
			for _, ch := range channels {
				if _, ok := got[ch]; !ok {
					missing = append(missing, ch)
				}
			}
			t.Fatalf("sync at the gateway: no %s for %v within %v", what, missing, patience)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// notOffline accepts any state but offline.
func notOffline(_, state, _ string) bool { return state != "offline" }

// grep returns the lines that contain s.
func (l *lineLog) grep(s string) []string {
	var out []string
	for _, line := range l.Lines() {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}
