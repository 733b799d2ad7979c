//go:build gpiovm

package gpiovm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The show on real pins. The lamps are active-high (an LED to ground),
// the ACK button active-low (a button to ground, the usual wiring): QEMU
// has no pull resistors, so the host holds the input high itself, as the
// pull-up would, and pulls it low to press.
const (
	standbyPin = 17
	goPin      = 27
	ackPin     = 22
	smokeOut   = 23
	smokeIn    = 24
	slow       = time.Second // patterns.slow: the standby flash period
)

var show = fmt.Sprintf(`show: gpiovm
mqtt: {broker: embedded, listen: 127.0.0.1:1883}
osc: {listen: 127.0.0.1:53100}
patterns: {slow: %s}
stations:
  gpiovm: {driver: gpio}
channels:
  fly:
    station: gpiovm
    standby_lamp: GPIO%d
    go_lamp: GPIO%d
    ack_button: {pin: GPIO%d, active_low: true}
    go_hold: 60s
`, slow, standbyPin, goPin, ackPin)

// build cross-compiles one package for the guest.
func build(t *testing.T, out string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	t.Logf("built %s for linux/arm64 in %s", filepath.Base(out), time.Since(start).Round(100*time.Millisecond))
}

// TestStationOnRealGPIO runs cuelightd with driver: gpio on Debian's arm64
// kernel in QEMU's raspi3b (pinctrl-bcm2835 behind /dev/gpiochip0), reads
// its lamps and presses its ACK button from the host through qtest, then
// runs the -tags pi smoke test in the same guest.
func TestStationOnRealGPIO(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux and QEMU")
	}
	if err := EnsureQEMU(ctx, t.Logf); err != nil {
		t.Fatal(err)
	}
	k, err := FetchKernel(ctx, DefaultCacheDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.CheckConfig(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if keep := os.Getenv("CUELIGHT_GPIO_VM_KEEP"); keep != "" { // to boot the same files by hand
		dir = keep
		must(t, os.MkdirAll(dir, 0o755))
	}
	bin := func(name string) string { return filepath.Join(dir, name) }
	var wg sync.WaitGroup
	for _, b := range [][]string{
		{"init", "build", "-trimpath", "-o", bin("init"), "./internal/gpiovm/guest"},
		{"cuelightd", "build", "-trimpath", "-o", bin("cuelightd"), "./cmd/cuelightd"},
		{"smoke.test", "test", "-c", "-tags", "pi", "-o", bin("smoke.test"), "./drivers/gpio"},
	} {
		wg.Add(1)
		go func() { defer wg.Done(); build(t, bin(b[0]), b[1:]...) }()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	fs := Initramfs{"show.yaml": []byte(show)}
	for name, src := range map[string]string{
		"init": bin("init"), "cuelightd": bin("cuelightd"), "smoke.test": bin("smoke.test"), "bcm2835_wdt.ko": k.WDT,
	} {
		if err := fs.AddFile(name, src); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(bin("initrd.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	f.Close()

	t.Logf("prepared in %s; booting %s %s on raspi3b", time.Since(start).Round(100*time.Millisecond), k.Package, k.Version)
	bootAt := time.Now()
	vm, err := Boot(ctx, BootOptions{Kernel: k, Initrd: bin("initrd.gz"), Dir: dir, Console: func(l string) { t.Log("guest: " + l) }})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Kill()
	t.Logf("guest agent ready %s after launch", time.Since(bootAt).Round(100*time.Millisecond))

	station(t, vm)
	smoke(t, vm)

	if err := vm.PowerOff(30 * time.Second); err != nil {
		t.Error(err)
	}
	t.Logf("whole run %s (QEMU %s)", time.Since(start).Round(100*time.Millisecond), time.Since(bootAt).Round(100*time.Millisecond))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func bit(levels uint32, gpio int) bool { return levels&(1<<gpio) != 0 }

// sample reads GPLEV0 every 10 ms for d and returns the levels of one pin
// with their times.
func sample(t *testing.T, vm *VM, gpio int, d time.Duration) (levels []bool, at []time.Time) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		l, err := vm.Levels()
		must(t, err)
		levels, at = append(levels, bit(l, gpio)), append(at, time.Now())
		time.Sleep(10 * time.Millisecond)
	}
	return levels, at
}

// steady fails unless pin gpio stayed at want for all of d.
func steady(t *testing.T, vm *VM, what string, gpio int, want bool, d time.Duration) {
	t.Helper()
	levels, _ := sample(t, vm, gpio, d)
	for i, l := range levels {
		if l != want {
			t.Fatalf("%s: GPIO%d read %v at sample %d of %d, want steady %v", what, gpio, l, i, len(levels), want)
		}
	}
	t.Logf("%s: GPIO%d steady %v over %d samples (%s)", what, gpio, want, len(levels), d)
}

// mqttLine waits for a "mqtt <topic> <payload>" agent line whose topic and
// payload contain every one of parts.
func mqttLine(t *testing.T, vm *VM, from int, what string, parts ...string) string {
	t.Helper()
	_, l, err := vm.WaitLine(from, 30*time.Second, func(l string) bool {
		if !strings.HasPrefix(l, "mqtt ") {
			return false
		}
		for _, p := range parts {
			if !strings.Contains(l, p) {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("%s: no MQTT message with %q: %v", what, parts, err)
	}
	t.Logf("%s: %s", what, l)
	return l
}

// consumers returns the /sys/kernel/debug/gpio lines held by cuelightd.
func consumers(t *testing.T, vm *VM) []string {
	t.Helper()
	from := vm.Mark()
	_, err := vm.Command("gpio", 10*time.Second)
	must(t, err)
	var held []string
	for _, l := range vm.Lines(from) {
		if strings.HasPrefix(l, "gpio ") && strings.Contains(l, "cuelightd") {
			held = append(held, strings.TrimSpace(strings.TrimPrefix(l, "gpio ")))
		}
	}
	return held
}

func station(t *testing.T, vm *VM) {
	// The pull-up the model lacks: the ACK input rests high (released).
	must(t, vm.SetInput(ackPin, true))

	from := vm.Mark()
	_, err := vm.Command("start", 90*time.Second)
	must(t, err)
	_, backend, err := vm.WaitLine(from, 10*time.Second, func(l string) bool { return strings.HasPrefix(l, "log ") && strings.Contains(l, "gpio backend") })
	if err != nil {
		t.Errorf("no \"gpio backend\" log line from cuelightd: %v", err)
	} else {
		t.Logf("backend: %s", backend)
		if !strings.Contains(backend, "backend=chardev") {
			t.Errorf("on Debian's kernel the pins go through the GPIO character device; the log says %s", backend)
		}
	}
	if held := consumers(t, vm); len(held) != 3 {
		t.Errorf("cuelightd holds %d lines, want 3 (two lamps, one button):\n%s", len(held), strings.Join(held, "\n"))
	} else {
		t.Logf("lines held:\n%s", strings.Join(held, "\n"))
	}

	// 1. Dark at start.
	steady(t, vm, "dark at start", standbyPin, false, time.Second)
	steady(t, vm, "dark at start", goPin, false, 100*time.Millisecond)

	// 2. Standby with ack requested: the standby lamp flashes at patterns.slow.
	from = vm.Mark()
	_, err = vm.Command("osc /cuelight/fly/standby_ack 23", 10*time.Second)
	must(t, err)
	mqttLine(t, vm, from, "standby", "cuelight/channel/fly/state", `"state":"standby"`, `"label":"23"`)
	levels, at := sample(t, vm, standbyPin, 3*slow+slow/2)
	var rises []time.Time
	lit := 0
	for i := 1; i < len(levels); i++ {
		if levels[i] && !levels[i-1] {
			rises = append(rises, at[i])
		}
		if levels[i] {
			lit++
		}
	}
	if len(rises) < 3 {
		t.Fatalf("standby: the standby lamp rose %d times in %s of samples, want a flash every %s", len(rises), 3*slow+slow/2, slow)
	}
	for i := 1; i < len(rises); i++ {
		p := rises[i].Sub(rises[i-1])
		if p < slow*8/10 || p > slow*12/10 {
			t.Errorf("standby: flash period %s, want %s ±20%%", p, slow)
		}
	}
	if duty := float64(lit) / float64(len(levels)); duty < 0.3 || duty > 0.7 {
		t.Errorf("standby: lit in %.0f%% of samples, want about 50%%", duty*100)
	}
	t.Logf("standby: %d rises, periods ok, lit %d of %d samples", len(rises), lit, len(levels))
	steady(t, vm, "standby", goPin, false, 100*time.Millisecond)

	// 3. ACK on the real input: pulled low for longer than the debounce
	// (20 ms) plus the sampling period (100 ms), since the model has no
	// edge detection and the button is seen by sampling only.
	from = vm.Mark()
	must(t, vm.SetInput(ackPin, false))
	time.Sleep(400 * time.Millisecond)
	must(t, vm.SetInput(ackPin, true))
	mqttLine(t, vm, from, "ack", "cuelight/channel/fly/event", `"event":"ack"`, `"source":"button"`)
	steady(t, vm, "acknowledged", standbyPin, true, time.Second)

	// 4. GO: the GO lamp steady, the standby lamp dark.
	from = vm.Mark()
	_, err = vm.Command("osc /cuelight/fly/go 23", 10*time.Second)
	must(t, err)
	mqttLine(t, vm, from, "go", "cuelight/channel/fly/state", `"state":"go"`)
	steady(t, vm, "go", goPin, true, 1500*time.Millisecond)
	steady(t, vm, "go", standbyPin, false, 100*time.Millisecond)

	// 5. SIGTERM: exit 0, every lamp dark, every line released.
	note, err := vm.Command("term", 40*time.Second)
	must(t, err)
	t.Logf("SIGTERM: %s", note)
	if !strings.HasPrefix(note, "exit=0 ") {
		t.Errorf("SIGTERM: cuelightd ended with %s, want exit=0", note)
	}
	l, err := vm.Levels()
	must(t, err)
	if bit(l, standbyPin) || bit(l, goPin) {
		t.Errorf("after SIGTERM: GPLEV0 %#08x: a lamp is lit (GPIO%d %v, GPIO%d %v)", l, standbyPin, bit(l, standbyPin), goPin, bit(l, goPin))
	}
	if held := consumers(t, vm); len(held) != 0 {
		t.Errorf("after SIGTERM the kernel still lists lines held by cuelightd:\n%s", strings.Join(held, "\n"))
	}

	// 6. A restart: still dark, nothing pending survives.
	from = vm.Mark()
	_, err = vm.Command("start", 90*time.Second)
	must(t, err)
	steady(t, vm, "after restart", standbyPin, false, 1500*time.Millisecond)
	steady(t, vm, "after restart", goPin, false, 100*time.Millisecond)
	mqttLine(t, vm, from, "after restart", "cuelight/channel/fly/state", `"state":"off"`)
	note, err = vm.Command("term", 40*time.Second)
	must(t, err)
	if !strings.HasPrefix(note, "exit=0 ") {
		t.Errorf("second SIGTERM: %s, want exit=0", note)
	}
}

// smoke runs drivers/gpio's -tags pi smoke test in the guest. The host is
// the jumper between its two pins: it copies the output's level to the
// input as fast as qtest answers.
func smoke(t *testing.T, vm *VM) {
	stop := make(chan struct{})
	jumperDone := make(chan error, 1)
	go func() {
		last := -1
		for {
			select {
			case <-stop:
				jumperDone <- nil
				return
			default:
			}
			l, err := vm.Levels()
			if err != nil {
				jumperDone <- err
				return
			}
			if b := int(l>>smokeOut) & 1; b != last {
				if err := vm.SetInput(smokeIn, b == 1); err != nil {
					jumperDone <- err
					return
				}
				last = b
			}
		}
	}()
	from := vm.Mark()
	note, err := vm.Command(fmt.Sprintf("smoke GPIO%d GPIO%d", smokeOut, smokeIn), 3*time.Minute)
	close(stop)
	if jerr := <-jumperDone; jerr != nil {
		t.Errorf("jumper: %v", jerr)
	}
	must(t, err)
	if note != "exit=0" {
		for _, l := range vm.Lines(from) {
			t.Log(l)
		}
		t.Fatalf("smoke test in the guest: %s", note)
	}
	if _, l, _ := vm.WaitLine(from, 0, func(l string) bool { return strings.HasPrefix(l, "out --- PASS: TestSmoke") }); l != "" {
		t.Logf("smoke: %s", l)
	} else {
		t.Errorf("smoke test exited 0 without a PASS line for TestSmoke (skipped?)")
	}
}
