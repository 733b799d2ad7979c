package main

import (
	"github.com/cuelight/cuelight/internal/testkit"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/internal/broker"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/peertest"
)

// Built once by TestMain.
var (
	daemonBin string // cuelightd
	cuectlBin string // cuectl itself
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cuectl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	daemonBin = filepath.Join(dir, "cuelightd")
	cuectlBin = filepath.Join(dir, "cuectl")
	// cuelight-broker beside cuelightd, as the packages install it: the
	// station runs it as its embedded broker.
	brokerBin := filepath.Join(dir, broker.ProgramName)
	for _, b := range []struct{ out, pkg string }{{daemonBin, "../cuelightd"}, {brokerBin, "../cuelight-broker"}, {cuectlBin, "."}} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", b.pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitFor is how long a test waits for a condition on the real network:
// generous, because the machine may be slow; nothing asserts speed.
const waitFor = 30 * time.Second

// testkit.SyncBuffer is a bytes.Buffer safe for a writer and a reader at once.

// freePort returns a port free for both TCP and UDP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// station is a cuelightd process on the sim driver, on free ports.
type station struct {
	t      *testing.T
	config string // show file
	osc    string // host:port
	web    string
	broker string // URL
	log    logFile
	stop   func() // SIGTERM, and wait for the exit
}

// logFile is a station's log, written by cuelightd straight into a file
// (as into the journal on a Pi), so that no goroutine of the test process
// copies each line out of a pipe while the bench times the station.
type logFile string

// String returns the log so far.
func (l logFile) String() string {
	b, _ := os.ReadFile(string(l))
	return string(b)
}

// The test show: the demo's channels, a 1 ms debounce (presses are quick),
// a long go_hold (no GO turns off by itself during a test) and a short
// stuck_after on trap (the fault test).
const showTemplate = `show: cuectl test
mqtt:
  broker: %s
%s
osc:
  listen: %s
web:
  listen: %s
stations:
  demo:
    driver: sim
    debounce: 1ms
%s
channels:
  fly:
    station: demo
    label: Fly rail
    standby_lamp: GPIO17
    go_lamp: GPIO27
    ack_button: GPIO22
    call_button: GPIO23
    call_out: GPIO24
    call_lamp: GPIO25
    require_ack: true
    go_requires_ack: true
    go_hold: 1m
  sl:
    station: demo
    standby_lamp: GPIO16
    ack_button: GPIO20
    go_hold: 1m
  sr:
    station: demo
    standby_lamp: GPIO12
    go_lamp: GPIO13
    ack_button: GPIO19
    go_hold: 1m
  trap:
    station: demo
    standby_lamp: GPIO26
    ack_button: GPIO21
    go_hold: 1m
    stuck_after: 1s
`

// startStation runs cuelightd with the embedded broker (brokerURL "") or
// an outside one, and waits until it is ready and has published its
// state on the broker.
func startStation(t *testing.T, brokerURL string) *station {
	t.Helper()
	return startStationWith(t, brokerURL, "", "")
}

// startStationWith adds stations and channels to the show file; the
// station run is always demo.
func startStationWith(t *testing.T, brokerURL, moreStations, moreChannels string) *station {
	t.Helper()
	return startStationTry(t, 1, brokerURL, moreStations, moreChannels)
}

// portTries is how many times a station is started on new ports when a
// port freePort chose was taken by another test meanwhile.
const portTries = 3

func startStationTry(t *testing.T, try int, brokerURL, moreStations, moreChannels string) *station {
	t.Helper()
	dir := t.TempDir()
	s := &station{
		t:   t,
		osc: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		web: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		log: logFile(filepath.Join(dir, "cuelightd.log")),
	}
	broker, listen := brokerURL, ""
	if brokerURL == "" {
		l := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		broker, listen, s.broker = "embedded", "  listen: "+l, "tcp://"+l
	} else {
		s.broker = brokerURL
	}
	s.config = filepath.Join(dir, "show.yaml")
	text := fmt.Sprintf(showTemplate, broker, listen, s.osc, s.web, moreStations) + moreChannels
	if err := os.WriteFile(s.config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemonBin, "--config", s.config, "--station", "demo", "--log-level", "debug")
	logf, err := os.Create(string(s.log))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Start()
	logf.Close() // cuelightd has its own copy
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}) // closed when cuelightd has exited, with exitErr set
	var exitErr error
	go func() {
		exitErr = cmd.Wait()
		close(done)
	}()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("cuelightd log:\n%s", s.log.String())
		}
	})
	deadline := time.Now().Add(waitFor)
	for {
		resp, err := http.Get("http://" + s.web + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-done:
			if strings.Contains(s.log.String(), " in use") && try < portTries {
				t.Logf("cuelightd could not listen (a free port was taken meanwhile); again on new ports:\n%s", s.log.String())
				return startStationTry(t, try+1, brokerURL, moreStations, moreChannels)
			}
			t.Fatalf("cuelightd exited before it was ready: %v\n%s", exitErr, s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cuelightd not ready after %s:\n%s", waitFor, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.waitMQTT()
	return s
}

// waitMQTT waits until the station's retained info is on the broker.
func (s *station) waitMQTT() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c := &cli{stdout: io.Discard, stderr: io.Discard, clock: realClock(), getenv: noEnv}
	o := c.newOpts("test", "", "", flagsMQTT)
	o.mqtt = mqttFlag{on: true, url: s.broker}
	o.timeout = waitFor
	for {
		sess, err := c.dialMQTT(ctx, o, false)
		if err == nil {
			v := newShowView(o.topicPrefix(), nil)
			err = sess.collect(ctx, v, v.showComplete, nil)
			sess.close()
			if err == nil {
				return
			}
		}
		if ctx.Err() != nil {
			s.t.Fatalf("the station's state never appeared on %s: %v\n%s", s.broker, err, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startMosquitto runs a Mosquitto broker on a free loopback port and
// returns its URL.
func startMosquitto(t *testing.T) string {
	t.Helper()
	bin := peertest.Need(t, "mosquitto")
	port := freePort(t)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	text := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var log testkit.SyncBuffer
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", log.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(waitFor)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return "tcp://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto does not listen on %s: %v\n%s", addr, err, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// brokers are the two set-ups every MQTT test runs with.
func brokers(t *testing.T, test func(t *testing.T, s *station)) {
	t.Run("embedded broker", func(t *testing.T) {
		t.Parallel()
		test(t, startStation(t, ""))
	})
	t.Run("mosquitto", func(t *testing.T) {
		t.Parallel()
		url := startMosquitto(t)
		test(t, startStation(t, url))
	})
}

// result is one run of cuectl.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%sstderr:\n%s", r.code, r.stdout, r.stderr)
}

// ctl runs cuectl in-process, through run as main does.
func ctl(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

func noEnv(string) string { return "" }

func realClock() clockwork.Clock { return clockwork.NewRealClock() }

// with prepends the station's show file and a generous --timeout to args
// (a step that wants a short one gives its own, later: the last wins).
func (s *station) with(args ...string) []string {
	return append([]string{"--config", s.config, "--timeout", "20s"}, args...)
}

// press presses a button on the sim board.
func (s *station) press(pin string) {
	s.t.Helper()
	s.post("/api/v1/pins/"+pin+"/press", "")
}

func (s *station) post(path, body string) {
	s.t.Helper()
	resp, err := http.Post("http://"+s.web+path, "application/json", strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		s.t.Fatalf("POST %s: %s", path, resp.Status)
	}
}

// states reads every channel's state from the web API.
func (s *station) states() map[string]mqttlink.State {
	s.t.Helper()
	resp, err := http.Get("http://" + s.web + "/api/v1/channels")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Channels []mqttlink.State `json:"channels"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]mqttlink.State{}
	for _, st := range body.Channels {
		out[st.Channel] = st
	}
	return out
}

// waitState waits until every named channel is in state.
func (s *station) waitState(state string, channels ...string) {
	s.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		all := s.states()
		ok := true
		for _, ch := range channels {
			if all[ch].State != state {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("channels %v not %s after %s: %+v", channels, state, waitFor, all)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitOutput waits until buf matches every pattern, in order.
func waitOutput(t *testing.T, buf *testkit.SyncBuffer, patterns ...string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		if ok, _ := matchesInOrder(buf.String(), patterns); ok {
			return
		}
		if time.Now().After(deadline) {
			_, missing := matchesInOrder(buf.String(), patterns)
			t.Fatalf("output never matched %q; got:\n%s", missing, buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// matchesInOrder reports whether each pattern matches a line of text, in
// order (multiline regexps); missing is the first one that does not.
func matchesInOrder(text string, patterns []string) (ok bool, missing string) {
	for _, p := range patterns {
		loc := regexp.MustCompile("(?m)" + p).FindStringIndex(text)
		if loc == nil {
			return false, p
		}
		text = text[loc[1]:]
	}
	return true, ""
}

// expect checks a run's exit status and that its stdout and stderr match
// the patterns in order.
func expect(t *testing.T, r result, code int, stdout, stderr []string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\n%s", r.code, code, r)
	}
	if ok, missing := matchesInOrder(r.stdout, stdout); !ok {
		t.Fatalf("stdout does not match %q\n%s", missing, r)
	}
	if ok, missing := matchesInOrder(r.stderr, stderr); !ok {
		t.Fatalf("stderr does not match %q\n%s", missing, r)
	}
}
