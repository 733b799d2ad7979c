package broker

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// childEnv marks the broker child's environment.
const childEnv = "CUELIGHT_BROKER_CHILD"

// statusFD is the child's file descriptor of the status pipe to the parent
// (cmd.ExtraFiles[0]).
const statusFD = 3

// termGrace is how long the child keeps serving after SIGTERM or SIGINT,
// waiting for its parent to close stdin: systemd sends SIGTERM to the whole
// control group at once, and the station still wants to publish its final
// states and "offline" through this broker.
const termGrace = 1500 * time.Millisecond

// IsChild reports whether this process was started by a Supervisor as the
// broker child. The station's main calls it first thing:
//
//	if broker.IsChild() {
//		os.Exit(broker.ChildMain())
//	}
func IsChild() bool { return os.Getenv(childEnv) == "1" }

// childStatus is one line on the status pipe.
type childStatus struct {
	Ready     string `json:"ready,omitempty"` // the listener's address
	Error     string `json:"error,omitempty"`
	AddrInUse bool   `json:"addr_in_use,omitempty"`
}

// ChildMain runs the broker child: it reads its Options (one JSON line) from
// stdin, starts mochi, reports ready (or the error) to the parent on file
// descriptor 3, and serves until stdin reaches EOF (the parent stopped it
// or died; on Linux the child is also killed with the parent by
// Pdeathsig). SIGTERM and SIGINT end it after a short grace period. It
// returns the exit status: 0 after a clean stop, 2 when it could not start.
func ChildMain() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	status := os.NewFile(statusFD, "broker-status")
	report := func(st childStatus) bool {
		if status == nil {
			return false
		}
		b, _ := json.Marshal(st)
		_, err := status.Write(append(b, '\n'))
		return err == nil
	}
	fail := func(err error) int {
		// The parent words the error for the technician: logging it here
		// too would print it twice, first as an escaped log line.
		if !report(childStatus{Error: err.Error(), AddrInUse: errors.Is(err, ErrAddrInUse)}) {
			log.Error("broker child cannot start", "err", err)
		}
		return 2
	}

	// Stop on SIGTERM/SIGINT only after a grace period (see termGrace); a
	// terminal's Ctrl-C reaches the parent, which stops us through stdin.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)

	in := bufio.NewReader(os.Stdin)
	line, err := in.ReadBytes('\n')
	if err != nil {
		return fail(fmt.Errorf("broker: reading options from stdin: %w", err))
	}
	var cfg childConfig
	if err := json.Unmarshal(line, &cfg); err != nil {
		return fail(fmt.Errorf("broker: decoding options: %w", err))
	}
	if cfg.Protocol != childProtocol {
		exe, _ := os.Executable()
		return fail(fmt.Errorf("broker: %s is from another cuelight release than the station (it speaks broker protocol %d, the station %d): install cuelightd and cuelight-broker from the same release", exe, childProtocol, cfg.Protocol))
	}
	opts := cfg.Options.withDefaults()
	if err := opts.Check(); err != nil {
		return fail(err)
	}
	srv, addr, err := serve(opts, log, nil)
	if err != nil {
		return fail(err)
	}
	report(childStatus{Ready: addr})

	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, in)
		close(eof)
	}()
	select {
	case <-eof:
	case s := <-sig:
		log.Warn("broker child: signal; stopping after a grace period unless the station stops it first", "signal", s.String())
		select {
		case <-eof:
		case <-time.After(termGrace):
		}
	}
	// mochi's Close disconnects clients at once and drops what it has not
	// yet written to them; the station's last publishes ("offline", the
	// final states) were acknowledged just before it stopped us, so give
	// the write loops a moment to pass them on to subscribers.
	time.Sleep(closeDrain)
	done := make(chan struct{})
	go func() {
		_ = srv.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		log.Warn("broker child: close did not finish in 2 s; exiting anyway")
	}
	return 0
}

// closeDrain is how long the child keeps serving after being told to stop,
// so that messages already accepted reach their subscribers.
const closeDrain = 150 * time.Millisecond

// server wraps a mochi server whose Close runs at most once (mochi #426:
// a second Close panics).
type server struct {
	*mqtt.Server
	once    sync.Once
	err     error
	closing atomic.Bool // shared with the listener: connections ending now are no fault
}

// Close closes the server once.
func (s *server) Close() error {
	s.closing.Store(true)
	s.once.Do(func() { s.err = s.Server.Close() })
	return s.err
}

// serve starts mochi configured by opts (defaults applied) and returns it
// with the listener's actual address. Tests add hooks with extra.
func serve(opts Options, log *slog.Logger, extra []mqtt.Hook) (*server, string, error) {
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = 0    // retained state must not vanish after a day (mochi #444)
	caps.MaximumSessionExpiryInterval = 3600 // bound what an offline persistent session may hold
	caps.MaximumClients = int64(opts.MaxClients)
	caps.MaximumPacketSize = uint32(opts.MaxPacketSize)

	m := mqtt.New(&mqtt.Options{
		Capabilities:           caps,
		Logger:                 log,
		SysTopicResendInterval: 10,
	})
	p := newPolicy(opts.TopicPrefix, opts.Users)
	if err := m.AddHook(&authHook{p: p, log: log}, nil); err != nil {
		return nil, "", fmt.Errorf("broker: %w", err)
	}
	if err := m.AddHook(&cmdGuard{p: p, log: log}, nil); err != nil {
		return nil, "", fmt.Errorf("broker: %w", err)
	}
	if err := m.AddHook(&handOver{}, nil); err != nil {
		return nil, "", fmt.Errorf("broker: %w", err)
	}
	for _, h := range extra {
		if err := m.AddHook(h, nil); err != nil {
			return nil, "", fmt.Errorf("broker: %w", err)
		}
	}
	guard := newSessionGuard(m, log)
	if err := m.AddHook(guard, nil); err != nil {
		return nil, "", fmt.Errorf("broker: %w", err)
	}
	srv := &server{Server: m}
	tcp := &guardedTCP{TCP: listeners.NewTCP(listeners.Config{ID: "tcp", Address: opts.Listen}), guard: guard, closing: &srv.closing}
	if err := m.AddListener(tcp); err != nil { // binds now
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, "", addrInUse(opts.Listen)
		}
		if errors.Is(err, syscall.EACCES) {
			return nil, "", fmt.Errorf("broker: listen %s: permission denied (ports below 1024 need privileges)", opts.Listen)
		}
		return nil, "", fmt.Errorf("broker: listen %s: %w", opts.Listen, err)
	}
	if err := m.Serve(); err != nil {
		_ = srv.Close()
		return nil, "", fmt.Errorf("broker: serve: %w", err)
	}
	return srv, tcp.Address(), nil
}
