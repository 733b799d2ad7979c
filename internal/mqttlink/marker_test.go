package mqttlink

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// markerCases are the wire cases of <prefix>/show/marker (docs/mqtt.md),
// shared by the parser test and the fuzz seeds.
var markerCases = []struct {
	name, payload string
	err           string // "" = valid; else a substring of the error
}{
	{"start", `{"kind":"start","name":"Evening, 12 May","at":"2026-05-12T19:30:00.000Z","station":"booth","source":"osc","id":"m-1"}`, ""},
	{"act", `{"kind":"act","name":"Act 2","at":"2026-05-12T20:45:00.000Z","id":"m-2"}`, ""},
	{"interval without name", `{"kind":"interval","at":"2026-05-12T20:15:00Z","id":"m-3"}`, ""},
	{"end", `{"kind":"end","at":"2026-05-12T22:00:00.5Z","id":"m-4"}`, ""},
	{"check with result", `{"kind":"check","name":"4 of 4 positions acknowledged","passed":true,"at":"2026-05-12T19:00:00Z","id":"m-5"}`, ""},
	{"start without name", `{"kind":"start","at":"2026-05-12T19:30:00Z","id":"m"}`, "start needs a name"},
	{"unknown kind", `{"kind":"curtain","at":"2026-05-12T19:30:00Z","id":"m"}`, `unknown kind "curtain"`},
	{"no kind", `{"at":"2026-05-12T19:30:00Z","id":"m"}`, "missing kind"},
	{"no id", `{"kind":"end","at":"2026-05-12T19:30:00Z"}`, "missing id"},
	{"bad time", `{"kind":"end","at":"tonight","id":"m"}`, "not an RFC 3339 time"},
	{"control character", `{"kind":"act","name":"Act\u00071","at":"2026-05-12T19:30:00Z","id":"m"}`, "control character"},
	{"trailing data", `{"kind":"end","at":"2026-05-12T19:30:00Z","id":"m"} {}`, "data after"},
	{"not JSON", `curtain up`, "malformed marker"},
	{"name too long", `{"kind":"act","name":"` + strings.Repeat("x", MaxMarkerName+1) + `","at":"2026-05-12T19:30:00Z","id":"m"}`, "at most 512"},
}

func TestParseMarker(t *testing.T) {
	t.Parallel()
	for _, tc := range markerCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMarker([]byte(tc.payload))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("ParseMarker: %v", err)
			case tc.err != "" && (err == nil || !errors.Is(err, ErrBadMarker) || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("ParseMarker: %v, want ErrBadMarker with %q", err, tc.err)
			case err == nil:
				b, _ := json.Marshal(m)
				back, err := ParseMarker(b)
				if err != nil || back.Kind != m.Kind || back.Name != m.Name || back.ID != m.ID {
					t.Fatalf("round trip %s: %+v, %v", b, back, err)
				}
			}
		})
	}
	if got := (Topics{Prefix: "show1/"}).Marker(); got != "show1/show/marker" {
		t.Errorf("Marker topic %q", got)
	}
}

// FuzzMarker: the marker parser never panics, and what it accepts passes
// CheckMarker and survives a round trip.
//
//	go test -run '^$' -fuzz FuzzMarker -fuzztime 1m ./internal/mqttlink/
func FuzzMarker(f *testing.F) {
	for _, tc := range markerCases {
		f.Add([]byte(tc.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := ParseMarker(payload)
		if err != nil {
			if !errors.Is(err, ErrBadMarker) {
				t.Fatalf("error %v is not ErrBadMarker", err)
			}
			return
		}
		if err := CheckMarker(m); err != nil {
			t.Fatalf("accepted %q but CheckMarker says %v", payload, err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseMarker(b); err != nil {
			t.Fatalf("accepted marker %s does not parse back: %v", b, err)
		}
	})
}
