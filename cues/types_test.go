package cues

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestStateNames(t *testing.T) {
	t.Parallel()
	want := map[State]string{StateOff: "off", StateStandby: "standby", StateAck: "ack", StateGo: "go", StateHold: "hold", StateLost: "lost"}
	for s, name := range want {
		if s.String() != name {
			t.Errorf("State(%d).String() = %q, want %q", s, s.String(), name)
		}
		got, err := ParseState(name)
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParseState("Go"); !errors.Is(err, ErrUnknownName) {
		t.Errorf("ParseState(Go) error %v, want ErrUnknownName", err)
	}
	if got := State(9).String(); got != "State(9)" {
		t.Errorf("State(9).String() = %q", got)
	}
	if _, err := State(9).MarshalText(); err == nil {
		t.Error("State(9).MarshalText succeeded")
	}
}

func TestVerbNames(t *testing.T) {
	t.Parallel()
	want := []string{"standby", "standby_ack", "go", "force_go", "off", "ack", "call", "brightness", "hold", "release",
		"go_cue", "heartbeat", "button_press", "button_release", "call_button", "button_stuck"}
	for i, name := range want {
		v := Verb(i + 1)
		if v.String() != name {
			t.Errorf("Verb(%d).String() = %q, want %q", v, v.String(), name)
		}
		got, err := ParseVerb(name)
		if err != nil || got != v {
			t.Errorf("ParseVerb(%q) = %v, %v", name, got, err)
		}
	}
	for _, bad := range []string{"", "GO", "standby-ack", "Verb(0)"} {
		if _, err := ParseVerb(bad); !errors.Is(err, ErrUnknownName) {
			t.Errorf("ParseVerb(%q) error %v, want ErrUnknownName", bad, err)
		}
	}
	if got := Verb(0).String(); got != "Verb(0)" {
		t.Errorf("Verb(0).String() = %q", got)
	}
	if _, err := Verb(0).MarshalText(); err == nil {
		t.Error("Verb(0).MarshalText succeeded")
	}
}

func TestSourceNames(t *testing.T) {
	t.Parallel()
	want := map[Source]string{SourceButton: "button", SourceOSC: "osc", SourceMQTT: "mqtt", SourceWeb: "web", SourceTimer: "timer"}
	for s, name := range want {
		if s.String() != name {
			t.Errorf("Source(%d).String() = %q, want %q", s, s.String(), name)
		}
		got, err := ParseSource(name)
		if err != nil || got != s {
			t.Errorf("ParseSource(%q) = %v, %v", name, got, err)
		}
	}
	if got := Source(0).String(); got != "unknown" {
		t.Errorf("Source(0).String() = %q, want unknown", got)
	}
	if _, err := ParseSource("unknown"); !errors.Is(err, ErrUnknownName) {
		t.Errorf("ParseSource(unknown) error %v, want ErrUnknownName", err)
	}
}

func TestRoleNames(t *testing.T) {
	t.Parallel()
	want := map[Role]string{StandbyLamp: "standby_lamp", GoLamp: "go_lamp", CallLamp: "call_lamp", CallOut: "call_out", 0: "Role(0)"}
	for r, name := range want {
		if r.String() != name {
			t.Errorf("Role(%d).String() = %q, want %q", r, r.String(), name)
		}
	}
}

// TestJSONNames checks that the types encode as their wire names, as the
// state and event JSON of docs/protocol.md §4 need, and decode back.
func TestJSONNames(t *testing.T) {
	t.Parallel()
	type doc struct {
		State  State  `json:"state"`
		Source Source `json:"source"`
		Verb   Verb   `json:"cmd"`
	}
	in := doc{StateAck, SourceButton, VerbStandbyAck}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"state":"ack","source":"button","cmd":"standby_ack"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("round trip %+v, %v; want %+v", out, err, in)
	}
	if err := json.Unmarshal([]byte(`{"cmd":"fire"}`), &out); !errors.Is(err, ErrUnknownName) {
		t.Errorf("unknown cmd: error %v, want ErrUnknownName", err)
	}
}

// TestParseCommandVerb checks the one verb table shared by OSC, MQTT and
// cuectl: the remote verbs parse, the engine's inner verbs do not.
func TestParseCommandVerb(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"standby", "standby_ack", "go", "force_go", "off", "ack", "call", "brightness", "hold", "release"} {
		v, err := ParseCommandVerb(name)
		if err != nil || v.String() != name {
			t.Errorf("ParseCommandVerb(%q) = %v, %v", name, v, err)
		}
		if got, want := v.IsChannelVerb(), name != "hold" && name != "release"; got != want {
			t.Errorf("%s.IsChannelVerb() = %v, want %v", name, got, want)
		}
	}
	for _, name := range []string{"", "go_cue", "heartbeat", "button_press", "button_release", "call_button", "button_stuck", "GO", "*go"} {
		if _, err := ParseCommandVerb(name); !errors.Is(err, ErrUnknownName) {
			t.Errorf("ParseCommandVerb(%q): err %v, want ErrUnknownName", name, err)
		}
	}
	for v := VerbStandby; v <= VerbButtonStuck; v++ {
		want := v == VerbStandby || v == VerbStandbyAck || v == VerbGo || v == VerbForceGo
		if v.TakesLabel() != want {
			t.Errorf("%s.TakesLabel() = %v, want %v", v, v.TakesLabel(), want)
		}
	}
}
