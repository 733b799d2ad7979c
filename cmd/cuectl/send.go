package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/osc"
)

// request is one command for the station(s).
type request struct {
	verb     cues.Verb // cues.VerbGoCue for go --cue
	target   string    // CH as given: a name, a comma list or an OSC pattern; "" for show-wide verbs
	label    string
	hasLabel bool
	value    float64 // brightness
}

// oscMessage is the request as docs/protocol.md §3 spells it.
func (r request) oscMessage() *osc.Message {
	switch r.verb {
	case cues.VerbHold, cues.VerbRelease:
		return osc.NewMessage("/cuelight/all/" + r.verb.String())
	case cues.VerbGoCue:
		// The argument form works for any label, "/" included.
		return osc.NewMessage("/cuelight/cue/go", osc.String(r.label))
	case cues.VerbBrightness:
		return osc.NewMessage("/cuelight/"+r.target+"/"+r.verb.String(), osc.Float32(float32(r.value)))
	}
	m := osc.NewMessage("/cuelight/" + r.target + "/" + r.verb.String())
	if r.hasLabel {
		m.Args = []osc.Arg{osc.String(r.label)}
	}
	return m
}

type sendDoc struct{ synopsis, help string }

var sendDocs = map[string]sendDoc{
	"standby": {"standby [flags] CH [LABEL]", `
Puts the channel(s) in standby for the cue LABEL (any text: "23", "LX 23").
The lamp flashes while an ACK is asked for (--ack, or require_ack in the
show file) and is steady once the position acknowledges.

Examples:
  cuectl standby fly 23               fly: standby "23" (ack requested)
  cuectl standby --ack sl,sr 24       both positions, each must ACK
  cuectl standby 's?' 25              an OSC pattern: sl and sr
  cuectl standby --mqtt fly 23        the same as an MQTT command`},
	"go": {"go [flags] CH [LABEL]  |  cuectl go [flags] --cue LABEL", `
GO. A GO to a channel that had no standby still fires ("unwarned"); a
channel with go_requires_ack refuses a GO before its ACK (see force-go).
--cue LABEL sends GO to every channel standing by for that cue.

Examples:
  cuectl go fly 23                    fly: go "23"
  cuectl go --cue 24                  sl: go "24" / sr: go "24"
  cuectl go --mqtt sl`},
	"force-go": {"force-go [flags] CH [LABEL]", `
GO that overrides go_requires_ack (the fly rail, automation): for when the
position has confirmed on headset but not pressed ACK. Nothing overrides a
hold.

Examples:
  cuectl force-go fly 23`},
	"off": {"off [flags] CH", `
Clears the channel: standby, ACK or GO, the lamps go dark.

Examples:
  cuectl off fly
  cuectl off '*'                      every channel of the station`},
	"ack": {"ack [flags] CH", `
Acknowledges the standby from here, as the position's ACK button does. On a
channel that is not in standby it does nothing (an ignored press).

Examples:
  cuectl ack sl                       sl: ack "24"`},
	"call": {"call [flags] CH", `
Calls the position: drives its call_out (intercom call input, buzzer,
beacon) and fast-flashes its call_lamp for call_hold. The cue state is
untouched.

Examples:
  cuectl call trap                    trap: off (called)`},
	"hold": {"hold [flags]", `
Show-wide hold: every channel shows the hold pattern and no GO fires,
force-go included, until release.

Examples:
  cuectl hold
  cuectl hold --mqtt                  every station on the broker`},
	"release": {"release [flags]", `
Releases the hold: every channel goes off. Nothing lights green on release.

Examples:
  cuectl release`},
	"brightness": {"brightness [flags] CH VALUE", `
Sets the lamp brightness of the channel(s), above 0.0 up to 1.0. 0 is
refused: a dark lamp must never mean GO, and a lit lamp never shows less
than its station's min_brightness.

Examples:
  cuectl brightness fly 0.3
  cuectl brightness '*' 1`},
}

// send implements the command verbs.
func (c *cli) send(ctx context.Context, name string, args []string) int {
	doc := sendDocs[name]
	o := c.newOpts(name, doc.synopsis, doc.help, flagsOSC|flagsMQTT)
	var ack bool
	var cue optString
	switch name {
	case "standby":
		o.fs.BoolVar(&ack, "ack", false, "ask for an ACK (standby_ack), whatever the channel's require_ack")
	case "go":
		o.fs.Var(&cue, "cue", "GO every channel standing by for cue `LABEL` (instead of CH)")
	}
	ttl := mqttlink.DefaultTTL
	o.fs.DurationVar(&ttl, "ttl", ttl, "with --mqtt: how long the command stays valid (its ttl_ms)")
	minA, maxA := 1, 2
	switch name {
	case "off", "ack", "call":
		maxA = 1
	case "hold", "release":
		minA, maxA = 0, 0
	case "brightness":
		minA = 2
	case "go":
		minA = 0
	}
	pos, code, ok := c.parse(o, args, minA, maxA)
	if !ok {
		return code
	}
	req, err := buildRequest(name, pos, ack, cue)
	if err != nil {
		fmt.Fprintf(c.stderr, "cuectl %s: %v\nusage: cuectl %s (see cuectl %s --help)\n", name, err, doc.synopsis, name)
		return exitUsage
	}
	if ttl <= 0 || ttl > mqttlink.MaxTTL {
		fmt.Fprintf(c.stderr, "cuectl %s: --ttl must be more than 0 and at most %s\n", name, mqttlink.MaxTTL)
		return exitUsage
	}
	if o.cfg != nil && req.target != "" {
		if _, err := matchChannels(req.target, o.showChannels()); err != nil {
			return c.report(err)
		}
	}
	if o.mqtt.on {
		return c.sendMQTT(ctx, o, req, ttl)
	}
	return c.sendOSC(ctx, o, req)
}

// buildRequest checks the arguments of a command verb.
func buildRequest(name string, pos []string, ack bool, cue optString) (request, error) {
	var r request
	v, err := cues.ParseVerb(strings.ReplaceAll(name, "-", "_")) // force-go: force_go
	if err != nil {
		return r, err
	}
	r.verb = v
	if name == "go" && cue.set {
		if len(pos) > 0 {
			return r, fmt.Errorf("--cue takes the place of CH and LABEL: cuectl go --cue %s", strconv.Quote(cue.value))
		}
		if cue.value == "" {
			return r, fmt.Errorf("--cue needs the cue label")
		}
		r.verb, r.label, r.hasLabel = cues.VerbGoCue, cue.value, true
		return r, checkText("cue label", r.label)
	}
	if name == "go" && len(pos) == 0 {
		return r, fmt.Errorf("missing CH (or --cue LABEL)")
	}
	if len(pos) > 0 {
		r.target = pos[0]
		if err := checkTarget(r.target); err != nil {
			return r, err
		}
	}
	switch name {
	case "standby":
		if ack {
			r.verb = cues.VerbStandbyAck
		}
		fallthrough
	case "go", "force-go":
		if len(pos) > 1 {
			r.label, r.hasLabel = pos[1], true
			if err := checkText("cue label", r.label); err != nil {
				return r, err
			}
		}
	case "brightness":
		v, err := strconv.ParseFloat(pos[1], 64)
		if err != nil || !(v > 0 && v <= 1) {
			return r, fmt.Errorf("brightness %q: give a number above 0.0, up to 1.0 (a dark lamp must never mean GO)", pos[1])
		}
		r.value = v
	}
	return r, nil
}

// checkTarget accepts a channel name, a comma list or an OSC pattern: one
// part of an OSC address.
func checkTarget(t string) error {
	if t == "" {
		return fmt.Errorf("empty channel name")
	}
	for _, r := range t {
		if r <= ' ' || r > '~' || r == '/' || r == '#' {
			return fmt.Errorf("channel %q: use a channel name (a-z 0-9 - _), a comma list (sl,sr) or an OSC pattern ('s?', '{sl,sr}', '*'), without / or spaces", t)
		}
	}
	return nil
}

func checkText(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s contains a NUL byte", what)
	}
	if err := cues.CheckLabel(s); err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	return nil
}

// isPattern reports whether t has OSC pattern characters (a comma list
// without braces is not a pattern).
func isPattern(t string) bool { return strings.ContainsAny(t, "*?[]{}!") }

// matchChannels expands CH against the show's channels (names, in the
// show's order). A name or a name in a comma list that is not a channel,
// or a pattern that matches none, is an error.
func matchChannels(target string, names []string) ([]string, error) {
	if !isPattern(target) {
		parts := strings.Split(target, ",")
		for _, p := range parts {
			if !slices.Contains(names, p) {
				return nil, noChannel(p, names)
			}
		}
		return parts, nil
	}
	pattern := "/" + target
	if strings.Contains(target, ",") && !strings.ContainsAny(target, "{}") {
		pattern = "/{" + target + "}"
	}
	var out []string
	for _, n := range names {
		if osc.Match(pattern, "/"+n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fail(exitRefused, "%q matches no channel of this show (channels: %s)", target, strings.Join(names, ", "))
	}
	return out, nil
}

func noChannel(name string, names []string) *failure {
	if len(names) == 0 {
		return fail(exitRefused, "no channel %q in this show", name)
	}
	return fail(exitRefused, "no channel %q in this show (channels: %s)%s", name, strings.Join(names, ", "), didYouMean(name, names))
}

// sendOSC sends the request over OSC and prints the station's answer.
func (c *cli) sendOSC(ctx context.Context, o *opts, req request) int {
	t := o.oscTarget()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	m := req.oscMessage()
	replies, after, err := t.exchange(ctx, m)
	var states []chanState
	for _, r := range replies {
		if s, ok := parseState(r); ok {
			states = append(states, s)
		}
	}
	acks := c.ackFlags(ctx, o, req, states)
	code := exitOK
	answered := false
	for _, r := range replies {
		if s, ok := parseState(r); ok {
			answered = true
			fmt.Fprintln(c.stdout, oscStateLine(req, s, acks))
			continue
		}
		if addr, reason, ok := parseError(r); ok {
			answered = true
			code = exitRefused
			fmt.Fprintln(c.stderr, "cuectl:", explainRefusal(o, req, addr, reason, after))
		}
	}
	if err != nil {
		return c.report(oscProblem(t, err, o.timeout))
	}
	if !answered {
		here := channelNames(after)
		return c.report(fail(exitRefused, "the station at %s sent no feedback for %s: %q is not one of its channels (%s); if it is a channel of another station, send to that station (--osc)",
			t, m.Address, req.target, strings.Join(here, ", ")))
	}
	return code
}

func channelNames(states []chanState) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = s.Channel
	}
	return out
}

// oscStateLine is one line of feedback: `fly: standby "23" (ack requested)`.
// acks holds the channels known to ask for an ACK (see ackFlags).
func oscStateLine(req request, s chanState, acks map[string]bool) string {
	var notes []string
	if s.State == cues.StateStandby.String() && acks[s.Channel] {
		notes = append(notes, "ack requested")
	}
	notes = append(notes, verbNotes(req, s.State)...)
	return stateLine(s.Channel, s.State, s.Label, notes)
}

// verbNotes explain a state that is not what the verb usually leads to.
func verbNotes(req request, state string) []string {
	switch req.verb {
	case cues.VerbAck:
		if state != cues.StateAck.String() {
			return []string{"nothing to acknowledge: not in standby"}
		}
	case cues.VerbCall:
		return []string{"called"}
	case cues.VerbBrightness:
		return []string{"brightness " + strconv.FormatFloat(req.value, 'g', -1, 64)}
	}
	return nil
}

func stateLine(ch, state, label string, notes []string) string {
	line := ch + ": " + state
	if label != "" {
		line += " " + strconv.Quote(label)
	}
	if len(notes) > 0 {
		line += " (" + strings.Join(notes, "; ") + ")"
	}
	return line
}

// ackFlags says which of the channels in standby among states ask for an
// ACK, as --mqtt and watch show it. OSC feedback does not carry the flag
// (docs/protocol.md §3), so it comes from what settles it: a standby_ack
// (every standby it leaves asks), the channel's require_ack in the show
// file (every standby of it asks), else the station's own state on MQTT
// (its ack_requested), if the broker answers within ackLookup. A channel
// still unknown then is left out: no note rather than a guess.
func (c *cli) ackFlags(ctx context.Context, o *opts, req request, states []chanState) map[string]bool {
	out := map[string]bool{}
	var ask []chanState
	for _, s := range states {
		switch {
		case s.State != cues.StateStandby.String():
		case req.verb == cues.VerbStandbyAck || requiresAck(o.cfg, s.Channel):
			out[s.Channel] = true
		default:
			ask = append(ask, s)
		}
	}
	if len(ask) == 0 || ctx.Err() != nil {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, min(o.timeout, ackLookup))
	defer cancel()
	sess, err := c.dialMQTT(ctx, o, false)
	if err != nil {
		return out
	}
	defer sess.close()
	v := newShowView(sess.prefix, nil)
	// The state the station published for the feedback cuectl got (it
	// may come after an older one).
	published := func(s chanState) *mqttlink.State {
		if cv := v.channels[s.Channel]; cv != nil && cv.state != nil && cv.state.State == s.State && cv.state.Label == s.Label {
			return cv.state
		}
		return nil
	}
	_ = sess.collect(ctx, v, func() bool {
		for _, s := range ask {
			if published(s) == nil {
				return false
			}
		}
		return true
	}, nil)
	for _, s := range ask {
		if st := published(s); st != nil && st.AckRequested {
			out[s.Channel] = true
		}
	}
	return out
}

// ackLookup bounds the wait for the broker when ackFlags asks it: a
// command over OSC never waits long for a note.
const ackLookup = 500 * time.Millisecond

func requiresAck(cfg *config.Config, ch string) bool {
	if cfg == nil {
		return false
	}
	c, ok := cfg.Channel(ch)
	return ok && c.RequireAck
}

// explainRefusal turns a /cuelight/error reply into a sentence with what to
// do next.
func explainRefusal(o *opts, req request, addr, reason string, after []chanState) string {
	if strings.HasPrefix(reason, "no channel ") && strings.HasSuffix(reason, " in this show") {
		names := o.showChannels()
		if names == nil {
			names = channelNames(after)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(reason, "no channel "), " in this show")
		if isPattern(name) || strings.Contains(name, ",") {
			return fmt.Sprintf("%q matches no channel of this show (channels: %s)", name, strings.Join(names, ", "))
		}
		return noChannel(name, names).msg
	}
	hint := ""
	switch {
	case strings.Contains(reason, "use force_go"):
		names := channelNames(after)
		if o.cfg != nil {
			names = append(names, o.showChannels()...)
		}
		hint = " (wait for the position's ACK, or: " + forceGoCommand(req, refusedChannel(req, reason, names), "") + ")"
	case reason == "show is on hold":
		hint = " (cuectl release ends the hold)"
	case strings.HasPrefix(reason, "no channel is standing by"):
		hint = " (cuectl sync shows every channel's state)"
	}
	return fmt.Sprintf("station refused %s: %s%s", addr, reason, hint)
}

// refusedChannel is the channel a refused GO names: the reason starts
// with it ("fly needs an acknowledged standby ..."), whatever the command
// was addressed to (a pattern, a list, a cue). names are the channels it
// can be; "" when none fits.
func refusedChannel(req request, reason string, names []string) string {
	best := ""
	for _, n := range names {
		if strings.HasPrefix(reason, n+" ") && len(n) > len(best) {
			best = n
		}
	}
	if best == "" && req.target != "" && !isPattern(req.target) && !strings.Contains(req.target, ",") {
		best = req.target
	}
	return best
}

// forceGoCommand is the cuectl command that overrides go_requires_ack for
// channel ch, with the cue label the refused GO carried.
func forceGoCommand(req request, ch, flag string) string {
	if ch == "" {
		return "cuectl force-go CH"
	}
	cmd := "cuectl force-go "
	if flag != "" {
		cmd += flag + " "
	}
	cmd += ch
	if req.hasLabel && req.label != "" {
		if strings.HasPrefix(req.label, "-") {
			cmd += " --" // a label, not a flag
		}
		cmd += " " + shellQuote(req.label)
	}
	return cmd
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+:@%/=,", r)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	if s == "" {
		return "''"
	}
	return s
}

// sendMQTT sends the request as MQTT command(s) (docs/protocol.md §4) and prints the
// events that answer it.
func (c *cli) sendMQTT(ctx context.Context, o *opts, req request, ttl time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	sess, err := c.dialMQTT(ctx, o, false)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = mqttProblem(o.brokerURL(), context.DeadlineExceeded, o.timeout)
		}
		return c.report(err)
	}
	defer sess.close()
	v := newShowView(sess.prefix, o.showChannels())

	// The channels concerned and their current states.
	var targets []string
	switch req.verb {
	case cues.VerbHold, cues.VerbRelease, cues.VerbGoCue:
		_ = sess.collect(ctx, v, v.showComplete, nil) // with what is known by the deadline
		if !v.announced() && len(v.config) == 0 {
			return c.report(noStations(sess))
		}
	default:
		names, err := c.expandMQTT(ctx, sess, v, req.target)
		if err != nil {
			return c.report(err)
		}
		// The states, and the status of their stations (retained too, in
		// no particular order), to know whether they are online.
		if err := sess.collect(ctx, v, func() bool { return v.hasStates(names) && v.statusKnown(names) }, nil); err != nil {
			return c.report(missingState(sess, v, names, o.timeout))
		}
		targets = names
	}
	for _, ch := range targets {
		if st := v.stationOf(ch); st != "" && v.station(st).status == "offline" {
			return c.report(fail(exitUnreachable, "station %s (channel %s) is offline, as the broker reports: is cuelightd running there and connected to %s? (journalctl -u cuelightd)", st, ch, sess.url))
		}
	}

	// What to send.
	type sent struct {
		ch      string
		id      string
		noEvent bool // a duplicate or a brightness: the station reports nothing
		ev      *mqttlink.Event
	}
	var out []*sent
	now := c.clock.Now()
	cmd := mqttlink.Command{Cmd: req.verb.String(), TS: mqttlink.FormatTime(now), TTLMS: ttl.Milliseconds()}
	if req.hasLabel {
		cmd.Label = req.label
	}
	if req.verb == cues.VerbBrightness {
		val := req.value
		cmd.Value = &val
	}
	switch req.verb {
	case cues.VerbHold, cues.VerbRelease:
		expect := v.onlineChannels()
		if len(expect) == 0 {
			return c.report(fail(exitUnreachable, "no station is online on broker %s: %s", sess.url, brokerHint))
		}
		cmd.ID = newID("cuectl")
		if err := sess.publish(ctx, sess.topics.AllCmd(), cmd); err != nil {
			return c.report(err)
		}
		for _, ch := range expect {
			out = append(out, &sent{ch: ch, id: cmd.ID, noEvent: predictNoEvent(req, v.channel(ch).state)})
		}
	default:
		if req.verb == cues.VerbGoCue {
			cmd.Cmd = cues.VerbGo.String() // sent to each channel standing by
			for _, ch := range v.order() {
				st := v.channel(ch).state
				if st != nil && (st.State == "standby" || st.State == "ack") && st.Label == req.label && v.station(st.Station).status != "offline" {
					targets = append(targets, ch)
				}
			}
			if len(targets) == 0 {
				return c.report(fail(exitRefused, "no channel is standing by for cue %q (cuectl watch shows every channel)", req.label))
			}
		}
		for _, ch := range targets {
			cmd.ID = newID("cuectl")
			if err := sess.publish(ctx, sess.topics.Cmd(ch), cmd); err != nil {
				return c.report(err)
			}
			out = append(out, &sent{ch: ch, id: cmd.ID, noEvent: predictNoEvent(req, v.channel(ch).state)})
		}
	}

	// The answers: one event per channel, carrying the command's id.
	done := func() bool {
		for _, s := range out {
			if s.ev == nil && !s.noEvent {
				return false
			}
		}
		return true
	}
	_ = sess.collect(ctx, v, done, func(u update) {
		if u.kind != "event" || u.event.Event == "restored" {
			return
		}
		for _, s := range out {
			if s.ev == nil && s.id == u.event.ID && s.ch == u.event.Channel {
				s.ev = u.event
				s.noEvent = false
			}
		}
	})
	code := exitOK
	for _, s := range out {
		cv := v.channel(s.ch)
		switch {
		case s.ev != nil && (s.ev.Event == "refused" || s.ev.Event == "rejected"):
			code = max(code, exitRefused)
			fmt.Fprintln(c.stderr, "cuectl:", explainMQTTRefusal(req, s.ev))
		case s.ev != nil:
			fmt.Fprintln(c.stdout, mqttEventLine(req, cv, s.ev))
		case s.noEvent && cv.state != nil:
			notes := verbNotes(req, cv.state.State)
			if req.verb != cues.VerbBrightness {
				notes = append(notes, "no change: it already was")
			}
			fmt.Fprintln(c.stdout, mqttStateLine(cv.state, notes))
		default:
			code = exitUnreachable
			fmt.Fprintf(c.stderr, "cuectl: no answer for %s from station %s within %s: is it running and connected to %s? (cuectl watch)\n",
				s.ch, orUnknown(v.stationOf(s.ch)), o.timeout, sess.url)
		}
	}
	return code
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// expandMQTT turns CH into channel names. A pattern needs the list of
// channels: the show file's, or those the stations announce.
func (c *cli) expandMQTT(ctx context.Context, sess *mqttSession, v *showView, target string) ([]string, error) {
	if !isPattern(target) {
		return strings.Split(target, ","), nil
	}
	if len(v.config) > 0 {
		return matchChannels(target, v.config)
	}
	if err := sess.collect(ctx, v, v.showComplete, nil); err != nil && !v.announced() {
		return nil, noStations(sess)
	}
	return matchChannels(target, v.known())
}

func noStations(sess *mqttSession) *failure {
	return fail(exitUnreachable, "no cuelight station has published anything on broker %s under %s/: is cuelightd running and connected to this broker? is the topic prefix right (--prefix, mqtt.topic_prefix)?",
		sess.url, sess.prefix)
}

// missingState explains why a channel has no state on the broker.
func missingState(sess *mqttSession, v *showView, names []string, timeout time.Duration) *failure {
	for _, n := range names {
		if c := v.channels[n]; c != nil && c.state != nil {
			continue
		}
		if len(v.config) == 0 {
			if !v.announced() {
				return noStations(sess)
			}
			if known := v.known(); !slices.Contains(known, n) {
				return noChannel(n, known)
			}
		}
		return fail(exitUnreachable, "no state for channel %s on broker %s within %s: is its station running and connected to this broker? (cuectl watch)", n, sess.url, timeout)
	}
	for _, n := range names {
		if st := v.channels[n].state.Station; v.station(st).status == "" {
			return fail(exitUnreachable, "station %s (channel %s) has no status on broker %s: is it running and connected to this broker? (cuectl watch)", st, n, sess.url)
		}
	}
	return fail(exitUnreachable, "no answer from broker %s within %s", sess.url, timeout)
}

// predictNoEvent reports whether the station will publish no event for
// the request on a channel in state st: the engine's own rule (cues.Quiet)
// for a command from the booth, as every MQTT command is. An unknown state
// is never predicted quiet: cuectl waits for the event.
func predictNoEvent(req request, st *mqttlink.State) bool {
	if st == nil {
		return false
	}
	state, err := cues.ParseState(st.State)
	if err != nil {
		return false
	}
	verb := req.verb
	if verb == cues.VerbGoCue {
		verb = cues.VerbGo // sent as a GO to each channel standing by
	}
	return cues.Quiet(cues.ChannelState{State: state, Label: st.Label, AckRequested: st.AckRequested},
		cues.Command{Verb: verb, Label: req.label, HasLabel: req.hasLabel, Value: req.value, FromBooth: true})
}

func mqttStateLine(st *mqttlink.State, notes []string) string {
	if st.State == "standby" && st.AckRequested {
		notes = append([]string{"ack requested"}, notes...)
	}
	return stateLine(st.Channel, st.State, st.Label, notes)
}

// mqttEventLine is the feedback line for an event answering a command.
func mqttEventLine(req request, cv *channelView, ev *mqttlink.Event) string {
	var notes []string
	switch ev.Event {
	case "ack":
		notes = append(notes, "acknowledged "+fmtMS(ev.AckMS)+" after the standby")
	case "press":
		notes = append(notes, "nothing to acknowledge: not in standby")
	case "call":
		notes = append(notes, "called")
	}
	if ev.Unwarned {
		notes = append(notes, "unwarned: no standby for this cue")
	}
	if ev.Unacknowledged {
		notes = append(notes, "unacknowledged: the position never acknowledged the standby")
	}
	if st := cv.state; st != nil && st.Epoch == ev.Epoch && st.Seq >= ev.Seq {
		return mqttStateLine(st, notes)
	}
	state := ev.Event
	switch ev.Event {
	case "release":
		state = "off"
	case "press", "call", "call_in", "late_ack": // the cue state is unchanged
		if cv.state != nil {
			state = cv.state.State
		}
	}
	return stateLine(ev.Channel, state, ev.Label, notes)
}

func explainMQTTRefusal(req request, ev *mqttlink.Event) string {
	hint := ""
	switch {
	case strings.Contains(ev.Reason, "use force_go"):
		hint = " (wait for the position's ACK, or: " + forceGoCommand(req, ev.Channel, "--mqtt") + ")"
	case ev.Reason == "show is on hold":
		hint = " (cuectl release ends the hold)"
	case strings.Contains(ev.Reason, "stale"), strings.Contains(ev.Reason, "future"):
		hint = " (check that this computer's clock and the station's agree: timedatectl; or raise --ttl)"
	}
	return fmt.Sprintf("%s: %s by the station: %s%s", ev.Channel, ev.Event, ev.Reason, hint)
}

// fmtMS formats milliseconds as seconds: "1.2s", "850ms".
func fmtMS(ms int64) string {
	if ms < 1000 {
		return strconv.FormatInt(ms, 10) + "ms"
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + "s"
}
