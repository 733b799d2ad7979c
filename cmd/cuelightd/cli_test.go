package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/cuelight/cuelight/internal/peertest"
)

// The command line as a technician meets it.

// runCLI runs cuelightd with args to its end and returns the exit status
// and what it printed.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startProc(t, []string{daemonEnv + "=1"}, os.Args[0], args...)
	code = p.wait(t)
	return code, p.out.String(), p.err.String()
}

func TestCheckConfig(t *testing.T) {
	t.Parallel()
	good := filepath.Join(t.TempDir(), "good.yaml")
	show{Broker: "tcp://127.0.0.1:1883", OSC: "127.0.0.1:53100", Web: "127.0.0.1:8080", Right: true}.render(t, good)

	t.Run("valid file", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runCLI(t, "check-config", good)
		if code != 0 {
			t.Fatalf("exit status %d, want 0; stderr:\n%s", code, stderr)
		}
		if want := good + `: valid: show "e2e test show", 2 stations, 3 channels`; strings.TrimSpace(stdout) != want {
			t.Errorf("stdout %q, want %q", stdout, want)
		}
	})
	t.Run("one station, empty allow list", func(t *testing.T) {
		t.Parallel()
		small := filepath.Join(t.TempDir(), "small.yaml")
		if err := os.WriteFile(small, []byte("show: x\nosc: {allow: []}\nstations: {a: {driver: sim}}\nchannels: {fly: {standby_lamp: GPIO17}}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, "check-config", small)
		if code != 0 {
			t.Fatalf("exit status %d, want 0; stderr:\n%s", code, stderr)
		}
		if want := small + `: valid: show "x", 1 station, 1 channel`; strings.TrimSpace(stdout) != want {
			t.Errorf("stdout %q, want %q", stdout, want)
		}
		if want := "warning: " + small + ":2: osc.allow: is empty: every OSC datagram is dropped"; !strings.HasPrefix(strings.TrimSpace(stderr), want) {
			t.Errorf("stderr %q, want %q...", stderr, want)
		}
	})
	t.Run("invalid file", func(t *testing.T) {
		t.Parallel()
		const bad = "testdata/bad.yaml"
		code, stdout, stderr := runCLI(t, "check-config", bad)
		if code != 1 {
			t.Fatalf("exit status %d, want 1", code)
		}
		if stdout != "\n" && stdout != "" {
			t.Errorf("stdout %q, want nothing", stdout)
		}
		// One error per line, FILE:LINE: key.path: message (docs/protocol.md §5),
		// each mistake of testdata/bad.yaml at its line and key.
		form := regexp.MustCompile(`^testdata/bad\.yaml:(\d+): ([a-z0-9_]+(\.[a-z0-9_]+)*): \S.*$`)
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
			m := form.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("stderr line %q is not FILE:LINE: key: message", line)
				continue
			}
			got = append(got, m[1]+" "+m[2])
		}
		want := []string{
			"7 osc.feedbak",
			"14 channels.fly.go_hold",
			"16 channels.sl.standby_lamp",
			"17 channels.all",
			"18 channels.all.standby_lamp",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("errors at:\n%s\nwant:\n%s\nstderr:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), stderr)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := runCLI(t, "check-config", "testdata/no-such-file.yaml")
		if code != 1 || !strings.Contains(stderr, "no-such-file.yaml") {
			t.Errorf("exit status %d, stderr %q: want 1 and the file named", code, stderr)
		}
	})
	t.Run("no file given", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := runCLI(t, "check-config")
		if code != 2 || !strings.Contains(stderr, "usage: cuelightd check-config FILE") {
			t.Errorf("exit status %d, stderr %q: want 2 and the usage", code, stderr)
		}
	})
}

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		output []string // each must appear in stdout or stderr
	}{
		{"version", []string{"--version"}, 0, []string{"cuelightd dev\n"}},
		{"help", []string{"--help"}, 0, []string{"check-config FILE", "demo show", "-config", "-station", "SIGHUP", "SIGTERM", "docs/operations.md"}},
		{"unknown flag", []string{"--bogus"}, 2, []string{"flag provided but not defined: -bogus"}},
		{"unexpected argument", []string{"show.yaml"}, 2, []string{`unexpected argument "show.yaml"`}},
		{"bad log level", []string{"--log-level", "loud"}, 2, []string{"--log-level"}},
		{"missing show file", []string{"--config", "testdata/no-such-file.yaml"}, 1, []string{"cannot read the show file", "no-such-file.yaml"}},
		{"station not in the show", []string{"--config", "testdata/show.yaml.tmpl", "--station", "nowhere"}, 1, []string{"cuelightd:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, c.args...)
			if code != c.code {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, stdout, stderr)
			}
			for _, w := range c.output {
				if !strings.Contains(stdout+stderr, w) || (c.name == "help" && !strings.Contains(stdout, w)) {
					t.Errorf("output does not mention %q:\n%s%s", w, stdout, stderr)
				}
			}
		})
	}
}

// TestDemo runs the built-in demo show as a newcomer does (docs/protocol.md §5): on
// its fixed ports, so it runs only when they are free, and not in
// parallel with the other tests (whose free ports could be these). It
// checks the printed banner and runs its first oscsend line as printed.
func TestDemo(t *testing.T) {
	for _, p := range []struct{ network, addr string }{
		{"tcp", "127.0.0.1:53100"}, {"udp", "127.0.0.1:53100"}, {"tcp", "127.0.0.1:8080"}, {"tcp", "127.0.0.1:1883"},
	} {
		if !portFree(p.network, p.addr) {
			t.Skipf("the demo show's %s port %s is taken on this machine; not running the demo", p.network, p.addr)
		}
	}
	exe := os.Args[0]
	var args []string
	if _, err := os.Stat(defaultConfig); err == nil {
		args = append(args, "--demo") // a show file is installed here: ask for the demo
	}
	p := startProc(t, []string{daemonEnv + "=1"}, exe, args...)
	d := &stationProc{proc: p, t: t, base: "http://127.0.0.1:8080", oscAddr: "127.0.0.1:53100"}
	t.Cleanup(func() { d.check(t) })
	if err := d.waitReady(); err != nil {
		if d.exited() && strings.Contains(p.err.String(), "in use") {
			t.Skipf("a demo port was taken meanwhile (another program on this machine): %s", p.err.String())
		}
		t.Fatalf("%v\n%s", err, p.err.String())
	}
	p.out.waitLine(t, 0, "the demo banner's end", func(s string) bool { return strings.Contains(s, "Stop with Ctrl-C") })
	banner := p.out.String()
	for _, want := range []string{
		`cuelight demo show is running: station "demo"`,
		"mosquitto_sub -h 127.0.0.1 -p 1883 -t 'cuelight/#' -v",
		"oscsend localhost 53100 /cuelight/fly/standby_ack s 23",
		"curl -X POST http://127.0.0.1:8080/api/v1/pins/GPIO22/press",
		"http://127.0.0.1:8080/api/v1/pins",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner does not say %q:\n%s", want, banner)
		}
	}
	for _, ch := range []string{"fly", "sl", "sr", "trap"} {
		if _, ok := d.channels(t)[ch]; !ok {
			t.Errorf("demo channel %s missing", ch)
		}
	}

	// The first command, exactly as printed.
	var first []string
	for _, line := range strings.Split(banner, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "oscsend" {
			first = f
			break
		}
	}
	if len(first) < 7 {
		t.Fatalf("no oscsend line in the banner:\n%s", banner)
	}
	if out, err := exec.Command(peertest.Need(t, "oscsend"), first[1:7]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(first[:7], " "), err, out)
	}
	st := d.waitState(t, "fly", "standby", "23")
	if !st.AckRequested || st.Station != "demo" {
		t.Errorf("fly after the banner's command: %+v", st)
	}

	d.signal(t, syscall.SIGTERM)
	if code := d.wait(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM", code)
	}
}

// portFree reports whether addr can be bound now.
func portFree(network, addr string) bool {
	if network == "udp" {
		c, err := net.ListenPacket(network, addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
