package gpio

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	pgpio "periph.io/x/conn/v3/gpio"
)

func TestBackendOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		hardware bool
		loaded   []string
		want     string
	}{
		{"no pins at all", false, []string{"ioctl-gpio"}, BackendNone},
		{"Raspberry Pi OS, gpio group: bcm283x loaded", true, []string{"ioctl-gpio", "bcm283x-gpio", "rpi"}, BackendGPIOMem},
		// Debian's kernel (the QEMU test): bcm283x-gpio fails on the
		// PWM0_OUT alias, the pins fall back to the character device.
		{"mainline kernel: bcm283x failed", true, []string{"ioctl-gpio", "sysfs-gpio"}, BackendChardev},
		{"Pi 5", true, []string{"ioctl-gpio"}, BackendChardev},
	} {
		loaded := map[string]bool{}
		for _, d := range tc.loaded {
			loaded[d] = true
		}
		if got := backendOf(tc.hardware, loaded); got != tc.want {
			t.Errorf("%s: backendOf = %q, want %q", tc.name, got, tc.want)
		}
		if backendMeaning[tc.want] == "" {
			t.Errorf("%s: no meaning logged for %q", tc.name, tc.want)
		}
	}
}

func TestBackendLoggedAtOpen(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	b, err := New(Options{Pins: func(string) pgpio.PinIO { return nil }, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if b.Backend() != BackendCustom {
		t.Errorf("Backend() = %q, want %q with Options.Pins", b.Backend(), BackendCustom)
	}
	if !strings.Contains(log.String(), `msg="gpio backend" backend=custom`) {
		t.Errorf("New logged %q, want a \"gpio backend\" line naming it", log.String())
	}
}
