//go:build gpiovm

package gpiovm

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/crypto/bcrypt"

	"github.com/cuelight/cuelight/osc"
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

// boothPassword is the host's MQTT password; the show holds its bcrypt
// hash (the embedded broker listens off loopback, so it needs users).
const boothPassword = "gpiovm-booth"

func show(t *testing.T) string {
	hash, err := bcrypt.GenerateFromPassword([]byte(boothPassword), bcrypt.MinCost)
	must(t, err)
	return fmt.Sprintf(`show: gpiovm
mqtt:
  broker: embedded
  listen: 0.0.0.0:1883
  users:
    booth: {password_hash: "%s", role: viewer}
osc:
  listen: 0.0.0.0:53100
  allow: [127.0.0.0/8, 10.0.2.2/32]   # 10.0.2.2: the host, through QEMU user networking
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
`, hash, slow, standbyPin, goPin, ackPin)
}

// freePort returns a TCP or UDP port free on the host's loopback now.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		must(t, err)
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// booth is the host's side of the show: OSC to the station and MQTT from
// it, through QEMU's host forwards into the guest's network.
type booth struct {
	t    *testing.T
	osc  *osc.Client
	mqtt mqtt.Client

	mu      sync.Mutex
	msgs    []string      // "topic payload"
	changed chan struct{} // closed and replaced on every message
}

func newBooth(t *testing.T, oscPort, mqttPort int) *booth {
	c, err := osc.DialUDP(fmt.Sprintf("127.0.0.1:%d", oscPort))
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return &booth{t: t, osc: c, changed: make(chan struct{})}
}

// connect subscribes to cuelight/# as the booth user; the station's
// broker may still be starting, so it retries for 30 s.
func (b *booth) connect(mqttPort int) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		opts := mqtt.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", mqttPort)).
			SetClientID(fmt.Sprintf("gpiovm-host-%d", time.Now().UnixNano())).SetUsername("booth").SetPassword(boothPassword).
			SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(3 * time.Second)
		c := mqtt.NewClient(opts)
		tok := c.Connect()
		if tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			st := c.Subscribe("cuelight/#", 1, func(_ mqtt.Client, m mqtt.Message) {
				b.mu.Lock()
				b.msgs = append(b.msgs, m.Topic()+" "+string(m.Payload()))
				close(b.changed)
				b.changed = make(chan struct{})
				b.mu.Unlock()
			})
			if st.WaitTimeout(5*time.Second) && st.Error() == nil {
				b.mqtt = c
				return
			}
			c.Disconnect(0)
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the host cannot reach the station's MQTT broker through the forward: %v", tok.Error())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (b *booth) disconnect() {
	if b.mqtt != nil {
		b.mqtt.Disconnect(100)
		b.mqtt = nil
	}
}

func (b *booth) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

// send sends one OSC command with a label, or none.
func (b *booth) send(address string, label ...string) {
	b.t.Helper()
	m := &osc.Message{Address: address}
	for _, l := range label {
		m.Args = append(m.Args, osc.String(l))
	}
	must(b.t, b.osc.Send(m))
}

// reply waits for the station's OSC feedback to this sender.
func (b *booth) reply(what, address string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		p, err := b.osc.Receive(ctx)
		if err != nil {
			b.t.Fatalf("%s: no OSC reply %s from the station: %v", what, address, err)
		}
		if m, ok := p.(*osc.Message); ok && m.Address == address {
			b.t.Logf("%s: OSC reply %s", what, m.Address)
			return
		}
	}
}

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
		// Beside cuelightd, as the packages install it: the embedded broker.
		{"cuelight-broker", "build", "-trimpath", "-o", bin("cuelight-broker"), "./cmd/cuelight-broker"},
		{"smoke.test", "test", "-c", "-tags", "pi", "-o", bin("smoke.test"), "./drivers/gpio"},
	} {
		wg.Add(1)
		go func() { defer wg.Done(); build(t, bin(b[0]), b[1:]...) }()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	fs := Initramfs{"show.yaml": []byte(show(t))}
	for name, src := range map[string]string{
		"init": bin("init"), "cuelightd": bin("cuelightd"), "cuelight-broker": bin("cuelight-broker"),
		"smoke.test": bin("smoke.test"),
	} {
		must(t, fs.AddFile(name, src))
	}
	must(t, k.AddTo(fs))
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
	oscPort, mqttPort := freePort(t, "udp"), freePort(t, "tcp")
	vm, err := Boot(ctx, BootOptions{Kernel: k, Initrd: bin("initrd.gz"), Dir: dir,
		Forward: []string{fmt.Sprintf("udp:127.0.0.1:%d-:53100", oscPort), fmt.Sprintf("tcp:127.0.0.1:%d-:1883", mqttPort)},
		Console: func(l string) { t.Log("guest: " + l) }})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Kill()
	t.Logf("guest agent ready %s after launch", time.Since(bootAt).Round(100*time.Millisecond))
	note, err := vm.Command("net", 90*time.Second)
	must(t, err)
	t.Logf("guest network: %s; host forwards: OSC udp 127.0.0.1:%d, MQTT tcp 127.0.0.1:%d", note, oscPort, mqttPort)

	b := newBooth(t, oscPort, mqttPort)
	station(t, vm, b, mqttPort)
	smoke(t, vm)

	if err := vm.PowerOff(30 * time.Second); err != nil {
		t.Error(err)
	}
	t.Logf("whole run %s (QEMU %s)", time.Since(start).Round(100*time.Millisecond), time.Since(bootAt).Round(100*time.Millisecond))
}

func must(t testing.TB, err error) {
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

// mqttLine waits for a message the host received, from index from on,
// whose "topic payload" contains every one of parts.
func mqttLine(t *testing.T, b *booth, from int, what string, parts ...string) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		b.mu.Lock()
		for i := from; i < len(b.msgs); i++ {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(b.msgs[i], p)
			}
			if all {
				l := b.msgs[i]
				b.mu.Unlock()
				t.Logf("%s: MQTT at the host: %s", what, l)
				return l
			}
		}
		from = len(b.msgs)
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%s: the host got no MQTT message with %q", what, parts)
		}
	}
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

func station(t *testing.T, vm *VM, b *booth, mqttPort int) {
	// The pull-up the model lacks: the ACK input rests high (released).
	must(t, vm.SetInput(ackPin, true))

	from := vm.Mark()
	_, err := vm.Command("start", 90*time.Second)
	must(t, err)
	b.connect(mqttPort)
	mqttLine(t, b, 0, "started", "cuelight/station/gpiovm/info", `"channels":["fly"]`)
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
		t.Logf("lines held: %s", strings.Join(held, "; "))
	}

	// 1. Dark at start.
	steady(t, vm, "dark at start", standbyPin, false, time.Second)
	steady(t, vm, "dark at start", goPin, false, 100*time.Millisecond)

	// 2. Standby with ack requested: the standby lamp flashes at patterns.slow.
	from = b.mark()
	b.send("/cuelight/fly/standby_ack", "23")
	b.reply("standby", "/cuelight/state/fly/standby")
	mqttLine(t, b, from, "standby", "cuelight/channel/fly/state", `"state":"standby"`, `"label":"23"`)
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
	from = b.mark()
	must(t, vm.SetInput(ackPin, false))
	time.Sleep(400 * time.Millisecond)
	must(t, vm.SetInput(ackPin, true))
	mqttLine(t, b, from, "ack", "cuelight/channel/fly/event", `"event":"ack"`, `"source":"button"`)
	steady(t, vm, "acknowledged", standbyPin, true, time.Second)

	// 4. GO: the GO lamp steady, the standby lamp dark.
	from = b.mark()
	b.send("/cuelight/fly/go", "23")
	b.reply("go", "/cuelight/state/fly/go")
	mqttLine(t, b, from, "go", "cuelight/channel/fly/state", `"state":"go"`)
	steady(t, vm, "go", goPin, true, 1500*time.Millisecond)
	steady(t, vm, "go", standbyPin, false, 100*time.Millisecond)

	// 5. SIGTERM: exit 0, every lamp dark, every line released.
	from = b.mark()
	note, err := vm.Command("term", 40*time.Second)
	must(t, err)
	t.Logf("SIGTERM: %s", note)
	mqttLine(t, b, from, "SIGTERM", "cuelight/channel/fly/state", `"state":"off"`)
	mqttLine(t, b, from, "SIGTERM", "cuelight/station/gpiovm/status offline")
	b.disconnect()
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
	} else {
		t.Logf("after SIGTERM: GPLEV0 %#08x, both lamps dark; no line held by cuelightd", l)
	}

	// 6. A restart: still dark, nothing pending survives.
	_, err = vm.Command("start", 90*time.Second)
	must(t, err)
	from = b.mark()
	b.connect(mqttPort)
	steady(t, vm, "after restart", standbyPin, false, 1500*time.Millisecond)
	steady(t, vm, "after restart", goPin, false, 100*time.Millisecond)
	mqttLine(t, b, from, "after restart", "cuelight/channel/fly/state", `"state":"off"`)
	b.disconnect()
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
