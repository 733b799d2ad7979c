package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// This file checks listen addresses, which several sections share, and
// that one station's listeners do not clash.

func validPort(p string, zeroOK bool) bool {
	n, err := strconv.Atoi(p)
	return err == nil && p == strconv.Itoa(n) && n <= 65535 && (n > 0 || (zeroOK && n == 0))
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
func IsLoopback(listen string) bool {
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
