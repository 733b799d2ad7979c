// Command guest is the /init of the gpiovm test's initramfs: a static
// linux/arm64 program that sets up the guest (devtmpfs, proc, sysfs,
// debugfs, tmpfs, the loopback interface, the watchdog module a power-off
// needs, and the USB network modules when the initramfs has them) and then
// obeys one-line commands from the host on the serial console. Every line
// it writes for the host starts with "@@ ", so kernel messages on the same
// console are told apart.
//
// Commands (one per line; each ends with "@@ ok <verb> ..." or
// "@@ err <verb> <message>"):
//
//	net                   bring up the USB network interface as 10.0.2.15/24
//	                      (QEMU user networking: the host is 10.0.2.2)
//	start                 run /cuelightd --config /show.yaml and wait for its
//	                      "station ready" line; its log lines come back as
//	                      "@@ log <line>"
//	term                  SIGTERM cuelightd and wait: "@@ ok term exit=N ms=M"
//	gpio                  /sys/kernel/debug/gpio as "@@ gpio <line>" lines
//	smoke <out> <in>      run /smoke.test (drivers/gpio built with -tags pi)
//	                      on those pins; its output as "@@ out <line>"
//	poweroff              power the guest off (QEMU exits)
//
// The booth side (OSC in, MQTT out) is the host's, through QEMU's host
// forwards: see internal/gpiovm/vm_test.go.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

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
	if err := loadModule("/bcm2835_wdt.ko"); err != nil {
		return err
	}
	// The network, when the host gave the USB modules: in the order of
	// /modules/order, dependencies first.
	if order, err := os.ReadFile("/modules/order"); err == nil {
		for _, m := range strings.Fields(string(order)) {
			if err := loadModule("/modules/" + m + ".ko"); err != nil {
				return err
			}
		}
	}
	return nil
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && err != unix.EEXIST {
		return fmt.Errorf("finit_module %s: %w", path, err)
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
	case "net":
		note, err = netUp()
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

// pipeLines forwards each line of r as "@@ <prefix> <line>", and closes
// signal at the first line that match accepts (match may be nil).
func pipeLines(prefix string, r *os.File, wg *sync.WaitGroup, match func(string) bool, signal chan struct{}) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		say("%s %s", prefix, sc.Text())
		if match != nil && match(sc.Text()) {
			close(signal)
			match = nil
		}
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
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go pipeLines("log", r, &wg, func(line string) bool { return strings.Contains(line, `msg="station ready"`) }, ready)
	go func() {
		a.exitErr = cmd.Wait()
		wg.Wait()
		r.Close()
		close(a.done)
	}()
	select {
	case <-ready:
		return nil
	case <-a.done:
		a.station = nil
		return fmt.Errorf("cuelightd exited: %v", a.exitErr)
	case <-time.After(60 * time.Second):
		return fmt.Errorf("no \"station ready\" from cuelightd within 60 s")
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
	go pipeLines("out", r, &wg, nil, nil)
	_ = cmd.Wait() // a failure is its exit code, reported
	wg.Wait()
	r.Close()
	return fmt.Sprintf("exit=%d", cmd.ProcessState.ExitCode()), nil
}

// netUp waits for the USB network interface (QEMU's usb-net behind the
// Pi's dwc2 controller) and gives it QEMU user networking's guest address.
func netUp() (string, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ifs, _ := net.Interfaces()
		for _, i := range ifs {
			if i.Flags&net.FlagLoopback != 0 {
				continue
			}
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
			if err != nil {
				return "", err
			}
			defer unix.Close(fd)
			ifr, _ := unix.NewIfreq(i.Name)
			if err := ifr.SetInet4Addr(net.IPv4(10, 0, 2, 15).To4()); err != nil {
				return "", err
			}
			if err := unix.IoctlIfreq(fd, unix.SIOCSIFADDR, ifr); err != nil {
				return "", fmt.Errorf("%s: set address: %w", i.Name, err)
			}
			ifr, _ = unix.NewIfreq(i.Name)
			ifr.SetInet4Addr(net.IPv4(255, 255, 255, 0).To4())
			if err := unix.IoctlIfreq(fd, unix.SIOCSIFNETMASK, ifr); err != nil {
				return "", fmt.Errorf("%s: set netmask: %w", i.Name, err)
			}
			ifr, _ = unix.NewIfreq(i.Name)
			if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
				return "", err
			}
			ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
			if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
				return "", fmt.Errorf("%s: up: %w", i.Name, err)
			}
			return "iface=" + i.Name + " addr=10.0.2.15/24", nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no network interface after 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
