package config

import (
	"bytes"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// YAML writes the effective configuration as a show file: every default
// written out, pins in mapping form. Parsing the result gives a Config
// equal to c except for the line numbers and the warnings.
func (c *Config) YAML() ([]byte, error) {
	root := mapNode()
	add(root, "show", str(c.Show))

	m := c.MQTT
	mq := mapNode()
	add(mq, "broker", str(m.Broker))
	if m.Embedded {
		add(mq, "listen", str(m.Listen))
		if m.EmbeddedStation != "" {
			add(mq, "embedded_station", str(m.EmbeddedStation))
		}
		if m.EmbeddedURL != "" {
			add(mq, "embedded_url", str(m.EmbeddedURL))
		}
	}
	add(mq, "topic_prefix", str(m.TopicPrefix))
	add(mq, "clock_skew", dur(m.ClockSkew))
	if m.Username != "" {
		add(mq, "username", str(m.Username))
	}
	if m.Password != "" {
		add(mq, "password", str(m.Password))
	}
	if !m.Embedded && (m.TLS != TLS{}) {
		t := mapNode()
		for _, f := range []struct{ k, v string }{{"ca_file", m.TLS.CAFile}, {"cert_file", m.TLS.CertFile}, {"key_file", m.TLS.KeyFile}} {
			if f.v != "" {
				add(t, f.k, str(f.v))
			}
		}
		add(t, "insecure_skip_verify", boolean(m.TLS.InsecureSkipVerify))
		add(mq, "tls", t)
	}
	if m.Embedded {
		if len(m.Users) > 0 {
			users := mapNode()
			for _, u := range m.Users {
				un := mapNode()
				add(un, "password_hash", str(u.PasswordHash))
				add(un, "role", str(u.Role))
				add(users, u.Name, un)
			}
			add(mq, "users", users)
		}
		add(mq, "max_clients", integer(m.MaxClients))
		add(mq, "max_packet_size", integer(m.MaxPacketSize))
	}
	add(root, "mqtt", mq)

	o := mapNode()
	add(o, "listen", str(c.OSC.Listen))
	allow := seqNode()
	for _, p := range c.OSC.Allow {
		allow.Content = append(allow.Content, str(p.String()))
	}
	add(o, "allow", allow)
	if len(c.OSC.Feedback) > 0 {
		fb := seqNode()
		for _, t := range c.OSC.Feedback {
			fb.Content = append(fb.Content, str(t.String()))
		}
		add(o, "feedback", fb)
	}
	add(o, "heartbeat_timeout", dur(c.OSC.HeartbeatTimeout))
	add(root, "osc", o)

	web := mapNode()
	add(web, "listen", str(c.Web.Listen))
	add(root, "web", web)

	if c.Consoles.Eos != nil {
		eos := mapNode()
		add(eos, "cue_list", str(c.Consoles.Eos.CueList))
		cons := mapNode()
		add(cons, "eos", eos)
		add(root, "consoles", cons)
	}

	p := mapNode()
	add(p, "slow", dur(c.Patterns.Slow))
	add(p, "fast", dur(c.Patterns.Fast))
	add(p, "wink_on", dur(c.Patterns.WinkOn))
	add(p, "wink_every", dur(c.Patterns.WinkEvery))
	add(p, "alternate", dur(c.Patterns.Alternate))
	add(p, "double_every", dur(c.Patterns.DoubleEvery))
	add(root, "patterns", p)

	sts := mapNode()
	for _, s := range c.Stations {
		sn := mapNode()
		add(sn, "driver", str(s.Driver))
		add(sn, "allow_boot_pins", boolean(s.AllowBootPins))
		add(sn, "debounce", dur(s.Debounce))
		add(sts, s.Name, sn)
	}
	add(root, "stations", sts)

	chs := mapNode()
	for _, ch := range c.Channels {
		cn := mapNode()
		add(cn, "station", str(ch.Station))
		add(cn, "label", str(ch.Label))
		for _, u := range ch.Pins() {
			pn := mapNode()
			add(pn, "pin", str(u.Pin.Name))
			add(pn, "active_low", boolean(u.Pin.ActiveLow))
			if u.IsButton() {
				add(pn, "pull", str(u.Pin.Pull))
			}
			add(cn, u.Role, pn)
		}
		add(cn, "require_ack", boolean(ch.RequireAck))
		add(cn, "go_requires_ack", boolean(ch.GoRequiresAck))
		add(cn, "go_hold", dur(ch.GoHold))
		add(cn, "stuck_after", dur(ch.StuckAfter))
		add(cn, "call_hold", dur(ch.CallHold))
		add(cn, "brightness", &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatFloat(ch.Brightness, 'g', -1, 64)})
		add(chs, ch.Name, cn)
	}
	add(root, "channels", chs)

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func mapNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }
func seqNode() *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
}

func add(m *yaml.Node, key string, v *yaml.Node) {
	k := str(key)
	m.Content = append(m.Content, k, v)
}

// str is a string scalar; the encoder quotes it whenever plain text would
// read back as something else (a number, a boolean, null).
func str(s string) *yaml.Node {
	n := &yaml.Node{}
	n.SetString(s)
	return n
}

func dur(d time.Duration) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmtDur(d)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func integer(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}
