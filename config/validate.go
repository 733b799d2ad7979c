package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cuelight/cuelight/cues"
)

// This file turns the raw file struct into a validated Config: defaults,
// ranges, references between sections, pins.

// Defaults (SPEC §2–§5).
const (
	DefaultMQTTListen    = "127.0.0.1:1883"
	DefaultTopicPrefix   = "cuelight"
	DefaultClockSkew     = 500 * time.Millisecond
	DefaultMaxClients    = 64
	DefaultMaxPacketSize = 65536
	DefaultOSCListen     = "0.0.0.0:53100"
	DefaultWebListen     = "127.0.0.1:8080"
	DefaultDebounce      = 20 * time.Millisecond
	DefaultGoHold        = cues.DefaultGoHold
	DefaultStuckAfter    = 10 * time.Second
	DefaultCallHold      = cues.DefaultCallHold
	// DefaultMinBrightness is stations.<s>.min_brightness when not given.
	DefaultMinBrightness = 0.1
)

// DefaultPatterns returns the SPEC §2 lamp timings (the cue engine's).
func DefaultPatterns() Patterns { return cues.DefaultPatterns() }

// DefaultAllow is the OSC allow list when osc.allow is not given.
func DefaultAllow() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// reservedNames can never be channel names (SPEC §1): they are words of
// the OSC address space and MQTT topics.
var reservedNames = []string{"all", "cue", "state", "ping", "pong", "sync", "heartbeat", "error", "station", "channel"}

// IsReserved reports whether name is one of the words that can never be a
// channel name (SPEC §1): all, cue, state, ping, pong, sync, heartbeat,
// error, station, channel.
func IsReserved(name string) bool { return slices.Contains(reservedNames, name) }

// ValidChannelName reports whether name is a valid channel name: 1 to 32
// characters from a-z 0-9 - _, and not reserved.
func ValidChannelName(name string) bool { return nameRE.MatchString(name) && !IsReserved(name) }

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
	d.validateChannels(f, c)
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

func (d *decoder) validateStations(f *rawFile, c *Config) {
	if !f.stations.given() {
		d.required(f.line, "stations", "add stations: {NAME: {driver: gpio}}; NAME is usually the Pi's host name")
		return
	}
	if len(f.Stations) == 0 && f.stations.Set {
		d.errf(f.stations.Line, "stations", "add at least one: stations: {NAME: {driver: gpio}}", "no stations")
		return
	}
	for _, r := range f.Stations {
		path := "stations." + r.Name
		d.checkName(r.Line, path, r.Name, "station")
		s := Station{Name: r.Name, Line: r.Line, AllowBootPins: r.AllowBootPins.V}
		switch {
		case !r.Driver.given():
			d.required(r.Line, path+".driver", "write driver: gpio for a Raspberry Pi, or driver: sim for the simulated board")
		case r.Driver.Set && r.Driver.V != DriverGPIO && r.Driver.V != DriverSim:
			hint := "gpio or sim"
			if sug := suggest(r.Driver.V, []string{DriverGPIO, DriverSim}); sug != "" {
				hint = "did you mean " + sug + "?"
			}
			d.errf(r.Driver.Line, path+".driver", hint, "unknown driver %q", r.Driver.V)
		default:
			s.Driver = r.Driver.V
		}
		s.Debounce = d.durationIn(r.Debounce, path+".debounce", DefaultDebounce, time.Millisecond, 500*time.Millisecond, false)
		s.MinBrightness = DefaultMinBrightness
		if b := r.MinBrightness; b.Set {
			s.MinBrightness = b.V
			if !(b.V > 0 && b.V <= 1) {
				d.errf(b.Line, path+".min_brightness", fmt.Sprintf("more than 0 and at most 1: a dark lamp must never mean GO; the default is %g", DefaultMinBrightness), "%g is out of range", b.V)
			}
		}
		c.Stations = append(c.Stations, s)
	}
}

func (d *decoder) validateMQTT(f *rawFile, c *Config) {
	r, m := &f.MQTT, &c.MQTT
	m.Broker = BrokerEmbedded
	var scheme string
	if r.Broker.Set {
		m.Broker = r.Broker.V
		if m.Broker != BrokerEmbedded {
			scheme = d.brokerURL(r.Broker, "mqtt.broker", []string{"tcp", "mqtt", "ssl", "mqtts", "ws", "wss"})
		}
	}
	m.Embedded = m.Broker == BrokerEmbedded
	onlyEmbedded := func(v val[bool], key string) {
		if !m.Embedded && v.given() {
			d.errf(v.Line, "mqtt."+key, "remove it, or set mqtt.broker: embedded", "applies only to the embedded broker")
		}
	}
	onlyEmbedded(given(r.Listen), "listen")
	onlyEmbedded(given(r.EmbeddedStation), "embedded_station")
	onlyEmbedded(given(r.EmbeddedURL), "embedded_url")
	onlyEmbedded(r.users, "users")
	onlyEmbedded(given(r.MaxClients), "max_clients")
	onlyEmbedded(given(r.MaxPacketSize), "max_packet_size")
	if m.Embedded {
		m.Listen = d.listenAddr(r.Listen, "mqtt.listen", DefaultMQTTListen)
	}

	m.TopicPrefix = DefaultTopicPrefix
	if r.TopicPrefix.Set {
		m.TopicPrefix = r.TopicPrefix.V
		if msg := badPrefix(m.TopicPrefix); msg != "" {
			d.errf(r.TopicPrefix.Line, "mqtt.topic_prefix", "e.g. cuelight or theatre/cuelight", "%s", msg)
		}
	}
	m.ClockSkew = d.durationIn(r.ClockSkew, "mqtt.clock_skew", DefaultClockSkew, 0, time.Minute, true)

	if r.Username.Set {
		m.Username = r.Username.V
	}
	if r.Password.Set {
		m.Password = r.Password.V
		if !r.Username.given() {
			d.errf(r.Password.Line, "mqtt.password", "add mqtt.username", "a password without a username")
		}
	}

	d.validateTLS(r, m, scheme)
	d.validateUsers(r, m)

	m.MaxClients = DefaultMaxClients
	if r.MaxClients.Set && m.Embedded {
		m.MaxClients = int(min(max(r.MaxClients.V, -1), 1<<20))
		if r.MaxClients.V < 1 || r.MaxClients.V > 10000 {
			d.errf(r.MaxClients.Line, "mqtt.max_clients", "between 1 and 10000; the default is 64", "%d is out of range", r.MaxClients.V)
		}
	}
	m.MaxPacketSize = DefaultMaxPacketSize
	if r.MaxPacketSize.Set && m.Embedded {
		m.MaxPacketSize = int(min(max(r.MaxPacketSize.V, -1), 1<<30))
		if r.MaxPacketSize.V < 1024 || r.MaxPacketSize.V > 268435455 {
			d.errf(r.MaxPacketSize.Line, "mqtt.max_packet_size", "in bytes, between 1024 and 268435455; the default is 65536", "%d is out of range", r.MaxPacketSize.V)
		}
	}
	if m.Embedded {
		d.validateEmbeddedPlacement(f, c)
	}
}

// given turns any val into a presence flag with its line.
func given[T any](v val[T]) val[bool] {
	return val[bool]{V: v.given(), Line: v.Line, Set: v.Set, Bad: v.Bad}
}

// validateEmbeddedPlacement decides which station runs the embedded broker
// and how the others reach it.
func (d *decoder) validateEmbeddedPlacement(f *rawFile, c *Config) {
	r, m := &f.MQTT, &c.MQTT
	names := c.StationNames()
	several := len(f.Stations) > 1
	switch {
	case r.EmbeddedStation.Set:
		if _, ok := c.Station(r.EmbeddedStation.V); !ok && len(names) > 0 {
			d.errf(r.EmbeddedStation.Line, "mqtt.embedded_station", stationHint(r.EmbeddedStation.V, names), "no station named %q", r.EmbeddedStation.V)
		}
		m.EmbeddedStation = r.EmbeddedStation.V
	case !r.EmbeddedStation.given() && several:
		d.errf(brokerLine(f), "mqtt.embedded_station", "name the station that runs the broker; stations: "+strings.Join(names, ", "),
			"is required when several stations share the embedded broker")
	case len(names) == 1:
		m.EmbeddedStation = names[0]
	}
	if r.Username.Set {
		i := slices.IndexFunc(m.Users, func(u User) bool { return u.Name == r.Username.V })
		switch {
		case i < 0:
			d.errf(r.Username.Line, "mqtt.username", "the embedded broker knows only mqtt.users: add it there with role: station",
				"%q is not a user of mqtt.users", r.Username.V)
		case m.Users[i].Role != RoleStation && m.Users[i].Role != "":
			d.warnf(r.Username.Line, "mqtt.username", "give that user role: station", "the stations log in as %q, whose role is %s", r.Username.V, m.Users[i].Role)
		}
	}
	if !several {
		if r.EmbeddedURL.Set {
			d.warnf(r.EmbeddedURL.Line, "mqtt.embedded_url", "it is for shows with several stations", "is not used with one station")
		}
		return
	}
	if r.EmbeddedURL.Set {
		if d.brokerURL(r.EmbeddedURL, "mqtt.embedded_url", []string{"tcp", "mqtt"}) != "" {
			m.EmbeddedURL = r.EmbeddedURL.V
			if u, err := url.Parse(m.EmbeddedURL); err == nil && m.Listen != "" {
				if _, lport, err := net.SplitHostPort(m.Listen); err == nil && u.Port() != lport && lport != "0" {
					d.warnf(r.EmbeddedURL.Line, "mqtt.embedded_url", "unless a port forward is in between, use the port of mqtt.listen",
						"port %s differs from mqtt.listen port %s", u.Port(), lport)
				}
			}
		}
	} else if !r.EmbeddedURL.given() {
		d.errf(brokerLine(f), "mqtt.embedded_url", "the URL the other stations connect to: the address of "+orDash(m.EmbeddedStation)+", e.g. tcp://10.10.0.2:1883",
			"is required when several stations share the embedded broker")
	}
	if m.Listen != "" && isLoopback(m.Listen) {
		d.errf(lineOr(r.Listen.Line, brokerLine(f)), "mqtt.listen", "listen on the show LAN, e.g. 0.0.0.0:1883, and add mqtt.users",
			"%s is loopback only, but the other stations must reach the embedded broker", m.Listen)
	}
	if !r.Username.given() || !r.Password.given() {
		d.errf(brokerLine(f), "mqtt.username", "set mqtt.username and mqtt.password to a user of mqtt.users with role station",
			"the other stations log in to the embedded broker: credentials are required")
	}
}

func orDash(s string) string {
	if s == "" {
		return "that station"
	}
	return s
}

func lineOr(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}

// brokerLine is the best line for a problem of the mqtt section as a whole.
func brokerLine(f *rawFile) int {
	for _, v := range []val[string]{f.MQTT.Broker, f.MQTT.Listen} {
		if v.given() {
			return v.Line
		}
	}
	return lineOr(f.MQTT.line, f.line)
}

func stationHint(name string, names []string) string {
	if s := suggest(name, names); s != "" {
		return "did you mean " + s + "?"
	}
	return "stations: " + strings.Join(names, ", ")
}

// brokerURL checks an MQTT broker URL and returns its scheme ("" if bad).
func (d *decoder) brokerURL(v val[string], path string, schemes []string) string {
	list := strings.Join(schemes, "://, ") + "://"
	hint := "write embedded or a URL: " + list
	if path != "mqtt.broker" {
		hint = "write " + list + "HOST:PORT"
	}
	s := v.V
	if strings.EqualFold(s, BrokerEmbedded) && path == "mqtt.broker" {
		d.errf(v.Line, path, "write embedded in lowercase", "%q is not a broker", s)
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		d.errf(v.Line, path, hint, "%q is not a broker URL", s)
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	if !slices.Contains(schemes, scheme) {
		d.errf(v.Line, path, "use "+list, "unsupported scheme %s://", u.Scheme)
		return ""
	}
	switch {
	case u.User != nil:
		d.errf(v.Line, path, "put them in mqtt.username and mqtt.password", "credentials do not belong in the URL")
	case u.Hostname() == "":
		d.errf(v.Line, path, hint, "%q has no host", s)
	case u.Port() == "" && scheme != "ws" && scheme != "wss":
		d.errf(v.Line, path, fmt.Sprintf("write %s://%s:%s", scheme, u.Hostname(), defaultMQTTPort(scheme)), "%q has no port", s)
	case u.Port() != "" && !validPort(u.Port(), false):
		d.errf(v.Line, path, "ports are 1 to 65535", "%q has a bad port", s)
	case (u.Path != "" && u.Path != "/") && scheme != "ws" && scheme != "wss":
		d.errf(v.Line, path, "only ws:// and wss:// URLs have a path", "%q has a path", s)
	case u.RawQuery != "" || u.Fragment != "":
		d.errf(v.Line, path, "remove everything after ? or #", "%q has a query or fragment", s)
	default:
		return scheme
	}
	return ""
}

func defaultMQTTPort(scheme string) string {
	if scheme == "ssl" || scheme == "mqtts" {
		return "8883"
	}
	return "1883"
}

func validPort(p string, zeroOK bool) bool {
	n, err := strconv.Atoi(p)
	return err == nil && p == strconv.Itoa(n) && n <= 65535 && (n > 0 || (zeroOK && n == 0))
}

// badPrefix says what is wrong with an MQTT topic prefix, or "".
func badPrefix(p string) string {
	switch {
	case p == "":
		return "is empty"
	case strings.ContainsAny(p, "+#"):
		return fmt.Sprintf("%q contains a wildcard (+ or #)", p)
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//"):
		return fmt.Sprintf("%q has an empty topic level (a leading, trailing or double /)", p)
	case strings.HasPrefix(p, "$"):
		return fmt.Sprintf("%q starts with $, which brokers reserve", p)
	case strings.ContainsAny(p, "\x00 \t\r\n"):
		return fmt.Sprintf("%q contains white space or NUL", p)
	case len(p) > 100:
		return "is longer than 100 bytes"
	}
	return ""
}

func (d *decoder) validateTLS(r *rawMQTT, m *MQTT, scheme string) {
	t := &r.TLS
	if !r.tlsGiven.given() {
		return
	}
	if m.Embedded || (scheme != "" && scheme != "ssl" && scheme != "mqtts" && scheme != "wss") {
		d.errf(r.tlsGiven.Line, "mqtt.tls", "use an ssl://, mqtts:// or wss:// broker URL, or remove mqtt.tls",
			"applies only to an outside broker reached over TLS")
		return
	}
	for _, f := range []struct {
		v    val[string]
		key  string
		dest *string
	}{{t.CAFile, "ca_file", &m.TLS.CAFile}, {t.CertFile, "cert_file", &m.TLS.CertFile}, {t.KeyFile, "key_file", &m.TLS.KeyFile}} {
		if !f.v.Set {
			continue
		}
		if !filepath.IsAbs(f.v.V) && !strings.HasPrefix(f.v.V, "/") {
			d.errf(f.v.Line, "mqtt.tls."+f.key, "e.g. /etc/cuelight/"+strings.TrimSuffix(f.key, "_file")+".pem; systemd starts cuelightd in /",
				"%q is not an absolute path", f.v.V)
			continue
		}
		*f.dest = f.v.V
	}
	if t.CertFile.given() != t.KeyFile.given() {
		line := lineOr(t.CertFile.Line, t.KeyFile.Line)
		d.errf(line, "mqtt.tls", "a client certificate needs both cert_file and key_file", "cert_file and key_file go together")
	}
	if t.InsecureSkipVerify.Set && t.InsecureSkipVerify.V {
		m.TLS.InsecureSkipVerify = true
		d.warnf(t.InsecureSkipVerify.Line, "mqtt.tls.insecure_skip_verify", "set ca_file to the broker's CA instead", "the broker's certificate is not checked")
	}
}

var userNameRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

func (d *decoder) validateUsers(r *rawMQTT, m *MQTT) {
	if !m.Embedded {
		return
	}
	for _, ru := range r.Users {
		path := "mqtt.users." + ru.Name
		if !userNameRE.MatchString(ru.Name) {
			d.errf(ru.Line, path, "1 to 64 characters from A-Z a-z 0-9 . _ @ -", "%q is not a valid user name", ru.Name)
		}
		u := User{Name: ru.Name, Line: ru.Line}
		switch h := ru.PasswordHash; {
		case !h.given():
			d.required(ru.Line, path+".password_hash", "a bcrypt hash: htpasswd -nbBC 12 x PASSWORD | cut -d: -f2")
		case h.Set:
			if msg, hint := checkBcrypt(h.V); msg != "" {
				d.errf(h.Line, path+".password_hash", hint, "%s", msg)
			} else {
				u.PasswordHash = h.V
				if cost, _ := bcrypt.Cost([]byte(h.V)); cost < 10 {
					d.warnf(h.Line, path+".password_hash", "hash it again with cost 10 or more: htpasswd -nbBC 12 x PASSWORD | cut -d: -f2", "bcrypt cost %d is weak", cost)
				}
			}
		}
		switch {
		case !ru.Role.given():
			d.required(ru.Line, path+".role", "write role: station, booth or viewer")
		case ru.Role.Set:
			switch ru.Role.V {
			case RoleStation, RoleBooth, RoleViewer:
				u.Role = ru.Role.V
			default:
				hint := "station, booth or viewer"
				if s := suggest(ru.Role.V, []string{RoleStation, RoleBooth, RoleViewer}); s != "" {
					hint = "did you mean " + s + "?"
				}
				d.errf(ru.Role.Line, path+".role", hint, "unknown role %q", ru.Role.V)
			}
		}
		m.Users = append(m.Users, u)
	}
	if m.Listen != "" && !isLoopback(m.Listen) && len(r.Users) == 0 {
		d.errf(r.Listen.Line, "mqtt.listen", "add mqtt.users with bcrypt password hashes, or listen on 127.0.0.1",
			"%s is reachable from the network, and anonymous access is never allowed there", m.Listen)
	}
}

var bcryptRE = regexp.MustCompile(`^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$`)

// checkBcrypt checks a bcrypt hash's form; it returns a message and a hint
// when it is not one.
func checkBcrypt(h string) (msg, hint string) {
	const howTo = "make one with: htpasswd -nbBC 12 x PASSWORD | cut -d: -f2"
	switch {
	case strings.HasPrefix(h, "$7$"):
		return "this is a mosquitto_passwd hash; the embedded broker needs bcrypt", howTo
	case strings.HasPrefix(h, "$2") && len(h) != 60:
		return fmt.Sprintf("a bcrypt hash is 60 characters, this one is %d", len(h)), "copy the whole hash, in quotes; " + howTo
	case !bcryptRE.MatchString(h):
		return "not a bcrypt hash: those start with $2a$, $2b$ or $2y$", howTo
	}
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		return "not a bcrypt hash: " + strings.TrimPrefix(err.Error(), "crypto/bcrypt: "), howTo
	}
	return "", ""
}

// listenAddr checks a host:port listen address; port 0 picks a free port.
func (d *decoder) listenAddr(v val[string], path, def string) string {
	if !v.Set {
		return def
	}
	_, defPort, _ := net.SplitHostPort(def)
	hint := "write host:port, e.g. " + def
	host, port, err := net.SplitHostPort(v.V)
	switch {
	case err != nil:
		if a, perr := netip.ParseAddr(v.V); perr == nil {
			hint = "write " + netip.AddrPortFrom(a, mustPort(defPort)).String()
		} else if validPort(strings.TrimPrefix(v.V, ":"), true) {
			hint = "write 0.0.0.0:" + strings.TrimPrefix(v.V, ":") + " for all interfaces, or 127.0.0.1:" + strings.TrimPrefix(v.V, ":")
		}
		d.errf(v.Line, path, hint, "%q is not host:port", v.V)
	case !validPort(port, true):
		d.errf(v.Line, path, "ports are 1 to 65535", "%q has a bad port", v.V)
	case host != "" && host != "localhost" && !validIP(host):
		d.errf(v.Line, path, "listen on an IP address of this host: 0.0.0.0 for all, 127.0.0.1 for this host only", "%q is not an IP address", host)
	default:
		return v.V
	}
	return ""
}

func validIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}

func mustPort(p string) uint16 {
	n, _ := strconv.Atoi(p)
	return uint16(n)
}

// isLoopback reports whether a listen address accepts loopback
// connections only.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func (d *decoder) validateOSC(f *rawFile, c *Config) {
	r, o := &f.OSC, &c.OSC
	o.Listen = d.listenAddr(r.Listen, "osc.listen", DefaultOSCListen)
	if !r.allow.given() {
		o.Allow = DefaultAllow()
	} else {
		o.Allow = []netip.Prefix{}
		if r.allow.Set && len(r.Allow) == 0 {
			d.warnf(r.allow.Line, "osc.allow", "list the booth's addresses, e.g. [10.10.0.0/24]", "is empty: every OSC datagram is dropped")
		}
	}
	for i, a := range r.Allow {
		if !a.Set {
			continue
		}
		path := fmt.Sprintf("osc.allow[%d]", i)
		p, msg, hint := parseAllow(a.V)
		if msg != "" {
			d.errf(a.Line, path, hint, "%s", msg)
			continue
		}
		if p != p.Masked() {
			d.warnf(a.Line, path, "write "+p.Masked().String()+" to say so", "%s has host bits set; it means %s", a.V, p.Masked())
			p = p.Masked()
		}
		o.Allow = append(o.Allow, p)
	}
	for i, fb := range r.Feedback {
		if !fb.Set {
			continue
		}
		path := fmt.Sprintf("osc.feedback[%d]", i)
		ap, msg, hint := parseTarget(fb.V)
		if msg != "" {
			d.errf(fb.Line, path, hint, "%s", msg)
			continue
		}
		o.Feedback = append(o.Feedback, ap)
	}
	o.HeartbeatTimeout = d.durationIn(r.HeartbeatTimeout, "osc.heartbeat_timeout", 0, 100*time.Millisecond, time.Hour, true)
}

// parseAllow reads an allow entry: a CIDR prefix or a bare address.
func parseAllow(s string) (p netip.Prefix, msg, hint string) {
	const hint0 = "write an address like 10.10.0.5 or a network like 10.10.0.0/24"
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Sprintf("%q is not an address or network", s), hint0
		}
		return p, "", ""
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err == nil && a.Zone() != "":
		return p, fmt.Sprintf("%q has a zone", s), "write the address without %zone"
	case err == nil:
		return netip.PrefixFrom(a, a.BitLen()), "", ""
	case s == "localhost":
		return p, `"localhost" is a host name`, "write 127.0.0.1, or leave allow out: loopback is the default"
	case strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") && !strings.Contains(s, ":"):
		return p, fmt.Sprintf("%q is a host name", s), "allow takes addresses, never names; " + hint0
	}
	return p, fmt.Sprintf("%q is not an address or network", s), hint0
}

// parseTarget reads a feedback target, ip:port; localhost means 127.0.0.1.
// Host names are refused: feedback is sent from the cue path, which must
// never wait on DNS.
func parseTarget(s string) (ap netip.AddrPort, msg, hint string) {
	const hint0 = "write IP:PORT, e.g. 10.10.0.5:53001"
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return ap, fmt.Sprintf("%q is not IP:PORT", s), hint0
	}
	if !validPort(port, false) {
		return ap, fmt.Sprintf("%q has a bad port", s), "ports are 1 to 65535"
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	a, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return ap, fmt.Sprintf("%q is not an IP address", host), "feedback goes to IP addresses, never names: the cue path never waits on DNS; " + hint0
	case a.Zone() != "":
		return ap, fmt.Sprintf("%q has a zone", host), hint0
	case a.IsUnspecified():
		return ap, fmt.Sprintf("%s is not a destination", host), hint0
	}
	return netip.AddrPortFrom(a, mustPort(port)), "", ""
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

// pinOwner records the first use of a pin on a station.
type pinOwner struct {
	path string
	line int
}

func (d *decoder) validateChannels(f *rawFile, c *Config) {
	if !f.channels.given() {
		d.required(f.line, "channels", "add channels: {NAME: {standby_lamp: GPIO17}}")
		return
	}
	if len(f.Channels) == 0 && f.channels.Set {
		d.errf(f.channels.Line, "channels", "add at least one: channels: {NAME: {standby_lamp: GPIO17}}", "no channels")
		return
	}
	used := map[string]map[string]pinOwner{} // station → pin → first use
	names := c.StationNames()
	for _, r := range f.Channels {
		path := "channels." + r.Name
		d.checkName(r.Line, path, r.Name, "channel")
		ch := Channel{Name: r.Name, Label: r.Name, Line: r.Line}
		if r.Label.Set {
			ch.Label = r.Label.V
			if strings.TrimSpace(ch.Label) == "" {
				d.errf(r.Label.Line, path+".label", "leave label out to show the channel name", "is empty")
			}
			d.checkText(r.Label.Line, path+".label", ch.Label)
		}
		var st Station
		var stOK bool
		switch {
		case r.Station.Set:
			ch.Station = r.Station.V
			st, stOK = c.Station(r.Station.V)
			if !stOK && len(names) > 0 {
				d.errf(r.Station.Line, path+".station", stationHint(r.Station.V, names), "no station named %q", r.Station.V)
			}
		case r.Station.Bad:
		case len(c.Stations) == 1:
			st, stOK = c.Stations[0], true
			ch.Station = st.Name
		case len(names) > 1:
			d.errf(r.Line, path+".station", "stations: "+strings.Join(names, ", "), "is required when the show has several stations")
		}
		if !r.Pins[0].given {
			d.required(r.Line, path+".standby_lamp", "every channel needs a lamp, e.g. standby_lamp: GPIO17")
		}
		for i, role := range pinRoles {
			rp := r.Pins[i]
			if !rp.given {
				continue
			}
			pin, ok := d.validatePin(rp, path+"."+role, role, st, stOK)
			if !ok {
				continue
			}
			if stOK {
				owners := used[st.Name]
				if owners == nil {
					owners = map[string]pinOwner{}
					used[st.Name] = owners
				}
				if first, dup := owners[pin.Name]; dup {
					d.errf(pin.Line, path+"."+role, "pick a free pin", "%s is already %s (line %d)", pin.Name, first.path, first.line)
				} else {
					owners[pin.Name] = pinOwner{path + "." + role, pin.Line}
				}
			}
			switch role {
			case RoleStandbyLamp:
				ch.StandbyLamp = pin
			case RoleGoLamp:
				ch.GoLamp = pin
			case RoleCallLamp:
				ch.CallLamp = pin
			case RoleCallOut:
				ch.CallOut = pin
			case RoleAckButton:
				ch.AckButton = pin
			case RoleCallButton:
				ch.CallButton = pin
			}
		}
		ch.RequireAck = r.RequireAck.V
		ch.GoRequiresAck = r.GoRequiresAck.V
		if ch.GoRequiresAck && !r.Pins[4].given {
			d.warnf(r.GoRequiresAck.Line, path+".go_requires_ack", "add an ack_button, or make sure the position acks from a phone or TouchOSC",
				"without an ack_button only a software ack can enable the GO")
		}
		if ch.GoRequiresAck && r.RequireAck.Set && !ch.RequireAck {
			d.warnf(r.RequireAck.Line, path+".require_ack", "set require_ack: true so the lamp asks for the ack that GO waits for",
				"false with go_requires_ack: true: a plain standby asks for no ack, yet GO is refused until one comes")
		}
		ch.GoHold = d.durationIn(r.GoHold, path+".go_hold", DefaultGoHold, 100*time.Millisecond, time.Minute, false)
		ch.CallHold = d.durationIn(r.CallHold, path+".call_hold", DefaultCallHold, 100*time.Millisecond, time.Minute, false)
		ch.StuckAfter = d.durationIn(r.StuckAfter, path+".stuck_after", DefaultStuckAfter, time.Second, 10*time.Minute, false)
		ch.Brightness = 1
		if b := r.Brightness; b.Set {
			ch.Brightness = b.V
			switch {
			case !(b.V > 0 && b.V <= 1):
				d.errf(b.Line, path+".brightness", "more than 0 and at most 1: a lamp at 0 never lights", "%g is out of range", b.V)
			case stOK && st.MinBrightness > 0 && b.V < st.MinBrightness:
				d.errf(b.Line, path+".brightness", "raise it, or lower min_brightness: no lamp shows a state below it",
					"%g is below stations.%s.min_brightness %g", b.V, st.Name, st.MinBrightness)
			}
		}
		c.Channels = append(c.Channels, ch)
	}
}

// validatePin checks one pin: its name, its options, and the boot rule of
// its station's board.
func (d *decoder) validatePin(rp rawPin, path, role string, st Station, stOK bool) (Pin, bool) {
	if !rp.Name.Set {
		return Pin{}, false
	}
	button := role == RoleAckButton || role == RoleCallButton
	p := Pin{Name: rp.Name.V, Line: rp.Line, ActiveLow: button}
	n, msg, hint := parsePinName(rp.Name.V)
	if msg != "" {
		d.errf(rp.Name.Line, path, hint, "%s", msg)
		return Pin{}, false
	}
	p.Number = n
	if rp.ActiveLow.Set {
		p.ActiveLow = rp.ActiveLow.V
	}
	ok := true
	if button {
		p.Pull = PullDown
		if p.ActiveLow {
			p.Pull = PullUp
		}
		if rp.Pull.Set {
			switch rp.Pull.V {
			case PullUp, PullDown, PullNone:
				p.Pull = rp.Pull.V
				if (p.ActiveLow && p.Pull == PullDown) || (!p.ActiveLow && p.Pull == PullUp) {
					d.warnf(rp.Pull.Line, path+".pull", "check the wiring: an active-low button wants pull: up, an active-high one pull: down",
						"pull %s holds this button pressed unless the circuit overrides it", p.Pull)
				}
			default:
				d.errf(rp.Pull.Line, path+".pull", "up, down or none", "unknown pull %q", rp.Pull.V)
				ok = false
			}
		}
	} else if rp.Pull.given() {
		d.errf(rp.Pull.Line, path+".pull", "remove it: outputs are driven, pull applies to buttons", "applies only to buttons")
		ok = false
	}
	if stOK {
		d.bootRule(p, path, button, st)
	}
	return p, ok
}

// bootRule refuses pins that misbehave while a Raspberry Pi boots, unless
// the station allows them (then it warns). An output is unsafe when its
// pin rests at the output's "on" level during boot: GPIO2–8 rest high
// (pull-ups), GPIO9–27 rest low (pull-downs). GPIO0/1 (HAT ID EEPROM) and
// GPIO14/15 (boot UART) are unsafe for any use. See docs/configuration.md.
func (d *decoder) bootRule(p Pin, path string, button bool, st Station) {
	n := p.Number
	var reason string
	switch {
	case n == 0 || n == 1 || n == 14 || n == 15:
		reason = bootPinReason(n)
	case (n == 2 || n == 3) && button && !p.ActiveLow:
		reason = "has a 1.8 kΩ pull-up on the board, so an active-high button reads as pressed"
	case n >= 2 && n <= 8 && !button && !p.ActiveLow:
		if n <= 3 {
			reason = "has a 1.8 kΩ pull-up on the board (I2C1), so this active-high output is on until cuelightd starts"
		} else {
			reason = "is pulled high while the Pi boots, so this active-high output is on until cuelightd starts"
		}
	case n >= 9 && !button && p.ActiveLow:
		d.warnf(p.Line, path, "fit a 10 kΩ pull-up to 3.3 V so it stays off, or wire it active-high",
			"%s is pulled low while the Pi boots, so this active-low output is on until cuelightd starts", p.Name)
		return
	default:
		return
	}
	if st.AllowBootPins {
		d.warnf(p.Line, path, "allowed by stations."+st.Name+".allow_boot_pins", "%s %s", p.Name, reason)
		return
	}
	d.errf(p.Line, path, "use a pin from GPIO9–13, GPIO16–27, or set stations."+st.Name+".allow_boot_pins: true", "%s %s", p.Name, reason)
}

// checkPorts refuses two TCP listeners of one station on the same port.
func (d *decoder) checkPorts(f *rawFile, c *Config) {
	type lis struct {
		path, addr string
		line       int
	}
	var all []lis
	if c.MQTT.Embedded && c.MQTT.Listen != "" {
		all = append(all, lis{"mqtt.listen", c.MQTT.Listen, lineOr(f.MQTT.Listen.Line, 0)})
	}
	if c.OSC.Listen != "" {
		all = append(all, lis{"osc.listen", c.OSC.Listen, f.OSC.Listen.Line})
	}
	if c.Web.Listen != "" {
		all = append(all, lis{"web.listen", c.Web.Listen, f.Web.Listen.Line})
	}
	for i, a := range all {
		for _, b := range all[:i] {
			ah, ap, _ := net.SplitHostPort(a.addr)
			bh, bp, _ := net.SplitHostPort(b.addr)
			if ap != bp || ap == "0" || !overlap(ah, bh) {
				continue
			}
			first, second := b, a
			if second.line == 0 { // a default clashes with a written one: blame the written one
				first, second = a, b
			}
			where := " by default"
			if first.line > 0 {
				where = fmt.Sprintf(" (line %d)", first.line)
			}
			d.errf(lineOr(second.line, f.line), second.path, "each listener needs its own port", "port %s is already %s%s", ap, first.path, where)
		}
	}
}

// overlap reports whether two listen hosts can bind the same socket.
func overlap(a, b string) bool {
	norm := func(h string) string {
		switch h {
		case "", "0.0.0.0", "::":
			return ""
		case "localhost":
			return "127.0.0.1"
		}
		return h
	}
	a, b = norm(a), norm(b)
	return a == "" || b == "" || a == b
}
