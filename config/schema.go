package config

import (
	"slices"
	"strings"
)

// section lists the keys one mapping of the show file accepts. The parser
// rejects any other key, and a test checks that config/reference.yaml
// documents every key of every section, so the two cannot drift apart.
type section struct {
	keys []string            // accepted keys, in documentation order
	sub  map[string]*section // the section under a key, if it is a mapping with fixed keys
	each *section            // for maps with free keys (stations, channels, users): each value
}

var (
	pinSection = &section{keys: []string{"pin", "active_low", "pull"}}

	tlsSection  = &section{keys: []string{"ca_file", "cert_file", "key_file", "insecure_skip_verify"}}
	userSection = &section{keys: []string{"password_hash", "role"}}
	mqttSection = &section{
		keys: []string{"broker", "listen", "topic_prefix", "clock_skew", "embedded_station", "embedded_url",
			"username", "password", "tls", "users", "max_clients", "max_packet_size"},
		sub: map[string]*section{"tls": tlsSection, "users": {each: userSection}},
	}
	oscSection      = &section{keys: []string{"listen", "allow", "feedback", "heartbeat_timeout"}}
	webUserSection  = &section{keys: []string{"password_hash", "role", "channels"}}
	webSection      = &section{keys: []string{"listen", "users", "desk_go"}, sub: map[string]*section{"users": {each: webUserSection}}}
	eosSection      = &section{keys: []string{"cue_list"}}
	consolesSection = &section{keys: []string{"eos"}, sub: map[string]*section{"eos": eosSection}}
	patternsSection = &section{keys: []string{"slow", "fast", "wink_on", "wink_every", "alternate", "double_every"}}
	stationSection  = &section{keys: []string{"driver", "allow_boot_pins", "debounce", "min_brightness", "gateway", "escalate_after", "record"}}
	reportSection   = &section{keys: []string{"late_ack"}}
	channelSection  = &section{
		keys: []string{"station", "label", RoleStandbyLamp, RoleGoLamp, RoleCallLamp, RoleCallOut,
			RoleAckButton, RoleCallButton, "require_ack", "go_requires_ack", "go_hold", "stuck_after",
			"call_hold", "brightness", RoleCallIn, "escalate_after"},
		sub: map[string]*section{},
	}
	fileSection = &section{
		keys: []string{"show", "mqtt", "osc", "web", "consoles", "patterns", "report", "stations", "channels", "intercom"},
		sub: map[string]*section{
			"mqtt": mqttSection, "osc": oscSection, "web": webSection, "consoles": consolesSection,
			"patterns": patternsSection, "report": reportSection, "stations": {each: stationSection}, "channels": {each: channelSection},
			"intercom": intercomSection,
		},
	}
)

// pinRoles are the channel keys that take a pin, in Channel.Pins order.
var pinRoles = []string{RoleStandbyLamp, RoleGoLamp, RoleCallLamp, RoleCallOut, RoleAckButton, RoleCallButton, RoleCallIn}

func init() {
	for _, r := range pinRoles {
		channelSection.sub[r] = pinSection
	}
}

// paths lists every key path the section accepts, with "*" for a free
// key: "mqtt.users.*.role", "channels.*.standby_lamp.pin".
func (s *section) paths(prefix string) []string {
	var out []string
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	if s.each != nil {
		out = append(out, join("*"))
		out = append(out, s.each.paths(join("*"))...)
	}
	for _, k := range s.keys {
		out = append(out, join(k))
		if sub := s.sub[k]; sub != nil {
			out = append(out, sub.paths(join(k))...)
		}
	}
	return out
}

// synonyms maps words people write for a key to the key.
var synonyms = map[string]string{
	"standby_light": "standby_lamp", "standby_led": "standby_lamp", "standby": "standby_lamp", "lamp": "standby_lamp",
	"go_light": "go_lamp", "go_led": "go_lamp", "go": "go_lamp",
	"ack": "ack_button", "button": "ack_button", "ack_pin": "ack_button",
	"call": "call_button", "call_light": "call_lamp", "call_signal": "call_out", "call_relay": "call_out",
	"name": "label", "title": "show", "showname": "show", "station_name": "station",
	"host": "station", "broker_url": "broker", "url": "broker", "prefix": "topic_prefix",
	"user": "username", "passwd": "password", "hash": "password_hash", "password": "password_hash",
	"allowlist": "allow", "allowed": "allow", "whitelist": "allow", "targets": "feedback",
	"heartbeat": "heartbeat_timeout", "active_high": "active_low", "invert": "active_low", "inverted": "active_low",
	"gpio": "pin", "boot_pins": "allow_boot_pins", "debounce_ms": "debounce", "cuelist": "cue_list", "list": "cue_list",
}

// suggest returns the accepted key closest to a mistyped one, or "".
func suggest(got string, keys []string) string {
	low := strings.ToLower(strings.ReplaceAll(got, "-", "_"))
	if slices.Contains(keys, low) {
		return low
	}
	if s, ok := synonyms[low]; ok && slices.Contains(keys, s) {
		return s
	}
	best, bestD := "", 3 // at most two edits
	if len(low) <= 4 {
		bestD = 2 // one edit for short words
	}
	for _, k := range keys {
		if d := editDistance(low, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance of two short
// strings (bytes): insertions, deletions, substitutions and swaps of two
// neighbours each count one, so "gpoi" is one edit from "gpio".
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
