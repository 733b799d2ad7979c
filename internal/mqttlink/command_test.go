package mqttlink

import (
	"errors"
	"fmt"
	"github.com/cuelight/cuelight/cues"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// t0 is "now" on the fake clock of the validator tests.
var t0 = time.Date(2025, 3, 1, 20, 15, 4, 250_000_000, time.UTC)

// cmdAt is a valid command payload sent at t with the given id and extra
// JSON fields.
func cmdAt(id, cmd string, t time.Time, extra string) string {
	return fmt.Sprintf(`{"id":%q,"cmd":%q,"ts":%q%s}`, id, cmd, FormatTime(t), extra)
}

// commandCases is the table of command payloads, valid and malformed,
// shared by the parser test, the validator test and the fuzz seeds.
var commandCases = []struct {
	name    string
	payload string
	want    Command // when valid
	reason  string  // substring of the reason when malformed; "" when valid
}{
	{"go with label", `{"id":"c1","cmd":"go","label":"23","ts":"2025-03-01T20:15:04.250Z","ttl_ms":2000}`,
		Command{ID: "c1", Cmd: "go", Label: "23", TS: "2025-03-01T20:15:04.250Z", TTLMS: 2000}, ""},
	{"forwarded by a gateway", `{"id":"c9","cmd":"go","label":"23","ts":"2025-03-01T20:15:04.250Z","via":"booth2"}`,
		Command{ID: "c9", Cmd: "go", Label: "23", TS: "2025-03-01T20:15:04.250Z", Via: "booth2"}, ""},
	{"via with a control character", `{"id":"c9","cmd":"go","label":"23","ts":"2025-03-01T20:15:04.250Z","via":"booth\u0007"}`,
		Command{}, "via must be a gateway station's name"},
	{"standby without ttl", `{"id":"c2","cmd":"standby","label":"LX 23.5","ts":"2025-03-01T20:15:04Z"}`,
		Command{ID: "c2", Cmd: "standby", Label: "LX 23.5", TS: "2025-03-01T20:15:04Z"}, ""},
	{"ts with offset and ns", `{"id":"c3","cmd":"off","ts":"2025-03-01T21:15:04.123456789+01:00"}`,
		Command{ID: "c3", Cmd: "off", TS: "2025-03-01T21:15:04.123456789+01:00"}, ""},
	{"brightness", `{"id":"c4","cmd":"brightness","value":0.5,"ts":"2025-03-01T20:15:04Z"}`,
		Command{ID: "c4", Cmd: "brightness", Value: ptr(0.5), TS: "2025-03-01T20:15:04Z"}, ""},
	{"brightness 0 and 1 are valid", `{"id":"c5","cmd":"brightness","value":1,"ts":"2025-03-01T20:15:04Z"}`,
		Command{ID: "c5", Cmd: "brightness", Value: ptr(1), TS: "2025-03-01T20:15:04Z"}, ""},
	{"value ignored on go", `{"id":"c6","cmd":"go","value":7,"ts":"2025-03-01T20:15:04Z"}`,
		Command{ID: "c6", Cmd: "go", Value: ptr(7), TS: "2025-03-01T20:15:04Z"}, ""},
	{"hold", `{"id":"c7","cmd":"hold","ts":"2025-03-01T20:15:04Z"}`, Command{ID: "c7", Cmd: "hold", TS: "2025-03-01T20:15:04Z"}, ""},
	{"whitespace around", " \n{\"id\":\"c8\",\"cmd\":\"ack\",\"ts\":\"2025-03-01T20:15:04Z\"}\n ", Command{ID: "c8", Cmd: "ack", TS: "2025-03-01T20:15:04Z"}, ""},
	{"unicode label", `{"id":"c9","cmd":"standby_ack","label":"Akt 2 – Szene 3","ts":"2025-03-01T20:15:04Z"}`,
		Command{ID: "c9", Cmd: "standby_ack", Label: "Akt 2 – Szene 3", TS: "2025-03-01T20:15:04Z"}, ""},

	{"empty", ``, Command{}, "empty payload"},
	{"not JSON", `go`, Command{}, "invalid JSON"},
	{"truncated JSON", `{"id":"x","cmd":"go"`, Command{}, "invalid JSON"},
	{"array", `["go"]`, Command{}, "must be a JSON object"},
	{"string", `"go"`, Command{}, "must be a JSON object"},
	{"null", `null`, Command{}, "missing id"},
	{"two objects", `{"id":"a","cmd":"go","ts":"2025-03-01T20:15:04Z"}{"id":"b"}`, Command{}, "data after the JSON object"},
	{"missing id", `{"cmd":"go","ts":"2025-03-01T20:15:04Z"}`, Command{}, "missing id"},
	{"empty id", `{"id":"","cmd":"go","ts":"2025-03-01T20:15:04Z"}`, Command{}, "missing id"},
	{"id too long", `{"id":"` + strings.Repeat("x", MaxIDLen+1) + `","cmd":"go","ts":"2025-03-01T20:15:04Z"}`, Command{}, "id longer than"},
	{"id with control characters", `{"id":"a\u0000b","cmd":"go","ts":"2025-03-01T20:15:04Z"}`, Command{}, "control characters"},
	{"numeric id", `{"id":7,"cmd":"go","ts":"2025-03-01T20:15:04Z"}`, Command{}, "id must be a string, not number"},
	{"missing cmd", `{"id":"a","ts":"2025-03-01T20:15:04Z"}`, Command{}, "missing cmd"},
	{"unknown cmd", `{"id":"a","cmd":"fire","ts":"2025-03-01T20:15:04Z"}`, Command{}, `unknown cmd "fire"`},
	{"cmd in capitals", `{"id":"a","cmd":"GO","ts":"2025-03-01T20:15:04Z"}`, Command{}, `unknown cmd "GO"`},
	{"numeric label", `{"id":"a","cmd":"go","label":23,"ts":"2025-03-01T20:15:04Z"}`, Command{}, "label must be a string, not number"},
	{"label too long", `{"id":"a","cmd":"go","label":"` + strings.Repeat("y", cues.MaxLabelBytes+1) + `","ts":"2025-03-01T20:15:04Z"}`, Command{}, "bad label: cue label is 65 bytes long"},
	{"label with a control character", `{"id":"a","cmd":"go","label":"2\u00073","ts":"2025-03-01T20:15:04Z"}`, Command{}, "bad label: cue label contains the control character U+0007"},
	{"unknown source", `{"id":"a","cmd":"go","source":"osc","ts":"2025-03-01T20:15:04Z"}`, Command{}, `source "osc": use mqtt or web`},
	{"call_button not from the web", `{"id":"a","cmd":"call_button","ts":"2025-03-01T20:15:04Z"}`, Command{}, "call_button comes from a wing page only"},
	{"an inner verb is not a command", `{"id":"a","cmd":"go_cue","ts":"2025-03-01T20:15:04Z"}`, Command{}, `unknown cmd "go_cue"`},
	{"brightness 0", `{"id":"a","cmd":"brightness","value":0,"ts":"2025-03-01T20:15:04Z"}`, Command{}, "brightness 0 out of range: above 0.0"},
	{"unknown field", `{"id":"a","cmd":"go","lable":"23","ts":"2025-03-01T20:15:04Z"}`, Command{}, `unknown field "lable"`},
	{"missing ts", `{"id":"a","cmd":"go"}`, Command{}, "missing ts"},
	{"ts not RFC 3339", `{"id":"a","cmd":"go","ts":"yesterday"}`, Command{}, `ts "yesterday" is not RFC 3339`},
	{"ts as unix seconds", `{"id":"a","cmd":"go","ts":1740860104}`, Command{}, "ts must be a string, not number"},
	{"negative ttl", `{"id":"a","cmd":"go","ts":"2025-03-01T20:15:04Z","ttl_ms":-1}`, Command{}, "ttl_ms -1 out of range"},
	{"ttl beyond the duplicate window", `{"id":"a","cmd":"go","ts":"2025-03-01T20:15:04Z","ttl_ms":600001}`, Command{}, "ttl_ms 600001 out of range"},
	{"fractional ttl", `{"id":"a","cmd":"go","ts":"2025-03-01T20:15:04Z","ttl_ms":1.5}`, Command{}, "ttl_ms must be an integer, not number 1.5"},
	{"brightness without value", `{"id":"a","cmd":"brightness","ts":"2025-03-01T20:15:04Z"}`, Command{}, "brightness needs a value"},
	{"brightness above 1", `{"id":"a","cmd":"brightness","value":1.5,"ts":"2025-03-01T20:15:04Z"}`, Command{}, "brightness 1.5 out of range"},
	{"brightness below 0", `{"id":"a","cmd":"brightness","value":-0.1,"ts":"2025-03-01T20:15:04Z"}`, Command{}, "out of range"},
	{"brightness as string", `{"id":"a","cmd":"brightness","value":"0.5","ts":"2025-03-01T20:15:04Z"}`, Command{}, "value must be a number, not string"},
	{"too large", `{"id":"a","cmd":"go","ts":"2025-03-01T20:15:04Z","label":"` + strings.Repeat("z", MaxCommandSize) + `"}`, Command{}, "at most 4096"},
}

func ptr(f float64) *float64 { return &f }

func TestParseCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range commandCases {
		got, err := ParseCommand([]byte(tc.payload))
		if tc.reason == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", tc.name, err)
				continue
			}
			if got.ID != tc.want.ID || got.Cmd != tc.want.Cmd || got.Label != tc.want.Label || got.TS != tc.want.TS ||
				got.TTLMS != tc.want.TTLMS || got.Via != tc.want.Via || (got.Value == nil) != (tc.want.Value == nil) || (got.Value != nil && *got.Value != *tc.want.Value) {
				t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
			}
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", tc.name, err)
			continue
		}
		if r := Reason(err); !strings.Contains(r, tc.reason) {
			t.Errorf("%s: reason %q does not contain %q", tc.name, r, tc.reason)
		}
	}
}

func TestCommandTTLAndSent(t *testing.T) {
	t.Parallel()
	if got := (Command{}).TTL(); got != 2*time.Second {
		t.Errorf("default TTL = %v", got)
	}
	if got := (Command{TTLMS: 750}).TTL(); got != 750*time.Millisecond {
		t.Errorf("TTL(750) = %v", got)
	}
	if got := (Command{TS: "2025-03-01T21:15:04.250+01:00"}).Sent(); !got.Equal(t0) {
		t.Errorf("Sent = %v, want %v", got, t0)
	}
}

func TestValidator(t *testing.T) {
	t.Parallel()
	const skew = 500 * time.Millisecond
	type step struct {
		advance  time.Duration // fake clock moves first
		payload  string
		retained bool
		channel  string
		kind     error  // nil: accepted
		reason   string // exact reason when rejected
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"fresh command accepted", []step{
			{payload: cmdAt("a", "go", t0, `,"label":"23"`)},
		}},
		{"retained command rejected even when fresh", []step{
			{payload: cmdAt("a", "go", t0, ""), retained: true, kind: ErrRetained, reason: "retained command ignored: commands must not be retained"},
			// and it does not use up the id
			{payload: cmdAt("a", "go", t0, "")},
		}},
		{"retained garbage is reported as retained", []step{
			{payload: `nonsense`, retained: true, kind: ErrRetained, reason: "retained command ignored: commands must not be retained"},
		}},
		{"duplicate id within 10 minutes", []step{
			{payload: cmdAt("a", "go", t0, "")},
			{advance: time.Second, payload: cmdAt("a", "go", t0.Add(time.Second), ""), kind: ErrDuplicate, reason: "duplicate command id"},
			{advance: DuplicateWindow - time.Second, payload: cmdAt("a", "standby", t0.Add(DuplicateWindow), ""), kind: ErrDuplicate, reason: "duplicate command id"},
		}},
		{"same id accepted again after 10 minutes", []step{
			{payload: cmdAt("a", "go", t0, "")},
			{advance: DuplicateWindow + time.Millisecond, payload: cmdAt("a", "go", t0.Add(DuplicateWindow+time.Millisecond), "")},
		}},
		{"stale by the default ttl", []step{
			{payload: cmdAt("a", "go", t0.Add(-3200*time.Millisecond), ""), kind: ErrStale, reason: "stale: sent 3.2 s ago, ttl 2 s"},
		}},
		{"stale by its own ttl", []step{
			{payload: cmdAt("a", "go", t0.Add(-1600*time.Millisecond), `,"ttl_ms":1000`), kind: ErrStale, reason: "stale: sent 1.6 s ago, ttl 1 s"},
		}},
		{"age exactly ttl plus skew is accepted", []step{
			{payload: cmdAt("a", "go", t0.Add(-2*time.Second-skew), "")},
		}},
		{"age one ms beyond ttl plus skew is stale", []step{
			{payload: cmdAt("a", "go", t0.Add(-2*time.Second-skew-time.Millisecond), ""), kind: ErrStale, reason: "stale: sent 2.5 s ago, ttl 2 s"},
		}},
		{"ahead by exactly the skew is accepted", []step{
			{payload: cmdAt("a", "go", t0.Add(skew), "")},
		}},
		{"ahead beyond the skew is from the future", []step{
			{payload: cmdAt("a", "go", t0.Add(skew+time.Millisecond), ""), kind: ErrFuture, reason: "from the future: sent 0.5 s ahead of this station's clock (allowed skew 0.5 s)"},
			{payload: cmdAt("b", "go", t0.Add(time.Hour), ""), kind: ErrFuture, reason: "from the future: sent 3600 s ahead of this station's clock (allowed skew 0.5 s)"},
		}},
		{"a stale command does not use up its id", []step{
			{payload: cmdAt("a", "go", t0.Add(-time.Minute), ""), kind: ErrStale, reason: "stale: sent 60 s ago, ttl 2 s"},
			{payload: cmdAt("a", "go", t0, "")},
		}},
		{"malformed payloads are rejected with their reason", []step{
			{payload: `{"id":"a","cmd":"fire","ts":"2025-03-01T20:15:04Z"}`, kind: ErrMalformed, reason: `unknown cmd "fire"`},
			{payload: `{"cmd":"go","ts":"2025-03-01T20:15:04Z"}`, kind: ErrMalformed, reason: "malformed command: missing id"},
			{payload: `{`, kind: ErrMalformed, reason: "malformed command: invalid JSON"},
			{payload: cmdAt("b", "brightness", t0, `,"value":2`), kind: ErrMalformed, reason: "bad value: brightness 2 out of range: above 0.0 up to 1.0 (a dark lamp must never mean GO)"},
		}},
		{"all/cmd has no channel", []step{
			{payload: cmdAt("a", "hold", t0, ""), channel: ""},
			{payload: cmdAt("b", "go", t0, ""), channel: "fly"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := clockwork.NewFakeClockAt(t0)
			v := newValidator(clk, skew)
			for i, s := range tc.steps {
				clk.Advance(s.advance)
				in := v.check(s.channel, "cuelight/channel/fly/cmd", []byte(s.payload), s.retained)
				if in.Channel != s.channel {
					t.Errorf("step %d: Channel %q, want %q", i, in.Channel, s.channel)
				}
				if s.kind == nil {
					if in.Rejected || in.Err != nil || in.Reason != "" {
						t.Errorf("step %d: rejected (%s), want accepted", i, in.Reason)
					}
					continue
				}
				if !in.Rejected || !errors.Is(in.Err, s.kind) || in.Reason != s.reason {
					t.Errorf("step %d: Rejected=%v Err=%v Reason=%q; want %v %q", i, in.Rejected, in.Err, in.Reason, s.kind, s.reason)
				}
			}
		})
	}
}

// The rejected command still carries its id, so that the station's
// "rejected" event can name it.
func TestRejectedCommandKeepsItsID(t *testing.T) {
	t.Parallel()
	v := newValidator(clockwork.NewFakeClockAt(t0), 0)
	for _, tc := range []struct {
		name     string
		payload  string
		retained bool
	}{
		{"retained", cmdAt("keep-me", "go", t0, ""), true},
		{"stale", cmdAt("keep-me", "go", t0.Add(-time.Hour), ""), false},
		{"unknown cmd", `{"id":"keep-me","cmd":"fire","ts":"2025-03-01T20:15:04Z"}`, false},
	} {
		in := v.check("fly", "t", []byte(tc.payload), tc.retained)
		if !in.Rejected || in.Cmd.ID != "keep-me" {
			t.Errorf("%s: Rejected=%v id=%q", tc.name, in.Rejected, in.Cmd.ID)
		}
	}
}

// The duplicate-id memory stays bounded however many commands arrive.
func TestValidatorMemoryIsBounded(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(t0)
	v := newValidator(clk, 0)
	const max = 256 // production: maxSeenIDs
	v.max = max
	for i := range max + 100 {
		if in := v.check("fly", "t", []byte(cmdAt(fmt.Sprint("id-", i), "go", t0, "")), false); in.Rejected {
			t.Fatalf("command %d rejected: %s", i, in.Reason)
		}
	}
	if n := v.remembered(); n != max {
		t.Fatalf("remembers %d ids, want at most %d", n, max)
	}
	// The newest are still remembered, the oldest were forgotten.
	if in := v.check("fly", "t", []byte(cmdAt(fmt.Sprint("id-", max+99), "go", t0, "")), false); !errors.Is(in.Err, ErrDuplicate) {
		t.Errorf("newest id not remembered: %+v", in)
	}
	if in := v.check("fly", "t", []byte(cmdAt("id-0", "go", t0, "")), false); in.Rejected {
		t.Errorf("oldest id still remembered beyond the bound: %s", in.Reason)
	}
	// After the window everything is forgotten.
	clk.Advance(DuplicateWindow + time.Second)
	v.mu.Lock()
	v.expire(clk.Now())
	v.mu.Unlock()
	if n := v.remembered(); n != 0 {
		t.Fatalf("remembers %d ids after the window", n)
	}
}
