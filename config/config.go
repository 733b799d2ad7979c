// Package config reads and validates a cuelight show file (docs/protocol.md §5).
//
// One YAML file describes a whole show; every station reads the same file
// and picks its own part with PickStation. Parse is strict: unknown keys,
// wrong types, duplicate channels, a pin used twice, unknown pin names,
// reserved channel names and many more mistakes are errors that name the
// file, the line and the dotted key, with a hint how to fix them:
//
//	show.yaml:14: channels.sl.standby_lamp: GPIO17 is already channels.fly.go_lamp (line 11) (pick a free pin)
//
// Every problem in the file is reported at once (*Error). A valid file
// yields a *Config with every default applied, durations as time.Duration
// and addresses parsed. A Config is never modified after Parse returns:
// treat it as read-only and share it by pointer.
//
// config/reference.yaml documents every key; docs/configuration.md is the
// user guide.
package config

import (
	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"

	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is a validated show file. Every default is applied.
type Config struct {
	File     string    // the file name given to Parse (used in messages)
	Show     string    // the production's name, never empty
	MQTT     MQTT      // the broker and the link to it
	OSC      OSC       // the OSC listener
	Web      Web       // the web listener (sim board API, health check)
	Consoles Consoles  // lighting-console integrations
	Patterns Patterns  // lamp pattern timings
	Report   Report    // the performance report
	Stations []Station // in file order, at least one
	Channels []Channel // in file order, at least one
	Intercom Intercom  // intercom integrations (docs/protocol.md §10)

	// Warnings are findings that do not stop the show (a boot pin allowed
	// with allow_boot_pins, a TLS check turned off, ...). Each prints in
	// the same FILE:LINE: key: message form as an error.
	Warnings []Problem
}

// Report is the report: section (docs/report.md).
type Report struct {
	// LateAck: an ack that took longer is flagged late in the report
	// (default DefaultLateAck).
	LateAck time.Duration
}

// Broker values.
const (
	// BrokerEmbedded is the mqtt.broker value that runs the broker inside
	// a station.
	BrokerEmbedded = "embedded"
)

// MQTT is the mqtt: section (docs/protocol.md §4).
type MQTT struct {
	// Broker is "embedded" or the outside broker's URL as written
	// (tcp://, mqtt://, ssl://, mqtts://, ws://, wss://).
	Broker string
	// Brokers are every outside broker URL when mqtt.broker is a list
	// (Broker is the first); nil when one broker is given.
	Brokers []string
	// Embedded is Broker == "embedded".
	Embedded bool
	// EmbeddedStation is the station that runs the embedded broker: the
	// only station, or mqtt.embedded_station. Empty with an outside broker.
	EmbeddedStation string
	// EmbeddedURL is the URL the other stations use to reach the embedded
	// broker (mqtt.embedded_url, a tcp:// or mqtt:// URL). Empty when the
	// show has one station or uses an outside broker. See BrokerFor.
	EmbeddedURL string
	// Listen is the embedded broker's TCP listener, host:port (default
	// 127.0.0.1:1883).
	Listen string
	// TopicPrefix starts every topic (default "cuelight").
	TopicPrefix string
	// ClockSkew is the tolerance when judging a command's ttl_ms (default
	// 500ms).
	ClockSkew time.Duration
	// Username and Password are the credentials a station uses to connect
	// to an outside broker, or to the embedded broker of another station.
	// Both empty: connect anonymously.
	Username, Password string
	// TLS is for an outside broker reached over ssl://, mqtts:// or wss://.
	TLS TLS
	// Users may connect to the embedded broker from off loopback, in file
	// order. Required when Listen is not a loopback address.
	Users []User
	// MaxClients limits the embedded broker's concurrent connections
	// (default 64).
	MaxClients int
	// MaxPacketSize limits one MQTT packet at the embedded broker, in
	// bytes (default 65536).
	MaxPacketSize int
}

// TLS holds client TLS settings for an outside broker. File names are
// absolute paths. All empty and false: the system roots, no client
// certificate.
type TLS struct {
	CAFile   string // PEM bundle of CAs to trust instead of the system roots
	CertFile string // PEM client certificate; set together with KeyFile
	KeyFile  string // PEM private key of CertFile
	// InsecureSkipVerify turns off checking the broker's certificate. A
	// warning is reported when it is set.
	InsecureSkipVerify bool
}

// Roles a User of the embedded broker may have (the broker enforces them).
const (
	// RoleStation may publish commands and a station's own topics
	// (<p>/station/#, <p>/channel/+/state, <p>/channel/+/event) and read
	// everything: another cuelightd connecting to this broker.
	RoleStation = "station"
	// RoleBooth may publish commands (<p>/channel/+/cmd, <p>/all/cmd) and
	// read everything: QLab, Companion, cuectl.
	RoleBooth = "booth"
	// RoleViewer may only read: dashboards, loggers, mosquitto_sub.
	RoleViewer = "viewer"
)

// User is one account of the embedded broker.
type User struct {
	Name string
	// PasswordHash is a bcrypt hash ($2a$, $2b$ or $2y$). The broker
	// compares with bcrypt; the plain password is never in the file.
	PasswordHash string
	// Role is RoleStation, RoleBooth or RoleViewer.
	Role string
	Line int // line of the user's key in the file
}

// OSC is the osc: section (docs/protocol.md §3).
type OSC struct {
	// Listen is the UDP and TCP listen address (default 0.0.0.0:53100).
	Listen string
	// Allow lists the source networks whose datagrams are parsed; all
	// others are dropped and counted. Default 127.0.0.0/8 and ::1/128.
	// A bare address in the file is a /32 or /128. Empty (allow: []) drops
	// everything.
	Allow []netip.Prefix
	// Feedback receives /cuelight/state/... after every change.
	Feedback []netip.AddrPort
	// HeartbeatTimeout is the booth link timeout (docs/protocol.md §6.3); 0 (the
	// default) means no heartbeat is required.
	HeartbeatTimeout time.Duration
}

// Web is the web: section.
type Web struct {
	// Listen is the HTTP listen address (default 127.0.0.1:8080).
	Listen string
	// Users may log in to the desk and wing pages (docs/web.md). A
	// listen address beyond loopback requires at least one.
	Users []WebUser
	// DeskGo shows the cue GO control on the desk page for role sm
	// (default false: GO comes from the booth only).
	DeskGo bool
}

// Roles of web.users.
const (
	WebRoleViewer = "viewer" // sees the pages, sends nothing
	WebRoleCrew   = "crew"   // ACK and CALL on its channels
	WebRoleSM     = "sm"     // every control of the desk
)

// WebUser is one account of the web pages.
type WebUser struct {
	Name         string
	PasswordHash string   // bcrypt ($2a$, $2b$ or $2y$)
	Role         string   // WebRoleViewer, WebRoleCrew or WebRoleSM
	Channels     []string // role crew: the channels it may ACK and CALL
	Line         int      // line of the user's key in the file
}

// Consoles is the consoles: section.
type Consoles struct {
	Eos *Eos // nil unless consoles.eos is configured
}

// Eos configures ETC Eos integration: /eos/out/event/cue/<list>/<cue>/fire
// is a GO for channels standing by for <cue>.
type Eos struct {
	// CueList is the cue list number as written in the file ("1"); it is
	// kept as text and compared as text.
	CueList string
}

// Patterns are the lamp pattern timings (docs/protocol.md §2). Each is positive.
type Patterns = cues.Patterns

// Drivers a Station may use.
const (
	DriverGPIO = "gpio" // Raspberry Pi header pins through periph.io
	DriverSim  = "sim"  // the simulated board (docs/protocol.md §7)
	DriverNone = "none" // no lamps at all: a booth machine or a laptop running a gateway
)

// Station is one cuelightd process (normally one Pi).
type Station struct {
	Name   string
	Driver string // DriverGPIO, DriverSim or DriverNone
	// Gateway makes the station accept OSC for every channel of the show,
	// forwarding commands for other stations' channels as MQTT commands
	// and relaying every channel's state as OSC feedback
	// (docs/protocol.md §9).
	Gateway bool
	// AllowBootPins accepts pins that are pulled high or toggle while a
	// Raspberry Pi boots (GPIO0–8, GPIO14, GPIO15); each use is a warning.
	AllowBootPins bool
	// Debounce is how long a button must be stable (default 20ms).
	Debounce time.Duration
	// MinBrightness is the lowest level any lamp of the station shows a
	// state at, in (0, 1] (default DefaultMinBrightness): a brightness
	// command or a channel's brightness never dims a lamp below it, so a
	// lit lamp is always visible and a dark lamp never means GO.
	MinBrightness float64
	// EscalateAfter is the station's default for its channels'
	// escalate_after (0: no escalation).
	EscalateAfter time.Duration
	// Record is the show log's path when this station records the whole
	// show (docs/report.md); "" when it does not.
	Record string
	// Devices are the station's add-on boards on I²C and SPI
	// (docs/protocol.md §11); their pins are named "<device>:<n>".
	Devices []Device
	// Colors are the colours the show gives an RGB lamp per state
	// ("standby", "ack", "go", "hold", "lost") and for the call lamp
	// ("call"); nil when none. Color fills in the defaults.
	Colors map[string]drivers.RGB
	Line   int // line of the station's key in the file
}

// Pull is the bias of a button input.
type Pull = string

// Pull values of Pin.Pull.
const (
	PullUp   Pull = "up"   // internal pull-up: the default for active-low buttons
	PullDown Pull = "down" // internal pull-down: the default for active-high buttons
	PullNone Pull = "none" // no internal bias: the circuit has its own resistor
)

// Pin is one GPIO pin of a channel. The zero Pin (Name "") means the
// channel does not use that role.
type Pin struct {
	// Name is the BCM pin name, "GPIO0" to "GPIO27".
	Name string
	// Number is the BCM GPIO number (17 for GPIO17), which is also the line
	// offset on the Raspberry Pi's header GPIO chip.
	Number int
	// ActiveLow means the pin is low on the wire when the lamp is lit,
	// the signal driven or the button pressed. Default: false for lamps
	// and call_out, true for buttons (wired to ground, internal pull-up).
	ActiveLow bool
	// Pull is the bias of a button: PullUp, PullDown or PullNone; "" for
	// outputs. Default: up when active-low, down when active-high.
	Pull Pull
	// Line is the line in the file where the pin is given.
	Line int
}

// Roles of a pin within a channel; they are the config keys (docs/protocol.md §5),
// defined once in drivers.
const (
	RoleStandbyLamp = drivers.RoleStandbyLamp
	RoleGoLamp      = drivers.RoleGoLamp
	RoleCallLamp    = drivers.RoleCallLamp
	RoleCallOut     = drivers.RoleCallOut
	RoleAckButton   = drivers.RoleAckButton
	RoleCallButton  = drivers.RoleCallButton
	RoleCallIn      = drivers.RoleCallIn // an input from an intercom's call signal (docs/protocol.md §10)
)

// PinUse is one pin of a channel with its role.
type PinUse struct {
	Role string // RoleStandbyLamp, ...
	Pin  Pin
}

// Channel is one cue position.
type Channel struct {
	Name    string // a-z 0-9 - _, 1–32 characters, not reserved
	Station string // the station that owns the channel's hardware
	Label   string // human name (default: Name)

	StandbyLamp Pin // always set
	GoLamp      Pin // optional: without it GO is a fast flash of StandbyLamp
	CallLamp    Pin // optional
	CallOut     Pin // optional: relay/opto to an intercom call input
	AckButton   Pin // optional
	CallButton  Pin // optional
	CallIn      Pin // optional: opto input from an intercom's call signal, debounced like a button

	RequireAck    bool          // every standby asks for an ack
	GoRequiresAck bool          // a GO before the ack is refused (force_go overrides)
	GoHold        time.Duration // how long GO shows (default 3s)
	StuckAfter    time.Duration // a button held this long is a fault (default 10s)
	CallHold      time.Duration // how long a call drives call_out and call_lamp (default 5s)
	// EscalateAfter is how long a standby with an ack requested may wait
	// for the ack before the station calls the position (docs/protocol.md
	// §10): the channel's escalate_after, else its station's; 0: never.
	EscalateAfter time.Duration
	// Brightness is the lamp level until a brightness command changes it,
	// in (0, 1] and not below its station's MinBrightness (default 1).
	Brightness float64
	Line       int // line of the channel's key in the file
}

// Pins returns the channel's pins that are set, in the order standby_lamp,
// go_lamp, call_lamp, call_out, ack_button, call_button, call_in.
func (c Channel) Pins() []PinUse {
	all := []PinUse{
		{RoleStandbyLamp, c.StandbyLamp},
		{RoleGoLamp, c.GoLamp},
		{RoleCallLamp, c.CallLamp},
		{RoleCallOut, c.CallOut},
		{RoleAckButton, c.AckButton},
		{RoleCallButton, c.CallButton},
		{RoleCallIn, c.CallIn},
	}
	return slices.DeleteFunc(all, func(u PinUse) bool { return u.Pin.Name == "" })
}

// Summary describes the show in one line, as check-config prints it
// after "FILE: valid: ": `show "Hamlet", 1 station, 2 channels`.
func (c *Config) Summary() string {
	return fmt.Sprintf("show %q, %s, %s", c.Show, Plural(len(c.Stations), "station"), Plural(len(c.Channels), "channel"))
}

// Plural writes a count with an English noun that takes -s: "1 station",
// "2 stations", "0 channels".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// Station returns the station with the given name.
func (c *Config) Station(name string) (Station, bool) {
	for _, s := range c.Stations {
		if s.Name == name {
			return s, true
		}
	}
	return Station{}, false
}

// Channel returns the channel with the given name.
func (c *Config) Channel(name string) (Channel, bool) {
	for _, ch := range c.Channels {
		if ch.Name == name {
			return ch, true
		}
	}
	return Channel{}, false
}

// ChannelsOf returns the channels of one station, in file order.
func (c *Config) ChannelsOf(station string) []Channel {
	var out []Channel
	for _, ch := range c.Channels {
		if ch.Station == station {
			out = append(out, ch)
		}
	}
	return out
}

// StationNames returns the station names in file order.
func (c *Config) StationNames() []string {
	names := make([]string, len(c.Stations))
	for i, s := range c.Stations {
		names[i] = s.Name
	}
	return names
}

// PickStation chooses this host's station (docs/protocol.md §5): the --station flag
// when given (it must name a station), else the station named like the
// host (case-insensitive, with or without the domain: "sl-wing.local"
// picks sl-wing), else the only station when there is one. Otherwise the
// error lists the stations.
func (c *Config) PickStation(flag, hostname string) (string, error) {
	list := strings.Join(c.StationNames(), ", ")
	if flag != "" {
		if _, ok := c.Station(flag); ok {
			return flag, nil
		}
		return "", fmt.Errorf("config: --station %s: %s has no station named %q (stations: %s)", flag, c.File, flag, list)
	}
	host := strings.ToLower(strings.TrimSuffix(hostname, "."))
	short, _, _ := strings.Cut(host, ".")
	for _, name := range []string{host, short} {
		if _, ok := c.Station(name); ok && name != "" {
			return name, nil
		}
	}
	if len(c.Stations) == 1 {
		return c.Stations[0].Name, nil
	}
	return "", fmt.Errorf("config: %s has several stations and none is named like this host %q: start cuelightd with --station NAME (stations: %s)", c.File, hostname, list)
}

// BrokerPlan says how one station reaches the show's MQTT broker.
type BrokerPlan struct {
	// RunEmbedded: this station runs the embedded broker on MQTT.Listen
	// and connects to it in-process (URL is empty).
	RunEmbedded bool
	// URL is the broker to connect to when RunEmbedded is false: the
	// outside broker, or the embedded broker of another station.
	URL string
	// URLs are every broker to try, in order (URL first): mqtt.broker as
	// a list. The station uses the first that answers, moves to the next
	// when it fails, and back to the first when it returns.
	URLs []string
}

// BrokerFor returns how the named station reaches the broker: with an
// outside broker every station connects to it; with the embedded broker
// its station runs it and the others connect to MQTT.EmbeddedURL.
func (c *Config) BrokerFor(station string) BrokerPlan {
	switch {
	case !c.MQTT.Embedded:
		urls := c.MQTT.Brokers
		if len(urls) == 0 {
			urls = []string{c.MQTT.Broker}
		}
		return BrokerPlan{URL: urls[0], URLs: urls}
	case station == c.MQTT.EmbeddedStation:
		return BrokerPlan{RunEmbedded: true}
	default:
		return BrokerPlan{URL: c.MQTT.EmbeddedURL, URLs: []string{c.MQTT.EmbeddedURL}}
	}
}
