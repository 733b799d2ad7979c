package deploy

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cuelight/cuelight/config"
)

// exposure lists what in c reaches beyond this machine: a listener off
// loopback, users of the embedded broker, an outside broker, an allow-list
// or feedback target off loopback, a driver that drives real pins.
func exposure(c *config.Config) []string {
	var out []string
	loopback := func(key, hostport string) {
		ap, err := netip.ParseAddrPort(hostport)
		if err != nil || !ap.Addr().IsLoopback() {
			out = append(out, key+" "+hostport+" is not a loopback address")
		}
	}
	loopback("osc.listen", c.OSC.Listen)
	loopback("web.listen", c.Web.Listen)
	if !c.MQTT.Embedded {
		out = append(out, "mqtt.broker "+c.MQTT.Broker+" is an outside broker")
	} else {
		loopback("mqtt.listen", c.MQTT.Listen)
	}
	for _, u := range c.MQTT.Users {
		out = append(out, "mqtt.users has "+u.Name)
	}
	for _, p := range c.OSC.Allow {
		if !p.Addr().IsLoopback() {
			out = append(out, "osc.allow admits "+p.String())
		}
	}
	for _, f := range c.OSC.Feedback {
		if !f.Addr().IsLoopback() {
			out = append(out, "osc.feedback sends to "+f.String())
		}
	}
	for _, s := range c.Stations {
		if s.Driver != config.DriverSim {
			out = append(out, "stations."+s.Name+".driver is "+s.Driver)
		}
	}
	return out
}

func parse(t *testing.T, path string) *config.Config {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := config.Parse(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestShippedShowFile: the show file the .deb installs as
// /etc/cuelight/cuelight.yaml is valid, without warnings, and exposes
// nothing beyond this machine (docs/protocol.md §6.9).
func TestShippedShowFile(t *testing.T) {
	t.Parallel()
	c := parse(t, "cuelight.yaml")
	for _, w := range c.Warnings {
		t.Errorf("warning: %v", w)
	}
	for _, e := range exposure(c) {
		t.Errorf("deploy/cuelight.yaml: %s", e)
	}
}

// TestReferenceIsNotShippable: the reference show file, which the package
// ships only as an example, is exactly what must never be installed as the
// show file; exposure must see that, or TestShippedShowFile proves nothing.
func TestReferenceIsNotShippable(t *testing.T) {
	t.Parallel()
	got := strings.Join(exposure(parse(t, "../config/reference.yaml")), "\n")
	for _, want := range []string{"mqtt.listen 0.0.0.0:1883", "mqtt.users has", "osc.listen 0.0.0.0:53100", "driver is gpio"} {
		if !strings.Contains(got, want) {
			t.Errorf("exposure of config/reference.yaml does not report %q; it reports:\n%s", want, got)
		}
	}
}

// TestCopyrightListsLinkedModules: the Debian copyright file
// (/usr/share/doc/cuelight/copyright) names every module linked into
// cuelightd and cuectl, and nothing else: a new dependency must bring its
// licence into the package.
func TestCopyrightListsLinkedModules(t *testing.T) {
	t.Parallel()
	// go test puts its own GOROOT/bin first in PATH.
	cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}", "../cmd/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	linked := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		linked[m] = true
	}
	if len(linked) == 0 {
		t.Fatal("go list found no linked modules")
	}
	b, err := os.ReadFile(filepath.Join("debian", "copyright"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Files: ")
		if !ok {
			continue
		}
		for _, pat := range strings.Fields(rest) {
			if pat == "*" || pat == "go/*" {
				continue
			}
			listed[strings.TrimSuffix(pat, "/*")] = true
		}
	}
	for m := range linked {
		if !listed[m] {
			t.Errorf("deploy/debian/copyright has no Files paragraph for %s, which the binaries link", m)
		}
	}
	for m := range listed {
		if !linked[m] {
			t.Errorf("deploy/debian/copyright lists %s, which the binaries do not link", m)
		}
	}
}
