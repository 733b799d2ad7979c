// Command guest is the /init of the gpiovm test's initramfs: a static
// linux/arm64 program that sets up the guest (devtmpfs, proc, sysfs,
// debugfs, tmpfs, the loopback interface, the watchdog module a power-off
// needs) and then obeys one-line commands from the host on the serial
// console. Every line it writes for the host starts with "@@ ", so kernel
// messages on the same console are told apart.
//
// Commands (one per line; each ends with "@@ ok <verb> ..." or
// "@@ err <verb> <message>"):
//
//	start                 run /cuelightd --config /show.yaml; its log lines
//	                      come back as "@@ log <line>", and once its MQTT
//	                      broker answers, every message on cuelight/# as
//	                      "@@ mqtt <topic> <payload>"
//	osc <address> [text]  send one OSC message (string argument if text is
//	                      given) over UDP to the station on 127.0.0.1:53100
//	term                  SIGTERM cuelightd and wait: "@@ ok term exit=N ms=M"
//	gpio                  /sys/kernel/debug/gpio as "@@ gpio <line>" lines
//	smoke <out> <in>      run /smoke.test (drivers/gpio built with -tags pi)
//	                      on those pins; its output as "@@ out <line>"
//	poweroff              power the guest off (QEMU exits)
//
// The booth side (OSC sender, MQTT subscriber) runs here in the guest
// because QEMU's raspi3b machine has no network device the kernel drives
// without USB gadget set-up; docs/hardware-test.md says so.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sys/unix"
)

var (
	outMu sync.Mutex
	out   *os.File = os.Stdout
)

// say writes one line for the host.
func say(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	line = strings.ReplaceAll(line, "\n", " ")
	outMu.Lock()
	fmt.Fprintf(out, "@@ %s\n", line)
	outMu.Unlock()
}

func main() {
	if os.Getpid() == 1 {
		if err := setup(); err != nil {
			say("err setup %v", err)
			poweroff()
		}
	}
	say("ready")
	a := &agent{}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		a.do(line)
	}
	say("err stdin %v", sc.Err())
	poweroff()
}

func poweroff() {
	if os.Getpid() != 1 {
		os.Exit(0)
	}
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

func setup() error {
	for _, m := range []struct{ src, dst, fs string }{
		{"devtmpfs", "/dev", "devtmpfs"},
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"debugfs", "/sys/kernel/debug", "debugfs"},
		{"tmpfs", "/tmp", "tmpfs"},
		{"tmpfs", "/run", "tmpfs"},
	} {
		os.MkdirAll(m.dst, 0o755)
		if err := unix.Mount(m.src, m.dst, m.fs, 0, ""); err != nil {
			return fmt.Errorf("mount %s: %w", m.dst, err)
		}
	}
	// The initramfs has no /dev/console node, so the kernel started us
	// with no stdin/stdout: take the console now.
	tty, err := os.OpenFile("/dev/console", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	for fd := 0; fd <= 2; fd++ {
		unix.Dup2(int(tty.Fd()), fd)
	}
	os.Stdin = os.NewFile(0, "stdin")
	out = os.NewFile(1, "stdout")
	os.Stderr = os.NewFile(2, "stderr")
	if t, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		t.Lflag &^= unix.ECHO | unix.ECHONL
		unix.IoctlSetTermios(0, unix.TCSETS, t)
	}
	unix.Sethostname([]byte("gpiovm"))
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	f, err := os.Open("/bcm2835_wdt.ko")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && err != unix.EEXIST {
		return fmt.Errorf("finit_module bcm2835_wdt: %w", err)
	}
	return nil
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

type agent struct {
	station *exec.Cmd
	done    chan struct{} // closed when station has exited
	exitErr error
	client  mqtt.Client
}

func (a *agent) do(line string) {
	f := strings.Fields(line)
	verb := f[0]
	say("got %s", line)
	var err error
	var note string
	switch verb {
	case "start":
		err = a.start()
	case "osc":
		if len(f) < 2 {
			err = fmt.Errorf("usage: osc <address> [text]")
			break
		}
		err = sendOSC(f[1], f[2:])
	case "term":
		note, err = a.term()
	case "gpio":
		var b []byte
		if b, err = os.ReadFile("/sys/kernel/debug/gpio"); err == nil {
			for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
				say("gpio %s", l)
			}
		}
	case "smoke":
		if len(f) != 3 {
			err = fmt.Errorf("usage: smoke <out> <in>")
			break
		}
		note, err = smoke(f[1], f[2])
	case "poweroff":
		say("ok poweroff")
		poweroff()
	default:
		err = fmt.Errorf("unknown command")
	}
	if err != nil {
		say("err %s %v", verb, err)
		return
	}
	say("ok %s %s", verb, note)
}

// pipeLines forwards each line of r as "@@ <prefix> <line>".
func pipeLines(prefix string, r *os.File, wg *sync.WaitGroup) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		say("%s %s", prefix, sc.Text())
	}
}

func (a *agent) start() error {
	if a.station != nil {
		return fmt.Errorf("already running")
	}
	cmd := exec.Command("/cuelightd", "--config", "/show.yaml", "--station", "gpiovm")
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		w.Close()
		r.Close()
		return err
	}
	w.Close()
	a.station, a.done = cmd, make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go pipeLines("log", r, &wg)
	go func() {
		a.exitErr = cmd.Wait()
		wg.Wait()
		r.Close()
		close(a.done)
	}()
	// The booth side: subscribe once the embedded broker answers.
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-a.done:
			return fmt.Errorf("cuelightd exited: %v", a.exitErr)
		default:
		}
		opts := mqtt.NewClientOptions().AddBroker("tcp://127.0.0.1:1883").SetClientID(fmt.Sprintf("gpiovm-booth-%d", time.Now().UnixNano())).
			SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(2 * time.Second)
		c := mqtt.NewClient(opts)
		tok := c.Connect()
		if tok.WaitTimeout(3*time.Second) && tok.Error() == nil {
			st := c.Subscribe("cuelight/#", 1, func(_ mqtt.Client, m mqtt.Message) {
				say("mqtt %s %s", m.Topic(), bytes.TrimSpace(m.Payload()))
			})
			if st.WaitTimeout(5*time.Second) && st.Error() == nil {
				a.client = c
				return nil
			}
			c.Disconnect(0)
		}
		say("log (agent) broker not answering yet: %v", tok.Error())
		if time.Now().After(deadline) {
			return fmt.Errorf("the station's MQTT broker did not answer within 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (a *agent) term() (string, error) {
	if a.station == nil {
		return "", fmt.Errorf("not running")
	}
	start := time.Now()
	if err := a.station.Process.Signal(syscall.SIGTERM); err != nil {
		return "", err
	}
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		a.station.Process.Kill()
		<-a.done
		return "", fmt.Errorf("cuelightd did not exit within 30 s of SIGTERM (killed)")
	}
	took := time.Since(start)
	if a.client != nil {
		a.client.Disconnect(0)
		a.client = nil
	}
	code := a.station.ProcessState.ExitCode()
	a.station = nil
	return fmt.Sprintf("exit=%d ms=%d", code, took.Milliseconds()), nil
}

func smoke(outPin, inPin string) (string, error) {
	cmd := exec.Command("/smoke.test", "-test.run", "Smoke", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "CUELIGHT_SMOKE_OUT="+outPin, "CUELIGHT_SMOKE_IN="+inPin)
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return "", err
	}
	w.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go pipeLines("out", r, &wg)
	err = cmd.Wait()
	wg.Wait()
	r.Close()
	return fmt.Sprintf("exit=%d", cmd.ProcessState.ExitCode()), nil
}

// sendOSC sends one OSC 1.0 message with zero or one string argument.
func sendOSC(address string, text []string) error {
	pad := func(b []byte, s string) []byte {
		b = append(b, s...)
		return append(b, make([]byte, 4-len(s)%4)...)
	}
	msg := pad(nil, address)
	if len(text) > 0 {
		msg = pad(msg, ",s")
		msg = pad(msg, strings.Join(text, " "))
	} else {
		msg = pad(msg, ",")
	}

	c, err := net.Dial("udp", "127.0.0.1:53100")
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write(msg)
	return err
}
