package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// This file checks the stations: section.

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
			d.required(r.Line, path+".driver", "write driver: gpio for a Raspberry Pi, driver: sim for the simulated board, or driver: none for a booth machine without lamps")
		case r.Driver.Set && r.Driver.V != DriverGPIO && r.Driver.V != DriverSim && r.Driver.V != DriverNone:
			hint := "gpio, sim or none"
			if sug := suggest(r.Driver.V, []string{DriverGPIO, DriverSim, DriverNone}); sug != "" {
				hint = "did you mean " + sug + "?"
			}
			d.errf(r.Driver.Line, path+".driver", hint, "unknown driver %q", r.Driver.V)
		default:
			s.Driver = r.Driver.V
		}
		s.Gateway = r.Gateway.V
		s.Debounce = d.durationIn(r.Debounce, path+".debounce", DefaultDebounce, time.Millisecond, 500*time.Millisecond, false)
		s.MinBrightness = DefaultMinBrightness
		if b := r.MinBrightness; b.Set {
			s.MinBrightness = b.V
			if !(b.V > 0 && b.V <= 1) {
				d.errf(b.Line, path+".min_brightness", fmt.Sprintf("more than 0 and at most 1: a dark lamp must never mean GO; the default is %g", DefaultMinBrightness), "%g is out of range", b.V)
			}
		}
		if p := r.Record; p.Set {
			switch {
			case !filepath.IsAbs(p.V):
				d.errf(p.Line, path+".record", "write an absolute path, e.g. /var/lib/cuelight/showlog.db", "%q is not an absolute path", p.V)
			case strings.HasSuffix(p.V, "/"):
				d.errf(p.Line, path+".record", "write the database file's path, e.g. /var/lib/cuelight/showlog.db", "%q is a directory", p.V)
			default:
				s.Record = filepath.Clean(p.V)
			}
		}
		s.EscalateAfter = d.durationIn(r.EscalateAfter, path+".escalate_after", 0, MinEscalateAfter, MaxEscalateAfter, true)
		d.validateDevices(r, &s)
		c.Stations = append(c.Stations, s)
	}
}

func stationHint(name string, names []string) string {
	if s := suggest(name, names); s != "" {
		return "did you mean " + s + "?"
	}
	return "stations: " + strings.Join(names, ", ")
}
