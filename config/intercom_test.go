package config

import (
	"testing"
	"time"
)

// docs/protocol.md §10: call_in, escalate_after and intercom.greengo.
func TestIntercomKeys(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
show: x
mqtt: {broker: "tcp://10.0.0.2:1883"}
stations:
  a: {driver: gpio, escalate_after: 15s}
  b: {driver: gpio}
channels:
  fly: {station: a, standby_lamp: GPIO17, call_in: GPIO26, escalate_after: 20s}
  sl: {station: a, standby_lamp: GPIO16, call_in: {pin: GPIO19, active_low: false}}
  sr: {station: b, standby_lamp: GPIO17}
  trap: {station: b, standby_lamp: GPIO16, escalate_after: 0s}
intercom:
  greengo:
    address: 10.10.0.40:8000
    channels: {fly: 1, sr: 6}
`)
	want := map[string]time.Duration{"fly": 20 * time.Second, "sl": 15 * time.Second, "sr": 0, "trap": 0}
	for name, d := range want {
		ch, _ := cfg.Channel(name)
		if ch.EscalateAfter != d {
			t.Errorf("channels.%s escalate_after = %v, want %v", name, ch.EscalateAfter, d)
		}
	}
	fly, _ := cfg.Channel("fly")
	if fly.CallIn.Name != "GPIO26" || !fly.CallIn.ActiveLow || fly.CallIn.Pull != PullUp {
		t.Errorf("fly call_in = %+v, want GPIO26 active-low with pull-up (a button's defaults)", fly.CallIn)
	}
	if last := fly.Pins()[len(fly.Pins())-1]; last.Role != RoleCallIn {
		t.Errorf("Pins() ends with %s, want call_in", last.Role)
	}
	sl, _ := cfg.Channel("sl")
	if sl.CallIn.ActiveLow || sl.CallIn.Pull != PullDown {
		t.Errorf("sl call_in = %+v, want active-high with pull-down", sl.CallIn)
	}
	g := cfg.Intercom.GreenGO
	if g == nil || g.Address != "10.10.0.40:8000" || g.GreenGOChannel("fly") != 1 || g.GreenGOChannel("sr") != 6 || g.GreenGOChannel("sl") != 0 {
		t.Errorf("greengo = %+v", g)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
}

func TestIntercomBad(t *testing.T) {
	t.Parallel()
	const head = `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, ack_button: GPIO22}
`
	cases := []struct{ name, yaml, want string }{
		{"greengo channel 0", head + `intercom: {greengo: {address: "10.0.0.1:8000", channels: {fly: 0}}}
`, "show.yaml:5: intercom.greengo.channels.fly: 0 is not a Green-GO channel (Green-GO's remote-control script accepts channels 1 to 6 only)"},
		{"greengo channel 7", head + `intercom:
  greengo:
    address: 10.0.0.1:8000
    channels:
      fly: 7
`, "show.yaml:9: intercom.greengo.channels.fly: 7 is not a Green-GO channel (Green-GO's remote-control script accepts channels 1 to 6 only)"},
		{"greengo channel not a number", head + `intercom:
  greengo:
    address: 10.0.0.1:8000
    channels: {fly: one}
`, "show.yaml:8: intercom.greengo.channels.fly: want a whole number, not \"one\" (write a whole number)"},
		{"greengo unknown channel", head + `intercom:
  greengo:
    address: 10.0.0.1:8000
    channels: {fyl: 1}
`, "show.yaml:8: intercom.greengo.channels.fyl: no channel named \"fyl\" (did you mean fly?)"},
		{"greengo bad address", head + `intercom:
  greengo:
    address: 10.0.0.1
    channels: {fly: 1}
`, "show.yaml:7: intercom.greengo.address: \"10.0.0.1\" is not host:port (write host:port, e.g. 10.10.0.40:8000)"},
		{"greengo port 0", head + `intercom:
  greengo:
    address: 10.0.0.1:0
    channels: {fly: 1}
`, "show.yaml:7: intercom.greengo.address: \"10.0.0.1:0\" has a bad port (ports are 1 to 65535)"},
		{"greengo without channels", head + `intercom:
  greengo:
    address: 10.0.0.1:8000
`, "show.yaml:6: intercom.greengo.channels: is required (write channels: {fly: 1}: which cue-light channel is which Green-GO channel)"},
		{"greengo unknown key", head + `intercom:
  greengo:
    adress: 10.0.0.1:8000
    channels: {fly: 1}
`, "show.yaml:7: intercom.greengo.adress: unknown key (did you mean address?)"},
		{"call_in pin used twice", `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, call_in: GPIO17}
`, "show.yaml:4: channels.fly.call_in: GPIO17 is already channels.fly.standby_lamp (line 4) (pick a free pin)"},
		{"escalate_after too short", `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lamp: GPIO17
    escalate_after: 500ms
`, "show.yaml:6: channels.fly.escalate_after: 500ms is outside 1s to 10m (the default is 0s)"},
		{"station escalate_after negative", `
show: x
stations:
  a:
    driver: gpio
    escalate_after: -1s
channels:
  fly: {standby_lamp: GPIO17}
`, "show.yaml:5: stations.a.escalate_after: -1s is negative (write a positive duration, e.g. 0s)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseString(t, tc.yaml)
			if err == nil {
				t.Fatalf("accepted; want %s", tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error text\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}
