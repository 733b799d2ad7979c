package broker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Restart backoff: the first restart follows a crash after minBackoff; each
// further crash within stableAfter doubles the pause up to maxBackoff.
const (
	minBackoff  = 100 * time.Millisecond
	maxBackoff  = 5 * time.Second
	stableAfter = 30 * time.Second
)

// Supervisor runs the broker in a child process and restarts it when it
// dies. The zero value is ready to use; set Logger before Start.
type Supervisor struct {
	// Logger receives the supervisor's logs and the child's (nil discards).
	Logger *slog.Logger

	mu      sync.Mutex
	ready   chan struct{} // closed while a child is up and ready
	addr    string
	cur     *child
	started bool
	stop    chan struct{}
	done    chan struct{}

	restarts atomic.Int64

	// onExit, when set (tests), is called after each child exits.
	onExit func(exit childExit)
}

// childExit describes how a child ended.
type childExit struct {
	pid   int
	err   error  // from Wait: *exec.ExitError with the status, or nil
	panic string // the panic or fatal error text the child printed, if any
}

// Start checks opts, starts the broker child and waits (within ctx and
// opts.ReadyTimeout) until it is ready, then supervises it in the
// background until Stop. A child that cannot start the first time is an
// error here, worded for the technician: a taken port wraps ErrAddrInUse, a
// listener off loopback without users is ErrAnonymousOffLoopback.
func (s *Supervisor) Start(ctx context.Context, opts Options) error {
	opts = opts.withDefaults()
	if err := opts.Check(); err != nil {
		return err
	}
	if opts.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("broker: cannot find my own executable to run the broker: %w", err)
		}
		opts.Exe = ChildProgram(exe)
		if opts.Exe == exe {
			s.logger().Info("broker: no "+ProgramName+" beside this program: the embedded broker runs in a second copy of it, which takes about 5 MB more memory (install both from the same release; docs/mqtt.md)",
				"looked_for", filepath.Join(filepath.Dir(exe), ProgramName))
		}
	}
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("broker: Start called twice")
	}
	s.started = true
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	if s.ready == nil {
		s.ready = make(chan struct{})
	}
	s.mu.Unlock()

	first := make(chan error, 1)
	go s.run(opts, first)
	select {
	case err := <-first:
		if err != nil {
			<-s.done
		}
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.Stop(sctx)
		return fmt.Errorf("broker: start: %w", ctx.Err())
	}
}

// ProgramName is the broker child's own program, installed next to
// cuelightd.
const ProgramName = "cuelight-broker"

// ChildProgram is the program a station whose binary is self runs as its
// broker child: ProgramName in the same directory when that is an
// executable file, else self (which then runs ChildMain when IsChild).
func ChildProgram(self string) string {
	p := filepath.Join(filepath.Dir(self), ProgramName)
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
		return p
	}
	return self
}

// Ready returns a channel that is closed while a broker child is up and
// ready. After the child dies a new, open channel takes its place until the
// restarted child is ready: call Ready again after each wait.
func (s *Supervisor) Ready() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready == nil {
		s.ready = make(chan struct{})
	}
	return s.ready
}

// Addr is the address the broker listens on ("127.0.0.1:1883"), known once
// the first child is ready; with port 0 in Options.Listen it is the port
// picked then, kept across restarts.
func (s *Supervisor) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Restarts is the number of times the child was started again after it
// died.
func (s *Supervisor) Restarts() int { return int(s.restarts.Load()) }

// Stop ends supervision and stops the child: it closes the child's stdin,
// which makes it close mochi and exit; if that does not happen within ctx
// the child is killed. Stop before Start, or twice, is harmless.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.started {
		s.mu.Unlock()
		return nil
	}
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	if c != nil {
		_ = c.cmd.Process.Kill()
	}
	<-s.done
	return fmt.Errorf("broker: stop: child killed after %w", ctx.Err())
}

func (s *Supervisor) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// run starts children one after the other until Stop. The first start's
// outcome goes to first. The goroutine keeps its OS thread locked: on Linux
// the child gets Pdeathsig=SIGKILL, which fires when the thread that
// started it exits, so that thread must live as long as the children.
func (s *Supervisor) run(opts Options, first chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(s.done)
	log := s.logger()
	backoff := minBackoff
	for {
		c, err := startChild(opts, log)
		if err == nil {
			err = s.awaitReady(c, opts.ReadyTimeout)
		}
		if err != nil {
			if first != nil {
				first <- err
				return
			}
			log.Error("broker: restart failed", "err", err, "retry_in", backoff)
			if !s.pause(&backoff) {
				return
			}
			s.restarts.Add(1)
			continue
		}
		if first != nil {
			log.Info("broker: embedded broker ready", "addr", c.addr, "pid", c.cmd.Process.Pid, "program", opts.Exe)
			first <- nil
			first = nil
		} else {
			log.Warn("broker: embedded broker restarted", "addr", c.addr, "pid", c.cmd.Process.Pid, "restarts", s.Restarts())
		}
		opts.Listen = c.addr // keep the port picked for ":0"
		upSince := time.Now()

		select {
		case <-c.exited:
			s.down(c)
			if time.Since(upSince) > stableAfter {
				backoff = minBackoff
			}
			log.Error("broker: embedded broker died; restarting it (OSC and lamps are not affected)",
				"pid", c.cmd.Process.Pid, "exit", describeExit(c.exit.err), "panic", c.exit.panic,
				"restarts", s.Restarts()+1, "retry_in", backoff)
			if !s.pause(&backoff) {
				return
			}
			s.restarts.Add(1)
		case <-s.stop:
			_ = c.stdin.Close() // the child closes mochi and exits
			<-c.exited
			s.down(c)
			log.Info("broker: embedded broker stopped")
			return
		}
	}
}

// awaitReady waits for c's status line, its exit, a timeout or Stop.
func (s *Supervisor) awaitReady(c *child, timeout time.Duration) error {
	s.mu.Lock()
	s.cur = c
	s.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	var st childStatus
	var err error
	select {
	case st = <-c.status:
	case <-c.exited:
		select {
		case st = <-c.status: // it said why before it exited
		default:
			err = fmt.Errorf("broker: child exited before it was ready (%s) %s", describeExit(c.exit.err), c.exit.panic)
		}
	case <-t.C:
		err = fmt.Errorf("broker: child not ready after %s", timeout)
	case <-s.stop:
		err = ErrStopped
	}
	if err == nil {
		if st.Ready != "" {
			c.addr = st.Ready
			s.mu.Lock()
			s.addr = st.Ready
			close(s.ready)
			s.mu.Unlock()
			return nil
		}
		err = errors.New(st.Error)
		if st.Error == "" {
			err = errors.New("broker: child reported neither ready nor an error")
		}
		if st.AddrInUse {
			err = &wrapped{msg: st.Error, err: ErrAddrInUse}
		}
	}
	_ = c.cmd.Process.Kill()
	<-c.exited
	s.down(c)
	return err
}

// down records that c has exited: Ready becomes an open channel again.
func (s *Supervisor) down(c *child) {
	s.mu.Lock()
	if s.cur == c {
		s.cur = nil
	}
	select {
	case <-s.ready:
		s.ready = make(chan struct{})
	default:
	}
	onExit := s.onExit
	s.mu.Unlock()
	if onExit != nil {
		onExit(c.exit)
	}
}

// pause sleeps for *backoff (doubling it for next time) unless Stop comes
// first; it reports whether to go on.
func (s *Supervisor) pause(backoff *time.Duration) bool {
	t := time.NewTimer(*backoff)
	defer t.Stop()
	*backoff = min(*backoff*2, maxBackoff)
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}

func describeExit(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// child is one running broker process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	status chan childStatus // the first status line
	exited chan struct{}    // closed after Wait and after stderr is drained
	exit   childExit        // valid once exited is closed
	addr   string
}

// startChild starts opts.Exe as the broker child and sends it its options.
func startChild(opts Options, log *slog.Logger) (*child, error) {
	cfg, err := childConfig{Protocol: childProtocol, Options: opts}.marshal()
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		statusR.Close()
		statusW.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	cmd := exec.Command(opts.Exe, opts.Args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout = errW
	cmd.Stderr = errW
	cmd.ExtraFiles = []*os.File{statusW} // fd 3 in the child
	cmd.SysProcAttr = sysProcAttr()
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	statusW.Close()
	errW.Close()
	if err != nil {
		statusR.Close()
		errR.Close()
		return nil, fmt.Errorf("broker: starting %s: %w", opts.Exe, err)
	}
	c := &child{cmd: cmd, stdin: stdin, status: make(chan childStatus, 1), exited: make(chan struct{})}
	c.exit.pid = cmd.Process.Pid

	statusDone := make(chan struct{})
	go func() { // status pipe: the first line is all we need
		defer close(statusDone)
		defer statusR.Close()
		sc := bufio.NewScanner(statusR)
		if sc.Scan() {
			var st childStatus
			if json.Unmarshal(sc.Bytes(), &st) == nil {
				c.status <- st
			}
		}
		_, _ = io.Copy(io.Discard, statusR)
	}()
	stderrDone := make(chan string, 1)
	go func() { stderrDone <- forwardStderr(errR, log, cmd.Process.Pid) }()
	go func() {
		err := cmd.Wait()
		c.exit.err = err
		c.exit.panic = <-stderrDone
		<-statusDone // a status line written before the exit is in c.status now
		close(c.exited)
	}()

	if _, err := stdin.Write(cfg); err != nil {
		log.Warn("broker: could not send options to the child", "err", err)
	}
	return c, nil
}

// forwardStderr logs the child's output and returns the panic (or fatal
// error) it printed, if any, trimmed to its first lines.
func forwardStderr(r io.ReadCloser, log *slog.Logger, pid int) string {
	defer r.Close()
	const keep = 12
	var trace []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if trace != nil {
			if len(trace) < keep && line != "" {
				trace = append(trace, line)
			}
			continue
		}
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			trace = []string{line}
			continue
		}
		log.Warn("broker child: "+line, "pid", pid)
	}
	_, _ = io.Copy(io.Discard, r)
	return strings.Join(trace, "\n")
}
