package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/mqttlink"
)

const checkHelp = `
The pre-show cue light check from the stage manager's preset checklist.
Every channel (or the ones named) is put in standby with an ACK asked for
(cue label "check"); each position presses its ACK button; each channel
goes off as soon as its ACK arrives. After --wait, cuectl clears the
positions that did not answer and prints who acknowledged, how fast, and
who did not. Exit status 0 when every position acknowledged, 1 when not.

Standbys go over OSC (or MQTT with --mqtt). ACKs are seen on MQTT (the
station's own ACK time) when the broker answers, else by asking the
station for its states every 200 ms over OSC (--acks).

Channels that are not off are left alone unless --force: a check never
replaces a live standby by accident. Run it before the house opens.

Example:
  cuectl check --wait 60s
  cue light check: 4 positions, cue "check", up to 1m0s for the ACKs
  fly: acknowledged after 2.4s
  sl: acknowledged after 3.1s

  POSITION  RESULT        ACK TIME
  fly       acknowledged  2.4s
  sl        acknowledged  3.1s
  sr        MISSED        -
  trap      MISSED        -

  2 of 4 positions acknowledged; missed: sr, trap

  cuectl check fly sl                 only these positions`

// pollEvery is how often check asks the station for its states when it
// cannot see ACKs on MQTT.
const pollEvery = 200 * time.Millisecond

// checkPos is one position in a check.
type checkPos struct {
	ch       string
	status   string // pending, acked, missed, refused, interrupted
	reason   string // refused, interrupted: why
	ackMS    int64
	measured bool      // ackMS measured by polling, not reported by the station
	start    time.Time // standby confirmed (check's clock)
	id       string    // --mqtt: the standby command's id
	heard    bool      // --mqtt: the station confirmed the standby
}

// check implements "cuectl check".
func (c *cli) check(ctx context.Context, name string, args []string) int {
	o := c.newOpts(name, "check [flags] [CH...]", checkHelp, flagsOSC|flagsMQTT)
	wait := o.fs.Duration("wait", time.Minute, "how long to wait for the ACKs")
	label := o.fs.String("label", "check", "cue label of the check's standby")
	force := o.fs.Bool("force", false, "also check channels that are not off (their standby is replaced)")
	acks := o.fs.String("acks", "auto", "where to see the ACKs: mqtt, osc (polling), or auto (mqtt when the broker answers)")
	pos, code, ok := c.parse(o, args, 0, -1)
	if !ok {
		return code
	}
	if *wait <= 0 || *label == "" || !slices.Contains([]string{"auto", "mqtt", "osc"}, *acks) {
		fmt.Fprintln(c.stderr, "cuectl check: --wait must be positive, --label not empty, --acks mqtt, osc or auto")
		return exitUsage
	}
	if err := checkText("label", *label); err != nil {
		fmt.Fprintln(c.stderr, "cuectl check:", err)
		return exitUsage
	}
	for _, p := range pos {
		if err := checkTarget(p); err != nil {
			fmt.Fprintln(c.stderr, "cuectl check:", err)
			return exitUsage
		}
	}
	r := &checkRun{c: c, o: o, label: *label, wait: *wait, force: *force}

	// Where the ACKs are seen.
	useMQTT := o.mqtt.on || *acks == "mqtt"
	if !useMQTT && *acks == "auto" {
		useMQTT = true
	}
	if useMQTT {
		dctx, cancel := context.WithTimeout(ctx, o.timeout)
		sess, err := c.dialMQTT(dctx, o, false)
		timedOut := dctx.Err() != nil
		cancel()
		switch {
		case err == nil:
			defer sess.close()
			r.sess = sess
			r.view = newShowView(sess.prefix, o.showChannels())
		case o.mqtt.on || *acks == "mqtt":
			if timedOut && ctx.Err() == nil {
				err = mqttProblem(o.brokerURL(), context.DeadlineExceeded, o.timeout)
			}
			return c.report(err)
		default:
			var f *failure
			if errors.As(err, &f) {
				fmt.Fprintf(c.stderr, "cuectl check: %s\ncuectl check: watching for ACKs over OSC instead (ACK times to ±%s)\n", f.msg, pollEvery)
			}
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(c.stderr, "cuectl check: interrupted; nothing was sent")
		return exitInterrupted
	}
	return r.run(ctx, pos)
}

// checkRun is one check in progress.
type checkRun struct {
	c     *cli
	o     *opts
	label string
	wait  time.Duration
	force bool
	sess  *mqttSession // nil: ACKs by OSC polling
	view  *showView
	pos   []*checkPos
}

func (r *checkRun) viaMQTT() bool { return r.o.mqtt.on }

func (r *checkRun) run(ctx context.Context, names []string) int {
	c, o := r.c, r.o
	t := o.oscTarget()

	// The positions and their states now.
	states, err := r.currentStates(ctx)
	if err != nil {
		return c.report(err)
	}
	all := make([]string, 0, len(states))
	for _, s := range states {
		all = append(all, s.Channel)
	}
	chosen := all
	if len(names) > 0 {
		chosen = nil
		for _, n := range names {
			m, err := matchChannels(n, all)
			if err != nil {
				return c.report(err)
			}
			for _, ch := range m {
				if !slices.Contains(chosen, ch) {
					chosen = append(chosen, ch)
				}
			}
		}
	}
	if len(chosen) == 0 {
		return c.report(fail(exitRefused, "no channel to check"))
	}
	for _, ch := range chosen {
		s := states[slices.IndexFunc(states, func(s chanState) bool { return s.Channel == ch })]
		if s.State == "hold" {
			return c.report(fail(exitRefused, "the show is on hold: release it first (cuectl release)"))
		}
		if s.State != "off" && !r.force {
			return c.report(fail(exitRefused, "%s is %s: the check would replace it; clear it first (cuectl off %s) or check with --force", ch, describe(s), ch))
		}
		r.pos = append(r.pos, &checkPos{ch: ch, status: "pending"})
	}
	fmt.Fprintf(c.stdout, "cue light check: %s, cue %q, up to %s for the ACKs\n", plural(len(r.pos), "position"), r.label, r.wait)

	// Standby with an ACK asked for, everywhere.
	for _, p := range r.pos {
		if err := r.standby(ctx, p); err != nil {
			r.clear(context.WithoutCancel(ctx))
			if ctx.Err() != nil {
				fmt.Fprintln(c.stderr, "cuectl check: interrupted; the positions are cleared")
				return exitInterrupted
			}
			return c.report(oscOrMQTT(t, o, err))
		}
	}
	deadline := c.clock.After(r.wait)
	err = r.await(ctx, deadline)
	r.clear(context.WithoutCancel(ctx))
	if err != nil && !errors.Is(err, errDeadline) {
		if ctx.Err() != nil {
			fmt.Fprintln(c.stderr, "cuectl check: interrupted; the positions are cleared")
			return exitInterrupted
		}
		return c.report(oscOrMQTT(t, o, err))
	}
	code := r.summary()
	r.recordCheck(ctx) // showlog.go
	return code
}

func oscOrMQTT(t oscTarget, o *opts, err error) error {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	return oscProblem(t, err, o.timeout)
}

func describe(s chanState) string {
	if s.Label != "" {
		return s.State + " " + fmt.Sprintf("%q", s.Label)
	}
	return s.State
}

// errDeadline ends the wait for ACKs.
var errDeadline = errors.New("cuectl: the wait for ACKs is over")

// currentStates returns the channels to choose from and their states:
// over MQTT, every channel of the show the broker knows; over OSC, the
// station's.
func (r *checkRun) currentStates(ctx context.Context) ([]chanState, error) {
	o := r.o
	if r.viaMQTT() {
		cctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		_ = r.sess.collect(cctx, r.view, r.view.showComplete, nil)
		if !r.view.announced() && len(r.view.config) == 0 {
			return nil, noStations(r.sess)
		}
		var out []chanState
		for _, ch := range r.view.order() {
			cv := r.view.channels[ch]
			if cv == nil || cv.state == nil {
				continue
			}
			if sv := r.view.stations[cv.state.Station]; sv != nil && sv.status == "offline" {
				fmt.Fprintf(r.c.stderr, "cuectl check: %s: station %s is offline; not checked\n", ch, cv.state.Station)
				continue
			}
			out = append(out, chanState{Channel: ch, State: cv.state.State, Label: cv.state.Label})
		}
		return out, nil
	}
	t := o.oscTarget()
	cctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	states, err := t.states(cctx)
	if err != nil {
		return nil, oscProblem(t, err, o.timeout)
	}
	if r.sess != nil { // let the MQTT view catch up with the retained states
		_ = r.sess.collect(cctx, r.view, func() bool { return r.view.hasStates(channelNames(states)) }, nil)
	}
	return states, nil
}

// standby puts one position in standby. A refusal is recorded, not an
// error; an unreachable station is.
func (r *checkRun) standby(ctx context.Context, p *checkPos) error {
	req := request{verb: cues.VerbStandbyAck, target: p.ch, label: r.label, hasLabel: true}
	if r.viaMQTT() {
		p.id = newID("cuectl")
		cctx, cancel := context.WithTimeout(ctx, r.o.timeout)
		defer cancel()
		return r.sess.publish(cctx, r.sess.topics.Cmd(p.ch), r.mqttCommand(req, p.id))
	}
	cctx, cancel := context.WithTimeout(ctx, r.o.timeout)
	defer cancel()
	replies, _, err := r.o.oscTarget().exchange(cctx, req.oscMessage())
	if err != nil {
		return err
	}
	for _, m := range replies {
		if _, reason, ok := parseError(m); ok {
			p.status, p.reason = "refused", reason
			return nil
		}
	}
	p.start = r.c.clock.Now()
	return nil
}

func (r *checkRun) mqttCommand(req request, id string) mqttlink.Command {
	cmd := mqttlink.Command{ID: id, Cmd: req.verb.String(), TS: mqttlink.FormatTime(r.c.clock.Now()), TTLMS: mqttlink.DefaultTTL.Milliseconds()}
	if req.hasLabel {
		cmd.Label = req.label
	}
	return cmd
}

// off clears one position; failures are reported, not fatal.
func (r *checkRun) off(ctx context.Context, ch string) {
	req := request{verb: cues.VerbOff, target: ch}
	cctx, cancel := context.WithTimeout(ctx, r.o.timeout)
	defer cancel()
	var err error
	if r.viaMQTT() {
		err = r.sess.publish(cctx, r.sess.topics.Cmd(ch), r.mqttCommand(req, newID("cuectl")))
	} else {
		_, _, err = r.o.oscTarget().exchange(cctx, req.oscMessage())
	}
	if err != nil {
		fmt.Fprintf(r.c.stderr, "cuectl check: could not clear %s: %v (cuectl off %s)\n", ch, oscOrMQTT(r.o.oscTarget(), r.o, err), ch)
	}
}

// clear turns off every position still standing by for the check.
func (r *checkRun) clear(ctx context.Context) {
	for _, p := range r.pos {
		if p.status == "pending" || p.status == "missed" || p.status == "no answer" {
			r.off(ctx, p.ch)
		}
	}
}

func (r *checkRun) pending() bool {
	for _, p := range r.pos {
		if p.status == "pending" {
			return true
		}
	}
	return false
}

func (r *checkRun) find(ch string) *checkPos {
	for _, p := range r.pos {
		if p.ch == ch {
			return p
		}
	}
	return nil
}

func (r *checkRun) acked(ctx context.Context, p *checkPos, ms int64, measured bool) {
	p.status, p.ackMS, p.measured = "acked", ms, measured
	fmt.Fprintf(r.c.stdout, "%s: acknowledged after %s\n", p.ch, fmtMS(ms))
	r.off(ctx, p.ch)
}

func (r *checkRun) interrupted(p *checkPos, st, label string) {
	p.status = "interrupted"
	p.reason = "now " + describe(chanState{State: st, Label: label}) + ": someone else changed it"
	fmt.Fprintf(r.c.stdout, "%s: %s\n", p.ch, p.reason)
}

// await waits for the ACKs until every position answered or the deadline.
func (r *checkRun) await(ctx context.Context, deadline <-chan time.Time) error {
	if r.sess != nil {
		return r.awaitMQTT(ctx, deadline)
	}
	tick := r.c.clock.NewTicker(pollEvery)
	defer tick.Stop()
	t := r.o.oscTarget()
	for r.pending() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			r.markMissed()
			return errDeadline
		case <-tick.Chan():
		}
		cctx, cancel := context.WithTimeout(ctx, r.o.timeout)
		states, err := t.states(cctx)
		cancel()
		if err != nil {
			return err
		}
		now := r.c.clock.Now()
		for _, s := range states {
			p := r.find(s.Channel)
			if p == nil || p.status != "pending" {
				continue
			}
			switch {
			case s.State == "ack" && s.Label == r.label:
				r.acked(ctx, p, now.Sub(p.start).Milliseconds(), true)
			case s.State != "standby" || s.Label != r.label:
				r.interrupted(p, s.State, s.Label)
			}
		}
	}
	return nil
}

func (r *checkRun) awaitMQTT(ctx context.Context, deadline <-chan time.Time) error {
	v := r.view
	// Over OSC every standby was confirmed; over MQTT its event confirms it.
	for r.pending() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			r.markMissed()
			return errDeadline
		case m := <-r.sess.in:
			u, ok := v.apply(m)
			if !ok {
				continue
			}
			switch u.kind {
			case "event":
				r.onEvent(ctx, u.event)
			case "status":
				if v.stations[u.station].status == "offline" {
					for _, p := range r.pos {
						if p.status == "pending" && v.stationOf(p.ch) == u.station {
							p.status, p.reason = "refused", "station "+u.station+" went offline"
							fmt.Fprintf(r.c.stdout, "%s: %s\n", p.ch, p.reason)
						}
					}
				}
			}
		}
	}
	return nil
}

func (r *checkRun) onEvent(ctx context.Context, ev *mqttlink.Event) {
	p := r.find(ev.Channel)
	if p == nil || p.status != "pending" {
		return
	}
	switch {
	case p.id != "" && ev.ID == p.id && (ev.Event == "refused" || ev.Event == "rejected"):
		p.status, p.reason = "refused", ev.Reason
		fmt.Fprintf(r.c.stdout, "%s: %s: %s\n", p.ch, ev.Event, ev.Reason)
	case ev.Event == "ack" && ev.Label == r.label:
		r.acked(ctx, p, ev.AckMS, false)
	case ev.Event == "standby" && ev.Label == r.label:
		// Ours (or a repeat of it): still waiting.
		if ev.ID == p.id {
			p.heard = true
		}
	case ev.Event == "standby" || ev.Event == "go" || ev.Event == "off" || ev.Event == "hold" || ev.Event == "lost":
		st := ev.Event
		if st == "go" || st == "standby" {
			r.interrupted(p, st, ev.Label)
		} else {
			r.interrupted(p, st, "")
		}
	}
}

func (r *checkRun) markMissed() {
	for _, p := range r.pos {
		switch {
		case p.status != "pending":
		case r.viaMQTT() && !p.heard:
			p.status, p.reason = "no answer", "the station never confirmed the standby"
		default:
			p.status = "missed"
		}
	}
}

// summary prints the table and returns the exit status.
func (r *checkRun) summary() int {
	w := r.c.stdout
	chW := len("POSITION")
	for _, p := range r.pos {
		chW = max(chW, len(p.ch))
	}
	fmt.Fprintf(w, "\n%-*s  %-12s  %s\n", chW, "POSITION", "RESULT", "ACK TIME")
	var ok, missed []string
	polled := false
	for _, p := range r.pos {
		result, ack := "", "-"
		switch p.status {
		case "acked":
			result, ack = "acknowledged", fmtMS(p.ackMS)
			if p.measured {
				ack = "≈" + ack
				polled = true
			}
			ok = append(ok, p.ch)
		case "missed":
			result = "MISSED"
			missed = append(missed, p.ch)
		default:
			result = strings.ToUpper(p.status)
			ack = p.reason
			missed = append(missed, p.ch)
		}
		fmt.Fprintf(w, "%-*s  %-12s  %s\n", chW, p.ch, result, ack)
	}
	fmt.Fprintf(w, "\n%d of %s acknowledged", len(ok), plural(len(r.pos), "position"))
	if len(missed) > 0 {
		fmt.Fprintf(w, "; missed: %s", strings.Join(missed, ", "))
	}
	fmt.Fprintln(w)
	if polled {
		fmt.Fprintf(w, "(≈: ACK times seen by asking the station every %s)\n", pollEvery)
	}
	if len(missed) > 0 {
		return exitRefused
	}
	return exitOK
}
