package config

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// This file reads and checks the headset side of the show file
// (docs/protocol.md §10): intercom.greengo, and the escalate_after keys of
// stations and channels. call_in is a pin role like the buttons
// (validate_channels.go).

// Limits of escalate_after.
const (
	MinEscalateAfter = time.Second
	MaxEscalateAfter = 10 * time.Minute
)

// Green-GO channel numbers the remote-control device script accepts.
const (
	MinGreenGOChannel = 1
	MaxGreenGOChannel = 6
)

// Intercom is the intercom: section.
type Intercom struct {
	GreenGO *GreenGO // nil unless intercom.greengo is configured
}

// GreenGO configures the Green-GO adapter (docs/protocol.md §10).
type GreenGO struct {
	// Address is the Green-GO device's OSC port, host:port as written.
	Address string
	// Channels maps a cuelight channel to its Green-GO channel number
	// (1–6). Each station mirrors only its own channels.
	Channels map[string]int
	Line     int // line of the greengo key
}

var (
	greengoSection  = &section{keys: []string{"address", "channels"}, sub: map[string]*section{"channels": {each: &section{}}}}
	intercomSection = &section{keys: []string{"greengo"}, sub: map[string]*section{"greengo": greengoSection}}
)

type rawIntercom struct {
	GreenGO *rawGreenGO
}

type rawGreenGO struct {
	Line     int
	Address  val[string]
	Channels []rawGreenGOChannel
	channels val[bool]
}

type rawGreenGOChannel struct {
	Name   string
	Line   int
	Number val[int64]
}

func (d *decoder) decodeIntercom(r *rawIntercom, e kv) {
	m, _ := d.fields(e.path, e.line, e.val, intercomSection)
	g, ok := m["greengo"]
	if !ok {
		return
	}
	r.GreenGO = &rawGreenGO{Line: g.line}
	gm, _ := d.fields(g.path, g.line, g.val, greengoSection)
	r.GreenGO.Address = d.text(gm, "address", "write the Green-GO device's OSC address, e.g. 10.10.0.40:8000")
	if c, ok := gm["channels"]; ok {
		r.GreenGO.channels = val[bool]{V: true, Line: c.line, Set: true}
		list, _ := d.entries(c.path, c.line, c.val, "write channels: {fly: 1}")
		for _, e := range list {
			n := d.integer(map[string]kv{e.name: e}, e.name)
			r.GreenGO.Channels = append(r.GreenGO.Channels, rawGreenGOChannel{Name: e.name, Line: e.line, Number: n})
		}
	}
}

func (d *decoder) validateIntercom(f *rawFile, c *Config) {
	r := f.Intercom.GreenGO
	if r == nil {
		return
	}
	const path = "intercom.greengo"
	g := &GreenGO{Channels: map[string]int{}, Line: r.Line}
	ok := true
	switch a := r.Address; {
	case !a.given():
		d.required(r.Line, path+".address", "write address: HOST:PORT of the Green-GO device's OSC script")
		ok = false
	case a.Set:
		host, port, err := net.SplitHostPort(a.V)
		switch {
		case err != nil:
			d.errf(a.Line, path+".address", "write host:port, e.g. 10.10.0.40:8000", "%q is not host:port", a.V)
			ok = false
		case host == "":
			d.errf(a.Line, path+".address", "name the device: its IP address or host name", "%q has no host", a.V)
			ok = false
		case !validPort(port, false):
			d.errf(a.Line, path+".address", "ports are 1 to 65535", "%q has a bad port", a.V)
			ok = false
		default:
			g.Address = a.V
		}
	default:
		ok = false
	}
	if !r.channels.given() {
		d.required(r.Line, path+".channels", "write channels: {fly: 1}: which cue-light channel is which Green-GO channel")
		ok = false
	}
	used := map[int64]string{}
	for _, ch := range r.Channels {
		p := path + ".channels." + ch.Name
		if _, known := c.Channel(ch.Name); !known && len(c.Channels) > 0 {
			var names []string
			for _, x := range c.Channels {
				names = append(names, x.Name)
			}
			hint := "channels: " + strings.Join(names, ", ")
			if s := suggest(ch.Name, names); s != "" {
				hint = "did you mean " + s + "?"
			}
			d.errf(ch.Line, p, hint, "no channel named %q", ch.Name)
			ok = false
			continue
		}
		n := ch.Number
		if !n.Set {
			if !n.Bad {
				d.errf(ch.Line, p, "write a Green-GO channel number from 1 to 6", "has no value")
			}
			ok = false
			continue
		}
		if n.V < MinGreenGOChannel || n.V > MaxGreenGOChannel {
			d.errf(n.Line, p, "Green-GO's remote-control script accepts channels 1 to 6 only", "%d is not a Green-GO channel", n.V)
			ok = false
			continue
		}
		if first, dup := used[n.V]; dup {
			d.warnf(n.Line, p, "check the mapping: both positions see each other's cues on the belt-packs",
				"Green-GO channel %d is also channels.%s", n.V, first)
		} else {
			used[n.V] = ch.Name
		}
		g.Channels[ch.Name] = int(n.V)
	}
	if ok {
		c.Intercom.GreenGO = g
	}
}

// escalateAfter resolves a channel's escalate_after: its own value, else
// its station's default; 0 (written, or nothing given) means never.
func (d *decoder) escalateAfter(v val[time.Duration], path string, st Station, stOK bool) time.Duration {
	if v.Set {
		return d.durationIn(v, path, 0, MinEscalateAfter, MaxEscalateAfter, true)
	}
	if stOK {
		return st.EscalateAfter
	}
	return 0
}

// GreenGOChannel returns the Green-GO channel number of a cue-light
// channel, or 0 when it has none.
func (g *GreenGO) GreenGOChannel(name string) int {
	if g == nil {
		return 0
	}
	return g.Channels[name]
}

// String describes the mapping for logs: "10.10.0.40:8000 (fly→1, sl→2)".
func (g *GreenGO) String() string {
	var parts []string
	for name, n := range g.Channels {
		parts = append(parts, name+"→"+strconv.Itoa(n))
	}
	return g.Address + " (" + strings.Join(parts, ", ") + ")"
}
