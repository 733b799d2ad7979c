package gpiovm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BCM2837 GPIO registers (physical addresses) as QEMU's raspi3b models
// them: GPLEV0 holds the levels of GPIO0–31 (an output's bit is what the
// guest drove); writing a bit to GPSET0/GPCLR0 sets/clears the level an
// input reads.
const (
	gpioBase = 0x3f200000
	GPSET0   = gpioBase + 0x1c
	GPCLR0   = gpioBase + 0x28
	GPLEV0   = gpioBase + 0x34
)

// EnsureQEMU installs qemu-system-arm (--no-install-recommends) when
// qemu-system-aarch64 is missing. It needs root and Debian's mirrors.
func EnsureQEMU(ctx context.Context, logf func(string, ...any)) error {
	if _, err := exec.LookPath("qemu-system-aarch64"); err == nil {
		return nil
	}
	logf("qemu-system-aarch64 missing: apt-get install qemu-system-arm")
	for _, args := range [][]string{
		{"update", "-qq"},
		{"install", "-y", "-qq", "--no-install-recommends", "qemu-system-arm"},
	} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	_, err := exec.LookPath("qemu-system-aarch64")
	return err
}

// VM is a running raspi3b guest.
type VM struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	qt    net.Conn
	qr    *bufio.Reader
	qmu   sync.Mutex
	done  chan struct{} // closed when QEMU has exited
	err   error         // QEMU's exit, once done

	mu      sync.Mutex
	lines   []string      // the guest agent's lines, "@@ " removed
	changed chan struct{} // closed and replaced on every new line
}

// BootOptions are the files of one boot.
type BootOptions struct {
	Kernel *Kernel
	Initrd string // gzip'd newc archive
	Dir    string // for the qtest socket
	// Forward, when not empty, gives the guest a network (QEMU user
	// networking on a usb-net device; the guest is 10.0.2.15 and sees the
	// host as 10.0.2.2) with these host forwards, in QEMU's syntax:
	// "udp:127.0.0.1:40000-:53100".
	Forward []string
	// Console receives every line of the serial console, agent lines
	// included (a test passes t.Log). May be nil.
	Console func(line string)
}

// Boot starts QEMU's raspi3b with the kernel, the initramfs and a qtest
// socket, and waits until the guest agent says it is ready. ctx bounds
// the whole life of the VM: when it is done QEMU is killed.
func Boot(ctx context.Context, o BootOptions) (*VM, error) {
	sock := filepath.Join(o.Dir, "qtest.sock")
	args := []string{"-M", "raspi3b", "-m", "1G", "-accel", "tcg",
		"-kernel", o.Kernel.Image, "-dtb", o.Kernel.DTB, "-initrd", o.Initrd,
		// The console is the mini UART (ttyS1, QEMU's second serial
		// port): the device tree gives the PL011 (ttyAMA0) to the
		// Bluetooth chip (serdev), so it prints but never reads.
		"-append", "console=ttyS1,115200 rdinit=/init panic=-1 quiet",
		"-display", "none", "-serial", "null", "-serial", "stdio", "-monitor", "none", "-no-reboot",
		"-qtest", "unix:" + sock + ",server=on,wait=off", "-qtest-log", "/dev/null"}
	if len(o.Forward) > 0 {
		netdev := "user,id=n0"
		for _, f := range o.Forward {
			netdev += ",hostfwd=" + f
		}
		args = append(args, "-device", "usb-net,netdev=n0", "-netdev", netdev)
	}
	cmd := exec.CommandContext(ctx, "qemu-system-aarch64", args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	v := &VM{cmd: cmd, stdin: stdin, done: make(chan struct{}), changed: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("gpiovm: start qemu: %w", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			if o.Console != nil {
				o.Console(line)
			}
			if i := strings.Index(line, "@@ "); i >= 0 {
				v.mu.Lock()
				v.lines = append(v.lines, line[i+3:])
				close(v.changed)
				v.changed = make(chan struct{})
				v.mu.Unlock()
			}
		}
		v.err = cmd.Wait()
		close(v.done)
	}()
	// The qtest socket appears once QEMU has parsed its options.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			v.qt, v.qr = c, bufio.NewReader(c)
			break
		}
		select {
		case <-v.done:
			return nil, fmt.Errorf("gpiovm: qemu exited before its qtest socket opened: %v", v.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			v.Kill()
			return nil, fmt.Errorf("gpiovm: no qtest socket %s after 20 s: %w", sock, err)
		}
	}
	if _, _, err := v.WaitLine(0, 120*time.Second, func(l string) bool { return l == "ready" || strings.HasPrefix(l, "err setup") }); err != nil {
		v.Kill()
		return nil, fmt.Errorf("gpiovm: the guest agent did not start: %w", err)
	}
	if i, l, _ := v.WaitLine(0, 0, func(l string) bool { return strings.HasPrefix(l, "err setup") }); i >= 0 {
		v.Kill()
		return nil, fmt.Errorf("gpiovm: guest set-up failed: %s", l)
	}
	return v, nil
}

// Kill stops QEMU at once.
func (v *VM) Kill() {
	if v.cmd.Process != nil {
		v.cmd.Process.Kill()
	}
	<-v.done
}

// Done is closed when QEMU has exited.
func (v *VM) Done() <-chan struct{} { return v.done }

// Send writes one command line to the guest agent.
func (v *VM) Send(cmd string) error {
	_, err := io.WriteString(v.stdin, cmd+"\n")
	return err
}

// Lines returns the agent lines from index from on.
func (v *VM) Lines(from int) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if from >= len(v.lines) {
		return nil
	}
	return append([]string(nil), v.lines[from:]...)
}

// Mark is the index of the next agent line: WaitLine(Mark(), ...) sees
// only lines that come after now.
func (v *VM) Mark() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.lines)
}

// WaitLine waits up to timeout for an agent line at index from or later
// that match accepts, and returns its index and text. With timeout 0 it
// only looks at the lines already there, and returns -1 when none
// matches (error nil).
func (v *VM) WaitLine(from int, timeout time.Duration, match func(string) bool) (int, string, error) {
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	for {
		v.mu.Lock()
		for i := from; i < len(v.lines); i++ {
			if match(v.lines[i]) {
				l := v.lines[i]
				v.mu.Unlock()
				return i, l, nil
			}
		}
		from = len(v.lines)
		changed := v.changed
		v.mu.Unlock()
		if timeout == 0 {
			return -1, "", nil
		}
		select {
		case <-changed:
		case <-deadline:
			return -1, "", errors.New("timed out")
		case <-v.done:
			return -1, "", fmt.Errorf("qemu exited: %v", v.err)
		}
	}
}

// Command sends cmd and waits for its "ok" or "err" line; it returns the
// text after "ok <verb>".
func (v *VM) Command(cmd string, timeout time.Duration) (string, error) {
	verb := strings.Fields(cmd)[0]
	from := v.Mark()
	if err := v.Send(cmd); err != nil {
		return "", err
	}
	_, l, err := v.WaitLine(from, timeout, func(l string) bool {
		return strings.HasPrefix(l, "ok "+verb) || strings.HasPrefix(l, "err "+verb)
	})
	if err != nil {
		return "", fmt.Errorf("gpiovm: %s: %w", cmd, err)
	}
	if strings.HasPrefix(l, "err ") {
		return "", fmt.Errorf("gpiovm: %s: %s", cmd, strings.TrimPrefix(l, "err "+verb+" "))
	}
	return strings.TrimSpace(strings.TrimPrefix(l, "ok "+verb)), nil
}

// qtest sends one qtest command and returns its reply after "OK".
func (v *VM) qtest(cmd string) (string, error) {
	v.qmu.Lock()
	defer v.qmu.Unlock()
	v.qt.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(v.qt, cmd+"\n"); err != nil {
		return "", err
	}
	for {
		line, err := v.qr.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("qtest %s: %w", cmd, err)
		}
		reply, ok, err := parseQtestReply(line)
		if err != nil {
			return "", fmt.Errorf("qtest %s: %w", cmd, err)
		}
		if ok {
			return reply, nil
		}
	}
}

// parseQtestReply reads one line of the qtest socket: ok is true for the
// reply to a command ("OK [value]"), false for an asynchronous line
// ("IRQ raise 3") to skip; "FAIL ..." is an error.
func parseQtestReply(line string) (reply string, ok bool, err error) {
	line = strings.TrimRight(line, "\r\n")
	switch {
	case line == "OK":
		return "", true, nil
	case strings.HasPrefix(line, "OK "):
		return line[3:], true, nil
	case strings.HasPrefix(line, "FAIL"):
		return "", false, errors.New(line)
	case strings.HasPrefix(line, "IRQ "):
		return "", false, nil
	}
	return "", false, fmt.Errorf("unexpected qtest line %q", line)
}

// Levels reads GPLEV0: bit N is the level of GPIO N (0–31).
func (v *VM) Levels() (uint32, error) {
	r, err := v.qtest(fmt.Sprintf("readl 0x%x", GPLEV0))
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(r, "0x"), 16, 32)
	if err != nil {
		return 0, fmt.Errorf("qtest readl: %q: %w", r, err)
	}
	return uint32(n), nil
}

// SetInput drives the level an input GPIO (0–31) reads: high or low.
func (v *VM) SetInput(gpio int, high bool) error {
	reg := GPCLR0
	if high {
		reg = GPSET0
	}
	_, err := v.qtest(fmt.Sprintf("writel 0x%x 0x%x", reg, uint32(1)<<gpio))
	return err
}

// PowerOff asks the agent to power the guest off and waits for QEMU to
// exit (killing it after timeout).
func (v *VM) PowerOff(timeout time.Duration) error {
	v.Send("poweroff")
	select {
	case <-v.done:
		if v.qt != nil {
			v.qt.Close()
		}
		return nil
	case <-time.After(timeout):
		v.Kill()
		return errors.New("gpiovm: qemu did not exit after poweroff: killed")
	}
}
