package config

// badConfigs is the table of invalid show files and the exact check-config
// output each must produce (docs/protocol.md §5: FILE:LINE: key.path: message, here
// with the fix hint in parentheses). The leading newline of each yaml is
// dropped, so line 1 is the first line written.
var badConfigs = []struct {
	name string
	yaml string
	want string
}{
	{
		name: "unknown top-level key",
		yaml: `
show: x
station: {a: {driver: gpio}}
stations: {a: {driver: gpio}}
channels: {fly: {standby_lamp: GPIO17}}
`,
		want: "show.yaml:2: station: unknown key (did you mean stations?)",
	},
	{
		name: "unknown channel key with hint",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lamp: GPIO17
    go_lmap: GPIO27
`,
		want: "show.yaml:6: channels.fly.go_lmap: unknown key (did you mean go_lamp?)",
	},
	{
		name: "typo of a required key is reported once",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lmap: GPIO17
`,
		want: "show.yaml:5: channels.fly.standby_lmap: unknown key (did you mean standby_lamp?)",
	},
	{
		name: "duplicate channel",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
  sl: {standby_lamp: GPIO16}
  fly: {standby_lamp: GPIO18}
`,
		want: "show.yaml:6: channels.fly: defined twice (first on line 4) (remove or rename one of them)",
	},
	{
		name: "duplicate key inside a channel",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lamp: GPIO17
    standby_lamp: GPIO18
`,
		want: "show.yaml:6: channels.fly.standby_lamp: defined twice (first on line 5) (remove or rename one of them)",
	},
	{
		name: "reserved channel name",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  cue: {standby_lamp: GPIO17}
`,
		want: `show.yaml:4: channels.cue: "cue" is a reserved word and cannot be a channel name (reserved: all cue state ping pong sync heartbeat error station channel)`,
	},
	{
		name: "uppercase channel name",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  Fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:4: channels.Fly: "Fly" is not a valid channel name (write fly; names are lowercase)`,
	},
	{
		name: "channel name with a space",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly rail: {standby_lamp: GPIO17}
`,
		want: `show.yaml:4: channels.fly rail: "fly rail" is not a valid channel name (write fly-rail; names use a-z 0-9 - _ only)`,
	},
	{
		name: "channel name too long",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  abcdefghijabcdefghijabcdefghijabc: {standby_lamp: GPIO17}
`,
		want: `show.yaml:4: channels.abcdefghijabcdefghijabcdefghijabc: "abcdefghijabcdefghijabcdefghijabc" is not a valid channel name (1 to 32 characters from a-z 0-9 - _)`,
	},
	{
		name: "pin used twice on one station",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lamp: GPIO17
    go_lamp: GPIO27
  sl:
    standby_lamp: GPIO27
`,
		want: "show.yaml:8: channels.sl.standby_lamp: GPIO27 is already channels.fly.go_lamp (line 6) (pick a free pin)",
	},
	{
		name: "button and lamp share a pin",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lamp: GPIO17
    ack_button: {pin: GPIO17}
`,
		want: "show.yaml:6: channels.fly.ack_button: GPIO17 is already channels.fly.standby_lamp (line 5) (pick a free pin)",
	},
	{
		name: "bare number pin",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: 17}
`,
		want: `show.yaml:4: channels.fly.standby_lamp: unknown pin "17" (write GPIO17 for BCM 17, header pin 11; header pin 17 is 3.3 V power)`,
	},
	{
		name: "lowercase gpio pin",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: gpio17}
`,
		want: `show.yaml:4: channels.fly.standby_lamp: unknown pin "gpio17" (write GPIO17)`,
	},
	{
		name: "header pin P1_11",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: P1_11}
`,
		want: `show.yaml:4: channels.fly.standby_lamp: unknown pin "P1_11" (header pin 11 is GPIO17: write GPIO17)`,
	},
	{
		name: "header pin 'pin 11'",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: pin 11}
`,
		want: `show.yaml:4: channels.fly.standby_lamp: unknown pin "pin 11" (header pin 11 is GPIO17: write GPIO17)`,
	},
	{
		name: "header power pin",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: pin 2}
`,
		want: `show.yaml:4: channels.fly.standby_lamp: unknown pin "pin 2" (header pin 2 is 5 V power, not a GPIO)`,
	},
	{
		name: "pin off the header",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO30}
`,
		want: "show.yaml:4: channels.fly.standby_lamp: GPIO30 is not on the Raspberry Pi 40-pin header (use GPIO0 to GPIO27)",
	},
	{
		name: "boot pin lamp refused",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO5}
`,
		want: "show.yaml:4: channels.fly.standby_lamp: GPIO5 is pulled high while the Pi boots, so this active-high output is on until cuelightd starts (use a pin from GPIO9–13, GPIO16–27, or set stations.a.allow_boot_pins: true)",
	},
	{
		name: "uart pin refused for a button",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, ack_button: GPIO15}
`,
		want: "show.yaml:4: channels.fly.ack_button: GPIO15 is the serial console UART (TXD/RXD), which toggles while the Pi boots (use a pin from GPIO9–13, GPIO16–27, or set stations.a.allow_boot_pins: true)",
	},
	{
		name: "id eeprom pin refused",
		yaml: `
show: x
stations: {a: {driver: sim}}
channels:
  fly: {standby_lamp: GPIO0}
`,
		want: "show.yaml:4: channels.fly.standby_lamp: GPIO0 is the HAT ID EEPROM bus (ID_SD/ID_SC), pulled high and driven by the firmware at boot (use a pin from GPIO9–13, GPIO16–27, or set stations.a.allow_boot_pins: true)",
	},
	{
		name: "i2c pin lamp refused",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO3}
`,
		want: "show.yaml:4: channels.fly.standby_lamp: GPIO3 has a 1.8 kΩ pull-up on the board (I2C1), so this active-high output is on until cuelightd starts (use a pin from GPIO9–13, GPIO16–27, or set stations.a.allow_boot_pins: true)",
	},
	{
		name: "channel on unknown station",
		yaml: `
show: x
stations: {sl-wing: {driver: gpio}, sr-wing: {driver: gpio}}
mqtt: {broker: "tcp://10.0.0.1:1883"}
channels:
  fly: {station: sl-wnig, standby_lamp: GPIO17}
`,
		want: `show.yaml:5: channels.fly.station: no station named "sl-wnig" (did you mean sl-wing?)`,
	},
	{
		name: "station missing with several stations",
		yaml: `
show: x
mqtt: {broker: "tcp://10.0.0.1:1883"}
stations: {sl-wing: {driver: gpio}, sr-wing: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:5: channels.fly.station: is required when the show has several stations (stations: sl-wing, sr-wing)",
	},
	{
		name: "channel without standby lamp",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {go_lamp: GPIO27}
`,
		want: "show.yaml:4: channels.fly.standby_lamp: is required (every channel needs a lamp, e.g. standby_lamp: GPIO17)",
	},
	{
		name: "duration without unit",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, go_hold: 3}
`,
		want: "show.yaml:4: channels.fly.go_hold: 3 has no unit (write 3s or 3ms)",
	},
	{
		name: "duration unparseable",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, go_hold: three seconds}
`,
		want: `show.yaml:4: channels.fly.go_hold: "three seconds" is not a duration (write a number and a unit: 250ms, 3s, 1m)`,
	},
	{
		name: "negative duration",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, stuck_after: -1s}
`,
		want: "show.yaml:4: channels.fly.stuck_after: -1s is negative (write a positive duration, e.g. 10s)",
	},
	{
		name: "zero duration",
		yaml: `
show: x
stations: {a: {driver: gpio, debounce: 0s}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:2: stations.a.debounce: must not be zero (between 1ms and 500ms; the default is 20ms)",
	},
	{
		name: "pattern too short",
		yaml: `
show: x
patterns: {fast: 5ms}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:2: patterns.fast: 5ms is outside 20ms to 10s (the default is 250ms)",
	},
	{
		name: "wink longer than its period",
		yaml: `
show: x
patterns: {wink_on: 3s}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:2: patterns.wink_on: 3s is not shorter than wink_every 2s (the wink is a short flash inside each wink_every period)",
	},
	{
		name: "brightness out of range",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, brightness: 1.5}
`,
		want: "show.yaml:4: channels.fly.brightness: 1.5 is out of range (more than 0 and at most 1: a lamp at 0 never lights)",
	},
	{
		name: "brightness zero",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, brightness: 0}
`,
		want: "show.yaml:4: channels.fly.brightness: 0 is out of range (more than 0 and at most 1: a lamp at 0 never lights)",
	},
	{
		name: "allow entry is a host name",
		yaml: `
show: x
osc:
  allow: [booth.local]
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:3: osc.allow[0]: "booth.local" is a host name (allow takes addresses, never names; write an address like 10.10.0.5 or a network like 10.10.0.0/24)`,
	},
	{
		name: "allow entry is not an address",
		yaml: `
show: x
osc:
  allow:
    - 127.0.0.1
    - 10.0.0.0/33
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:5: osc.allow[1]: "10.0.0.0/33" is not an address or network (write an address like 10.10.0.5 or a network like 10.10.0.0/24)`,
	},
	{
		name: "allow is not a list",
		yaml: `
show: x
osc:
  allow: 10.0.0.0/24
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:3: osc.allow: must be a list, not "10.0.0.0/24" (write allow: [127.0.0.1, 10.10.0.0/24])`,
	},
	{
		name: "feedback without port",
		yaml: `
show: x
osc:
  feedback: [10.10.0.5]
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:3: osc.feedback[0]: "10.10.0.5" is not IP:PORT (write IP:PORT, e.g. 10.10.0.5:53001)`,
	},
	{
		name: "feedback to a host name",
		yaml: `
show: x
osc:
  feedback: ["qlab.local:53001"]
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:3: osc.feedback[0]: "qlab.local" is not an IP address (feedback goes to IP addresses, never names: the cue path never waits on DNS; write IP:PORT, e.g. 10.10.0.5:53001)`,
	},
	{
		name: "listen without port",
		yaml: `
show: x
osc:
  listen: 0.0.0.0
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:3: osc.listen: "0.0.0.0" is not host:port (write 0.0.0.0:53100)`,
	},
	{
		name: "listen bad port",
		yaml: `
show: x
web:
  listen: 127.0.0.1:80800
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:3: web.listen: "127.0.0.1:80800" has a bad port (ports are 1 to 65535)`,
	},
	{
		name: "listen on a host name",
		yaml: `
show: x
web:
  listen: cuelight.local:8080
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:3: web.listen: "cuelight.local" is not an IP address (listen on an IP address of this host: 0.0.0.0 for all, 127.0.0.1 for this host only)`,
	},
	{
		name: "two listeners on one port",
		yaml: `
show: x
web:
  listen: 127.0.0.1:1883
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:3: web.listen: port 1883 is already mqtt.listen by default (each listener needs its own port)",
	},
	{
		name: "broker with unknown scheme",
		yaml: `
show: x
mqtt:
  broker: http://10.0.0.1:1883
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:3: mqtt.broker: unsupported scheme http:// (use tcp://, mqtt://, ssl://, mqtts://, ws://, wss://)",
	},
	{
		name: "broker is neither embedded nor a URL",
		yaml: `
show: x
mqtt:
  broker: mosquitto
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:3: mqtt.broker: "mosquitto" is not a broker URL (write embedded or a URL: tcp://, mqtt://, ssl://, mqtts://, ws://, wss://)`,
	},
	{
		name: "broker URL without port",
		yaml: `
show: x
mqtt:
  broker: tcp://10.0.0.1
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:3: mqtt.broker: "tcp://10.0.0.1" has no port (write tcp://10.0.0.1:1883)`,
	},
	{
		name: "broker URL with credentials",
		yaml: `
show: x
mqtt:
  broker: tcp://me:pw@10.0.0.1:1883
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:3: mqtt.broker: credentials do not belong in the URL (put them in mqtt.username and mqtt.password)",
	},
	{
		name: "embedded-only key with outside broker",
		yaml: `
show: x
mqtt:
  broker: tcp://10.0.0.1:1883
  listen: 0.0.0.0:1883
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:4: mqtt.listen: applies only to the embedded broker (remove it, or set mqtt.broker: embedded)",
	},
	{
		name: "tls with a plain tcp broker",
		yaml: `
show: x
mqtt:
  broker: tcp://10.0.0.1:1883
  tls: {ca_file: /etc/cuelight/ca.pem}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:4: mqtt.tls: applies only to an outside broker reached over TLS (use an ssl://, mqtts:// or wss:// broker URL, or remove mqtt.tls)",
	},
	{
		name: "tls relative path",
		yaml: `
show: x
mqtt:
  broker: ssl://10.0.0.1:8883
  tls: {ca_file: ca.pem}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:4: mqtt.tls.ca_file: "ca.pem" is not an absolute path (e.g. /etc/cuelight/ca.pem; systemd starts cuelightd in /)`,
	},
	{
		name: "non-loopback embedded listener without users",
		yaml: `
show: x
mqtt:
  listen: 0.0.0.0:1883
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:3: mqtt.listen: 0.0.0.0:1883 is reachable from the network, and anonymous access is never allowed there (add mqtt.users with bcrypt password hashes, or listen on 127.0.0.1)",
	},
	{
		name: "bad bcrypt hash",
		yaml: `
show: x
mqtt:
  listen: 0.0.0.0:1883
  users:
    qlab: {password_hash: secret, role: booth}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:5: mqtt.users.qlab.password_hash: not a bcrypt hash: those start with $2a$, $2b$ or $2y$ (make one with: htpasswd -nbBC 12 x PASSWORD | cut -d: -f2)",
	},
	{
		name: "mosquitto hash",
		yaml: `
show: x
mqtt:
  listen: 0.0.0.0:1883
  users:
    qlab: {password_hash: "$7$101$abc", role: booth}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:5: mqtt.users.qlab.password_hash: this is a mosquitto_passwd hash; the embedded broker needs bcrypt (make one with: htpasswd -nbBC 12 x PASSWORD | cut -d: -f2)",
	},
	{
		name: "truncated bcrypt hash",
		yaml: `
show: x
mqtt:
  listen: 0.0.0.0:1883
  users:
    qlab: {password_hash: "$2y$12$abc", role: booth}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:5: mqtt.users.qlab.password_hash: a bcrypt hash is 60 characters, this one is 10 (copy the whole hash, in quotes; make one with: htpasswd -nbBC 12 x PASSWORD | cut -d: -f2)",
	},
	{
		name: "unknown role",
		yaml: `
show: x
mqtt:
  listen: 0.0.0.0:1883
  users:
    qlab: {password_hash: "$2a$12$lXlYSubBjdnpiwEjQwZB7.Ob1Eb27Gk5JISZ3tbIakboCqG4oioOK", role: boot}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:5: mqtt.users.qlab.role: unknown role "boot" (did you mean booth?)`,
	},
	{
		name: "user without role",
		yaml: `
show: x
mqtt:
  listen: 0.0.0.0:1883
  users:
    qlab:
      password_hash: "$2a$12$lXlYSubBjdnpiwEjQwZB7.Ob1Eb27Gk5JISZ3tbIakboCqG4oioOK"
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:5: mqtt.users.qlab.role: is required (write role: station, booth or viewer)",
	},
	{
		name: "empty show",
		yaml: `
show: "  "
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:1: show: is empty (write the production's name)",
	},
	{
		name: "no show key",
		yaml: `
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:1: show: is required (write show: and the production's name)",
	},
	{
		name: "no stations",
		yaml: `
show: x
stations: {}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:2: stations: no stations (add at least one: stations: {NAME: {driver: gpio}})",
	},
	{
		name: "no channels",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
`,
		want: "show.yaml:3: channels: no channels (add at least one: channels: {NAME: {standby_lamp: GPIO17}})",
	},
	{
		name: "unknown driver",
		yaml: `
show: x
stations: {a: {driver: gpoi}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:2: stations.a.driver: unknown driver "gpoi" (did you mean gpio?)`,
	},
	{
		name: "station without driver",
		yaml: `
show: x
stations:
  a:
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:3: stations.a.driver: is required (write driver: gpio for a Raspberry Pi, driver: sim for the simulated board, or driver: none for a booth machine without lamps)",
	},
	{
		name: "channel on a station without lamps",
		yaml: `
show: x
mqtt: {broker: "tcp://10.0.0.1:1883"}
stations:
  booth: {driver: none, gateway: true}
  wing: {driver: sim}
channels:
  fly: {station: booth, standby_lamp: GPIO17}
`,
		want: "show.yaml:7: channels.fly.station: station booth has driver: none, so it has no lamps (give the channel to a station that drives lamps (driver: gpio or sim))",
	},
	{
		name: "gateway not a boolean",
		yaml: `
show: x
stations: {a: {driver: sim, gateway: maybe}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:2: stations.a.gateway: want true or false, not "maybe" (write true or false)`,
	},
	{
		name: "broker list with embedded",
		yaml: `
show: x
mqtt: {broker: ["tcp://10.0.0.1:1883", embedded]}
stations: {a: {driver: sim}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:2: mqtt.broker[1]: embedded cannot be in a list (a list names outside brokers only; write broker: embedded alone to run the built-in one)",
	},
	{
		name: "broker list with a bad URL",
		yaml: `
show: x
mqtt: {broker: ["tcp://10.0.0.1:1883", "10.0.0.2"]}
stations: {a: {driver: sim}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:2: mqtt.broker[1]: "10.0.0.2" is not a broker URL (write tcp://, mqtt://, ssl://, mqtts://, ws://, wss://HOST:PORT)`,
	},
	{
		name: "broker list mixing TLS",
		yaml: `
show: x
mqtt: {broker: ["tcp://10.0.0.1:1883", "ssl://10.0.0.2:8883"]}
stations: {a: {driver: sim}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:2: mqtt.broker: mixes brokers with and without TLS (use TLS (ssl://, mqtts://, wss://) for every broker of the list, or for none)",
	},
	{
		name: "empty broker list",
		yaml: `
show: x
mqtt: {broker: []}
stations: {a: {driver: sim}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:2: mqtt.broker: is an empty list (write broker: embedded, one URL, or a list of URLs)",
	},
	{
		name: "boolean written yes",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, require_ack: yes}
`,
		want: `show.yaml:4: channels.fly.require_ack: want true or false, not "yes" (write true or false)`,
	},
	{
		name: "pull on a lamp",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: {pin: GPIO17, pull: up}}
`,
		want: "show.yaml:4: channels.fly.standby_lamp.pull: applies only to buttons (remove it: outputs are driven, pull applies to buttons)",
	},
	{
		name: "pin mapping without pin",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: {active_low: true}}
`,
		want: "show.yaml:4: channels.fly.standby_lamp.pin: is required (write GPIO17 or {pin: GPIO17, active_low: true})",
	},
	{
		name: "yaml syntax error",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17
  sl: {standby_lamp: GPIO16}
`,
		want: "show.yaml:4: YAML syntax: did not find expected ',' or '}' (a { is not closed on this line; put the rest of the mapping inside it)",
	},
	{
		name: "yaml syntax error with a tab",
		yaml: "show: x\nstations:\n\ta: {driver: gpio}\n",
		want: "show.yaml:3: YAML syntax: found character that cannot start any token (indent with spaces: YAML does not allow tabs)",
	},
	{
		name: "file is a list",
		yaml: `
- show: x
`,
		want: "show.yaml:1: must be a mapping, not a list (keys here: show, mqtt, osc, web, consoles, patterns, report, stations, channels, intercom)",
	},
	{
		name: "two documents",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
---
show: y
`,
		want: "show.yaml:5: a show file holds one YAML document (remove the line with --- and what follows, or merge it into the first document)",
	},
	{
		name: "several problems at once",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  all: {standby_lamp: GPIO17}
  sl: {standby_lamp: GPIO17, go_hold: 3}
  sr: {standby_lamp: GPIO99}
`,
		want: `show.yaml:4: channels.all: "all" is a reserved word and cannot be a channel name (reserved: all cue state ping pong sync heartbeat error station channel)
show.yaml:5: channels.sl.go_hold: 3 has no unit (write 3s or 3ms)
show.yaml:5: channels.sl.standby_lamp: GPIO17 is already channels.all.standby_lamp (line 4) (pick a free pin)
show.yaml:6: channels.sr.standby_lamp: GPIO99 is not on the Raspberry Pi 40-pin header (use GPIO0 to GPIO27)`,
	},
	{
		name: "eos cue list missing",
		yaml: `
show: x
consoles:
  eos: {}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:3: consoles.eos.cue_list: is required (write eos: {cue_list: 1})",
	},
	{
		name: "topic prefix with wildcard",
		yaml: `
show: x
mqtt: {topic_prefix: "show/#"}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:2: mqtt.topic_prefix: "show/#" contains a wildcard (+ or #) (e.g. cuelight or theatre/cuelight)`,
	},
	{
		name: "several stations on loopback broker",
		yaml: `
show: x
mqtt: {embedded_station: a, embedded_url: "tcp://10.0.0.2:1883"}
stations: {a: {driver: gpio}, b: {driver: gpio}}
channels:
  fly: {station: a, standby_lamp: GPIO17}
`,
		want: `show.yaml:2: mqtt.listen: 127.0.0.1:1883 is loopback only, but the other stations must reach the embedded broker (listen on the show LAN, e.g. 0.0.0.0:1883, and add mqtt.users)
show.yaml:2: mqtt.username: the other stations log in to the embedded broker: credentials are required (set mqtt.username and mqtt.password to a user of mqtt.users with role station)`,
	},
	{
		name: "max clients out of range",
		yaml: `
show: x
mqtt: {max_clients: 0}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:2: mqtt.max_clients: 0 is out of range (between 1 and 10000; the default is 64)",
	},
	{
		name: "mapping where a value is expected",
		yaml: `
show: {name: x}
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: "show.yaml:1: show: must be a single value, not a mapping (write show: and the production's name)",
	},
	{
		name: "value with no value",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lamp:
`,
		want: "show.yaml:5: channels.fly.standby_lamp: has no value (write GPIO17 or {pin: GPIO17, active_low: true})",
	},
	{
		name: "channels is a list",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  - fly
`,
		want: "show.yaml:4: channels: must be a mapping, not a list (write channels: {NAME: {standby_lamp: GPIO17}})",
	},
	{
		name: "station logs in as a user the embedded broker does not know",
		yaml: `
show: x
mqtt:
  username: station
  password: s3cret
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17}
`,
		want: `show.yaml:3: mqtt.username: "station" is not a user of mqtt.users (the embedded broker knows only mqtt.users: add it there with role: station)`,
	},
	{
		name: "embedded station unknown and embedded url not tcp",
		yaml: `
show: x
mqtt:
  listen: 0.0.0.0:1883
  embedded_station: sl-wnig
  embedded_url: ws://10.0.0.2:1883
  username: station
  password: s3cret
  users:
    station: {password_hash: "$2a$12$P1UIQ7CQKGdRP..3rQbYDe/pQ1HA5/mxpA0HZdx6qx54RyTWJwn6.", role: station}
stations: {sl-wing: {driver: gpio}, sr-wing: {driver: gpio}}
channels:
  fly: {station: sl-wing, standby_lamp: GPIO17}
`,
		want: `show.yaml:4: mqtt.embedded_station: no station named "sl-wnig" (did you mean sl-wing?)
show.yaml:5: mqtt.embedded_url: unsupported scheme ws:// (use tcp://, mqtt://)`,
	},
	{
		name: "label with a control character",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, label: "Fly\trail"}
`,
		want: "show.yaml:4: channels.fly.label: contains a control character (U+0009) (write plain text on one line)",
	},
	{
		name: "active-high button on a board pull-up",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lamp: GPIO17
    ack_button: {pin: GPIO2, active_low: false}
`,
		want: "show.yaml:6: channels.fly.ack_button: GPIO2 has a 1.8 kΩ pull-up on the board, so an active-high button reads as pressed (use a pin from GPIO9–13, GPIO16–27, or set stations.a.allow_boot_pins: true)",
	},
	{
		name: "unknown pull",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lamp: GPIO17
    ack_button: {pin: GPIO22, pull: high}
`,
		want: `show.yaml:6: channels.fly.ack_button.pull: unknown pull "high" (up, down or none)`,
	},
	{
		name: "merge key on a scalar",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    <<: GPIO17
    standby_lamp: GPIO17
`,
		want: "show.yaml:5: channels.fly: a merge key (<<) takes a mapping, not \"GPIO17\" (write <<: *anchor where the anchor is a mapping)",
	},
	{
		name: "unclosed quote",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly:
    standby_lamp: GPIO17
    label: "Fly rail
`,
		want: "show.yaml:6: YAML syntax: found unexpected end of stream (a quote opened here is never closed)",
	},
	{
		name: "alias to an undefined anchor",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: *wing
`,
		want: "show.yaml:4: YAML syntax: unknown anchor 'wing' referenced (define the anchor with &name before using it with *name)",
	},
	{
		name: "empty label",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, label: ""}
`,
		want: "show.yaml:4: channels.fly.label: is empty (leave label out to show the channel name)",
	},
	{
		name: "binary file",
		yaml: "\n\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00",
		want: "show.yaml:1: not a text show file: it holds NUL bytes (a show file is YAML text, like the example in docs/configuration.md; is this the right file?)",
	},
	{
		name: "random bytes that are not UTF-8",
		yaml: "\n\xc3\x28\xa0\xa1\xf0\x28\x8c\xbc random",
		want: "show.yaml:1: not a text show file: it is not UTF-8 text (a show file is YAML text, like the example in docs/configuration.md; is this the right file?)",
	},
	{
		name: "many control characters",
		yaml: "\n\x1b[31m\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c text",
		want: "show.yaml:1: not a text show file: it holds 11 control characters (a show file is YAML text, like the example in docs/configuration.md; is this the right file?)",
	},
	{
		name: "one control character in a text file",
		yaml: "\nshow: x\nstations: {a: {driver: gpio}}\nchannels: {fly: {standby_lamp: GPIO17, label: \"a\x01b\"}}\n",
		want: "show.yaml:3: YAML syntax: control characters are not allowed (remove the control character from this line: a show file is plain text)",
	},
	{
		name: "quoted boolean",
		yaml: `
show: x
stations: {a: {driver: gpio}}
channels:
  fly: {standby_lamp: GPIO17, require_ack: "true"}
`,
		want: `show.yaml:4: channels.fly.require_ack: want true or false, not the text "true" (remove the quotes)`,
	},
	{
		name: "quoted number",
		yaml: `
show: x
mqtt: {max_clients: '64'}
stations: {a: {driver: gpio, min_brightness: "0.2"}}
channels: {fly: {standby_lamp: GPIO17, brightness: "0.5"}}
`,
		want: "show.yaml:2: mqtt.max_clients: want a whole number, not the text \"64\" (remove the quotes)\n" +
			"show.yaml:3: stations.a.min_brightness: want a number, not the text \"0.2\" (remove the quotes)\n" +
			"show.yaml:4: channels.fly.brightness: want a number, not the text \"0.5\" (remove the quotes)",
	},
	{
		name: "quoted word that is no boolean",
		yaml: `
show: x
stations: {a: {driver: gpio, allow_boot_pins: "yes"}}
channels: {fly: {standby_lamp: GPIO17}}
`,
		want: `show.yaml:2: stations.a.allow_boot_pins: want true or false, not "yes" (write true or false)`,
	},
	{
		name: "empty file",
		yaml: "\n",
		want: "show.yaml:1: the file is empty (start from the example in docs/configuration.md; cuelightd --demo runs the built-in demo show)",
	},
	{
		name: "comments only",
		yaml: "\n# show: Hamlet\n",
		want: "show.yaml:1: the file is empty (start from the example in docs/configuration.md; cuelightd --demo runs the built-in demo show)",
	},
	{
		name: "record not an absolute path",
		yaml: `
show: x
stations: {a: {driver: gpio, record: showlog.db}}
channels: {fly: {standby_lamp: GPIO17}}
`,
		want: "show.yaml:2: stations.a.record: \"showlog.db\" is not an absolute path (write an absolute path, e.g. /var/lib/cuelight/showlog.db)",
	},
	{
		name: "report late_ack out of range",
		yaml: `
show: x
report: {late_ack: 500ms}
stations: {a: {driver: gpio}}
channels: {fly: {standby_lamp: GPIO17}}
`,
		want: "show.yaml:2: report.late_ack: 500ms is outside 1s to 10m (the default is 10s)",
	},
	{
		name: "report unknown key",
		yaml: `
show: x
report: {late: 5s}
stations: {a: {driver: gpio}}
channels: {fly: {standby_lamp: GPIO17}}
`,
		want: "show.yaml:2: report.late: unknown key (accepted here: late_ack)",
	},
	{
		name: "min_brightness zero",
		yaml: `
show: x
stations: {a: {driver: gpio, min_brightness: 0}}
channels: {fly: {standby_lamp: GPIO17}}
`,
		want: "show.yaml:2: stations.a.min_brightness: 0 is out of range (more than 0 and at most 1: a dark lamp must never mean GO; the default is 0.1)",
	},
	{
		name: "min_brightness above one",
		yaml: `
show: x
stations:
  a:
    driver: gpio
    min_brightness: 1.5
channels: {fly: {standby_lamp: GPIO17}}
`,
		want: "show.yaml:5: stations.a.min_brightness: 1.5 is out of range (more than 0 and at most 1: a dark lamp must never mean GO; the default is 0.1)",
	},
	{
		name: "min_brightness negative",
		yaml: `
show: x
stations: {a: {driver: sim, min_brightness: -0.1}}
channels: {fly: {standby_lamp: GPIO17}}
`,
		want: "show.yaml:2: stations.a.min_brightness: -0.1 is out of range (more than 0 and at most 1: a dark lamp must never mean GO; the default is 0.1)",
	},
	{
		name: "brightness below the station's min_brightness",
		yaml: `
show: x
stations: {a: {driver: gpio, min_brightness: 0.3}}
channels: {fly: {standby_lamp: GPIO17, brightness: 0.2}}
`,
		want: "show.yaml:3: channels.fly.brightness: 0.2 is below stations.a.min_brightness 0.3 (raise it, or lower min_brightness: no lamp shows a state below it)",
	},
}
