package main

// The tests of this package run cuelightd as a real process, the way a
// technician or systemd runs it, and talk to it only from the outside: OSC
// over UDP (liblo's oscsend and the osc package's client), MQTT through
// real brokers (Mosquitto, or the station's own embedded broker) watched
// with mosquitto_sub, OSC feedback caught by liblo's oscdump, signals, and
// the web API.
//
// The daemon is this test binary, re-executed: TestMain runs the real main
// when CUELIGHTD_TEST_DAEMON=1 is in the environment (and the broker child
// when the supervisor starts one, exactly as cuelightd's main does). This
// was chosen over `go build` in TestMain because
//   - the test needs no Go toolchain or build cache at run time, and costs
//     no extra build (a -race build of the daemon takes longer than most of
//     these tests);
//   - the daemon and its broker child carry the same instrumentation as the
//     test: under `go test -race` a data race inside the real daemon is
//     reported on its stderr, and the harness fails the test that saw it.
// The program under test is the same main(); only the binary's file name
// differs.
//
// Waiting: every wait is for a condition (a line from a peer, a pin level
// in GET /api/v1/pins, a counter in /api/v1/stats) with a generous
// deadline; nothing sleeps and then asserts. The one timing assertion is
// docs/protocol.md §6.5's "exit within 2 s" after SIGTERM.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/cuelight/cuelight/internal/broker"
)

// daemonEnv makes the test binary run cuelightd's main.
const daemonEnv = "CUELIGHTD_TEST_DAEMON"

func TestMain(m *testing.M) {
	if os.Getenv(daemonEnv) == "1" || broker.IsChild() {
		main() // exits
		return
	}
	os.Exit(m.Run())
}

// patience is the deadline of every wait: generous, because these tests
// wait on events, never on speed (2 shared cores, -race, -count=3).
const patience = 20 * time.Second

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", patience, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// Output lines of a process.

// lineLog collects what a process writes, line by line, for tests to wait
// on. It is the process's Stdout or Stderr.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	grew    chan struct{} // closed when a line is added, then replaced
}

func newLineLog() *lineLog { return &lineLog{grew: make(chan struct{})} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		added = true
	}
	if added {
		close(l.grew)
		l.grew = make(chan struct{})
	}
	return len(p), nil
}

// Lines returns a copy of the complete lines so far.
func (l *lineLog) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// Len is the number of complete lines so far: a mark for waitLine.
func (l *lineLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n") + "\n" + string(l.partial)
}

// find returns the first line at index ≥ from that matches, or -1, and
// the channel that is closed when more lines arrive.
func (l *lineLog) find(from int, match func(string) bool) (int, string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := from; i < len(l.lines); i++ {
		if match(l.lines[i]) {
			return i, l.lines[i], nil
		}
	}
	return -1, "", l.grew
}

// waitLine waits for a line at index ≥ from that matches, and returns its
// index and text.
func (l *lineLog) waitLine(t testing.TB, from int, what string, match func(string) bool) (int, string) {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		i, line, grew := l.find(from, match)
		if i >= 0 {
			return i, line
		}
		select {
		case <-grew:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s; lines so far:\n%s", patience, what, l.String())
		}
	}
}

// ---------------------------------------------------------------------------
// Processes.

// proc is a running program whose output is collected. It is stopped at
// the end of the test if it is still running.
type proc struct {
	name    string
	cmd     *exec.Cmd
	out     *lineLog // stdout
	err     *lineLog // stderr
	done    chan struct{}
	waitErr error // after done
}

// startProc starts a program. env entries are added to this process's
// environment.
func startProc(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: filepath.Base(name), out: newLineLog(), err: newLineLog(), done: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.err
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.WaitDelay = 5 * time.Second // a stray grandchild holding a pipe cannot hang Wait
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// cleanEnv is the environment without anything that would make the daemon
// behave differently under a service manager.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "LISTEN_FDS", daemonEnv, "GORACE":
			continue
		}
		env = append(env, kv)
	}
	// A -race binary sleeps 1 s at exit by default; that would count in the
	// SIGTERM stop time and slow every test down.
	return append(env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal %v to %s (pid %d): %v", sig, p.name, p.pid(), err)
	}
}

// wait waits for the process to exit and returns its exit status.
func (p *proc) wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(patience):
		t.Fatalf("%s (pid %d) did not exit within %v", p.name, p.pid(), patience)
	}
	return exitCode(p.waitErr)
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// stop kills the process if it still runs at the end of the test. The
// peers are only observers here, and a daemon's clean stop is checked
// before (stationProc.check); mosquitto_sub has been seen to ignore
// SIGTERM for longer than any deadline.
func (p *proc) stop(t testing.TB) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(patience):
		t.Errorf("%s (pid %d) still running %v after SIGKILL", p.name, p.pid(), patience)
	}
}

// ---------------------------------------------------------------------------
// Free ports.

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{} // never hand out one port twice in this test binary
)

// freePort returns a loopback port that was free a moment ago, for TCP
// (and UDP too when udp is set). A port can be taken between this call and
// its use: callers retry the start when the program reports it in use.
func freePort(t testing.TB, tcp, udp bool) int {
	t.Helper()
	for range 100 {
		var port int
		var closers []io.Closer
		if tcp {
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port = ln.Addr().(*net.TCPAddr).Port
			closers = append(closers, ln)
		}
		ok := true
		if udp {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				ok = false
			} else {
				port = pc.LocalAddr().(*net.UDPAddr).Port
				closers = append(closers, pc)
			}
		}
		for _, c := range closers {
			c.Close()
		}
		if !ok {
			continue
		}
		portsMu.Lock()
		dup := portsGiven[port]
		portsGiven[port] = true
		portsMu.Unlock()
		if !dup {
			return port
		}
	}
	t.Fatal("no free port found")
	return 0
}

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// addrInUse reports whether a program's output says it could not bind.
func addrInUse(out string) bool {
	return strings.Contains(out, "address already in use") || strings.Contains(out, "Address already in use")
}

// ---------------------------------------------------------------------------
// The show file.

// show are the parameters of testdata/show.yaml.tmpl.
type show struct {
	Broker     string   // "embedded" (default) or an outside broker's URL
	MQTTListen string   // the embedded broker's listener (set by startDaemon)
	OSC        string   // OSC listen address (set by startDaemon)
	Web        string   // web listen address (set by startDaemon)
	Feedback   []string // OSC feedback targets
	Allow      []string // osc.allow; nil: the default (loopback)
	GoHold     string   // go_hold of fly and sl (default 1m: GO stays visible)
	SL         string   // the name of channel sl (the reload test renames it)
	Right      bool     // add station "right" with channel sr (outside broker only)
}

var showTmpl = template.Must(template.New("show.yaml.tmpl").Funcs(template.FuncMap{
	"join": strings.Join,
}).ParseFiles("testdata/show.yaml.tmpl"))

func (s show) withDefaults() show {
	if s.Broker == "" {
		s.Broker = "embedded"
	}
	if s.GoHold == "" {
		s.GoHold = "1m"
	}
	if s.SL == "" {
		s.SL = "sl"
	}
	return s
}

// render writes the show file to path atomically (a reload must never
// read half a file).
func (s show) render(t testing.TB, path string) {
	t.Helper()
	var b bytes.Buffer
	if err := showTmpl.Execute(&b, s.withDefaults()); err != nil {
		t.Fatal(err)
	}
	writeFileAtomic(t, path, b.Bytes())
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFileAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// The daemon.

// stationProc is one running cuelightd.
type stationProc struct {
	*proc
	t        *testing.T
	show     show
	showPath string
	base     string // http://127.0.0.1:PORT of the web listener
	oscAddr  string // 127.0.0.1:PORT of the OSC listener
}

// startDaemon renders the show with free ports, starts cuelightd on it as
// station "wing" and waits until GET /healthz answers 200. It retries
// with other ports when one was taken meanwhile.
func startDaemon(t *testing.T, s show, args ...string) *stationProc {
	t.Helper()
	s = s.withDefaults()
	path := filepath.Join(t.TempDir(), "show.yaml")
	for attempt := 1; ; attempt++ {
		s.OSC = loopback(freePort(t, true, true))
		s.Web = loopback(freePort(t, true, false))
		if s.Broker == "embedded" {
			s.MQTTListen = loopback(freePort(t, true, false))
		}
		d := runDaemon(t, s, path, args...)
		err := d.waitReady()
		if err == nil {
			return d
		}
		if attempt < 3 && d.exited() && addrInUse(d.err.String()) {
			t.Logf("attempt %d: a port was taken meanwhile; trying other ports", attempt)
			continue
		}
		t.Fatalf("cuelightd did not become ready: %v\nstderr:\n%s", err, d.err.String())
	}
}

// runDaemon renders s to path and starts cuelightd on it, without waiting.
func runDaemon(t *testing.T, s show, path string, args ...string) *stationProc {
	t.Helper()
	s.render(t, path)
	all := append([]string{"--config", path, "--station", "wing", "--log-level", "debug"}, args...)
	d := &stationProc{
		proc: startProc(t, []string{daemonEnv + "=1"}, os.Args[0], all...),
		t:    t, show: s, showPath: path,
		base: "http://" + s.Web, oscAddr: s.OSC,
	}
	t.Cleanup(func() { d.check(t) })
	return d
}

// check runs at the end of the test: a daemon still running must stop
// cleanly, and no daemon may have reported a data race.
func (d *stationProc) check(t *testing.T) {
	if !d.exited() {
		d.signal(t, syscall.SIGTERM)
		if code := d.wait(t); code != 0 {
			t.Errorf("cuelightd (pid %d) exited with status %d after SIGTERM, want 0", d.pid(), code)
		}
	}
	if log := d.err.String(); strings.Contains(log, "WARNING: DATA RACE") {
		t.Errorf("cuelightd (pid %d) reported a data race:\n%s", d.pid(), log)
	} else if t.Failed() {
		t.Logf("cuelightd (pid %d) stderr:\n%s", d.pid(), log)
	}
}

// waitReady polls GET /healthz until it answers 200 or the process exits.
func (d *stationProc) waitReady() error {
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		if d.exited() {
			return fmt.Errorf("cuelightd exited with status %d before it was ready", exitCode(d.waitErr))
		}
		resp, err := httpClient.Get(d.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("GET /healthz did not answer 200 within %v", patience)
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// get decodes the JSON answer of GET path into v.
func (d *stationProc) get(t testing.TB, path string, v any) {
	t.Helper()
	if err := d.tryGet(path, v); err != nil {
		t.Fatal(err)
	}
}

// tryGet is get returning the error.
func (d *stationProc) tryGet(path string, v any) error {
	resp, err := httpClient.Get(d.base + path)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w in %s", path, err, body)
	}
	return nil
}

// post sends body (JSON, or nothing) and returns the status code.
func (d *stationProc) post(t testing.TB, path, body string) int {
	t.Helper()
	resp, err := httpClient.Post(d.base+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// press presses and releases a simulated button.
func (d *stationProc) press(t testing.TB, pin string) {
	t.Helper()
	if code := d.post(t, "/api/v1/pins/"+pin+"/press", ""); code != http.StatusNoContent {
		t.Fatalf("POST /api/v1/pins/%s/press: status %d, want 204", pin, code)
	}
}

// pinJSON is one pin of GET /api/v1/pins (docs/protocol.md §7).
type pinJSON struct {
	Name       string  `json:"name"`
	Channel    string  `json:"channel"`
	Role       string  `json:"role"`
	Level      bool    `json:"level"`
	Brightness float64 `json:"brightness"`
}

func (d *stationProc) pins(t testing.TB) map[string]pinJSON {
	t.Helper()
	var body struct {
		Pins []pinJSON `json:"pins"`
	}
	d.get(t, "/api/v1/pins", &body)
	m := map[string]pinJSON{}
	for _, p := range body.Pins {
		m[p.Name] = p
	}
	return m
}

// lamps returns the level of every lamp and signal output, by pin name.
func (d *stationProc) lamps(t testing.TB) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for name, p := range d.pins(t) {
		if !strings.HasSuffix(p.Role, "_button") {
			out[name] = p.Level
		}
	}
	return out
}

// waitPin waits until a pin shows level.
func (d *stationProc) waitPin(t testing.TB, pin string, level bool) {
	t.Helper()
	waitFor(t, fmt.Sprintf("pin %s level %v", pin, level), func() bool {
		p, ok := d.pins(t)[pin]
		return ok && p.Level == level
	})
}

// stateJSON is the state JSON of docs/protocol.md §4 (MQTT state, GET /api/v1/channels).
type stateJSON struct {
	Channel      string `json:"channel"`
	Station      string `json:"station"`
	State        string `json:"state"`
	Label        string `json:"label"`
	AckRequested bool   `json:"ack_requested"`
	Since        string `json:"since"`
	Seq          int64  `json:"seq"`
	Epoch        string `json:"epoch"`
}

func (d *stationProc) channels(t testing.TB) map[string]stateJSON {
	t.Helper()
	var body struct {
		Channels []stateJSON `json:"channels"`
	}
	d.get(t, "/api/v1/channels", &body)
	m := map[string]stateJSON{}
	for _, c := range body.Channels {
		m[c.Channel] = c
	}
	return m
}

// waitState waits until channel ch is in state with label.
func (d *stationProc) waitState(t testing.TB, ch, state, label string) stateJSON {
	t.Helper()
	var got stateJSON
	waitFor(t, fmt.Sprintf("channel %s in %s %q", ch, state, label), func() bool {
		got = d.channels(t)[ch]
		return got.State == state && got.Label == label
	})
	return got
}

// statsJSON is GET /api/v1/stats.
type statsJSON struct {
	OSC struct {
		Received  uint64 `json:"received"`
		Malformed uint64 `json:"malformed"`
		Rejected  uint64 `json:"rejected"`
		Delivered uint64 `json:"delivered"`
	} `json:"osc"`
	OSCCommands    int64 `json:"osc_commands"`
	OSCDropped     int64 `json:"osc_dropped"`
	MQTTConnected  bool  `json:"mqtt_connected"`
	BrokerRestarts int   `json:"broker_restarts"`
}

func (d *stationProc) stats(t testing.TB) statsJSON {
	t.Helper()
	var s statsJSON
	d.get(t, "/api/v1/stats", &s)
	return s
}

// epoch is this run's epoch, as GET /api/v1/channels reports it.
func (d *stationProc) epoch(t testing.TB) string {
	t.Helper()
	for _, c := range d.channels(t) {
		return c.Epoch
	}
	t.Fatal("GET /api/v1/channels: no channels")
	return ""
}
