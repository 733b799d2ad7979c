package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/osc"
)

const benchHelp = `
Measures the end-to-end latencies of SPEC §8 against a running station, and
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

Each path is measured without background load, then (--load, loopback
stations only) while another goroutine sends that many other OSC datagrams
per second to the station (another console's chatter, or malformed
datagrams), paced, bounded in count and time. Exit status 0 when every
target is met, 1 when one is not.

Examples:
  cuectl bench                        200 GO cycles, 30 presses, then again under 20,000 datagrams/s
  cuectl bench -n 1000 --load 0       no load phase
  cuectl bench --config bench.yaml --channel sl`

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
	if _, code, ok := c.parse(o, args, 0, 0); !ok {
		return code
	}
	if *n < 1 || *presses < 0 || *load < 0 || *pressEvery < 0 || *loadMax <= 0 || (*loadKind != "chatter" && *loadKind != "malformed") {
		fmt.Fprintln(c.stderr, "cuectl bench: -n must be at least 1; --presses, --load, --press-every not negative; --load-kind chatter or malformed")
		return exitUsage
	}
	t := o.oscTarget()
	if *load > 0 && !isLoopback(t.addr) {
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
	return b.report(phases)
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

	channel  string
	pin      string        // its ACK button on the sim board; "" = no button path
	debounce time.Duration // the station's, from the show file; 0 = unknown
	broker   string        // the MQTT broker, when the button path runs
	sess     *mqttSession  // during pressRounds
	view     *showView
	notes    []string

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
		if p.Role == "ack_button" && out[p.Channel] == "" {
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

// isLoopback reports whether host:port names this computer only.
func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// SPEC §8 targets.
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

	fmt.Fprintf(w, "\nSPEC §8 targets:\n")
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
