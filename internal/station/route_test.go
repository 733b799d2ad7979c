package station

import (
	"math"
	"strings"
	"testing"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/osc"
)

func testRouter() *router {
	return &router{
		local:  []string{"fly", "sl", "sr"},
		isMine: map[string]bool{"fly": true, "sl": true, "sr": true},
		all:    []string{"fly", "sl", "sr", "trap"},
		eos:    "1",
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	type want struct {
		kind  routeKind
		cmds  []string // "verb channel label"
		echo  []string
		error string // substring of the reason
	}
	s := osc.String
	cases := []struct {
		name string
		msg  *osc.Message
		want want
	}{
		{"standby with label", osc.NewMessage("/cuelight/fly/standby", s("23")), want{kind: routeCommands, cmds: []string{"standby fly 23"}}},
		{"comma list", osc.NewMessage("/cuelight/sl,sr/standby_ack", s("24")), want{kind: routeCommands, cmds: []string{"standby_ack sl 24", "standby_ack sr 24"}}},
		{"pattern", osc.NewMessage("/cuelight/s?/go"), want{kind: routeCommands, cmds: []string{"go sl ", "go sr "}}},
		{"braces", osc.NewMessage("/cuelight/{fly,sl}/off"), want{kind: routeCommands, cmds: []string{"off fly ", "off sl "}}},
		{"a number on a label verb is the label", osc.NewMessage("/cuelight/fly/go", osc.Int32(23)), want{kind: routeCommands, cmds: []string{"go fly 23"}}},
		{"QLab's typed cue number", osc.NewMessage("/cuelight/sl/standby", osc.Int32(23)), want{kind: routeCommands, cmds: []string{"standby sl 23"}}},
		{"a float cue number in shortest text", osc.NewMessage("/cuelight/sl/standby_ack", osc.Float32(23.5)), want{kind: routeCommands, cmds: []string{"standby_ack sl 23.5"}}},
		{"a double cue number", osc.NewMessage("/cuelight/sl/standby", osc.Float64(0.1)), want{kind: routeCommands, cmds: []string{"standby sl 0.1"}}},
		{"an int64 cue number", osc.NewMessage("/cuelight/sl/standby", osc.Int64(1234567890123)), want{kind: routeCommands, cmds: []string{"standby sl 1234567890123"}}},
		{"a negative cue number", osc.NewMessage("/cuelight/sl/go", osc.Int32(-2)), want{kind: routeCommands, cmds: []string{"go sl -2"}}},
		{"1 is a press without a label", osc.NewMessage("/cuelight/sl/go", osc.Int32(1)), want{kind: routeCommands, cmds: []string{"go sl "}}},
		{"1.0 is a press without a label", osc.NewMessage("/cuelight/sl/standby", osc.Float32(1)), want{kind: routeCommands, cmds: []string{"standby sl "}}},
		{"true is a press without a label", osc.NewMessage("/cuelight/sl/go", osc.Bool(true)), want{kind: routeCommands, cmds: []string{"go sl "}}},
		{"0 is a release", osc.NewMessage("/cuelight/sl/standby", osc.Int32(0)), want{kind: routeCommands, cmds: []string{"heartbeat  "}, echo: []string{"sl"}}},
		{"NaN is not a cue number", osc.NewMessage("/cuelight/sl/go", osc.Float32(float32(math.NaN()))), want{kind: routeError, error: "finite number"}},
		{"two numbers are not a label", osc.NewMessage("/cuelight/sl/standby", osc.Int32(23), osc.Int32(5)), want{kind: routeError, error: "one string argument"}},
		{"a number on off is a press", osc.NewMessage("/cuelight/sl/off", osc.Int32(5)), want{kind: routeCommands, cmds: []string{"off sl "}}},
		{"a string beats a number", osc.NewMessage("/cuelight/sl/standby", osc.Int32(5), s("LX 9")), want{kind: routeCommands, cmds: []string{"standby sl LX 9"}}},
		{"cue go with a number argument", osc.NewMessage("/cuelight/cue/go", osc.Int32(23)), want{kind: routeCommands, cmds: []string{"go_cue  23"}}},
		{"a pattern in the verb never reaches force_go", osc.NewMessage("/cuelight/fly/*go", s("X")), want{kind: routeError, error: "write the command out"}},
		{"a verb wildcard is refused", osc.NewMessage("/cuelight/fly/*"), want{kind: routeError, error: "write the command out"}},
		{"a verb bracket pattern is refused", osc.NewMessage("/cuelight/*/[bf]*", osc.Float32(0)), want{kind: routeError, error: "write the command out"}},
		{"a verb brace pattern is refused", osc.NewMessage("/cuelight/sl/{go,off}"), want{kind: routeError, error: "write the command out"}},
		{"a pattern in place of ping is refused", osc.NewMessage("/cuelight/*"), want{kind: routeError, error: "write the command out"}},
		{"a show-wide pattern is refused", osc.NewMessage("/cuelight/all/*"), want{kind: routeError, error: "write the command out"}},
		{"a cue go pattern is refused", osc.NewMessage("/cuelight/cue/23/g?"), want{kind: routeError, error: "write the command out"}},
		{"a pattern in the prefix is not ours", osc.NewMessage("/cue*/fly/go"), want{kind: routeIgnore}},
		{"brightness 0 reaches the engine to be refused", osc.NewMessage("/cuelight/fly/brightness", osc.Float32(0)), want{kind: routeCommands, cmds: []string{"brightness fly "}}},
		{"release edge does nothing", osc.NewMessage("/cuelight/fly/go", osc.Float32(0)), want{kind: routeCommands, cmds: []string{"heartbeat  "}, echo: []string{"fly"}}},
		{"false does nothing", osc.NewMessage("/cuelight/fly/standby", osc.Bool(false)), want{kind: routeCommands, cmds: []string{"heartbeat  "}, echo: []string{"fly"}}},
		{"brightness", osc.NewMessage("/cuelight/fly/brightness", osc.Float32(0.5)), want{kind: routeCommands, cmds: []string{"brightness fly "}}},
		{"brightness needs a number", osc.NewMessage("/cuelight/fly/brightness", s("x")), want{kind: routeError, error: "brightness needs one number"}},
		{"cue go in the address", osc.NewMessage("/cuelight/cue/23.5/go"), want{kind: routeCommands, cmds: []string{"go_cue  23.5"}}},
		{"cue go with a label argument", osc.NewMessage("/cuelight/cue/go", s("LX 23")), want{kind: routeCommands, cmds: []string{"go_cue  LX 23"}}},
		{"cue go without a label", osc.NewMessage("/cuelight/cue/go"), want{kind: routeError, error: "needs the cue label"}},
		{"hold", osc.NewMessage("/cuelight/all/hold"), want{kind: routeCommands, cmds: []string{"hold  "}}},
		{"release", osc.NewMessage("/cuelight/all/release"), want{kind: routeCommands, cmds: []string{"release  "}}},
		{"all with a bad verb", osc.NewMessage("/cuelight/all/go"), want{kind: routeError, error: "hold or release"}},
		{"ping", osc.NewMessage("/cuelight/ping"), want{kind: routePing}},
		{"sync", osc.NewMessage("/cuelight/sync"), want{kind: routeSync}},
		{"heartbeat", osc.NewMessage("/cuelight/heartbeat"), want{kind: routeCommands, cmds: []string{"heartbeat  "}}},
		{"unknown channel", osc.NewMessage("/cuelight/flyy/go"), want{kind: routeError, error: "no channel flyy"}},
		{"unknown verb", osc.NewMessage("/cuelight/fly/dance"), want{kind: routeError, error: "unknown command dance"}},
		{"another station's channel", osc.NewMessage("/cuelight/trap/go"), want{kind: routeElsewhere}},
		{"eos fire", osc.NewMessage("/eos/out/event/cue/1/2.5/fire"), want{kind: routeCommands, cmds: []string{"go_cue  2.5"}}},
		{"eos other list", osc.NewMessage("/eos/out/event/cue/2/2.5/fire"), want{kind: routeIgnore}},
		{"eos chatter", osc.NewMessage("/eos/out/active/cue/1/2", osc.Float32(0.5)), want{kind: routeIgnore}},
		{"someone else's address", osc.NewMessage("/qlab/go"), want{kind: routeIgnore}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := testRouter().route(c.msg)
			if got.kind != c.want.kind {
				t.Fatalf("kind %d, want %d (%+v)", got.kind, c.want.kind, got)
			}
			var cmds []string
			for _, cmd := range got.cmds {
				cmds = append(cmds, cmd.Verb.String()+" "+cmd.Channel+" "+cmd.Label)
				if cmd.Source != cues.SourceOSC || !cmd.FromBooth {
					t.Errorf("command %+v not marked as from the booth over OSC", cmd)
				}
			}
			if strings.Join(cmds, "|") != strings.Join(c.want.cmds, "|") {
				t.Errorf("commands %q, want %q", cmds, c.want.cmds)
			}
			if strings.Join(got.echo, ",") != strings.Join(c.want.echo, ",") {
				t.Errorf("echo %q, want %q", got.echo, c.want.echo)
			}
			if !strings.Contains(got.reason, c.want.error) {
				t.Errorf("reason %q, want it to contain %q", got.reason, c.want.error)
			}
		})
	}
}

// FuzzRoute feeds arbitrary OSC packets to the router: it must never panic,
// and it must never make a GO out of a message that does not ask for one
// (the worst bug this product can have).
func FuzzRoute(f *testing.F) {
	for _, m := range []*osc.Message{
		osc.NewMessage("/cuelight/fly/go", osc.String("23")),
		osc.NewMessage("/cuelight/sl,sr/standby", osc.String("24")),
		osc.NewMessage("/cuelight/*/off"),
		osc.NewMessage("/cuelight/cue/23/go"),
		osc.NewMessage("/eos/out/event/cue/1/7/fire"),
		osc.NewMessage("/cuelight/{fly,sl}/force_go", osc.Float32(1)),
		osc.NewMessage("/cuelight/fly/brightness", osc.Float64(0.5)),
		osc.NewMessage("/cuelight/fly/*go", osc.String("X")),
		osc.NewMessage("/cuelight/sl/standby", osc.Int32(23)),
		osc.NewMessage("/cuelight/*/[bf]*", osc.Float32(0)),
	} {
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	r := testRouter()
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := osc.Decode(b)
		if err != nil {
			return
		}
		m, ok := p.(*osc.Message)
		if !ok {
			return
		}
		got := r.route(m)
		parts := splitAddress(m.Address)
		for _, c := range got.cmds {
			switch c.Verb {
			case cues.VerbGo, cues.VerbForceGo, cues.VerbGoCue:
				// Only a literal verb asks for a GO: a pattern never does.
				last := parts[len(parts)-1]
				asksGo := last == "go" || last == "force_go" || (len(parts) == 7 && last == "fire")
				if !asksGo {
					t.Fatalf("%v became %v", m, c.Verb)
				}
				if c.Verb == cues.VerbForceGo && last != "force_go" {
					t.Fatalf("%v became force_go", m)
				}
			}
			if c.Channel != "" && !r.isMine[c.Channel] {
				t.Fatalf("%v addressed %q, not a channel of this station", m, c.Channel)
			}
		}
	})
}
