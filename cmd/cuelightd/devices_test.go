package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/drivers"
)

// TestDeviceMissingAtStart: a device the station cannot reach stops the
// start, with an error naming the device and its bus, before anything
// listens.
func TestDeviceMissingAtStart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "show.yaml")
	show := "show: x\nosc: {listen: 127.0.0.1:0}\nweb: {listen: 127.0.0.1:0}\n" +
		"stations: {a: {driver: gpio, devices: {pwm1: {type: pca9685, bus: i2c99}}}}\n" +
		"channels: {fly: {standby_lamp: pwm1:0}}\n"
	if err := os.WriteFile(path, []byte(show), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "--config", path, "--station", "a")
	if code == 0 {
		t.Fatalf("exit status 0 with an unreachable device; stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr, "pwm1 (pca9685 at 0x40 on i2c99)") {
		t.Errorf("stderr does not name the device and its bus:\n%s", stderr)
	}
}

// TestDemoBoardKeepsNoTrace: the sim board of a running station keeps no
// history of lamp changes (nothing in the daemon reads one), so a demo
// left running for days holds no more memory than one just started.
func TestDemoBoardKeepsNoTrace(t *testing.T) {
	t.Parallel()
	_, b, err := openBoard(config.Station{Driver: "sim"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.Lamp("GPIO17", drivers.PinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := l.Set(float64(i % 2)); err != nil {
			t.Fatal(err)
		}
	}
	if tr := b.Trace(); len(tr) != 0 {
		t.Errorf("the daemon's sim board kept %d changes, want none", len(tr))
	}
}
