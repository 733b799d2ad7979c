package main

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/osc"
)

func TestSplitCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		cmd  string
		rest []string
		ok   bool
	}{
		{"command first", []string{"standby", "fly", "23"}, "standby", []string{"fly", "23"}, true},
		{"common flags before it", []string{"--osc", "10.0.0.5:53100", "--tcp", "standby", "fly"}, "standby", []string{"--osc", "10.0.0.5:53100", "--tcp", "fly"}, true},
		{"flag=value before it", []string{"--config=show.yaml", "watch"}, "watch", []string{"--config=show.yaml"}, true},
		{"help command", []string{"help", "check"}, "help", []string{"check"}, true},
		{"only flags", []string{"--tcp"}, "", nil, false},
		{"--help", []string{"--help"}, "", nil, false},
		{"nothing", nil, "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd, rest, ok := splitCommand(tc.args)
			if cmd != tc.cmd || ok != tc.ok || !slices.Equal(rest, tc.rest) {
				t.Errorf("splitCommand(%q) = %q %q %v, want %q %q %v", tc.args, cmd, rest, ok, tc.cmd, tc.rest, tc.ok)
			}
		})
	}
}

func TestArgumentsAndFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		pos  []string
		mqtt mqttFlag
		ack  bool
	}{
		{"flags after arguments", []string{"fly", "23", "--ack"}, []string{"fly", "23"}, mqttFlag{}, true},
		{"flags between", []string{"fly", "--ack", "23"}, []string{"fly", "23"}, mqttFlag{}, true},
		{"-- keeps a label that looks like a flag", []string{"--", "fly", "-1"}, []string{"fly", "-1"}, mqttFlag{}, false},
		{"--mqtt alone", []string{"--mqtt", "fly"}, []string{"fly"}, mqttFlag{on: true}, false},
		{"--mqtt URL", []string{"--mqtt", "tcp://10.0.0.1:1883", "fly"}, []string{"fly"}, mqttFlag{on: true, url: "tcp://10.0.0.1:1883"}, false},
		{"--mqtt=URL", []string{"--mqtt=ssl://b:8883", "fly"}, []string{"fly"}, mqttFlag{on: true, url: "ssl://b:8883"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var m mqttFlag
			fs.Var(&m, "mqtt", "")
			ack := fs.Bool("ack", false, "")
			pos, err := parseInterspersed(fs, joinOptionalValues(tc.args))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pos, tc.pos) || m != tc.mqtt || *ack != tc.ack {
				t.Errorf("got %q %+v ack=%v, want %q %+v ack=%v", pos, m, *ack, tc.pos, tc.mqtt, tc.ack)
			}
		})
	}
}

func TestMatchChannels(t *testing.T) {
	t.Parallel()
	show := []string{"fly", "sl", "sr", "trap"}
	for _, tc := range []struct {
		target string
		want   []string
		err    string
	}{
		{"fly", []string{"fly"}, ""},
		{"sl,sr", []string{"sl", "sr"}, ""},
		{"s?", []string{"sl", "sr"}, ""},
		{"{fly,trap}", []string{"fly", "trap"}, ""},
		{"*", show, ""},
		{"[!s]*", []string{"fly", "trap"}, ""},
		{"flyy", nil, `no channel "flyy" in this show (channels: fly, sl, sr, trap) (did you mean "fly"?)`},
		{"sl,xx", nil, `no channel "xx" in this show (channels: fly, sl, sr, trap)`},
		{"zz*", nil, `"zz*" matches no channel of this show (channels: fly, sl, sr, trap)`},
	} {
		t.Run(tc.target, func(t *testing.T) {
			t.Parallel()
			got, err := matchChannels(tc.target, show)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestOSCMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		req  request
		want string
	}{
		{"standby with label", request{verb: cues.VerbStandby, target: "fly", label: "23", hasLabel: true}, `/cuelight/fly/standby ,s "23"`},
		{"standby_ack to a list", request{verb: cues.VerbStandbyAck, target: "sl,sr", label: "LX 4", hasLabel: true}, `/cuelight/sl,sr/standby_ack ,s "LX 4"`},
		{"go without label", request{verb: cues.VerbGo, target: "fly"}, `/cuelight/fly/go ,`},
		{"cue go, label with a slash", request{verb: cues.VerbGoCue, label: "23/b", hasLabel: true}, `/cuelight/cue/go ,s "23/b"`},
		{"hold", request{verb: cues.VerbHold}, `/cuelight/all/hold ,`},
		{"brightness", request{verb: cues.VerbBrightness, target: "fly", value: 0.5}, `/cuelight/fly/brightness ,f 0.5`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.req.oscMessage().String(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParseReplies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		msg  *osc.Message
		want chanState
		ok   bool
	}{
		{"state with label", osc.NewMessage("/cuelight/state/fly/standby", osc.String("23")), chanState{"fly", "standby", "23"}, true},
		{"state without argument", osc.NewMessage("/cuelight/state/sl/off"), chanState{"sl", "off", ""}, true},
		{"too deep", osc.NewMessage("/cuelight/state/sl/off/x"), chanState{}, false},
		{"pong", osc.NewMessage("/cuelight/pong"), chanState{}, false},
		{"a numeric label is no label", osc.NewMessage("/cuelight/state/sl/go", osc.Int32(23)), chanState{"sl", "go", ""}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseState(tc.msg)
			if got != tc.want || ok != tc.ok {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	addr, reason, ok := parseError(osc.NewMessage("/cuelight/error", osc.String("/cuelight/x/go"), osc.String("no channel x in this show")))
	if !ok || addr != "/cuelight/x/go" || reason != "no channel x in this show" {
		t.Errorf("parseError: %q %q %v", addr, reason, ok)
	}
}

// What the station will not answer on MQTT (docs/protocol.md §2 duplicates), so that
// cuectl does not wait for it.
func TestPredictNoEvent(t *testing.T) {
	t.Parallel()
	st := func(state, label string, ack bool) *mqttlink.State {
		return &mqttlink.State{State: state, Label: label, AckRequested: ack}
	}
	for _, tc := range []struct {
		name string
		req  request
		st   *mqttlink.State
		want bool
	}{
		{"same standby", request{verb: cues.VerbStandby, label: "23", hasLabel: true}, st("standby", "23", false), true},
		{"standby_ack over a plain standby is new", request{verb: cues.VerbStandbyAck, label: "23", hasLabel: true}, st("standby", "23", false), false},
		{"standby over an ack of the same cue", request{verb: cues.VerbStandby, label: "23", hasLabel: true}, st("ack", "23", true), true},
		{"another cue", request{verb: cues.VerbStandby, label: "24", hasLabel: true}, st("standby", "23", false), false},
		{"go again", request{verb: cues.VerbGo}, st("go", "23", false), true},
		{"go with another label", request{verb: cues.VerbGo, label: "24", hasLabel: true}, st("go", "23", false), false},
		{"off when off", request{verb: cues.VerbOff}, st("off", "", false), true},
		{"release when not held", request{verb: cues.VerbRelease}, st("off", "", false), true},
		{"release when held", request{verb: cues.VerbRelease}, st("hold", "", false), false},
		{"hold when held", request{verb: cues.VerbHold}, st("hold", "", false), true},
		{"anything while held is refused (an event)", request{verb: cues.VerbBrightness}, st("hold", "", false), false},
		{"brightness is never reported", request{verb: cues.VerbBrightness, value: 0.5}, st("go", "3", false), true},
		{"a lost link is restored (events)", request{verb: cues.VerbOff}, st("lost", "", false), false},
		{"ack always answers", request{verb: cues.VerbAck}, st("off", "", false), false},
		{"unknown state", request{verb: cues.VerbOff}, nil, false},
		{"a state cuectl does not know", request{verb: cues.VerbOff}, st("dimmed", "", false), false},
		{"a cue GO is a GO to each channel standing by", request{verb: cues.VerbGoCue, label: "23", hasLabel: true}, st("ack", "23", true), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := predictNoEvent(tc.req, tc.st); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// The view keeps the newest state of each channel and orders channels as
// the show file, else as the stations announce them.
func TestShowView(t *testing.T) {
	t.Parallel()
	v := newShowView("cuelight", nil)
	apply := func(topic, payload string) bool {
		_, ok := v.apply(inMsg{topic: topic, payload: []byte(payload)})
		return ok
	}
	if !apply("cuelight/station/b/info", `{"channels":["zz","aa"],"epoch":"e"}`) ||
		!apply("cuelight/channel/aa/state", `{"channel":"aa","station":"b","state":"go","seq":5,"epoch":"e","since":"2026-03-01T19:30:05.000Z"}`) {
		t.Fatal("valid messages refused")
	}
	if apply("cuelight/channel/aa/state", `{"channel":"aa","station":"b","state":"off","seq":4,"epoch":"e","since":"2026-03-01T19:30:04.000Z"}`) {
		t.Error("an older state replaced a newer one")
	}
	if !apply("cuelight/channel/aa/state", `{"channel":"aa","station":"b","state":"off","seq":1,"epoch":"f","since":"2026-03-01T19:31:00.000Z"}`) {
		t.Error("a new epoch's state (the station restarted) was refused")
	}
	if apply("cuelight/channel/aa/state", `{"channel":"aa","station":"b","state":"go","seq":9,"epoch":"e","since":"2026-03-01T19:30:09.000Z"}`) {
		t.Error("the old epoch's state, served late after a failover, replaced the restarted station's")
	}
	for _, bad := range [][2]string{
		{"other/channel/aa/state", `{}`},
		{"cuelight/channel/aa/state", `{"channel":"bb"}`},
		{"cuelight/channel/aa/event", `not json`},
		{"cuelight/channel//state", `{}`},
	} {
		if apply(bad[0], bad[1]) {
			t.Errorf("%s %s accepted", bad[0], bad[1])
		}
	}
	apply("cuelight/channel/mm/state", `{"channel":"mm","station":"c","state":"off"}`)
	if got := strings.Join(v.order(), ","); got != "zz,aa,mm" {
		t.Errorf("order %s, want zz,aa,mm (info order, then the rest)", got)
	}
	v.config = []string{"mm", "aa"}
	if got := strings.Join(v.order(), ","); got != "mm,aa,zz" {
		t.Errorf("order %s, want mm,aa,zz (show file first)", got)
	}
}

func TestLocalAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"0.0.0.0:53100":  "127.0.0.1:53100",
		":53100":         "127.0.0.1:53100",
		"[::]:1883":      "[::1]:1883",
		"10.0.0.5:53100": "10.0.0.5:53100",
	} {
		if got := localAddr(in); got != want {
			t.Errorf("localAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// The hint after a refused GO names the channel the station refused, with
// the cue label, as a command that can be pasted.
func TestForceGoHint(t *testing.T) {
	t.Parallel()
	names := []string{"fly", "fly-2", "sl"}
	const reason = "fly-2 needs an acknowledged standby before GO; use force_go to override"
	for _, tc := range []struct {
		name string
		req  request
		want string
	}{
		{"a cue go", request{verb: cues.VerbGoCue, label: "23", hasLabel: true}, "cuectl force-go fly-2 23"},
		{"a pattern", request{verb: cues.VerbGo, target: "f*"}, "cuectl force-go fly-2"},
		{"a label with a space", request{verb: cues.VerbGo, target: "fly-2", label: "LX 4", hasLabel: true}, "cuectl force-go fly-2 'LX 4'"},
		{"a label like a flag", request{verb: cues.VerbGo, target: "fly-2", label: "-4", hasLabel: true}, "cuectl force-go fly-2 -- -4"},
		{"a quote in the label", request{verb: cues.VerbGo, target: "fly-2", label: "it's", hasLabel: true}, `cuectl force-go fly-2 'it'\''s'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := forceGoCommand(tc.req, refusedChannel(tc.req, reason, names), ""); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	if got := forceGoCommand(request{verb: cues.VerbGoCue, label: "5", hasLabel: true}, refusedChannel(request{}, "x needs ...", nil), ""); got != "cuectl force-go CH" {
		t.Errorf("no channel known: got %s", got)
	}
}
