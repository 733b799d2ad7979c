package config

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzParse: Parse never panics; every error is an *Error whose problems
// name the file and a line; every accepted file keeps the Config's
// invariants, and parsing it again gives an equal Config. Seeds: the files in
// testdata/fuzz/FuzzParse (reference.yaml, demo.yaml and bad ones) plus
// every good and bad configuration of the other tests.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"reference.yaml", "demo.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{specExample, minimal, twoStations} {
		f.Add([]byte(strings.TrimPrefix(s, "\n")))
	}
	for _, tc := range badConfigs {
		f.Add([]byte(strings.TrimPrefix(tc.yaml, "\n")))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error %T %v is not a *config.Error with problems", err, err)
			}
			for _, p := range ce.Problems {
				if p.Line < 1 || p.File != "fuzz.yaml" || p.Msg == "" {
					t.Fatalf("problem without line, file or message: %+v", p)
				}
			}
			_ = err.Error()
			return
		}
		checkInvariants(t, cfg)
		again, err := Parse(bytes.NewReader(data), "fuzz.yaml")
		if err != nil || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("a second Parse differs: %v\n%+v\n%+v", err, cfg, again)
		}
	})
}

// checkInvariants asserts what every accepted Config guarantees.
func checkInvariants(t *testing.T, c *Config) {
	t.Helper()
	if strings.TrimSpace(c.Show) == "" || len(c.Stations) == 0 || len(c.Channels) == 0 {
		t.Fatalf("accepted without show, stations or channels: %+v", c)
	}
	for _, w := range c.Warnings {
		if w.Line < 1 {
			t.Fatalf("warning without line: %+v", w)
		}
	}
	if c.MQTT.Embedded {
		if _, ok := c.Station(c.MQTT.EmbeddedStation); !ok {
			t.Fatalf("embedded broker on unknown station %q", c.MQTT.EmbeddedStation)
		}
		if !IsLoopback(c.MQTT.Listen) && len(c.MQTT.Users) == 0 {
			t.Fatalf("embedded broker on %s without users", c.MQTT.Listen)
		}
	}
	p := c.Patterns
	for _, d := range []time.Duration{p.Slow, p.Fast, p.WinkOn, p.WinkEvery, p.Alternate, p.DoubleEvery} {
		if d <= 0 {
			t.Fatalf("pattern timing not positive: %+v", p)
		}
	}
	pins := map[string]string{}
	for _, ch := range c.Channels {
		st, ok := c.Station(ch.Station)
		if !ok {
			t.Fatalf("channel %s on unknown station %q", ch.Name, ch.Station)
		}
		if !nameRE.MatchString(ch.Name) || ch.StandbyLamp.Name == "" || ch.GoHold <= 0 || ch.StuckAfter <= 0 || ch.CallHold <= 0 || st.Debounce <= 0 {
			t.Fatalf("bad channel accepted: %+v", ch)
		}
		if !(ch.Brightness > 0 && ch.Brightness <= 1) || ch.Brightness < st.MinBrightness {
			t.Fatalf("brightness %v accepted (min_brightness %v)", ch.Brightness, st.MinBrightness)
		}
		if !(st.MinBrightness > 0 && st.MinBrightness <= 1) {
			t.Fatalf("min_brightness %v accepted", st.MinBrightness)
		}
		for _, u := range ch.Pins() {
			key := st.Name + "/" + u.Pin.Name
			if prev, dup := pins[key]; dup {
				t.Fatalf("pin %s used twice: %s and %s.%s", key, prev, ch.Name, u.Role)
			}
			pins[key] = ch.Name + "." + u.Role
			if n, msg, _ := parsePinName(u.Pin.Name); msg != "" || n != u.Pin.Number {
				t.Fatalf("bad pin accepted: %+v", u)
			}
		}
	}
}
