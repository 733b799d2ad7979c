package mqttlink

import (
	"encoding/json"
	"errors"
	"github.com/cuelight/cuelight/cues"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// FuzzCommand feeds arbitrary payloads to the command parser and the
// validator: they must never panic, and what they accept must be a valid
// command that survives a round trip. Seeds: commandCases and
// testdata/fuzz/FuzzCommand/.
//
//	go test -run '^$' -fuzz FuzzCommand -fuzztime 2m ./internal/mqttlink/
func FuzzCommand(f *testing.F) {
	for _, tc := range commandCases {
		f.Add([]byte(tc.payload), false)
	}
	f.Fuzz(func(t *testing.T, payload []byte, retained bool) {
		c, err := ParseCommand(payload)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || Reason(err) == "" {
				t.Fatalf("ParseCommand error %v: not ErrMalformed or no reason", err)
			}
		} else {
			checkValid(t, c)
			b, merr := json.Marshal(c)
			if merr != nil {
				t.Fatalf("accepted command does not marshal: %v", merr)
			}
			back, perr := ParseCommand(b)
			if perr != nil {
				t.Fatalf("accepted command %s does not parse back: %v", b, perr)
			}
			if back.ID != c.ID || back.Cmd != c.Cmd || back.Label != c.Label || back.TS != c.TS || back.TTLMS != c.TTLMS {
				t.Fatalf("round trip changed %+v into %+v", c, back)
			}
		}

		// The validator, at the command's own send time when it has one.
		now := time.Date(2025, 3, 1, 20, 15, 4, 0, time.UTC)
		atSend := err == nil && !c.Sent().IsZero()
		if atSend {
			now = c.Sent()
		}
		v := newValidator(clockwork.NewFakeClockAt(now), 500*time.Millisecond)
		in := v.check("fly", "cuelight/channel/fly/cmd", payload, retained)
		if in.Rejected != (in.Err != nil) || in.Rejected != (in.Reason != "") {
			t.Fatalf("inconsistent Inbound %+v", in)
		}
		if retained && !errors.Is(in.Err, ErrRetained) {
			t.Fatalf("retained payload not rejected as retained: %+v", in)
		}
		if !retained && err != nil && !in.Rejected {
			t.Fatalf("parser said %v but the validator accepted it", err)
		}
		if !retained && atSend && in.Rejected {
			t.Fatalf("parser accepted it but the validator at its send time said %+v", in)
		}
		if !in.Rejected {
			checkValid(t, in.Cmd)
			if again := v.check("fly", "cuelight/channel/fly/cmd", payload, false); !errors.Is(again.Err, ErrDuplicate) {
				t.Fatalf("second delivery not a duplicate: %+v", again)
			}
		}
	})
}

func checkValid(t *testing.T, c Command) {
	t.Helper()
	switch {
	case c.ID == "" || len(c.ID) > MaxIDLen:
		t.Fatalf("accepted id %q", c.ID)
	case !isCommandVerb(c.Cmd) && c.Cmd != CmdHeartbeat && !(c.Cmd == CmdCallButton && c.Source == "web"):
		t.Fatalf("accepted cmd %q", c.Cmd)
	case cues.CheckLabel(c.Label) != nil:
		t.Fatalf("accepted label %q: %v", c.Label, cues.CheckLabel(c.Label))
	case c.Sent().IsZero() && c.TS != "0001-01-01T00:00:00Z":
		t.Fatalf("accepted ts %q", c.TS)
	case c.TTL() <= 0 || c.TTL() > MaxTTL:
		t.Fatalf("accepted ttl %v", c.TTL())
	case c.Cmd == "brightness" && (c.Value == nil || *c.Value <= 0 || *c.Value > 1):
		t.Fatalf("accepted brightness %v", c.Value)
	}
}
