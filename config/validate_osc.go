package config

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// This file checks the osc: section.

// DefaultAllow is the OSC allow list when osc.allow is not given.
func DefaultAllow() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
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
