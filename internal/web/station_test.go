package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/internal/peertest"
	"github.com/cuelight/cuelight/internal/station"
	"github.com/cuelight/cuelight/internal/testkit"
)

// A real station behind the pages: sim board, Mosquitto, OSC on loopback.

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lines collects a program's output lines.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) read(r *bufio.Scanner) {
	for r.Scan() {
		l.mu.Lock()
		l.all = append(l.all, r.Text())
		l.mu.Unlock()
	}
}

// wait returns the first line from index from on that contains every want.
func (l *lines) wait(t testing.TB, from int, what string, want ...string) (string, int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for i := from; i < len(l.all); i++ {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(l.all[i], w)
			}
			if ok {
				s := l.all[i]
				l.mu.Unlock()
				return s, i + 1
			}
		}
		l.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Fatalf("waiting for %s: no line with %q in:\n%s", what, want, strings.Join(l.all, "\n"))
	return "", 0
}

func (l *lines) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.all)
}

// startProgram runs a peer program until the test ends; its stdout and
// stderr lines are collected.
func startProgram(t *testing.T, exe string, args ...string) *lines {
	t.Helper()
	cmd := exec.Command(exe, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &lines{}
	done := make(chan struct{})
	go func() { l.read(bufio.NewScanner(out)); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done; _ = cmd.Wait() })
	return l
}

func startMosquitto(t *testing.T) int {
	t.Helper()
	exe := peertest.Need(t, "mosquitto")
	port := freePort(t)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port), 0o644); err != nil {
		t.Fatal(err)
	}
	startProgram(t, exe, "-c", conf)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %d: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stationShow: station wing (sim) has fly (two lamps, ACK requested by
// every standby) and sl (one lamp).
const stationShow = `
show: Browser test show
mqtt: {broker: "tcp://127.0.0.1:%d"}
osc: {listen: "127.0.0.1:0"}
web: {listen: "127.0.0.1:%d"%s}
stations:
  wing: {driver: sim}
channels:
  fly: {station: wing, label: Fly rail, standby_lamp: GPIO17, go_lamp: GPIO27, ack_button: GPIO22, call_button: GPIO23, require_ack: true}
  sl: {station: wing, label: Stage left, standby_lamp: GPIO16, ack_button: GPIO20}
`

type liveStation struct {
	t      *testing.T
	cfg    *config.Config
	broker int
	web    string
	board  *sim.Board
	st     *station.Station
	cancel context.CancelFunc
	done   chan error
}

func newLiveStation(t *testing.T, broker int, web string) *liveStation {
	t.Helper()
	port := freePort(t)
	cfg, err := config.Parse(strings.NewReader(fmt.Sprintf(stationShow, broker, port, web)), "show.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ls := &liveStation{t: t, cfg: cfg, broker: broker, web: "127.0.0.1:" + strconv.Itoa(port)}
	ls.start()
	t.Cleanup(ls.stop)
	return ls
}

// start runs a fresh station (a new process, as far as anyone can tell:
// new epoch, new engine, new board) on the same web address.
func (ls *liveStation) start() {
	t := ls.t
	t.Helper()
	ls.board = sim.New(sim.Options{})
	st, err := station.New(station.Options{Config: ls.cfg, Station: "wing", Board: ls.board, Logger: testkit.Logger(t, 8)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Station: st, Show: st, Board: ls.board, Config: ls.cfg, Listen: ls.cfg.Web.Listen})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ls.st, ls.cancel, ls.done = st, cancel, make(chan error, 1)
	go func() { ls.done <- st.Run(ctx, h) }()
	deadline := time.Now().Add(20 * time.Second)
	for !st.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the station did not get ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// ready means listening; the MQTT link may still be connecting
	for {
		if st.Stats().MQTTConnected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the station did not connect to mosquitto")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (ls *liveStation) stop() {
	if ls.cancel == nil {
		return
	}
	ls.cancel()
	select {
	case err := <-ls.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			ls.t.Errorf("station stopped with: %v", err)
		}
	case <-time.After(20 * time.Second):
		ls.t.Error("the station did not stop")
	}
	ls.cancel = nil
}

func (ls *liveStation) url(path string) string { return "http://" + ls.web + path }

func (ls *liveStation) osc() string { return ls.st.OSCAddr().String() }

// oscsend sends one OSC message with liblo's oscsend.
func oscsend(t *testing.T, to string, args ...string) {
	t.Helper()
	exe := peertest.Need(t, "oscsend")
	host, port, _ := net.SplitHostPort(to)
	out, err := exec.Command(exe, append([]string{host, port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("oscsend %v: %v\n%s", args, err, out)
	}
}

var _ = http.StatusOK
