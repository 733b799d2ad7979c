package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cuectl config check says exactly what cuelightd check-config says, with
// the same exit status.
func TestConfigCheckMatchesDaemon(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"valid.yaml":    "show: Hamlet\nstations: {sl-wing: {driver: sim}}\nchannels:\n  fly: {standby_lamp: GPIO17, go_lamp: GPIO27}\n  sl: {standby_lamp: GPIO16}\n",
		"dup-pin.yaml":  "show: x\nstations: {a: {driver: gpio}}\nchannels:\n  fly: {standby_lamp: GPIO17, go_lamp: GPIO27}\n  sl: {standby_lamp: GPIO27}\n",
		"reserved.yaml": "show: x\nstations: {a: {driver: sim}}\nchannels:\n  all: {standby_lamp: GPIO17}\n  fyl: {standby_lamp: GPIO99, bogus: 1}\n",
		"syntax.yaml":   "show: [x\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		file string
		code int
	}{
		{"valid.yaml", 0},
		{"dup-pin.yaml", 1},
		{"reserved.yaml", 1},
		{"syntax.yaml", 1},
		{"missing.yaml", 1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, tc.file)
			r := ctl(t, "config", "check", path)
			cmd := exec.Command(daemonBin, "check-config", path)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			code := 0
			if err := cmd.Run(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatal(err)
				}
				code = ee.ExitCode()
			}
			if r.code != tc.code || code != tc.code {
				t.Fatalf("cuectl exit %d, cuelightd exit %d, want %d\n%s", r.code, code, tc.code, r)
			}
			if r.stdout != out.String() || r.stderr != errb.String() {
				t.Errorf("cuectl and cuelightd differ\ncuectl:\n%s\ncuelightd:\nstdout:\n%sstderr:\n%s", r, out.String(), errb.String())
			}
			if tc.code == 1 && r.stderr == "" {
				t.Errorf("an invalid file gives no message")
			}
		})
	}
}

// The installed show file is 0640 root:cuelight: a user outside the group
// gets the default addresses and a note, not a failure. (Root reads any
// file, so this can only be observed as another user.)
func TestUnreadableDefaultConfig(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("running as root, which can read any file: run as another user to test an unreadable default show file")
	}
	path := filepath.Join(t.TempDir(), "cuelight.yaml")
	if err := os.WriteFile(path, []byte("show: x\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	c := &cli{stdout: &bytes.Buffer{}, stderr: &errb, clock: realClock(), getenv: noEnv, defaultConfig: path}
	o := &opts{}
	if err := c.loadConfig(o); err != nil || o.cfg != nil {
		t.Fatalf("loadConfig: %v (cfg %v), want the defaults", err, o.cfg)
	}
	if !bytes.Contains(errb.Bytes(), []byte("permission denied")) {
		t.Errorf("no note on stderr: %q", errb.String())
	}
}

// A show file with errors on disk does not stop cuectl from talking to
// the running station (which runs the show it loaded): one line on stderr
// names the file and its first error, and the command goes to the
// addresses given on the command line.
func TestShowFileWithErrors(t *testing.T) {
	t.Parallel()
	s := startStation(t, "")
	good, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, append(good, "bogus_key: 1\nalso_bogus: 2\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	warning := `^cuectl: warning: ignoring the show file, it has errors; using the addresses given here or the defaults: ` +
		`.*bad\.yaml:\d+: bogus_key: .* \(and 1 more: cuectl config check .*bad\.yaml\)$`
	for _, args := range [][]string{
		{"standby", "sl", "5"},
		{"sync"},
	} {
		r := ctl(t, append([]string{"--config", bad, "--osc", s.osc, "--timeout", "20s"}, args...)...)
		expect(t, r, 0, []string{`^sl: standby "5"$`}, []string{warning})
		if n := strings.Count(r.stderr, "\n"); n != 1 {
			t.Errorf("cuectl %s: %d lines on stderr, want one:\n%s", args[0], n, r.stderr)
		}
	}
	// The same through $CUELIGHT_CONFIG, as an installed show file is met.
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, clock: realClock(), getenv: func(k string) string {
		if k == "CUELIGHT_CONFIG" {
			return bad
		}
		return ""
	}}
	if code := c.main(context.Background(), []string{"sync", "--osc", s.osc, "--timeout", "20s"}); code != 0 || !strings.Contains(errb.String(), "bad.yaml") {
		t.Errorf("with $CUELIGHT_CONFIG: exit %d, stderr %q", code, errb.String())
	}
	// config check still fails on it.
	expect(t, ctl(t, "config", "check", bad), 1, nil, []string{`bogus_key`})
}
