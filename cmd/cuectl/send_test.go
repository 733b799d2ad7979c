package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/testkit"
	"github.com/cuelight/cuelight/osc"
)

// step is one cuectl run in a scripted show, or an action between runs.
type step struct {
	name   string
	args   []string
	code   int
	stdout []string // regexps, matched line by line in order
	stderr []string
	before func(s *station) // done first (a button press...)
}

func runSteps(t *testing.T, s *station, common []string, steps []step) {
	t.Helper()
	for _, st := range steps {
		if st.before != nil {
			st.before(s)
		}
		args := append(append(s.with(), common...), st.args...)
		r := ctl(t, args...)
		if r.code != st.code {
			t.Fatalf("%s: cuectl %s: exit %d, want %d\n%s", st.name, strings.Join(st.args, " "), r.code, st.code, r)
		}
		if ok, missing := matchesInOrder(r.stdout, st.stdout); !ok {
			t.Fatalf("%s: cuectl %s: stdout does not match %q\n%s", st.name, strings.Join(st.args, " "), missing, r)
		}
		if ok, missing := matchesInOrder(r.stderr, st.stderr); !ok {
			t.Fatalf("%s: cuectl %s: stderr does not match %q\n%s", st.name, strings.Join(st.args, " "), missing, r)
		}
		if st.code == 0 && r.stderr != "" {
			t.Fatalf("%s: cuectl %s: unexpected stderr\n%s", st.name, strings.Join(st.args, " "), r)
		}
	}
}

func pressAndWait(pin, ch string) func(s *station) {
	return func(s *station) {
		s.press(pin)
		s.waitState("ack", ch)
	}
}

// The commands over OSC, against a real station: what a stage manager
// sees, and the exit status a script sees.
func TestSendOSC(t *testing.T) {
	t.Parallel()
	s := startStation(t, "")
	runSteps(t, s, nil, []step{
		{name: "standby asks for the ACK fly requires", args: []string{"standby", "fly", "23"},
			stdout: []string{`^fly: standby "23" \(ack requested\)$`}},
		{name: "go refused without ack", args: []string{"go", "fly"}, code: 1,
			stdout: []string{`^fly: standby "23"`},
			stderr: []string{`station refused /cuelight/fly/go: fly needs an acknowledged standby before GO.*\(wait for the position's ACK, or: cuectl force-go fly\)$`}},
		{name: "cue go refused without ack: the hint names the channel", args: []string{"go", "--cue", "23"}, code: 1,
			stderr: []string{`station refused /cuelight/cue/go: fly needs an acknowledged standby before GO.*\(wait for the position's ACK, or: cuectl force-go fly 23\)$`}},
		{name: "go to a pattern refused: the hint names the channel", args: []string{"go", "f*", "LX 23"}, code: 1,
			stderr: []string{`station refused /cuelight/f\*/go: fly needs .*\(wait for the position's ACK, or: cuectl force-go fly 'LX 23'\)$`}},
		{name: "go after the crew's ack", args: []string{"go", "fly", "23"}, before: pressAndWait("GPIO22", "fly"),
			stdout: []string{`^fly: go "23"$`}},
		{name: "standby --ack to a comma list", args: []string{"standby", "--ack", "sl,sr", "24"},
			stdout: []string{`^sl: standby "24" \(ack requested\)$`, `^sr: standby "24" \(ack requested\)$`}},
		{name: "a repeated standby still asks for the ACK the first one asked for", args: []string{"standby", "sl", "24"},
			stdout: []string{`^sl: standby "24" \(ack requested\)$`}},
		{name: "sync shows which standbys ask for an ACK", args: []string{"sync"},
			stdout: []string{`^fly: go "23"$`, `^sl: standby "24" \(ack requested\)$`, `^sr: standby "24" \(ack requested\)$`, `^trap: off$`}},
		{name: "go --cue", args: []string{"go", "--cue", "24"},
			stdout: []string{`^sl: go "24"$`, `^sr: go "24"$`}},
		{name: "go --cue nobody stands by for", args: []string{"go", "--cue", "99"}, code: 1,
			stderr: []string{`station refused /cuelight/cue/go: no channel is standing by for cue "99"`}},
		{name: "standby to an OSC pattern", args: []string{"standby", "s?", "25"},
			stdout: []string{`^sl: standby "25"$`, `^sr: standby "25"$`}},
		{name: "off to a pattern", args: []string{"off", "*"},
			stdout: []string{`^fly: off$`, `^sl: off$`, `^sr: off$`}},
		{name: "force-go overrides go_requires_ack", args: []string{"force-go", "fly", "26"},
			stdout: []string{`^fly: go "26"$`}},
		{name: "call", args: []string{"call", "trap"},
			stdout: []string{`^trap: off \(called\)$`}},
		{name: "ack outside standby is an ignored press", args: []string{"ack", "sl"},
			stdout: []string{`^sl: off \(nothing to acknowledge: not in standby\)$`}},
		{name: "ack from cuectl", args: []string{"ack", "sl"}, before: func(s *station) { ctl(t, s.with("standby", "--ack", "sl", "27")...) },
			stdout: []string{`^sl: ack "27"$`}},
		{name: "brightness", args: []string{"brightness", "trap", "0.3"},
			stdout: []string{`^trap: off \(brightness 0.3\)$`}},
		{name: "hold", args: []string{"hold"},
			stdout: []string{`^fly: hold$`, `^sl: hold$`, `^sr: hold$`, `^trap: hold$`}},
		{name: "standby refused while held", args: []string{"standby", "sl", "28"}, code: 1,
			stderr: []string{`station refused /cuelight/sl/standby: show is on hold \(cuectl release ends the hold\)`}},
		{name: "release", args: []string{"release"},
			stdout: []string{`^fly: off$`, `^sl: off$`, `^sr: off$`, `^trap: off$`}},
		{name: "unknown channel, from the show file", args: []string{"standby", "flyy", "1"}, code: 1,
			stderr: []string{`no channel "flyy" in this show \(channels: fly, sl, sr, trap\) \(did you mean "fly"\?\)`}},
		{name: "unknown channel, from the station", args: []string{"--config", "", "--osc", s.osc, "standby", "flyy", "1"}, code: 1,
			stderr: []string{`no channel "flyy" in this show \(channels: fly, sl, sr, trap\) \(did you mean "fly"\?\)`}},
		{name: "pattern matching nothing, from the station", args: []string{"--config", "", "--osc", s.osc, "off", "zz*"}, code: 1,
			stderr: []string{`"zz\*" matches no channel of this show \(channels: fly, sl, sr, trap\)`}},
		{name: "pattern matching nothing, from the show file", args: []string{"off", "zz*"}, code: 1,
			stderr: []string{`"zz\*" matches no channel of this show`}},
	})
	// The commands really reached the lamps' state.
	if st := s.states()["sl"]; st.State != "off" {
		t.Errorf("sl is %s at the end, want off", st.State)
	}
}

// The same exchange over TCP, in both framings: feedback and refusals
// come back on the connection.
func TestSendTCP(t *testing.T) {
	t.Parallel()
	s := startStation(t, "")
	for _, framing := range []string{"--tcp", "--tcp-framing=length", "--tcp-framing=slip"} {
		runSteps(t, s, []string{framing}, []step{
			{name: framing + " standby", args: []string{"standby", "fly", "5"}, stdout: []string{`^fly: standby "5" \(ack requested\)$`}},
			{name: framing + " refused go", args: []string{"go", "fly"}, code: 1, stderr: []string{`needs an acknowledged standby`}},
			{name: framing + " off", args: []string{"off", "fly"}, stdout: []string{`^fly: off$`}},
			{name: framing + " sync", args: []string{"sync"}, stdout: []string{`^fly: off$`, `^sl: off$`, `^sr: off$`, `^trap: off$`}},
		})
	}
}

// The commands as MQTT commands (id, ts, ttl_ms), answered by events,
// through the embedded broker and through Mosquitto.
func TestSendMQTT(t *testing.T) {
	t.Parallel()
	brokers(t, func(t *testing.T, s *station) {
		runSteps(t, s, []string{"--mqtt"}, []step{
			{name: "standby", args: []string{"standby", "fly", "23"}, stdout: []string{`^fly: standby "23" \(ack requested\)$`}},
			{name: "a duplicate changes nothing", args: []string{"standby", "fly", "23"},
				stdout: []string{`^fly: standby "23" \(ack requested; no change: it already was\)$`}},
			{name: "go refused without ack", args: []string{"go", "fly"}, code: 1,
				stderr: []string{`fly: refused by the station: fly needs an acknowledged standby before GO.*cuectl force-go --mqtt fly`}},
			{name: "ack", args: []string{"ack", "fly"}, stdout: []string{`^fly: ack "23" \(acknowledged \d+(ms|\.\ds) after the standby\)$`}},
			{name: "go", args: []string{"go", "fly"}, stdout: []string{`^fly: go "23"$`}},
			{name: "unwarned go", args: []string{"go", "trap", "4"}, stdout: []string{`^trap: go "4" \(unwarned: no standby for this cue\)$`}},
			{name: "standby to a comma list", args: []string{"standby", "sl,sr", "24"}, stdout: []string{`^sl: standby "24"$`, `^sr: standby "24"$`}},
			{name: "go --cue", args: []string{"go", "--cue", "24"}, stdout: []string{`^sl: go "24"$`, `^sr: go "24"$`}},
			{name: "go --cue nobody stands by for", args: []string{"go", "--cue", "99"}, code: 1,
				stderr: []string{`no channel is standing by for cue "99"`}},
			{name: "off to a pattern", args: []string{"off", "*"},
				stdout: []string{`^fly: off$`, `^sl: off$`, `^sr: off$`, `^trap: off$`}},
			{name: "hold", args: []string{"hold"}, stdout: []string{`^fly: hold$`, `^sl: hold$`, `^sr: hold$`, `^trap: hold$`}},
			{name: "hold again", args: []string{"hold"}, stdout: []string{`^fly: hold \(no change: it already was\)$`}},
			{name: "standby refused while held", args: []string{"standby", "sl", "1"}, code: 1,
				stderr: []string{`sl: refused by the station: show is on hold \(cuectl release ends the hold\)`}},
			{name: "release", args: []string{"release"}, stdout: []string{`^fly: off$`, `^sl: off$`, `^sr: off$`, `^trap: off$`}},
			{name: "brightness", args: []string{"brightness", "trap", "0.5"}, stdout: []string{`^trap: off \(brightness 0.5\)$`}},
			{name: "call", args: []string{"call", "trap"}, stdout: []string{`^trap: off \(called\)$`}},
			{name: "unknown channel, from the show file", args: []string{"off", "flyy"}, code: 1,
				stderr: []string{`no channel "flyy" in this show \(channels: fly, sl, sr, trap\)`}},
			{name: "unknown channel, from the broker", args: []string{"--config", "", "--mqtt=" + s.broker, "--timeout", "5s", "off", "flyy"}, code: 1,
				stderr: []string{`no channel "flyy" in this show \(channels: fly, sl, sr, trap\) \(did you mean "fly"\?\)`}},
			{name: "wrong prefix: nobody there", args: []string{"--config", "", "--mqtt=" + s.broker, "--prefix", "elsewhere", "--timeout", "500ms", "hold"}, code: 3,
				stderr: []string{`no cuelight station has published anything on broker .* under elsewhere/`}},
		})
		// The MQTT commands reached the station.
		if st := s.states()["trap"]; st.State != "off" {
			t.Errorf("trap is %s, want off", st.State)
		}
	})
}

func TestSyncAndPing(t *testing.T) {
	t.Parallel()
	s := startStation(t, "")
	ctl(t, s.with("standby", "sl", "LX 7")...)
	expect(t, ctl(t, s.with("sync")...), 0,
		[]string{`^fly: off$`, `^sl: standby "LX 7"$`, `^sr: off$`, `^trap: off$`}, nil)
	expect(t, ctl(t, "--config", "", "--osc", s.osc, "sync"), 0, []string{`^fly: off$`, `^sl: standby "LX 7"$`}, nil)
	expect(t, ctl(t, s.with("ping", "-c", "3", "-i", "1ms")...), 0,
		[]string{`^pong from 127\.0\.0\.1:\d+: \d+\.\d+ ms$`, `^pong from`, `^pong from`, `^3 sent, 3 answered; round trip min .* median .* max .*$`}, nil)
	expect(t, ctl(t, s.with("ping", "--tcp", "-c", "1")...), 0, []string{`^pong from 127\.0\.0\.1:\d+ \(OSC over TCP\): `}, nil)
}

// A station that cannot be reached: exit status 3 and what to check.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	closed := freePort(t)
	closedAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(closed))
	silent, err := net.ListenPacket("udp", "127.0.0.1:0") // a socket that never answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	mute, err := net.Listen("tcp", "127.0.0.1:0") // accepts, says nothing
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mute.Close() })
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	// A station whose OSC intake answers pings but whose cue loop never
	// answers: the osc package's server with only a ping method.
	d := &osc.Dispatcher{}
	if err := d.Handle("/cuelight/ping", func(_ *osc.Message, from *osc.Sender) { _ = from.Reply(osc.NewMessage("/cuelight/pong")) }); err != nil {
		t.Fatal(err)
	}
	srv, err := osc.Listen(osc.Options{Listen: "127.0.0.1:0", Allow: osc.AllowLoopback}, d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go srv.Serve(ctx)
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"a station that answers pings only", []string{"standby", "--timeout", "300ms", "--osc", srv.Addr().String(), "fly"},
			`the station at 127\.0\.0\.1:\d+ answers pings but did not finish the command in time: is it overloaded or stuck\?`},
		{"OSC over UDP to a closed port", []string{"standby", "--osc", closedAddr, "fly"}, `nothing listens on 127\.0\.0\.1:\d+ \(connection refused\): is cuelightd running\?`},
		{"OSC over TCP to a closed port", []string{"off", "--tcp", "--osc", closedAddr, "fly"}, `nothing listens on 127\.0\.0\.1:\d+ \(OSC over TCP\) \(connection refused\)`},
		{"OSC to a silent port", []string{"sync", "--timeout", "300ms", "--osc", silent.LocalAddr().String()},
			`no reply from 127\.0\.0\.1:\d+ within 300ms: is cuelightd running there\? is this computer's address in the show file's osc\.allow\? \(cuelightd check-config FILE; journalctl -u cuelightd\)`},
		{"ping to a silent port", []string{"ping", "-c", "1", "--timeout", "200ms", "--osc", silent.LocalAddr().String()}, `no reply from .* within 200ms`},
		{"MQTT to a closed port", []string{"standby", "--mqtt=tcp://" + closedAddr, "fly"}, `broker tcp://127\.0\.0\.1:\d+ refused the connection \(nothing listens there\): is cuelightd \(embedded broker: mqtt\.listen\) or mosquitto running there\?`},
		{"MQTT to a mute broker", []string{"off", "--timeout", "300ms", "--mqtt", "tcp://" + mute.Addr().String(), "fly"}, `broker tcp://127\.0\.0\.1:\d+ did not answer within 300ms`},
		{"watch without a broker", []string{"watch", "--plain", "--mqtt=tcp://" + closedAddr}, `broker tcp://.* refused the connection`},
		{"check without a station", []string{"check", "--acks", "osc", "--osc", closedAddr}, `nothing listens on`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := ctl(t, append([]string{"--config", ""}, tc.args...)...)
			expect(t, r, 3, nil, []string{tc.stderr})
		})
	}
}

// Every command has help with an example; mistakes on the command line
// are exit status 2 with a pointer to the help.
func TestHelpAndUsage(t *testing.T) {
	t.Parallel()
	r := ctl(t, "--help")
	expect(t, r, 0, []string{`^Usage: cuectl COMMAND`}, nil)
	for _, name := range commandNames() {
		if !strings.Contains(r.stdout, "cuectl "+name) {
			t.Errorf("cuectl --help does not list %s", name)
		}
		h := ctl(t, name, "--help")
		if name == "config" {
			h = ctl(t, "config", "check", "--help")
		}
		expect(t, h, 0, []string{`^Usage: cuectl ` + name, `(?i)^Examples?:$`, `^  cuectl ` + name}, nil)
		if h2 := ctl(t, "help", name); h2.stdout != h.stdout {
			t.Errorf("cuectl help %s differs from cuectl %s --help", name, name)
		}
	}
	expect(t, ctl(t), 2, nil, []string{`^Usage: cuectl COMMAND`})
	expect(t, ctl(t, "version"), 0, []string{`^cuectl `}, nil)
	expect(t, ctl(t, "help"), 0, []string{`^Usage: cuectl COMMAND`}, nil)
	// Flags are listed as the docs write them: --config, and ping's -c.
	expect(t, ctl(t, "standby", "--help"), 0, []string{`^Flags:$`, `^  --ack$`, `^  --config FILE$`, `^  --timeout duration$`}, nil)
	expect(t, ctl(t, "ping", "--help"), 0, []string{`^  -c int$`, `^  -i duration$`}, nil)
	for _, name := range commandNames() {
		h := ctl(t, name, "--help")
		if name == "config" {
			continue // no flags
		}
		if m := regexp.MustCompile(`(?m)^  -[a-z][a-z]`).FindString(h.stdout); m != "" {
			t.Errorf("cuectl %s --help lists a flag with one dash: %q", name, m)
		}
	}
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"unknown command", []string{"stanby", "fly"}, `unknown command "stanby" \(did you mean "standby"\?\)`},
		{"missing channel", []string{"standby"}, `cuectl standby: missing arguments`},
		{"too many arguments", []string{"off", "fly", "sl"}, `too many arguments`},
		{"unknown flag", []string{"off", "--bogus", "fly"}, `flag provided but not defined: --bogus \(see cuectl off --help\)$`},
		{"flag without its value", []string{"off", "fly", "--osc"}, `flag needs an argument: --osc \(see cuectl off --help\)$`},
		{"help for an unknown command", []string{"help", "bogus"}, `^cuectl help: unknown command "bogus" \(cuectl help lists them\)$`},
		{"help for a misspelt command", []string{"help", "stanby"}, `^cuectl help: unknown command "stanby" \(did you mean "standby"\?\)`},
		{"help for two commands", []string{"help", "go", "off"}, `^cuectl help: give one command`},
		{"brightness out of range", []string{"brightness", "fly", "1.5"}, `brightness "1.5": give a number above 0\.0, up to 1\.0 \(a dark lamp must never mean GO\)`},
		{"brightness 0 is refused", []string{"brightness", "fly", "0"}, `brightness "0": give a number above 0\.0, up to 1\.0`},
		{"channel with a slash", []string{"off", "fly/x"}, `channel "fly/x": use a channel name`},
		{"go with --cue and a channel", []string{"go", "fly", "--cue", "3"}, `--cue takes the place of CH and LABEL`},
		{"go with nothing", []string{"go"}, `missing CH \(or --cue LABEL\)`},
		{"bad framing", []string{"off", "--tcp-framing", "cobs", "fly"}, `--tcp-framing "cobs": use slip or length`},
		{"missing show file", []string{"off", "--config", "/nonexistent/show.yaml", "fly"}, `no show file /nonexistent/show.yaml`},
		{"config without check", []string{"config", "show.yaml"}, `use "cuectl config check FILE"`},
		{"bench flooding a remote station", []string{"bench", "--config", "", "--osc", "10.1.2.3:53100"}, `--load floods the station.*loopback`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			expect(t, ctl(t, tc.args...), 2, nil, []string{tc.stderr})
		})
	}
	// Common flags may come before the command, and flags after arguments.
	s := startStation(t, "")
	expect(t, ctl(t, "--config", s.config, "--timeout", "10s", "standby", "sl", "3", "--ack"), 0, []string{`^sl: standby "3" \(ack requested\)$`}, nil)
	expect(t, ctl(t, "--config", s.config, "standby", "--", "sl", "-4"), 0, []string{`^sl: standby "-4"$`}, nil)
}

// A show with a second station that is not running: its channel is valid
// in the show file, but nobody answers for it. (Several stations share an
// outside broker: Mosquitto.)
func TestOtherStation(t *testing.T) {
	t.Parallel()
	s := startStationWith(t, startMosquitto(t), "  far:\n    driver: sim\n", "  spot1:\n    station: far\n    standby_lamp: GPIO17\n")
	runSteps(t, s, nil, []step{
		{name: "OSC: a channel of another station", args: []string{"go", "spot1"}, code: 1,
			stderr: []string{`the station at 127\.0\.0\.1:\d+ sent no feedback for /cuelight/spot1/go: "spot1" is not one of its channels \(fly, sl, sr, trap\); if it is a channel of another station, send to that station \(--osc\)`}},
		{name: "MQTT: nothing published for it", args: []string{"--mqtt", "--timeout", "1s", "off", "spot1"}, code: 3,
			stderr: []string{`no state for channel spot1 on broker tcp://127\.0\.0\.1:\d+ within 1s: is its station running and connected to this broker\?`}},
		{name: "OSC: a pattern over both stations", args: []string{"off", "*"},
			stdout: []string{`^fly: off$`, `^sl: off$`, `^sr: off$`, `^trap: off$`}},
	})
}

// A station that has stopped: Mosquitto keeps its retained "offline", and
// cuectl says so instead of sending into the void.
func TestStationOffline(t *testing.T) {
	t.Parallel()
	url := startMosquitto(t)
	s := startStation(t, url)
	s.stop()
	expect(t, ctl(t, s.with("--mqtt", "standby", "fly", "1")...), 3, nil,
		[]string{`station demo \(channel fly\) is offline, as the broker reports: is cuelightd running there and connected to tcp://127\.0\.0\.1:\d+\?`})
	expect(t, ctl(t, s.with("--mqtt", "--timeout", "1s", "hold")...), 3, nil, []string{`no station is online on broker`})
}

// Without a show file cuectl does not know fly's require_ack: the flag
// comes from the station's state on the broker (the demo's broker is the
// default one; here the test's), so OSC says "(ack requested)" as --mqtt
// does. With no broker to ask, no note: never a guess.
func TestOSCAckRequestedWithoutShowFile(t *testing.T) {
	t.Parallel()
	s := startStation(t, "")
	send := func(broker string, req request) string {
		var out, errb bytes.Buffer
		c := &cli{stdout: &out, stderr: &errb, clock: realClock(), getenv: noEnv}
		o := c.newOpts(req.verb.String(), "", "", flagsOSC|flagsMQTT)
		o.osc, o.mqtt.url, o.timeout = s.osc, broker, waitFor
		if code := c.sendOSC(context.Background(), o, req); code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
		}
		return out.String()
	}
	if got := send(s.broker, request{verb: cues.VerbStandby, target: "fly", label: "23", hasLabel: true}); got != "fly: standby \"23\" (ack requested)\n" {
		t.Errorf("fly (require_ack) without a show file: %q", got)
	}
	if got := send(s.broker, request{verb: cues.VerbStandby, target: "sl", label: "23", hasLabel: true}); got != "sl: standby \"23\"\n" {
		t.Errorf("sl without a show file: %q", got)
	}
	closed := fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
	if got := send(closed, request{verb: cues.VerbStandby, target: "fly", label: "23", hasLabel: true}); got != "fly: standby \"23\"\n" {
		t.Errorf("fly with no broker to ask: %q", got)
	}
	if got := send(closed, request{verb: cues.VerbStandbyAck, target: "sl", label: "24", hasLabel: true}); got != "sl: standby \"24\" (ack requested)\n" {
		t.Errorf("standby_ack with no broker to ask: %q", got)
	}
}

// Ctrl-C during a ping ends it as an interrupted command (130), and a
// command interrupted while it waits for the station likewise.
func TestInterrupted(t *testing.T) {
	t.Parallel()
	s := startStation(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errb := &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, s.with("ping", "-c", "3", "-i", "10m"), out, errb) }()
	waitOutput(t, out, `^pong from `)
	cancel()
	select {
	case code := <-done:
		expect(t, result{code, out.String(), errb.String()}, exitInterrupted, nil, []string{`^cuectl ping: interrupted$`})
	case <-time.After(waitFor):
		t.Fatal("ping did not end after the interrupt")
	}
	// A station that never answers, and the user gives up.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel2)
	var o2, e2 bytes.Buffer
	code := run(ctx2, []string{"--config", "", "--osc", silent.LocalAddr().String(), "--timeout", "1m", "standby", "fly", "1"}, &o2, &e2)
	expect(t, result{code, o2.String(), e2.String()}, exitInterrupted, nil, []string{`^cuectl: interrupted$`})
}
