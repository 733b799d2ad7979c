package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// This file checks the mqtt: section: the broker, TLS, the embedded
// broker's users and which station runs it.

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
	if len(r.Brokers) > 0 {
		schemes := map[bool]bool{}
		for i, b := range r.Brokers {
			path := fmt.Sprintf("mqtt.broker[%d]", i)
			if !b.Set {
				continue
			}
			if b.V == BrokerEmbedded {
				d.errf(b.Line, path, "a list names outside brokers only; write broker: embedded alone to run the built-in one", "embedded cannot be in a list")
				continue
			}
			for _, seen := range m.Brokers {
				if seen == b.V {
					d.errf(b.Line, path, "remove the second one", "%s is listed twice", b.V)
				}
			}
			sc := scheme // the first is checked above, as mqtt.broker
			if i > 0 {
				sc = d.brokerURL(b, path, []string{"tcp", "mqtt", "ssl", "mqtts", "ws", "wss"})
			}
			if sc != "" {
				schemes[isTLSScheme(sc)] = true
			}
			m.Brokers = append(m.Brokers, b.V)
		}
		if len(schemes) > 1 {
			d.errf(r.Brokers[0].Line, "mqtt.broker", "use TLS (ssl://, mqtts://, wss://) for every broker of the list, or for none", "mixes brokers with and without TLS")
		}
		if len(m.Brokers) == 1 {
			m.Brokers = nil
		}
	}
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
	if m.Listen != "" && IsLoopback(m.Listen) {
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

// brokerLine is the best line for a problem of the mqtt section as a whole.
func brokerLine(f *rawFile) int {
	for _, v := range []val[string]{f.MQTT.Broker, f.MQTT.Listen} {
		if v.given() {
			return v.Line
		}
	}
	return lineOr(f.MQTT.line, f.line)
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
		u := User{Name: ru.Name, Line: ru.Line, PasswordHash: d.userLogin(ru, path)}
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
	if m.Listen != "" && !IsLoopback(m.Listen) && len(r.Users) == 0 {
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

// isTLSScheme reports whether a broker URL scheme is MQTT over TLS.
func isTLSScheme(scheme string) bool {
	return scheme == "ssl" || scheme == "mqtts" || scheme == "wss"
}

// userLogin checks a user's name and bcrypt password hash (the embedded
// broker's users and the web's users alike) and returns the hash, or ""
// when it is not usable.
func (d *decoder) userLogin(ru rawUser, path string) string {
	if !userNameRE.MatchString(ru.Name) {
		d.errf(ru.Line, path, "1 to 64 characters from A-Z a-z 0-9 . _ @ -", "%q is not a valid user name", ru.Name)
	}
	switch h := ru.PasswordHash; {
	case !h.given():
		d.required(ru.Line, path+".password_hash", "a bcrypt hash: htpasswd -nbBC 12 x PASSWORD | cut -d: -f2")
	case h.Set:
		if msg, hint := checkBcrypt(h.V); msg != "" {
			d.errf(h.Line, path+".password_hash", hint, "%s", msg)
			return ""
		}
		if cost, _ := bcrypt.Cost([]byte(h.V)); cost < 10 {
			d.warnf(h.Line, path+".password_hash", "hash it again with cost 10 or more: htpasswd -nbBC 12 x PASSWORD | cut -d: -f2", "bcrypt cost %d is weak", cost)
		}
		return h.V
	}
	return ""
}
