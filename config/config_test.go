package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func parseString(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	return Parse(strings.NewReader(strings.TrimPrefix(yaml, "\n")), "show.yaml")
}

func mustParse(t *testing.T, yaml string) *Config {
	t.Helper()
	cfg, err := parseString(t, yaml)
	if err != nil {
		t.Fatalf("Parse: unexpected error:\n%v", err)
	}
	return cfg
}

func TestBadConfigs(t *testing.T) {
	t.Parallel()
	if len(badConfigs) < 25 {
		t.Fatalf("only %d bad configs; the brief asks for at least 25", len(badConfigs))
	}
	seen := map[string]bool{}
	for _, tc := range badConfigs {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseString(t, tc.yaml)
			if err == nil {
				t.Fatalf("Parse accepted it (%d channels); want:\n%s", len(cfg.Channels), tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error text\n got: %s\nwant: %s", got, tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is %T, want *config.Error", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
			for _, p := range ce.Problems {
				if p.Line < 1 || p.File != "show.yaml" {
					t.Errorf("problem without file or line: %+v", p)
				}
			}
		})
	}
}

// The example of docs/protocol.md §5, verbatim.
const specExample = `
show: Hamlet
mqtt:
  broker: embedded                      # or tcp://host:1883, ssl://host:8883, ws://...
  listen: 127.0.0.1:1883                # the embedded broker's listener
  topic_prefix: cuelight
  clock_skew: 500ms                     # tolerance when judging a command's ttl
osc:
  listen: 0.0.0.0:53100
  allow: [127.0.0.1/32, 10.10.0.0/24]   # default: 127.0.0.0/8 and ::1 only
  feedback: [10.10.0.5:53001]
  heartbeat_timeout: 0s                 # 0 = no booth heartbeat required
web: {listen: 127.0.0.1:8080}
consoles:
  eos: {cue_list: 1}                    # /eos/out/event/cue/1/<cue>/fire is a GO
patterns: {slow: 1s, fast: 250ms, wink_on: 150ms, wink_every: 2s, alternate: 500ms, double_every: 1s}
stations:
  sl-wing: {driver: gpio, min_brightness: 0.1}   # gpio (periph.io), sim, or none (a booth machine: no lamps)
channels:
  fly:
    station: sl-wing
    label: Fly rail
    standby_lamp: GPIO17
    go_lamp: GPIO27
    ack_button: GPIO22
    call_button: GPIO23                  # optional
    require_ack: true
    go_requires_ack: true
    go_hold: 3s
    stuck_after: 10s
    call_out: GPIO24                     # optional relay/opto to an intercom call input
    call_lamp: GPIO25                    # optional
    call_hold: 5s
  sl:
    station: sl-wing
    standby_lamp: GPIO16                 # one lamp only: GO shows as a fast flash
    ack_button: GPIO20
`

func TestSpecExample(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, specExample)
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	want := &Config{
		File: "show.yaml",
		Show: "Hamlet",
		MQTT: MQTT{
			Broker: "embedded", Embedded: true, EmbeddedStation: "sl-wing",
			Listen: "127.0.0.1:1883", TopicPrefix: "cuelight", ClockSkew: 500 * time.Millisecond,
			MaxClients: 64, MaxPacketSize: 65536,
		},
		OSC: OSC{
			Listen:   "0.0.0.0:53100",
			Allow:    []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.10.0.0/24")},
			Feedback: []netip.AddrPort{netip.MustParseAddrPort("10.10.0.5:53001")},
		},
		Web:      Web{Listen: "127.0.0.1:8080"},
		Consoles: Consoles{Eos: &Eos{CueList: "1"}},
		Patterns: Patterns{
			Slow: time.Second, Fast: 250 * time.Millisecond, WinkOn: 150 * time.Millisecond,
			WinkEvery: 2 * time.Second, Alternate: 500 * time.Millisecond, DoubleEvery: time.Second,
		},
		Report:   Report{LateAck: 10 * time.Second},
		Stations: []Station{{Name: "sl-wing", Driver: "gpio", Debounce: 20 * time.Millisecond, MinBrightness: 0.1, Line: 17}},
		Channels: []Channel{
			{
				Name: "fly", Station: "sl-wing", Label: "Fly rail",
				StandbyLamp: Pin{Name: "GPIO17", Number: 17, Line: 22},
				GoLamp:      Pin{Name: "GPIO27", Number: 27, Line: 23},
				CallLamp:    Pin{Name: "GPIO25", Number: 25, Line: 31},
				CallOut:     Pin{Name: "GPIO24", Number: 24, Line: 30},
				AckButton:   Pin{Name: "GPIO22", Number: 22, ActiveLow: true, Pull: PullUp, Line: 24},
				CallButton:  Pin{Name: "GPIO23", Number: 23, ActiveLow: true, Pull: PullUp, Line: 25},
				RequireAck:  true, GoRequiresAck: true,
				GoHold: 3 * time.Second, StuckAfter: 10 * time.Second, CallHold: 5 * time.Second,
				Brightness: 1, Line: 19,
			},
			{
				Name: "sl", Station: "sl-wing", Label: "sl",
				StandbyLamp: Pin{Name: "GPIO16", Number: 16, Line: 35},
				AckButton:   Pin{Name: "GPIO20", Number: 20, ActiveLow: true, Pull: PullUp, Line: 36},
				GoHold:      3 * time.Second, StuckAfter: 10 * time.Second, CallHold: 5 * time.Second,
				Brightness: 1, Line: 33,
			},
		},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Parse(protocol.md example)\n got: %+v\nwant: %+v", cfg, want)
	}
}

const minimal = `
show: Minimal
stations: {pi: {driver: gpio}}
channels:
  sl: {standby_lamp: GPIO16}
`

func TestMinimalDefaults(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, minimal)
	checks := []struct {
		name      string
		got, want any
	}{
		{"mqtt.broker", cfg.MQTT.Broker, "embedded"},
		{"mqtt.embedded", cfg.MQTT.Embedded, true},
		{"mqtt.embedded_station", cfg.MQTT.EmbeddedStation, "pi"},
		{"mqtt.listen", cfg.MQTT.Listen, "127.0.0.1:1883"},
		{"mqtt.topic_prefix", cfg.MQTT.TopicPrefix, "cuelight"},
		{"mqtt.clock_skew", cfg.MQTT.ClockSkew, 500 * time.Millisecond},
		{"mqtt.max_clients", cfg.MQTT.MaxClients, 64},
		{"mqtt.max_packet_size", cfg.MQTT.MaxPacketSize, 65536},
		{"osc.listen", cfg.OSC.Listen, "0.0.0.0:53100"},
		{"osc.allow", cfg.OSC.Allow, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}},
		{"osc.heartbeat_timeout", cfg.OSC.HeartbeatTimeout, time.Duration(0)},
		{"web.listen", cfg.Web.Listen, "127.0.0.1:8080"},
		{"consoles.eos", cfg.Consoles.Eos, (*Eos)(nil)},
		{"patterns", cfg.Patterns, DefaultPatterns()},
		{"stations.pi.debounce", cfg.Stations[0].Debounce, 20 * time.Millisecond},
		{"stations.pi.allow_boot_pins", cfg.Stations[0].AllowBootPins, false},
		{"stations.pi.min_brightness", cfg.Stations[0].MinBrightness, DefaultMinBrightness},
		{"channels.sl.station", cfg.Channels[0].Station, "pi"},
		{"channels.sl.label", cfg.Channels[0].Label, "sl"},
		{"channels.sl.go_hold", cfg.Channels[0].GoHold, 3 * time.Second},
		{"channels.sl.stuck_after", cfg.Channels[0].StuckAfter, 10 * time.Second},
		{"channels.sl.call_hold", cfg.Channels[0].CallHold, 5 * time.Second},
		{"channels.sl.brightness", cfg.Channels[0].Brightness, 1.0},
		{"channels.sl.go_lamp", cfg.Channels[0].GoLamp, Pin{}},
		{"channels.sl.standby_lamp", cfg.Channels[0].StandbyLamp, Pin{Name: "GPIO16", Number: 16, Line: 4}},
		{"broker plan", cfg.BrokerFor("pi"), BrokerPlan{RunEmbedded: true}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestReferenceParses(t *testing.T) {
	t.Parallel()
	cfg, err := Load("reference.yaml")
	if err != nil {
		t.Fatalf("reference.yaml: %v", err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("reference.yaml has warnings: %v", cfg.Warnings)
	}
	if len(cfg.Stations) != 2 || len(cfg.Channels) != 3 || len(cfg.MQTT.Users) != 3 {
		t.Errorf("reference.yaml: %d stations, %d channels, %d users; want 2, 3, 3", len(cfg.Stations), len(cfg.Channels), len(cfg.MQTT.Users))
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	cfg := Demo()
	if len(cfg.Warnings) != 0 {
		t.Errorf("demo warnings: %v", cfg.Warnings)
	}
	if cfg.Show != "cuelight demo" || len(cfg.Stations) != 1 || cfg.Stations[0].Name != "demo" || cfg.Stations[0].Driver != DriverSim {
		t.Errorf("demo show/station: %q %+v", cfg.Show, cfg.Stations)
	}
	if cfg.MQTT.Listen != "127.0.0.1:1883" || cfg.OSC.Listen != "127.0.0.1:53100" || cfg.Web.Listen != "127.0.0.1:8080" || !cfg.MQTT.Embedded {
		t.Errorf("demo listeners: mqtt %q (embedded %v), osc %q, web %q", cfg.MQTT.Listen, cfg.MQTT.Embedded, cfg.OSC.Listen, cfg.Web.Listen)
	}
	var names []string
	for _, ch := range cfg.Channels {
		names = append(names, ch.Name)
	}
	if want := []string{"fly", "sl", "sr", "trap"}; !slices.Equal(names, want) {
		t.Errorf("demo channels %v, want %v", names, want)
	}
	fly, _ := cfg.Channel("fly")
	pins := map[string]string{}
	for _, u := range fly.Pins() {
		pins[u.Role] = u.Pin.Name
	}
	wantPins := map[string]string{
		RoleStandbyLamp: "GPIO17", RoleGoLamp: "GPIO27", RoleAckButton: "GPIO22",
		RoleCallButton: "GPIO23", RoleCallOut: "GPIO24", RoleCallLamp: "GPIO25",
	}
	if !reflect.DeepEqual(pins, wantPins) || !fly.GoRequiresAck || !fly.RequireAck {
		t.Errorf("demo fly: pins %v, go_requires_ack %v, require_ack %v", pins, fly.GoRequiresAck, fly.RequireAck)
	}
	if Demo() == cfg {
		t.Error("Demo returns the same *Config twice; callers may not share it")
	}
	if name, err := cfg.PickStation("", "some-laptop"); err != nil || name != "demo" {
		t.Errorf("PickStation on the demo = %q, %v", name, err)
	}
}

func TestChannelOrderIsFileOrder(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
show: x
stations: {a: {driver: sim}}
channels:
  zeta: {standby_lamp: GPIO9}
  alpha: {standby_lamp: GPIO10}
  mid: {standby_lamp: GPIO11}
  beta: {standby_lamp: GPIO12}
`)
	var got []string
	for _, ch := range cfg.ChannelsOf("a") {
		got = append(got, ch.Name)
	}
	if want := []string{"zeta", "alpha", "mid", "beta"}; !slices.Equal(got, want) {
		t.Errorf("channel order %v, want %v", got, want)
	}
}

func TestPinForms(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lamp: GPIO17
    go_lamp: {pin: GPIO27, active_low: true}
    call_out: {pin: GPIO24}
    ack_button: GPIO22
    call_button: {pin: GPIO23, active_low: false}
  sl:
    standby_lamp: GPIO16
    ack_button: {pin: GPIO20, pull: none}
`)
	fly, _ := cfg.Channel("fly")
	sl, _ := cfg.Channel("sl")
	cases := []struct {
		name string
		got  Pin
		want Pin
	}{
		{"plain lamp is active-high", fly.StandbyLamp, Pin{Name: "GPIO17", Number: 17, Line: 5}},
		{"mapping lamp active_low", fly.GoLamp, Pin{Name: "GPIO27", Number: 27, ActiveLow: true, Line: 6}},
		{"mapping signal defaults active-high", fly.CallOut, Pin{Name: "GPIO24", Number: 24, Line: 7}},
		{"plain button is active-low with pull-up", fly.AckButton, Pin{Name: "GPIO22", Number: 22, ActiveLow: true, Pull: PullUp, Line: 8}},
		{"active-high button pulls down", fly.CallButton, Pin{Name: "GPIO23", Number: 23, Pull: PullDown, Line: 9}},
		{"pull none", sl.AckButton, Pin{Name: "GPIO20", Number: 20, ActiveLow: true, Pull: PullNone, Line: 12}},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, c.got, c.want)
		}
	}
	// An active-low output on a pin pulled low at boot is a warning.
	if len(cfg.Warnings) != 1 || cfg.Warnings[0].Key != "channels.fly.go_lamp" {
		t.Errorf("warnings %v, want one on channels.fly.go_lamp", cfg.Warnings)
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "boot pin allowed by the station",
			yaml: `
show: x
stations: {a: {driver: gpio, allow_boot_pins: true}}
channels:
  fly: {standby_lamp: GPIO5, ack_button: GPIO14}
`,
			want: []string{
				"show.yaml:4: channels.fly.standby_lamp: GPIO5 is pulled high while the Pi boots, so this active-high output is on until cuelightd starts (allowed by stations.a.allow_boot_pins)",
				"show.yaml:4: channels.fly.ack_button: GPIO14 is the serial console UART (TXD/RXD), which toggles while the Pi boots (allowed by stations.a.allow_boot_pins)",
			},
		},
		{
			name: "active-low lamp on a pulled-high pin is fine, a button there too",
			yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: {pin: GPIO5, active_low: true}, ack_button: GPIO6}
`,
		},
		{
			name: "tls check off",
			yaml: `
show: x
mqtt:
  broker: mqtts://broker.lan:8883
  tls: {insecure_skip_verify: true}
stations: {a: {driver: gpio}}
channels: {fly: {standby_lamp: GPIO17}}
`,
			want: []string{"show.yaml:4: mqtt.tls.insecure_skip_verify: the broker's certificate is not checked (set ca_file to the broker's CA instead)"},
		},
		{
			name: "allow with host bits and an empty feedback",
			yaml: `
show: x
osc: {allow: [10.10.0.5/24]}
stations: {a: {driver: gpio}}
channels: {fly: {standby_lamp: GPIO17}}
`,
			want: []string{"show.yaml:2: osc.allow[0]: 10.10.0.5/24 has host bits set; it means 10.10.0.0/24 (write 10.10.0.0/24 to say so)"},
		},
		{
			name: "go_requires_ack without a button or require_ack",
			yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lamp: GPIO17
    go_requires_ack: true
    require_ack: false
`,
			want: []string{
				"show.yaml:6: channels.fly.go_requires_ack: without an ack_button only a software ack can enable the GO (add an ack_button, or make sure the position acks from a phone or TouchOSC)",
				"show.yaml:7: channels.fly.require_ack: false with go_requires_ack: true: a plain standby asks for no ack, yet GO is refused until one comes (set require_ack: true so the lamp asks for the ack that GO waits for)",
			},
		},
		{
			name: "weak bcrypt cost",
			yaml: `
show: x
mqtt:
  listen: 0.0.0.0:1883
  users:
    qlab: {password_hash: "$2a$05$PPPo7yJ5ggD50wsMRMrWfOsPB8rkTiOCyRstAcr/sGO607IP..alC", role: booth}
stations: {a: {driver: gpio}}
channels: {fly: {standby_lamp: GPIO17}}
`,
			want: []string{"show.yaml:5: mqtt.users.qlab.password_hash: bcrypt cost 5 is weak (hash it again with cost 10 or more: htpasswd -nbBC 12 x PASSWORD | cut -d: -f2)"},
		},
		{
			name: "empty allow list drops everything",
			yaml: `
show: x
osc: {allow: []}
stations: {a: {driver: gpio}}
channels: {fly: {standby_lamp: GPIO17}}
`,
			want: []string{"show.yaml:2: osc.allow: is empty: every OSC datagram is dropped (list the booth's addresses, e.g. [10.10.0.0/24])"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, tc.yaml)
			var got []string
			for _, w := range cfg.Warnings {
				got = append(got, w.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("warnings\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

// twoStations is a show of two Pis sharing the embedded broker of one.
const twoStations = `
show: Two wings
mqtt:
  listen: 0.0.0.0:1883
  embedded_station: sl-wing
  embedded_url: tcp://10.10.0.2:1883
  username: station
  password: s3cret
  users:
    station: {password_hash: "$2a$12$P1UIQ7CQKGdRP..3rQbYDe/pQ1HA5/mxpA0HZdx6qx54RyTWJwn6.", role: station}
stations:
  sl-wing: {driver: gpio}
  sr-wing: {driver: gpio}
channels:
  fly: {station: sl-wing, standby_lamp: GPIO17}
  sr: {station: sr-wing, standby_lamp: GPIO17}
`

func TestTwoStations(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, twoStations)
	if got := cfg.BrokerFor("sl-wing"); !reflect.DeepEqual(got, BrokerPlan{RunEmbedded: true}) {
		t.Errorf("BrokerFor(sl-wing) = %+v", got)
	}
	if got := cfg.BrokerFor("sr-wing"); !reflect.DeepEqual(got, BrokerPlan{URL: "tcp://10.10.0.2:1883", URLs: []string{"tcp://10.10.0.2:1883"}}) {
		t.Errorf("BrokerFor(sr-wing) = %+v", got)
	}
	if n := len(cfg.ChannelsOf("sr-wing")); n != 1 {
		t.Errorf("ChannelsOf(sr-wing) has %d channels", n)
	}
	outside := mustParse(t, "show: x\nmqtt: {broker: \"ssl://b.lan:8883\"}\nstations: {a: {driver: sim}}\nchannels: {c: {standby_lamp: GPIO9}}\n")
	if got := outside.BrokerFor("a"); !reflect.DeepEqual(got, BrokerPlan{URL: "ssl://b.lan:8883", URLs: []string{"ssl://b.lan:8883"}}) {
		t.Errorf("BrokerFor with an outside broker = %+v", got)
	}
}

// TestBrokerList checks mqtt.broker as a list (docs/protocol.md §9): every
// URL in order, the first as Broker.
func TestBrokerList(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, "show: x\nmqtt: {broker: [\"tcp://10.0.0.1:1883\", \"tcp://10.0.0.2:1883\"]}\nstations: {a: {driver: sim}}\nchannels: {c: {standby_lamp: GPIO9}}\n")
	want := BrokerPlan{URL: "tcp://10.0.0.1:1883", URLs: []string{"tcp://10.0.0.1:1883", "tcp://10.0.0.2:1883"}}
	if got := cfg.BrokerFor("a"); !reflect.DeepEqual(got, want) {
		t.Errorf("BrokerFor = %+v, want %+v", got, want)
	}
	if cfg.MQTT.Broker != "tcp://10.0.0.1:1883" || len(cfg.MQTT.Brokers) != 2 {
		t.Errorf("MQTT %+v", cfg.MQTT)
	}
}

// TestGatewayStation checks a booth machine: driver none, gateway true,
// no channels of its own.
func TestGatewayStation(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `show: x
mqtt: {broker: "tcp://10.0.0.1:1883"}
stations:
  booth: {driver: none, gateway: true}
  wing: {driver: sim}
channels:
  fly: {station: wing, standby_lamp: GPIO17}
`)
	st, _ := cfg.Station("booth")
	if st.Driver != DriverNone || !st.Gateway {
		t.Errorf("booth = %+v, want driver none and gateway", st)
	}
	if n := len(cfg.ChannelsOf("booth")); n != 0 {
		t.Errorf("booth has %d channels", n)
	}
}

func TestPickStation(t *testing.T) {
	t.Parallel()
	two := mustParse(t, twoStations)
	one := mustParse(t, minimal)
	cases := []struct {
		name           string
		cfg            *Config
		flag, hostname string
		want, wantErr  string
	}{
		{"flag wins", two, "sr-wing", "sl-wing", "sr-wing", ""},
		{"host name", two, "", "sl-wing", "sl-wing", ""},
		{"host name with domain and case", two, "", "SR-Wing.local", "sr-wing", ""},
		{"only station", one, "", "laptop", "pi", ""},
		{"unknown flag", two, "booth", "sl-wing", "", `config: --station booth: show.yaml has no station named "booth" (stations: sl-wing, sr-wing)`},
		{"unknown flag with one station", one, "booth", "", "", `config: --station booth: show.yaml has no station named "booth" (stations: pi)`},
		{"no match", two, "", "laptop", "", `config: show.yaml has several stations and none is named like this host "laptop": start cuelightd with --station NAME (stations: sl-wing, sr-wing)`},
	}
	for _, c := range cases {
		got, err := c.cfg.PickStation(c.flag, c.hostname)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != c.want || gotErr != c.wantErr {
			t.Errorf("%s: PickStation(%q, %q) = %q, %q; want %q, %q", c.name, c.flag, c.hostname, got, gotErr, c.want, c.wantErr)
		}
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: &wing
    standby_lamp: GPIO17
    require_ack: true
    go_hold: 2s
  sl:
    <<: *wing
    standby_lamp: GPIO16
`)
	sl, _ := cfg.Channel("sl")
	if sl.StandbyLamp.Name != "GPIO16" || !sl.RequireAck || sl.GoHold != 2*time.Second {
		t.Errorf("merged channel: %+v", sl)
	}
	// A merged key that clashes with a pin of another channel is still
	// found, with the line where the anchor wrote it.
	_, err := parseString(t, `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: &wing
    standby_lamp: GPIO17
  sl:
    <<: *wing
`)
	want := "show.yaml:5: channels.sl.standby_lamp: GPIO17 is already channels.fly.standby_lamp (line 5) (pick a free pin)"
	if err == nil || err.Error() != want {
		t.Errorf("merge clash: got %v, want %s", err, want)
	}
}

func TestChannelNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ok   bool
	}{
		{"fly", true}, {"spot-1", true}, {"trap_room", true}, {"1", true},
		{strings.Repeat("a", 32), true}, {strings.Repeat("a", 33), false}, {"", false},
		{"Fly", false}, {"sl,sr", false}, {"s*", false}, {"a/b", false}, {"all", false}, {"heartbeat", false},
	}
	for _, c := range cases {
		d := &decoder{file: "show.yaml"}
		if got := d.checkName(1, "channels."+c.name, c.name, "channel"); got != c.ok || (len(d.probs) == 0) != c.ok {
			t.Errorf("checkName(%q) = %v (%v), want %v", c.name, got, d.probs, c.ok)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	cases := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "s.yaml", Line: 14, Key: "channels.fly.go_lamp", Msg: "bad", Hint: "fix"}, "s.yaml:14: channels.fly.go_lamp: bad (fix)"},
		{Problem{File: "s.yaml", Line: 3, Key: "show", Msg: "is empty"}, "s.yaml:3: show: is empty"},
		{Problem{File: "s.yaml", Line: 1, Msg: "the file is empty"}, "s.yaml:1: the file is empty"},
		{Problem{File: "s.yaml", Msg: "m"}, "s.yaml: m"},
	}
	for _, c := range cases {
		if got := c.p.Error(); got != c.want {
			t.Errorf("%+v.Error() = %q, want %q", c.p, got, c.want)
		}
	}
	e := &Error{Problems: []Problem{cases[0].p, cases[1].p}}
	if got, want := e.Error(), cases[0].want+"\n"+cases[1].want; got != want {
		t.Errorf("Error.Error() = %q, want %q", got, want)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("Load(missing) = %v; want fs.ErrNotExist and not ErrInvalid", err)
	}
	path := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(path, []byte("show: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	want := path + ":1: stations: is required (add stations: {NAME: {driver: gpio}}; NAME is usually the Pi's host name)\n" +
		path + ":1: channels: is required (add channels: {NAME: {standby_lamp: GPIO17}})"
	if err == nil || err.Error() != want {
		t.Errorf("Load(bad) = %v\nwant %s", err, want)
	}
	big := bytes.Repeat([]byte("# padding\n"), maxFileSize/10+1)
	if _, err := Parse(bytes.NewReader(big), "big.yaml"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Parse(big) = %v", err)
	}
}

func TestSummaryPlurals(t *testing.T) {
	t.Parallel()
	one := mustParse(t, `
show: Hamlet
stations: {a: {driver: sim}}
channels: {fly: {standby_lamp: GPIO17}}
`)
	if got, want := one.Summary(), `show "Hamlet", 1 station, 1 channel`; got != want {
		t.Errorf("Summary = %s, want %s", got, want)
	}
	two := mustParse(t, twoStations)
	if got := two.Summary(); !strings.HasSuffix(got, fmt.Sprintf(", 2 stations, %d channels", len(two.Channels))) {
		t.Errorf("Summary = %s", got)
	}
	for n, want := range map[int]string{0: "0 positions", 1: "1 position", 2: "2 positions"} {
		if got := Plural(n, "position"); got != want {
			t.Errorf("Plural(%d) = %s, want %s", n, got, want)
		}
	}
}
