package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cuelight/cuelight/cmd/cuectl/benchrelay"
	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/osc"
)

const benchHelp = `
Measures the end-to-end latencies of docs/protocol.md §8 against a running station, and
says whether each target is met. For test rigs and the sim board, never
during a show: it drives one channel through standby, GO and off hundreds
of times and presses its ACK button.

  OSC GO → feedback   time from sending /cuelight/<ch>/go to receiving
                      /cuelight/state/<ch>/go, over and over (standby → go
                      → off cycles; every command's round trip is kept).
  OSC → lamp written  not visible from outside (the sim board's trace is
                      internal). The station sends its feedback only AFTER
                      the lamp outputs are written, so OSC → feedback is an
                      upper bound: a target met by it is met.
  button → event      time from POST /api/v1/pins/<pin>/press on the sim
                      board to the event at cuectl, an outside MQTT
                      subscriber. It includes the HTTP request and the
                      station's debounce time (stations.<name>.debounce,
                      default 20 ms): use a bench show with debounce: 1ms.
  ping                /cuelight/ping → pong: the network and the OSC intake
                      alone, for comparison.
  OSC standby → MQTT state at an outside subscriber
                      time from sending /cuelight/<ch>/standby <label> to
                      the retained state with that label at cuectl,
                      subscribed to the show's broker; --states standbys
                      at --state-rate, each with a new label. The same is
                      measured, on the same broker and subscriber, for the
                      least relay paho can be (it reads the datagram and
                      publishes, QoS 1 retained, nothing else; cuectl runs
                      it as a process of its own), ten standbys to one,
                      then ten to the other, so that both see the same
                      moments of a busy machine (each ten after one more,
                      untimed, which finds the program cold after the
                      other side's turn; it must still arrive), and the
                      ratios are
                      checked: p50 ≤ 1.2 × and p99 ≤ 1.5 × the relay's, no
                      state skipped. Both are sent from sockets cuectl does
                      not read (the relay answers nothing), and the
                      station's events are taken only for the burst (the
                      relay publishes none). Then a burst of --burst standbys on
                      every channel that is off, as fast as the station
                      answers them: every channel's final state and every
                      event must arrive. Every channel used is turned off
                      afterwards. --samples FILE keeps every timed standby
                      of the paced series (CSV: side, sent, latency) to
                      pool several runs: one run's p99 is only its 11th
                      slowest of 1,000 (docs/performance.md).
                      --calibrate runs the same series with a second relay
                      in the station's place (no burst): the ratios two
                      copies of one program show on this machine, which is
                      how far noise alone moves them.

Each path is measured without background load, then (--load, loopback
stations only) while another goroutine sends that many other OSC datagrams
per second to the station (another console's chatter, or malformed
datagrams), paced, bounded in count and time. Exit status 0 when every
target is met, 1 when one is not.

Examples:
  cuectl bench                        200 GO cycles, 30 presses, then again under 20,000 datagrams/s
  cuectl bench -n 1000 --load 0       no load phase
  cuectl bench --config bench.yaml --channel sl
  cuectl bench -n 20 --load 0 --presses 0 --states 1000   the state row, mostly
  cuectl bench -n 1 --load 0 --presses 0 --burst 0 --samples run1.csv
  cuectl bench -n 1 --load 0 --presses 0 --calibrate   relay against relay`

// bench implements "cuectl bench".
func (c *cli) bench(ctx context.Context, name string, args []string) int {
	o := c.newOpts(name, "bench [flags]", benchHelp, flagsOSC|flagsMQTT|flagsWeb)
	n := o.fs.Int("n", 200, "GO cycles (standby → go → off) per phase")
	presses := o.fs.Int("presses", 30, "button presses per phase (0: skip the button path)")
	pressEvery := o.fs.Duration("press-every", 200*time.Millisecond, "time between presses (the debouncer needs about press time + debounce + lockout)")
	load := o.fs.Int("load", 20000, "other OSC datagrams per second during the second phase (0: no second phase)")
	loadKind := o.fs.String("load-kind", "chatter", "chatter (another console's messages, ignored) or malformed (undecodable datagrams)")
	loadMax := o.fs.Duration("load-max", 5*time.Minute, "stop the background load after this long, whatever happens")
	channel := o.fs.String("channel", "", "channel to drive (default: the first with an ACK button on the sim board)")
	states := o.fs.Int("states", 1000, "standbys timed to their MQTT state, per side (0: skip the state row)")
	stateRate := o.fs.Int("state-rate", 100, "standbys per second in the state row")
	burst := o.fs.Int("burst", 1000, "standbys in the state row's burst (0: no burst)")
	relay := o.fs.String("relay", "", "program to run as the relay (default: this cuectl, as \"cuectl bench --serve-relay\")")
	samples := o.fs.String("samples", "", "write the state row's timed standbys to this CSV file (side,sent_unix_us,latency_us)")
	calibrate := o.fs.Bool("calibrate", false, "the state row with a second relay in the station's place, and no burst: the ratios noise alone gives")
	if len(args) > 0 && args[0] == "--serve-relay" {
		return c.serveRelay(ctx, args[1:])
	}
	if _, code, ok := c.parse(o, args, 0, 0); !ok {
		return code
	}
	if *n < 1 || *presses < 0 || *load < 0 || *pressEvery < 0 || *loadMax <= 0 || (*loadKind != "chatter" && *loadKind != "malformed") ||
		*states < 0 || *stateRate < 1 || *stateRate > 10000 || *burst < 0 {
		fmt.Fprintln(c.stderr, "cuectl bench: -n must be at least 1; --presses, --load, --press-every, --states, --burst not negative; --state-rate 1 to 10000; --load-kind chatter or malformed")
		return exitUsage
	}
	if *calibrate && *states == 0 {
		fmt.Fprintln(c.stderr, "cuectl bench: --calibrate runs the state row: it needs --states above 0")
		return exitUsage
	}
	var samplesFile *os.File
	if *samples != "" {
		if *states == 0 {
			fmt.Fprintln(c.stderr, "cuectl bench: --samples keeps the state row's standbys: it needs --states above 0")
			return exitUsage
		}
		f, err := os.Create(*samples)
		if err != nil {
			fmt.Fprintf(c.stderr, "cuectl bench: --samples: %v\n", err)
			return exitUsage
		}
		samplesFile = f
		defer func() {
			if samplesFile != nil { // the bench stopped before the state row: no empty file left behind
				samplesFile.Close()
				os.Remove(*samples)
			}
		}()
	}
	t := o.oscTarget()
	if *load > 0 && !config.IsLoopback(t.addr) {
		fmt.Fprintf(c.stderr, "cuectl bench: --load floods the station with datagrams: allowed only against a station on this computer (loopback), not %s; use --load 0\n", t.addr)
		return exitUsage
	}
	b := &benchRun{c: c, o: o, t: t, n: *n, presses: *presses, pressEvery: *pressEvery, http: &http.Client{Timeout: o.timeout}}
	if code := b.prepare(ctx, *channel); code != exitOK {
		return code
	}
	phases := []benchPhase{{name: "none"}}
	if *load > 0 {
		phases = append(phases, benchPhase{name: strconv.Itoa(*load) + "/s", rate: *load, kind: *loadKind, max: *loadMax})
	}
	for i := range phases {
		if err := b.phase(ctx, &phases[i]); err != nil {
			return c.report(oscOrMQTT(t, o, err))
		}
	}
	var sb *stateBench
	if *states > 0 || *burst > 0 {
		sb = &stateBench{n: *states, rate: *stateRate, burst: *burst, relayExe: *relay, offChannels: b.offChannels, calibrate: *calibrate}
		if *calibrate {
			sb.burst = 0
			fmt.Fprintln(c.stdout, "row: OSC standby → MQTT state, a second relay in the station's place (calibration) ...")
		} else {
			fmt.Fprintln(c.stdout, "row: OSC standby → MQTT state, cuelightd and the relay ...")
		}
		b.stateRow(ctx, sb)
	}
	code := b.report(phases)
	if sb != nil && !sb.report(c.stdout) && code == exitOK {
		code = exitRefused
	}
	if samplesFile != nil {
		err := sb.writeSamples(samplesFile)
		samplesFile = nil
		if err != nil {
			fmt.Fprintf(c.stderr, "cuectl bench: --samples: %v\n", err)
			return max(code, exitRefused)
		}
		fmt.Fprintf(c.stdout, "samples: %s\n", *samples)
	}
	return code
}

// benchRun is one benchmark.
type benchRun struct {
	c          *cli
	o          *opts
	t          oscTarget
	n          int
	presses    int
	pressEvery time.Duration
	http       *http.Client

	channel     string
	offChannels []string      // every channel off at the start (the state row's burst)
	pin         string        // its ACK button on the sim board; "" = no button path
	debounce    time.Duration // the station's, from the show file; 0 = unknown
	broker      string        // the MQTT broker, when the button path runs
	sess        *mqttSession  // during pressRounds
	view        *showView
	notes       []string

	lastPress time.Time
}

// benchPhase is one round of measurements.
type benchPhase struct {
	name string // "none" or the load rate
	rate int
	kind string
	max  time.Duration

	ping, goFB, all, button []time.Duration
	post                    []time.Duration // the press's HTTP request alone
	forced                  bool            // GO was refused (go_requires_ack): force_go was used
	sent                    int64           // load datagrams sent
	took                    time.Duration
	stats                   *stationStats // counters' growth during the phase
	lost                    int           // presses with no event
}

// prepare picks the channel and its button and connects to the broker.
func (b *benchRun) prepare(ctx context.Context, channel string) int {
	c, o := b.c, b.o
	cctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	states, err := b.t.states(cctx)
	if err != nil {
		return c.report(oscProblem(b.t, err, o.timeout))
	}
	buttons, werr := b.ackButtons(cctx)
	if werr != nil {
		b.notes = append(b.notes, "button path skipped: "+werr.Error())
	}
	if channel == "" {
		// A channel with an ACK button; one that takes a plain GO first.
		for _, s := range states {
			if buttons[s.Channel] != "" && (channel == "" || (requiresAckForGo(o.cfg, channel) && !requiresAckForGo(o.cfg, s.Channel))) {
				channel = s.Channel
			}
		}
		if channel == "" && len(states) > 0 {
			channel = states[0].Channel
		}
	}
	i := -1
	for j, s := range states {
		if s.Channel == channel {
			i = j
		}
	}
	if i < 0 {
		return c.report(noChannel(channel, channelNames(states)))
	}
	for _, s := range states {
		if s.State == "off" {
			b.offChannels = append(b.offChannels, s.Channel)
		}
	}
	if s := states[i]; s.State != "off" {
		return c.report(fail(exitRefused, "bench drives %s, which is %s: clear it first (cuectl off %s; cuectl release)", channel, describe(s), channel))
	}
	b.channel = channel
	b.pin = buttons[channel]
	if werr == nil && b.pin == "" && b.presses > 0 {
		b.notes = append(b.notes, "button path skipped: "+channel+" has no ACK button")
	}
	if b.presses == 0 {
		b.pin = ""
	}
	if o.cfg != nil {
		if ch, ok := o.cfg.Channel(channel); ok {
			if st, ok := o.cfg.Station(ch.Station); ok {
				b.debounce = st.Debounce
			}
		}
	}
	if b.pin != "" {
		sess, err := c.dialMQTT(cctx, o, false)
		if err != nil {
			b.pin = ""
			var f *failure
			if errors.As(err, &f) {
				err = errors.New(f.msg)
			}
			b.notes = append(b.notes, "button path skipped: "+err.Error())
		} else {
			// Connected only while presses are timed: the MQTT traffic of
			// the GO cycles must not load cuectl while it times them.
			b.broker = sess.url
			sess.close()
		}
	}
	proto := "UDP"
	if b.t.tcp {
		proto = "TCP"
	}
	fmt.Fprintf(c.stdout, "cuectl bench: station %s (OSC over %s), channel %s", b.t.addr, proto, channel)
	if b.pin != "" {
		fmt.Fprintf(c.stdout, ", ACK button %s on the sim board at %s, broker %s", b.pin, o.webAddr(), b.broker)
	}
	fmt.Fprintln(c.stdout)
	return exitOK
}

func requiresAckForGo(cfg *config.Config, ch string) bool {
	if cfg == nil {
		return false
	}
	c, ok := cfg.Channel(ch)
	return ok && c.GoRequiresAck
}

// ackButtons reads the sim board's pins: channel → ACK button pin.
func (b *benchRun) ackButtons(ctx context.Context) (map[string]string, error) {
	var body struct {
		Pins []struct {
			Name, Channel, Role string
		} `json:"pins"`
	}
	if err := b.getJSON(ctx, "/api/v1/pins", &body); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range body.Pins {
		if p.Role == config.RoleAckButton && out[p.Channel] == "" {
			out[p.Channel] = p.Name
		}
	}
	return out, nil
}

func (b *benchRun) getJSON(ctx context.Context, path string, v any) error {
	url := "http://" + b.o.webAddr() + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return fmt.Errorf("the station's web API at %s does not answer (%v): is web.listen this address (--web)?", b.o.webAddr(), rootCause(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s (the pins API exists only with driver: sim)", url, resp.Status, strings.TrimSpace(string(msg)))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// stationStats are the station counters bench reports (GET /api/v1/stats).
type stationStats struct {
	OSC struct {
		Received, Malformed, Unmatched uint64
	} `json:"osc"`
	OSCDropped int64 `json:"osc_dropped"`
}

func (b *benchRun) stats(ctx context.Context) *stationStats {
	var s stationStats
	if b.getJSON(ctx, "/api/v1/stats", &s) != nil {
		return nil
	}
	return &s
}

// phase measures every path once, under the phase's load.
func (b *benchRun) phase(ctx context.Context, p *benchPhase) error {
	c := b.c
	if p.rate > 0 {
		fmt.Fprintf(c.stdout, "phase: background load %s (%s) ...\n", p.name, p.kind)
	} else {
		fmt.Fprintln(c.stdout, "phase: no background load ...")
	}
	before := b.stats(ctx)
	start := time.Now()
	var wg sync.WaitGroup
	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var sent atomic.Int64
	if p.rate > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runLoad(lctx, b.t.addr, p.rate, p.kind, p.max, &sent)
		}()
	}
	err := b.cycles(ctx, p)
	if err == nil && b.pin != "" {
		err = b.pressRounds(ctx, p)
	}
	stopLoad()
	wg.Wait()
	p.sent, p.took = sent.Load(), time.Since(start)
	if after := b.stats(ctx); before != nil && after != nil {
		d := &stationStats{OSCDropped: after.OSCDropped - before.OSCDropped}
		d.OSC.Received = after.OSC.Received - before.OSC.Received
		d.OSC.Malformed = after.OSC.Malformed - before.OSC.Malformed
		d.OSC.Unmatched = after.OSC.Unmatched - before.OSC.Unmatched
		p.stats = d
	}
	return err
}

// cycles runs the OSC GO cycles and pings.
func (b *benchRun) cycles(ctx context.Context, p *benchPhase) error {
	cn, err := b.t.open()
	if err != nil {
		return err
	}
	defer cn.Close()
	ch := b.channel
	goVerb := "go"
	for i := range b.n {
		label := osc.String("bench-" + strconv.Itoa(i+1))
		steps := []struct {
			verb, want string
			args       []osc.Arg
		}{
			{"standby", "standby", []osc.Arg{label}},
			{goVerb, "go", []osc.Arg{label}},
			{"off", "off", nil},
		}
		for _, s := range steps {
			d, reason, err := b.roundTrip(ctx, cn, osc.NewMessage("/cuelight/"+ch+"/"+s.verb, s.args...), ch, s.want)
			if err != nil {
				return err
			}
			if reason != "" {
				if s.verb == "go" && strings.Contains(reason, "force_go") {
					goVerb, p.forced = "force_go", true // go_requires_ack: use the override
					d, reason, err = b.roundTrip(ctx, cn, osc.NewMessage("/cuelight/"+ch+"/force_go", s.args...), ch, "go")
					if err != nil {
						return err
					}
				}
				if reason != "" {
					return fail(exitRefused, "the station refused /cuelight/%s/%s: %s", ch, s.verb, reason)
				}
			}
			p.all = append(p.all, d)
			if s.want == "go" {
				p.goFB = append(p.goFB, d)
			}
		}
		pctx, cancel := context.WithTimeout(ctx, b.o.timeout)
		start := time.Now()
		_, err := cn.untilPong(pctx)
		d := time.Since(start)
		cancel()
		if err != nil {
			return err
		}
		p.ping = append(p.ping, d)
	}
	return nil
}

// roundTrip sends m and times the state reply for ch in state want; a
// /cuelight/error reply is returned as reason.
func (b *benchRun) roundTrip(ctx context.Context, cn *conn, m *osc.Message, ch, want string) (time.Duration, string, error) {
	ctx, cancel := context.WithTimeout(ctx, b.o.timeout)
	defer cancel()
	start := time.Now()
	if err := cn.send(m); err != nil {
		return 0, "", err
	}
	for {
		r, err := cn.next(ctx)
		if err != nil {
			return 0, "", err
		}
		d := time.Since(start)
		if s, ok := parseState(r); ok && s.Channel == ch && s.State == want {
			return d, "", nil
		}
		if _, reason, ok := parseError(r); ok {
			// Drain the state echo the refusal comes with (it came first).
			return d, reason, nil
		}
	}
}

// pressRounds presses the channel's ACK button and times the event.
func (b *benchRun) pressRounds(ctx context.Context, p *benchPhase) error {
	dctx, cancel := context.WithTimeout(ctx, b.o.timeout)
	sess, err := b.c.dialMQTT(dctx, b.o, false)
	cancel()
	if err != nil {
		return err
	}
	defer sess.close()
	b.sess, b.view = sess, newShowView(sess.prefix, nil)
	url := "http://" + b.o.webAddr() + "/api/v1/pins/" + b.pin + "/press"
	for range b.presses {
		// The last press (of this phase or the one before) must be over.
		if wait := time.Until(b.lastPress.Add(b.pressEvery)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// Drop what arrived since the last press.
		for len(b.sess.in) > 0 {
			b.view.apply(<-b.sess.in)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
		if err != nil {
			return err
		}
		start := time.Now()
		resp, err := b.http.Do(req)
		b.lastPress = time.Now() // the board has the press by now
		if err != nil {
			return fail(exitUnreachable, "POST %s: %v", url, rootCause(err))
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		p.post = append(p.post, time.Since(start))
		if resp.StatusCode != http.StatusNoContent {
			return fail(exitRefused, "POST %s: %s", url, resp.Status)
		}
		var got time.Duration
		wctx, cancel := context.WithTimeout(ctx, b.o.timeout)
		err = b.sess.collect(wctx, b.view, func() bool { return got > 0 }, func(u update) {
			if u.kind == "event" && u.event.Channel == b.channel && u.event.Source == "button" &&
				(u.event.Event == "press" || u.event.Event == "ack") && got == 0 {
				got = max(time.Since(start), 1)
			}
		})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.lost++
			continue
		}
		p.button = append(p.button, got)
	}
	return nil
}

// runLoad sends rate datagrams per second to addr until ctx ends, for at
// most maxDur (and so at most rate × maxDur datagrams). Sends are paced
// against the clock, in bursts of at most one millisecond's worth.
func runLoad(ctx context.Context, addr string, rate int, kind string, maxDur time.Duration, sent *atomic.Int64) {
	cn, err := net.Dial("udp", addr)
	if err != nil {
		return
	}
	defer cn.Close()
	var packets [][]byte
	if kind == "malformed" {
		packets = [][]byte{[]byte("#bogus\x00"), {0x2f, 0x00, 0x00}, []byte("/lx\x00,x\x00\x00\x00\x00\x00\x00\x01")}
	} else {
		for k := range 16 {
			m := osc.NewMessage("/lx/chan/"+strconv.Itoa(101+k), osc.Float32(float32(k)/16))
			b, _ := m.MarshalBinary()
			packets = append(packets, b)
		}
	}
	limit := int64(rate) * int64(maxDur/time.Second+1)
	burst := max(int64(rate/1000), 1)
	start := time.Now()
	var n int64
	for n < limit {
		if ctx.Err() != nil {
			return
		}
		el := time.Since(start)
		if el > maxDur {
			return
		}
		due := int64(float64(rate) * el.Seconds())
		if n >= due {
			time.Sleep(time.Millisecond)
			continue
		}
		for k := min(due-n, burst); k > 0; k-- {
			_, _ = cn.Write(packets[n%int64(len(packets))])
			n++
		}
		sent.Store(n)
	}
}

// The targets of docs/protocol.md §8.
var (
	targetGoP99     = 2 * time.Millisecond
	targetLampP50   = 100 * time.Microsecond
	targetLampP99   = time.Millisecond
	targetButtonP99 = 5 * time.Millisecond
)

// report prints the tables and returns the exit status.
func (b *benchRun) report(phases []benchPhase) int {
	w := b.c.stdout
	fmt.Fprintf(w, "\n%-40s %-9s %5s %10s %10s %10s %10s\n", "PATH", "LOAD", "N", "P50", "P90", "P99", "MAX")
	row := func(path string, p *benchPhase, d []time.Duration) {
		if len(d) == 0 {
			return
		}
		s := summarize(d)
		fmt.Fprintf(w, "%-40s %-9s %5d %10s %10s %10s %10s\n", path, p.name, s.n, fmtDur(s.p50), fmtDur(s.p90), fmtDur(s.p99), fmtDur(s.max))
	}
	for i := range phases {
		p := &phases[i]
		row("OSC ping → pong (intake only)", p, p.ping)
		goName := "OSC GO → /cuelight/state feedback"
		if p.forced {
			goName = "OSC force_go → /cuelight/state feedback"
		}
		row(goName, p, p.goFB)
		row("OSC standby/go/off → feedback (all)", p, p.all)
		row("button press → MQTT event", p, p.button)
		row("  the press's HTTP request alone", p, p.post)
	}
	fmt.Fprintln(w)
	for i := range phases {
		p := &phases[i]
		if p.rate > 0 {
			fmt.Fprintf(w, "load %s: sent %d datagrams in %.1fs (%.0f/s)", p.name, p.sent, p.took.Seconds(), float64(p.sent)/p.took.Seconds())
			if p.stats != nil {
				fmt.Fprintf(w, "; the station received %d packets (%d malformed), dropped %d commands",
					p.stats.OSC.Received, p.stats.OSC.Malformed, p.stats.OSCDropped)
			}
			fmt.Fprintln(w)
		}
		if p.lost > 0 {
			fmt.Fprintf(w, "load %s: %d presses gave no event within %s (a press too soon after the last one is one press: raise --press-every)\n", p.name, p.lost, b.o.timeout)
		}
	}
	for _, n := range b.notes {
		fmt.Fprintln(w, "note:", n)
	}

	fmt.Fprintf(w, "\nTargets (docs/protocol.md §8):\n")
	code := exitOK
	verdict := func(label string, check func(p *benchPhase) (text, v string)) {
		fmt.Fprintf(w, "  %s\n", label)
		for i := range phases {
			p := &phases[i]
			text, v := check(p)
			if v == "NOT MET" {
				code = exitRefused
			}
			fmt.Fprintf(w, "    load %-9s %-10s %s\n", p.name, v, text)
		}
	}
	met := func(ok bool) string {
		if ok {
			return "MET"
		}
		return "NOT MET"
	}
	verdict("OSC GO in → /cuelight/state feedback out: p99 ≤ 2 ms", func(p *benchPhase) (string, string) {
		s := summarize(p.goFB)
		return "p99 " + fmtDur(s.p99), met(s.p99 <= targetGoP99)
	})
	verdict("OSC datagram in → lamp output written: p50 ≤ 100 µs, p99 ≤ 1 ms (from OSC → feedback, an upper bound)", func(p *benchPhase) (string, string) {
		s := summarize(p.goFB)
		text := fmt.Sprintf("p50 %s, p99 %s", fmtDur(s.p50), fmtDur(s.p99))
		if s.p50 <= targetLampP50 && s.p99 <= targetLampP99 {
			return text, "MET"
		}
		return text + ": the bound is above the target (it includes the network and cuectl); the station's own time is not visible from outside", "NOT SHOWN"
	})
	if b.pin != "" {
		verdict("button edge → event at an outside MQTT subscriber: p99 ≤ 5 ms (from press → event, less the debounce)", func(p *benchPhase) (string, string) {
			if len(p.button) == 0 {
				return "no presses measured", "UNKNOWN"
			}
			s := summarize(p.button)
			if b.debounce == 0 {
				return fmt.Sprintf("press → event p99 %s includes the station's debounce, unknown here: give --config", fmtDur(s.p99)), "UNKNOWN"
			}
			edge := s.p99 - b.debounce
			return fmt.Sprintf("p99 %s (press → event %s − debounce %s; the HTTP request still included)", fmtDur(edge), fmtDur(s.p99), b.debounce), met(edge <= targetButtonP99)
		})
	}
	return code
}

// The "OSC standby → MQTT state at an outside subscriber" row: the
// station's time from an OSC standby to its retained state at cuectl (a
// subscriber on the show's broker), measured side by side with the least
// relay paho can be (package benchrelay, run as a process of its own by
// "cuectl bench --serve-relay"), on the same broker, under the same
// subscriber. Then a burst: standbys round-robin on every channel that was
// off, as fast as the station takes them (at most burstWindow unanswered).

// burstWindow bounds the standbys of a burst sent but not yet answered by
// the station's OSC feedback: "as fast as the station takes them" without
// overrunning its socket buffer.
const burstWindow = 16

// Targets of the state row.
const (
	targetStateP50Ratio = 1.2
	targetStateP99Ratio = 1.5
)

// stateBench is the row's set-up and results.
type stateBench struct {
	n, rate, burst int
	relayExe       string
	offChannels    []string // channels off at the start: the burst's
	calibrate      bool     // a second relay ("relay B") in the station's place

	broker string
	series []stateSeries // cuelightd (or relay B), then the relay
	bursts []stateBurst
	notes  []string
}

// stateSeries is one run of paced standbys.
type stateSeries struct {
	who        string // in the report
	side       string // in the --samples file
	lat        []time.Duration
	sentAt     []time.Time // of each lat
	sent, got  int
	outOfOrder int
}

// stateBurst is one burst.
type stateBurst struct {
	who            string
	sent, channels int
	finals         int           // channels whose final state arrived
	took           time.Duration // first send → the last final state
	stateMsgs      int           // state messages of the burst received
	events, wantEv int           // standby events received; wantEv -1: not counted (the relay)
}

// arrival is one message at the bench's subscriber, timed on arrival.
type arrival struct {
	at       time.Time
	topic    string
	payload  []byte
	retained bool
}

// stateRow runs the row. Errors that make the row impossible are notes.
func (b *benchRun) stateRow(ctx context.Context, sb *stateBench) {
	o := b.o
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	sess, err := b.c.dialMQTT(dctx, o, false)
	cancel()
	if err != nil {
		var f *failure
		if errors.As(err, &f) {
			err = errors.New(f.msg)
		}
		sb.notes = append(sb.notes, "state row skipped: "+err.Error())
		return
	}
	defer sess.close()
	sb.broker = sess.url
	arr := make(chan arrival, 1<<15)
	var overflow atomic.Int64
	relayPrefix := benchrelay.DefaultPrefix
	// Calibration: relay B takes the station's side of the series, on
	// topics of its own (the station's retained states stay as they are).
	first := stateSeries{who: "cuelightd", side: "cuelightd"}
	firstPrefix := sess.prefix
	if sb.calibrate {
		first, firstPrefix = stateSeries{who: "relay B (paho only)", side: "relay-b"}, relayBPrefix
	}
	handler := func(_ mqtt.Client, m mqtt.Message) {
		select {
		case arr <- arrival{time.Now(), m.Topic(), m.Payload(), m.Retained()}:
		default:
			overflow.Add(1)
		}
	}
	// The paced series time states only, so the subscriber takes the
	// station's events only for the burst, which counts them: both sides
	// of a series then cost it one message per standby.
	if err := b.subscribe(sess, handler, firstPrefix+"/channel/+/state", relayPrefix+"/channel/+/state"); err != nil {
		sb.notes = append(sb.notes, "state row skipped: "+err.Error())
		return
	}
	defer func() { // the relays' retained states go
		prefixes := []string{relayPrefix}
		if sb.calibrate {
			prefixes = append(prefixes, relayBPrefix)
		}
		for _, prefix := range prefixes {
			for _, ch := range append([]string{b.channel}, sb.offChannels...) {
				sess.client.Publish(prefix+"/channel/"+ch+"/state", 1, true, []byte{}).WaitTimeout(o.timeout)
			}
		}
	}()

	// The station, over its own OSC socket; its feedback is read (and
	// counted for the burst's pacing) by a goroutine.
	cn, err := b.t.open()
	if err != nil {
		sb.notes = append(sb.notes, "state row skipped: "+err.Error())
		return
	}
	rctx, stopRead := context.WithCancel(ctx)
	var answered atomic.Int64
	answer := make(chan struct{}, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			m, err := cn.next(rctx)
			if err != nil {
				if rctx.Err() != nil {
					return
				}
				continue
			}
			if s, ok := parseState(m); ok && strings.HasPrefix(s.Label, "burst-") {
				answered.Add(1)
				select {
				case answer <- struct{}{}:
				default:
				}
			}
		}
	}()
	stopReader := func() {
		stopRead()
		<-readDone
	}
	defer func() {
		stopReader()
		cn.Close()
	}()
	run := strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	toStation := func(ch, label string) error {
		return cn.send(osc.NewMessage("/cuelight/"+ch+"/standby", osc.String(label)))
	}
	// The paced series send from a socket of their own that cuectl never
	// reads (quiet_linux.go): the station's answers to them would
	// otherwise wake cuectl just as the broker and the subscriber want a
	// core, and the relay sends none. In a show they go to the booth's
	// computer. Both sides are sent the same way.
	seriesTo := func(q *quietConn) func(ch, label string) error {
		return func(ch, label string) error {
			p, err := osc.NewMessage("/cuelight/"+ch+"/standby", osc.String(label)).MarshalBinary()
			if err != nil {
				return err
			}
			return q.write(p)
		}
	}
	seriesToStation := toStation
	if !b.t.tcp {
		q, err := dialQuiet(b.t.addr)
		if err != nil {
			sb.notes = append(sb.notes, "state row skipped: "+err.Error())
			return
		}
		defer q.Close()
		seriesToStation = seriesTo(q)
	}
	// A relay on this computer, publishing under prefix, sent to the same
	// way.
	relayOn := func(prefix string) (send func(ch, label string) error, stop func(), err error) {
		addr, stopRelay, err := b.startRelay(ctx, sb.relayExe, sess.url, prefix)
		if err != nil {
			return nil, nil, err
		}
		q, err := dialQuiet(addr)
		if err != nil {
			stopRelay()
			return nil, nil, err
		}
		return seriesTo(q), func() { q.Close(); stopRelay() }, nil
	}
	if sb.calibrate {
		send, stop, err := relayOn(relayBPrefix)
		if err != nil {
			sb.notes = append(sb.notes, "state row skipped: relay B: "+err.Error())
			return
		}
		defer stop()
		seriesToStation = send
	}

	// The relay.
	toRelay, stopRelay, err := relayOn(relayPrefix)
	if err != nil {
		sb.notes = append(sb.notes, "relay not run: "+err.Error())
	} else {
		defer stopRelay()
	}

	// Paced series: the station, then the relay.
	period := time.Second / time.Duration(sb.rate)
	// In rounds of at most 10 timed standbys (a tenth of a second at
	// 100/s), side by side, so that both sides see the same machine
	// (another program's burst of work lands on both). Rounds of 100 let
	// the p50 ratio of one run wander from 0.97 to 1.35 on a quiet 2-core
	// VM; rounds of 10 kept it within 1.09–1.22 (docs/performance.md).
	// Each round starts with one more standby, untimed: the first after
	// the other side's round found its program cold in the caches, which
	// the other side had just used, and these firsts were a tenth of the
	// samples, enough to set the p99 (it went over 1.5× in 3 of 15 rows
	// with them, in 1 of 30 without; docs/performance.md). They still
	// count as sent and must arrive.
	if sb.n > 0 {
		st, rl := first, stateSeries{who: "relay (paho only)", side: "relay"}
		for round, left := 0, sb.n; left > 0 && ctx.Err() == nil; round++ {
			k := min(left, 10)
			left -= k
			id := run + strconv.Itoa(round) + "-"
			st.add(b.series(ctx, "s"+id, firstPrefix, seriesToStation, period, 1+k, 1, arr))
			if toRelay != nil {
				rl.add(b.series(ctx, "r"+id, relayPrefix, toRelay, period, 1+k, 1, arr))
			}
		}
		sb.series = append(sb.series, st)
		if toRelay != nil {
			sb.series = append(sb.series, rl)
		}
	}

	// Bursts: the station paced by its answers; the relay with the same
	// send times.
	if sb.burst > 0 && len(sb.offChannels) > 0 {
		if err := b.subscribe(sess, handler, sess.prefix+"/channel/+/event"); err != nil {
			sb.notes = append(sb.notes, "burst: the station's events are not counted: "+err.Error())
		}
		var offsets []time.Duration
		send := func(i int, ch, label string) error {
			for int64(i)-answered.Load() >= burstWindow {
				select {
				case <-answer:
				case <-time.After(b.o.timeout):
					return fmt.Errorf("the station answered %d of %d burst standbys within %s", answered.Load(), i, b.o.timeout)
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return toStation(ch, label)
		}
		bs, off := b.burstRun(ctx, "cuelightd", "burst-"+run+"-", sess.prefix, send, nil, sb.offChannels, sb.burst, true, arr)
		offsets = off
		sb.bursts = append(sb.bursts, bs)
		if toRelay != nil {
			rs, _ := b.burstRun(ctx, "relay (paho only)", "rburst-"+run+"-", relayPrefix, func(_ int, ch, label string) error { return toRelay(ch, label) },
				offsets, sb.offChannels, sb.burst, false, arr)
			sb.bursts = append(sb.bursts, rs)
		}
	}
	if n := overflow.Load(); n > 0 {
		sb.notes = append(sb.notes, fmt.Sprintf("the bench's subscriber queue overflowed: %d messages not counted", n))
	}

	// Every channel the row touched goes back to off.
	stopReader()
	for _, ch := range append([]string{b.channel}, sb.offChannels...) {
		if _, reason, err := b.roundTrip(ctx, cn, osc.NewMessage("/cuelight/"+ch+"/off"), ch, "off"); err != nil || reason != "" {
			sb.notes = append(sb.notes, fmt.Sprintf("could not turn %s off after the state row: %v %s", ch, err, reason))
		}
	}
}

// subscribe subscribes the bench's session to filters at QoS 1 and waits
// for the broker's answer.
func (b *benchRun) subscribe(sess *mqttSession, handler mqtt.MessageHandler, filters ...string) error {
	want := map[string]byte{}
	for _, f := range filters {
		want[f] = 1
	}
	// mochi v2.7.9 may refuse a SUBSCRIBE whose packet id equals one of
	// its own in-flight messages to the client (code 0x91): try again.
	for attempt := 1; ; attempt++ {
		t := sess.client.SubscribeMultiple(want, handler)
		if !t.WaitTimeout(b.o.timeout) || t.Error() != nil {
			return fmt.Errorf("subscribing on %s: %v", sess.url, t.Error())
		}
		var refused []string
		for topic, code := range t.(*mqtt.SubscribeToken).Result() {
			if code >= 0x80 {
				refused = append(refused, fmt.Sprintf("%s (code %#x)", topic, code))
			}
		}
		if len(refused) == 0 {
			return nil
		}
		if attempt == 5 {
			return errors.New("the broker refused cuectl's subscription to " + strings.Join(refused, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// series sends n standbys on the bench's channel, period apart (paced
// against the clock), labels prefix+i, and times each but the first
// untimed ones to its state at the subscriber (topics under topicPrefix).
func (b *benchRun) series(ctx context.Context, prefix, topicPrefix string, send func(ch, label string) error, period time.Duration, n, untimed int, arr <-chan arrival) stateSeries {
	var s stateSeries
	sentAt := make([]time.Time, n)
	gotAt := make([]time.Time, n)
	topic := topicPrefix + "/channel/" + b.channel + "/state"
	maxIdx := -1
	take := func(a arrival) {
		if a.retained || a.topic != topic {
			return
		}
		i, ok := labelIndex(a.payload, prefix)
		if !ok || i >= n || !gotAt[i].IsZero() {
			return
		}
		gotAt[i] = a.at
		s.got++
		if i < maxIdx {
			s.outOfOrder++
		}
		maxIdx = max(maxIdx, i)
	}
	start := time.Now()
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * period)); d > 0 {
			drainFor(arr, d, take)
		}
		sentAt[i] = time.Now()
		if err := send(b.channel, prefix+strconv.Itoa(i)); err != nil {
			break
		}
		s.sent++
	}
	deadline := time.Now().Add(b.o.timeout)
	for s.got < s.sent && time.Now().Before(deadline) && ctx.Err() == nil {
		drainFor(arr, 10*time.Millisecond, take)
	}
	for i := untimed; i < n; i++ {
		if !gotAt[i].IsZero() {
			s.lat = append(s.lat, gotAt[i].Sub(sentAt[i]))
			s.sentAt = append(s.sentAt, sentAt[i])
		}
	}
	return s
}

// add adds the figures of another round.
func (s *stateSeries) add(o stateSeries) {
	s.lat = append(s.lat, o.lat...)
	s.sentAt = append(s.sentAt, o.sentAt...)
	s.sent += o.sent
	s.got += o.got
	s.outOfOrder += o.outOfOrder
}

// burstRun sends n standbys round-robin on chans, labels prefix+i: at once
// when offsets is nil (send paces itself), else at the given offsets from
// the start. It returns the burst's figures and the send offsets.
func (b *benchRun) burstRun(ctx context.Context, who, prefix, topicPrefix string, send func(i int, ch, label string) error, offsets []time.Duration, chans []string, n int, events bool, arr <-chan arrival) (stateBurst, []time.Duration) {
	r := stateBurst{who: who, channels: len(chans), wantEv: -1}
	if events {
		r.wantEv = n
	}
	final := map[string]string{} // channel → the label of its last standby
	for i := range n {
		final[chans[i%len(chans)]] = prefix + strconv.Itoa(i)
	}
	seen := map[string]bool{}
	var last time.Time
	take := func(a arrival) {
		if a.retained || !strings.HasPrefix(a.topic, topicPrefix+"/channel/") {
			return
		}
		rest := strings.TrimPrefix(a.topic, topicPrefix+"/channel/")
		ch, kind, _ := strings.Cut(rest, "/")
		if _, ok := labelIndex(a.payload, prefix); !ok {
			return
		}
		switch kind {
		case "state":
			r.stateMsgs++
			if label := labelOf(a.payload); label == final[ch] && !seen[ch] {
				seen[ch] = true
				r.finals++
				last = a.at
			}
		case "event":
			if events && strings.Contains(string(a.payload), `"event":"standby"`) {
				r.events++
			}
		}
	}
	var sent []time.Duration
	start := time.Now()
	for i := range n {
		if offsets != nil && i < len(offsets) {
			if d := time.Until(start.Add(offsets[i])); d > 0 {
				drainFor(arr, d, take)
			}
		}
		drainFor(arr, 0, take)
		sent = append(sent, time.Since(start))
		if err := send(i, chans[i%len(chans)], prefix+strconv.Itoa(i)); err != nil {
			b.notes = append(b.notes, who+" burst: "+err.Error())
			break
		}
		r.sent++
	}
	deadline := time.Now().Add(2 * b.o.timeout)
	for (r.finals < len(chans) || (events && r.events < r.sent)) && time.Now().Before(deadline) && ctx.Err() == nil {
		drainFor(arr, 10*time.Millisecond, take)
	}
	drainFor(arr, 50*time.Millisecond, take) // stragglers: more events than sent would show
	if !last.IsZero() {
		r.took = last.Sub(start)
	}
	return r, sent
}

// drainFor hands arrivals to take for d (at least once, without waiting,
// when d is 0).
func drainFor(arr <-chan arrival, d time.Duration, take func(arrival)) {
	if d <= 0 {
		for {
			select {
			case a := <-arr:
				take(a)
			default:
				return
			}
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case a := <-arr:
			take(a)
		case <-t.C:
			return
		}
	}
}

// labelOf is the "label" of a JSON state or event payload.
func labelOf(payload []byte) string {
	var v struct {
		Label string `json:"label"`
	}
	_ = json.Unmarshal(payload, &v)
	return v.Label
}

// labelIndex is i of a payload labelled prefix+i.
func labelIndex(payload []byte, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(labelOf(payload), prefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i >= 0
}

// relayBPrefix is the topic prefix of the second relay of --calibrate.
const relayBPrefix = benchrelay.DefaultPrefix + "-b"

// startRelay runs the relay (this program, or --relay) as a child process
// on broker, publishing under prefix, and returns the UDP address it reads.
func (b *benchRun) startRelay(ctx context.Context, exe, broker, prefix string) (addr string, stop func(), err error) {
	if !strings.HasPrefix(broker, "tcp://") && !strings.HasPrefix(broker, "mqtt://") {
		return "", nil, fmt.Errorf("the relay speaks tcp:// only, the broker is %s", broker)
	}
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return "", nil, err
		}
	}
	cmd := exec.Command(exe, "bench", "--serve-relay", broker, prefix)
	user, password := b.o.user, b.o.password
	if user == "" {
		user = b.c.getenv("CUELIGHT_MQTT_USER")
	}
	if password == "" {
		password = b.c.getenv("CUELIGHT_MQTT_PASSWORD")
	}
	cmd.Env = append(os.Environ(), "CUELIGHT_MQTT_USER="+user, "CUELIGHT_MQTT_PASSWORD="+password)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting %s: %w", exe, err)
	}
	stop = func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l, ok := <-line:
		if a, found := strings.CutPrefix(l, "relay ready "); ok && found {
			return a, stop, nil
		}
	case <-time.After(b.o.timeout + 5*time.Second):
	case <-ctx.Done():
	}
	stop()
	return "", nil, fmt.Errorf("the relay did not start: %s", strings.TrimSpace(stderr.String()))
}

// serveRelay is "cuectl bench --serve-relay BROKER [PREFIX]": the relay
// process. It prints "relay ready <udp address>" and relays until stdin
// closes.
func (c *cli) serveRelay(ctx context.Context, args []string) int {
	if len(args) != 1 && len(args) != 2 {
		fmt.Fprintln(c.stderr, "cuectl bench --serve-relay BROKER_URL [TOPIC_PREFIX] (started by cuectl bench)")
		return exitUsage
	}
	prefix := ""
	if len(args) == 2 {
		prefix = args[1]
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(c.stderr, "cuectl bench relay:", err)
		return exitUnreachable
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the bench closes our stdin to stop us
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	err = benchrelay.Run(ctx, pc, benchrelay.Options{
		Broker: args[0], Prefix: prefix, Username: c.getenv("CUELIGHT_MQTT_USER"), Password: c.getenv("CUELIGHT_MQTT_PASSWORD"),
	}, func(addr string) { fmt.Fprintln(c.stdout, "relay ready", addr) })
	if err != nil {
		fmt.Fprintln(c.stderr, "cuectl bench relay:", err)
		return exitUnreachable
	}
	return exitOK
}

// reportStates prints the row and its verdicts; it reports whether every
// target was met.
func (sb *stateBench) report(w io.Writer) bool {
	fmt.Fprintf(w, "\nOSC standby → MQTT state at an outside subscriber (broker %s)\n", sb.broker)
	if sb.calibrate {
		fmt.Fprintln(w, "  calibration: a second relay (B) in the station's place; the ratios are what noise alone gives")
	}
	if len(sb.series) > 0 {
		fmt.Fprintf(w, "  %-20s %-7s %5s %5s %10s %10s %10s %10s %8s\n", "", "RATE", "SENT", "GOT", "P50", "P90", "P99", "MAX", "ORDER")
		for _, s := range sb.series {
			st := summarize(s.lat)
			order := "ok"
			if s.outOfOrder > 0 {
				order = strconv.Itoa(s.outOfOrder) + " late"
			}
			fmt.Fprintf(w, "  %-20s %-7s %5d %5d %10s %10s %10s %10s %8s\n", s.who, strconv.Itoa(sb.rate)+"/s", s.sent, s.got,
				fmtDur(st.p50), fmtDur(st.p90), fmtDur(st.p99), fmtDur(st.max), order)
		}
	}
	for _, r := range sb.bursts {
		ev := ""
		if r.wantEv >= 0 {
			ev = fmt.Sprintf(", events %d of %d", r.events, r.wantEv)
		}
		fmt.Fprintf(w, "  %-20s burst %d on %d channels: final states %d of %d in %s, %d state messages%s\n",
			r.who, r.sent, r.channels, r.finals, r.channels, fmtDur(r.took), r.stateMsgs, ev)
	}
	for _, n := range sb.notes {
		fmt.Fprintln(w, "  note:", n)
	}
	ok := true
	verdict := func(label, v, text string) {
		if v == "NOT MET" {
			ok = false
		}
		fmt.Fprintf(w, "  %-60s %-8s %s\n", label, v, text)
	}
	met := func(b bool) string {
		if b {
			return "MET"
		}
		return "NOT MET"
	}
	if len(sb.series) == 2 && sb.series[1].got == 0 {
		verdict("p50, p99 against the relay", "UNKNOWN", "no state of the relay arrived")
	} else if len(sb.series) == 2 && sb.calibrate && sb.series[0].got == 0 {
		verdict("p50, p99 of relay B against the relay", "UNKNOWN", "no state of relay B arrived")
	} else if len(sb.series) == 2 && sb.calibrate {
		// Two copies of one program: no target, only how far apart they
		// came out.
		b, rl := summarize(sb.series[0].lat), summarize(sb.series[1].lat)
		for _, r := range []struct {
			name   string
			b, rel time.Duration
		}{{"p50", b.p50, rl.p50}, {"p99", b.p99, rl.p99}} {
			fmt.Fprintf(w, "  %-60s %-8s %.2f× (%s vs %s)\n", r.name+" of relay B / the relay's", "", ratio(r.b, r.rel), fmtDur(r.b), fmtDur(r.rel))
		}
	} else if len(sb.series) == 2 {
		st, rl := summarize(sb.series[0].lat), summarize(sb.series[1].lat)
		r50, r99 := ratio(st.p50, rl.p50), ratio(st.p99, rl.p99)
		verdict(fmt.Sprintf("p50 ≤ %.1f × the relay's", targetStateP50Ratio), met(r50 <= targetStateP50Ratio),
			fmt.Sprintf("%.2f× (%s vs %s)", r50, fmtDur(st.p50), fmtDur(rl.p50)))
		verdict(fmt.Sprintf("p99 ≤ %.1f × the relay's", targetStateP99Ratio), met(r99 <= targetStateP99Ratio),
			fmt.Sprintf("%.2f× (%s vs %s)", r99, fmtDur(st.p99), fmtDur(rl.p99)))
		if r99 > targetStateP99Ratio {
			// A few slow standbys decide it: say how few, and how to tell
			// a busy moment of the machine from the station.
			fmt.Fprintf(w, "    (the station's p99 is its %s slowest standby of %d: run again, pool runs with --samples, or see what noise alone gives with --calibrate; docs/performance.md)\n",
				ordinal(st.n-rank(st.n, 99)+1), st.n)
		}
	} else if len(sb.series) == 1 {
		verdict("p50, p99 against the relay", "UNKNOWN", "the relay did not run")
	}
	if len(sb.series) > 0 {
		s := sb.series[0]
		verdict(fmt.Sprintf("at %d/s no state change skipped, in order", sb.rate), met(s.got == s.sent && s.sent > 0 && s.outOfOrder == 0),
			fmt.Sprintf("%d of %d arrived, %d out of order", s.got, s.sent, s.outOfOrder))
	}
	if len(sb.bursts) > 0 {
		r := sb.bursts[0]
		verdict("burst: every channel's final state arrives", met(r.finals == r.channels && r.sent > 0),
			fmt.Sprintf("%d of %d", r.finals, r.channels))
		verdict("burst: every event arrives (drops are counted and logged)", met(r.events == r.wantEv),
			fmt.Sprintf("%d of %d; see the station's log for \"mqtt event queue full\"", r.events, r.wantEv))
	}
	return ok
}

// writeSamples writes the paced series' timed standbys as CSV, in the
// order they were sent: side ("cuelightd", or "relay-b" with --calibrate,
// then "relay"), the send time (Unix µs) and the latency to the
// subscriber (µs).
func (sb *stateBench) writeSamples(f *os.File) error {
	w := bufio.NewWriter(f)
	w.WriteString("side,sent_unix_us,latency_us\n")
	for _, s := range sb.series {
		for k, d := range s.lat {
			fmt.Fprintf(w, "%s,%d,%d\n", s.side, s.sentAt[k].UnixMicro(), d.Microseconds())
		}
	}
	err := w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}
