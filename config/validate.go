package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
)

// This file turns the raw file struct into a validated Config: the order
// of the checks, the defaults, and the helpers every section uses. Each
// section has its own file: validate_mqtt.go, validate_osc.go,
// validate_stations.go, validate_channels.go, and validate_listen.go for
// the listen addresses several sections share.

// Defaults (docs/protocol.md §2–§5).
const (
	DefaultMQTTListen    = "127.0.0.1:1883"
	DefaultTopicPrefix   = "cuelight"
	DefaultClockSkew     = 500 * time.Millisecond
	DefaultMaxClients    = 64
	DefaultMaxPacketSize = 65536
	DefaultOSCListen     = "0.0.0.0:53100"
	DefaultWebListen     = "127.0.0.1:8080"
	DefaultDebounce      = drivers.DefaultDebounce
	DefaultGoHold        = cues.DefaultGoHold
	DefaultStuckAfter    = drivers.DefaultStuckAfter
	DefaultCallHold      = cues.DefaultCallHold
	// DefaultLateAck is report.late_ack when not given.
	DefaultLateAck = 10 * time.Second
	// DefaultMinBrightness is stations.<s>.min_brightness when not given.
	DefaultMinBrightness = 0.1
)

// DefaultPatterns returns the lamp timings of docs/protocol.md §2 (the cue engine's).
func DefaultPatterns() Patterns { return cues.DefaultPatterns() }

// reservedNames can never be channel names (docs/protocol.md §1): they are words of
// the OSC address space and MQTT topics.
var reservedNames = []string{"all", "cue", "state", "ping", "pong", "sync", "heartbeat", "error", "station", "channel"}

// IsReserved reports whether name is one of the words that can never be a
// channel name (docs/protocol.md §1): all, cue, state, ping, pong, sync, heartbeat,
// error, station, channel.
func IsReserved(name string) bool { return slices.Contains(reservedNames, name) }

var nameRE = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// checkName checks a channel or station name; what is "channel" or "station".
func (d *decoder) checkName(line int, path, name, what string) bool {
	if nameRE.MatchString(name) {
		if what == "channel" && IsReserved(name) {
			d.errf(line, path, "reserved: "+strings.Join(reservedNames, " "), "%q is a reserved word and cannot be a channel name", name)
			return false
		}
		return true
	}
	hint := "1 to 32 characters from a-z 0-9 - _"
	if low := strings.ToLower(name); low != name && nameRE.MatchString(low) {
		hint = "write " + low + "; names are lowercase"
	} else if fixed := strings.NewReplacer(" ", "-", ".", "-").Replace(low); nameRE.MatchString(fixed) {
		hint = "write " + fixed + "; names use a-z 0-9 - _ only"
	}
	d.errf(line, path, hint, "%q is not a valid %s name", name, what)
	return false
}

// checkText refuses control characters in text shown to people.
func (d *decoder) checkText(line int, path, s string) {
	if i := strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }); i >= 0 {
		d.errf(line, path, "write plain text on one line", "contains a control character (%U)", []rune(s[i:])[0])
	}
}

// validate checks the raw file and builds the Config.
func (d *decoder) validate(f *rawFile) *Config {
	c := &Config{File: d.file}
	if !f.Show.given() {
		d.required(f.line, "show", "write show: and the production's name")
	} else if f.Show.Set {
		c.Show = strings.TrimSpace(f.Show.V)
		if c.Show == "" {
			d.errf(f.Show.Line, "show", "write the production's name", "is empty")
		}
		d.checkText(f.Show.Line, "show", c.Show)
	}
	d.validateStations(f, c)
	d.validateMQTT(f, c)
	d.validateOSC(f, c)
	c.Web.Listen = d.listenAddr(f.Web.Listen, "web.listen", DefaultWebListen)
	if f.Eos != nil {
		switch cl := f.Eos.CueList; {
		case !cl.given():
			d.required(f.Eos.Line, "consoles.eos.cue_list", "write eos: {cue_list: 1}")
		case cl.Set && (cl.V == "" || strings.ContainsAny(cl.V, "/ \t*?[]{},#")):
			d.errf(cl.Line, "consoles.eos.cue_list", "the number of the Eos cue list, e.g. 1", "%q is not a cue list number", cl.V)
		case cl.Set:
			c.Consoles.Eos = &Eos{CueList: cl.V}
		}
	}
	d.validatePatterns(f, c)
	c.Report.LateAck = d.durationIn(f.Report.LateAck, "report.late_ack", DefaultLateAck, time.Second, 10*time.Minute, false)
	d.validateChannels(f, c)
	d.validateWeb(f, c)
	d.validateIntercom(f, c)
	d.checkPorts(f, c)
	return c
}

// durationIn applies a default and checks lo <= v <= hi; zeroOK also
// accepts 0.
func (d *decoder) durationIn(v val[time.Duration], path string, def, lo, hi time.Duration, zeroOK bool) time.Duration {
	if !v.Set {
		return def
	}
	switch {
	case v.V == 0 && zeroOK:
	case v.V < 0:
		d.errf(v.Line, path, fmt.Sprintf("write a positive duration, e.g. %s", fmtDur(def)), "%s is negative", fmtDur(v.V))
	case v.V == 0:
		d.errf(v.Line, path, fmt.Sprintf("between %s and %s; the default is %s", fmtDur(lo), fmtDur(hi), fmtDur(def)), "must not be zero")
	case v.V < lo || v.V > hi:
		d.errf(v.Line, path, fmt.Sprintf("the default is %s", fmtDur(def)), "%s is outside %s to %s", fmtDur(v.V), fmtDur(lo), fmtDur(hi))
	}
	return v.V
}

// fmtDur prints a duration the way a show file writes it: 1s, 250ms, 1m30s.
func fmtDur(t time.Duration) string {
	if t != 0 && t%time.Millisecond == 0 && t%time.Second != 0 && t > -time.Second && t < time.Second {
		return strconv.FormatInt(int64(t/time.Millisecond), 10) + "ms"
	}
	s := t.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func lineOr(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}

func (d *decoder) validatePatterns(f *rawFile, c *Config) {
	r, p, def := &f.Patterns, &c.Patterns, DefaultPatterns()
	lo, hi := 20*time.Millisecond, 10*time.Second
	p.Slow = d.durationIn(r.Slow, "patterns.slow", def.Slow, lo, hi, false)
	p.Fast = d.durationIn(r.Fast, "patterns.fast", def.Fast, lo, hi, false)
	p.WinkOn = d.durationIn(r.WinkOn, "patterns.wink_on", def.WinkOn, lo, hi, false)
	p.WinkEvery = d.durationIn(r.WinkEvery, "patterns.wink_every", def.WinkEvery, lo, hi, false)
	p.Alternate = d.durationIn(r.Alternate, "patterns.alternate", def.Alternate, lo, hi, false)
	p.DoubleEvery = d.durationIn(r.DoubleEvery, "patterns.double_every", def.DoubleEvery, 480*time.Millisecond, hi, false)
	if p.WinkOn >= p.WinkEvery && p.WinkOn > 0 && (r.WinkOn.Set || r.WinkEvery.Set) {
		line := lineOr(r.WinkOn.Line, r.WinkEvery.Line)
		d.errf(line, "patterns.wink_on", "the wink is a short flash inside each wink_every period", "%s is not shorter than wink_every %s", fmtDur(p.WinkOn), fmtDur(p.WinkEvery))
	}
}
