package cues

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// hbTest is the heartbeat timeout of the transition cases that need one.
const hbTest = 5 * time.Second

// lose is the setup that takes the test show (heartbeat hbTest) to lost.
var lose = tick(hbTest + time.Second)

// TestTransitions is the transition table of docs/states.md, one named case
// per row: the steps lead to a state, the last step is the transition under
// test. Every case checks the channel's resulting state, the events of the
// last step exactly, the refusal, and the number of changes; a step that
// changed nothing must leave every output as it was.
func TestTransitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		hb      time.Duration
		steps   []step
		ch      string // channel whose state is checked
		want    State
		label   string
		ackReq  bool
		events  []string // "kind channel" of the last step, in order
		refused string   // substring of the only refusal's reason; "" = no refusal
		changed int      // len(Result.Changed) of the last step
		touched bool     // the last step lists ch in Touched
	}{
		// standby
		{name: "standby from off", steps: []step{do(osc(VerbStandby, "sr", "23"))},
			ch: "sr", want: StateStandby, label: "23", events: []string{"standby sr"}, changed: 1, touched: true},
		{name: "standby without label", steps: []step{do(osc(VerbStandby, "sr"))},
			ch: "sr", want: StateStandby, label: "", events: []string{"standby sr"}, changed: 1, touched: true},
		{name: "standby on require_ack channel requests ack", steps: []step{do(osc(VerbStandby, "fly", "23"))},
			ch: "fly", want: StateStandby, label: "23", ackReq: true, events: []string{"standby fly"}, changed: 1, touched: true},
		{name: "standby_ack from off requests ack", steps: []step{do(osc(VerbStandbyAck, "sr", "23"))},
			ch: "sr", want: StateStandby, label: "23", ackReq: true, events: []string{"standby sr"}, changed: 1, touched: true},
		{name: "standby from ack with new label", steps: []step{do(osc(VerbStandbyAck, "sr", "23")), do(button(VerbButtonPress, "sr")), do(osc(VerbStandbyAck, "sr", "24"))},
			ch: "sr", want: StateStandby, label: "24", ackReq: true, events: []string{"standby sr"}, changed: 1, touched: true},
		{name: "standby from ack with same label is a duplicate", steps: []step{do(osc(VerbStandbyAck, "sr", "23")), do(button(VerbButtonPress, "sr")), do(osc(VerbStandby, "sr", "23"))},
			ch: "sr", want: StateAck, label: "23", ackReq: true, touched: true},
		{name: "standby_ack from ack with same label is a duplicate", steps: []step{do(osc(VerbStandbyAck, "sr", "23")), do(button(VerbButtonPress, "sr")), do(osc(VerbStandbyAck, "sr", "23"))},
			ch: "sr", want: StateAck, label: "23", ackReq: true, touched: true},
		{name: "standby from go", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbGo, "sr")), do(osc(VerbStandby, "sr", "24"))},
			ch: "sr", want: StateStandby, label: "24", events: []string{"standby sr"}, changed: 1, touched: true},
		{name: "standby from go with the go's label is a new standby", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbGo, "sr")), do(osc(VerbStandby, "sr", "23"))},
			ch: "sr", want: StateStandby, label: "23", events: []string{"standby sr"}, changed: 1, touched: true},
		{name: "standby from standby with new label", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbStandby, "sr", "24"))},
			ch: "sr", want: StateStandby, label: "24", events: []string{"standby sr"}, changed: 1, touched: true},
		{name: "standby from standby with new label requests ack again", steps: []step{do(osc(VerbStandby, "fly", "23")), do(osc(VerbStandby, "fly", "24"))},
			ch: "fly", want: StateStandby, label: "24", ackReq: true, events: []string{"standby fly"}, changed: 1, touched: true},
		{name: "standby from standby with new label drops an ack not asked for", steps: []step{do(osc(VerbStandbyAck, "sr", "23")), do(osc(VerbStandby, "sr", "24"))},
			ch: "sr", want: StateStandby, label: "24", ackReq: false, events: []string{"standby sr"}, changed: 1, touched: true},
		{name: "standby repeated with same label is a duplicate", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbStandby, "sr", "23"))},
			ch: "sr", want: StateStandby, label: "23", touched: true},
		{name: "standby_ack with same label upgrades a plain standby", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbStandbyAck, "sr", "23"))},
			ch: "sr", want: StateStandby, label: "23", ackReq: true, events: []string{"standby sr"}, changed: 1, touched: true},
		{name: "standby_ack repeated with same label is a duplicate", steps: []step{do(osc(VerbStandbyAck, "sr", "23")), do(osc(VerbStandbyAck, "sr", "23"))},
			ch: "sr", want: StateStandby, label: "23", ackReq: true, touched: true},
		{name: "plain standby after standby_ack with same label is a duplicate", steps: []step{do(osc(VerbStandbyAck, "sr", "23")), do(osc(VerbStandby, "sr", "23"))},
			ch: "sr", want: StateStandby, label: "23", ackReq: true, touched: true},
		{name: "standby during hold is refused", steps: []step{do(osc(VerbHold, "")), do(osc(VerbStandby, "sr", "23"))},
			ch: "sr", want: StateHold, events: []string{"refused sr"}, refused: ReasonHold, touched: true},
		{name: "standby while lost not from the booth is refused", hb: hbTest, steps: []step{lose, do(inner(VerbStandby, "sr", "23"))},
			ch: "sr", want: StateLost, events: []string{"refused sr"}, refused: ReasonLost, touched: true},
		{name: "standby while lost from the booth restores then applies", hb: hbTest, steps: []step{lose, do(osc(VerbStandby, "sr", "23"))},
			ch: "sr", want: StateStandby, label: "23", events: cat(each("restored"), []string{"standby sr"}), changed: 5, touched: true},
		{name: "standby while lost from mqtt restores then applies", hb: hbTest, steps: []step{lose, do(mqtt(VerbStandby, "sr", "23"))},
			ch: "sr", want: StateStandby, label: "23", events: cat(each("restored"), []string{"standby sr"}), changed: 5, touched: true},
		{name: "go while lost from mqtt restores then fires unwarned", hb: hbTest, steps: []step{do(osc(VerbStandby, "sr", "23")), lose, do(mqtt(VerbGo, "sr", "23"))},
			ch: "sr", want: StateGo, label: "23", events: cat(each("restored"), []string{"go sr"}), changed: 5, touched: true},
		{name: "hold while lost from mqtt restores then holds", hb: hbTest, steps: []step{lose, do(mqtt(VerbHold, ""))},
			ch: "sr", want: StateHold, events: cat(each("restored"), each("hold")), changed: 8, touched: true},
		{name: "an mqtt command keeps the link", hb: hbTest, steps: []step{doAfter(4*time.Second, mqtt(VerbStandby, "sr", "23")), tick(4 * time.Second)},
			ch: "sr", want: StateStandby, label: "23"},
		{name: "an mqtt heartbeat while lost restores", hb: hbTest, steps: []step{lose, do(mqtt(VerbHeartbeat, ""))},
			ch: "sr", want: StateOff, events: each("restored"), changed: 4},

		// ack
		{name: "ack button from standby", steps: []step{do(osc(VerbStandbyAck, "sr", "23")), do(button(VerbButtonPress, "sr"))},
			ch: "sr", want: StateAck, label: "23", ackReq: true, events: []string{"ack sr"}, changed: 1, touched: true},
		{name: "ack button from standby without ack requested", steps: []step{do(osc(VerbStandby, "sr", "23")), do(button(VerbButtonPress, "sr"))},
			ch: "sr", want: StateAck, label: "23", events: []string{"ack sr"}, changed: 1, touched: true},
		{name: "ack command from standby", steps: []step{do(osc(VerbStandby, "fly", "23")), do(osc(VerbAck, "fly"))},
			ch: "fly", want: StateAck, label: "23", ackReq: true, events: []string{"ack fly"}, changed: 1, touched: true},
		{name: "ack from mqtt from standby", steps: []step{do(osc(VerbStandby, "fly", "23")), do(mqtt(VerbAck, "fly"))},
			ch: "fly", want: StateAck, label: "23", ackReq: true, events: []string{"ack fly"}, changed: 1, touched: true},
		{name: "ack in off is a press", steps: []step{do(button(VerbButtonPress, "sr"))},
			ch: "sr", want: StateOff, events: []string{"press sr"}, touched: true},
		{name: "ack in ack is a press", steps: []step{do(osc(VerbStandby, "sr", "23")), do(button(VerbButtonPress, "sr")), do(button(VerbButtonPress, "sr"))},
			ch: "sr", want: StateAck, label: "23", events: []string{"press sr"}, touched: true},
		{name: "ack command in go is a press", steps: []step{do(osc(VerbGo, "sr", "23")), do(osc(VerbAck, "sr"))},
			ch: "sr", want: StateGo, label: "23", events: []string{"press sr"}, touched: true},
		{name: "ack during hold is a press", steps: []step{do(osc(VerbHold, "")), do(button(VerbButtonPress, "fly"))},
			ch: "fly", want: StateHold, events: []string{"press fly"}, touched: true},
		{name: "ack while lost is a press", hb: hbTest, steps: []step{lose, do(button(VerbButtonPress, "fly"))},
			ch: "fly", want: StateLost, events: []string{"press fly"}, touched: true},
		{name: "button release does nothing", steps: []step{do(osc(VerbStandby, "sr", "23")), do(button(VerbButtonRelease, "sr"))},
			ch: "sr", want: StateStandby, label: "23", touched: true},

		// go
		{name: "go from standby", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbGo, "sr"))},
			ch: "sr", want: StateGo, label: "23", events: []string{"go sr"}, changed: 1, touched: true},
		{name: "go from ack", steps: []step{do(osc(VerbStandbyAck, "sr", "23")), do(button(VerbButtonPress, "sr")), do(osc(VerbGo, "sr", "23"))},
			ch: "sr", want: StateGo, label: "23", events: []string{"go sr"}, changed: 1, touched: true},
		{name: "go from off fires unwarned", steps: []step{do(osc(VerbGo, "sr", "23"))},
			ch: "sr", want: StateGo, label: "23", events: []string{"go sr"}, changed: 1, touched: true},
		{name: "go from off on a one-lamp channel", steps: []step{do(osc(VerbGo, "sl", "23"))},
			ch: "sl", want: StateGo, label: "23", events: []string{"go sl"}, changed: 1, touched: true},
		{name: "go with another label than the standby takes the go's label", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbGo, "sr", "24"))},
			ch: "sr", want: StateGo, label: "24", events: []string{"go sr"}, changed: 1, touched: true},
		{name: "go in go with same label is a duplicate", steps: []step{do(osc(VerbGo, "sr", "23")), do(osc(VerbGo, "sr", "23"))},
			ch: "sr", want: StateGo, label: "23", touched: true},
		{name: "go in go without label is a duplicate", steps: []step{do(osc(VerbGo, "sr", "23")), do(osc(VerbGo, "sr"))},
			ch: "sr", want: StateGo, label: "23", touched: true},
		{name: "go in go with new label is a new go", steps: []step{do(osc(VerbGo, "sr", "23")), do(osc(VerbGo, "sr", "24"))},
			ch: "sr", want: StateGo, label: "24", events: []string{"go sr"}, changed: 1, touched: true},
		{name: "go from standby refused on go_requires_ack", steps: []step{do(osc(VerbStandby, "fly", "23")), do(osc(VerbGo, "fly", "23"))},
			ch: "fly", want: StateStandby, label: "23", ackReq: true, events: []string{"refused fly"}, refused: "fly needs an acknowledged standby before GO", touched: true},
		{name: "go from off refused on go_requires_ack", steps: []step{do(osc(VerbGo, "fly", "23"))},
			ch: "fly", want: StateOff, events: []string{"refused fly"}, refused: "use force_go to override", touched: true},
		{name: "go from ack on go_requires_ack", steps: []step{do(osc(VerbStandby, "fly", "23")), do(button(VerbButtonPress, "fly")), do(osc(VerbGo, "fly"))},
			ch: "fly", want: StateGo, label: "23", events: []string{"go fly"}, changed: 1, touched: true},
		{name: "force_go from standby on go_requires_ack", steps: []step{do(osc(VerbStandby, "fly", "23")), do(osc(VerbForceGo, "fly"))},
			ch: "fly", want: StateGo, label: "23", events: []string{"go fly"}, changed: 1, touched: true},
		{name: "force_go from off on go_requires_ack", steps: []step{do(osc(VerbForceGo, "fly", "23"))},
			ch: "fly", want: StateGo, label: "23", events: []string{"go fly"}, changed: 1, touched: true},
		{name: "force_go from standby on a plain channel", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbForceGo, "sr"))},
			ch: "sr", want: StateGo, label: "23", events: []string{"go sr"}, changed: 1, touched: true},
		{name: "force_go in go with same label is a duplicate", steps: []step{do(osc(VerbForceGo, "fly", "23")), do(osc(VerbForceGo, "fly", "23"))},
			ch: "fly", want: StateGo, label: "23", touched: true},
		{name: "go during hold is refused", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbHold, "")), do(osc(VerbGo, "sr", "23"))},
			ch: "sr", want: StateHold, events: []string{"refused sr"}, refused: ReasonHold, touched: true},
		{name: "force_go during hold is refused", steps: []step{do(osc(VerbHold, "")), do(osc(VerbForceGo, "fly", "23"))},
			ch: "fly", want: StateHold, events: []string{"refused fly"}, refused: ReasonHold, touched: true},
		{name: "go while lost not from the booth is refused", hb: hbTest, steps: []step{lose, do(inner(VerbGo, "sr", "23"))},
			ch: "sr", want: StateLost, events: []string{"refused sr"}, refused: ReasonLost, touched: true},
		{name: "force_go while lost from the web is refused", hb: hbTest, steps: []step{lose, do(Command{Verb: VerbForceGo, Channel: "sr", Source: SourceWeb})},
			ch: "sr", want: StateLost, events: []string{"refused sr"}, refused: ReasonLost, touched: true},
		{name: "go while lost from the booth restores then fires unwarned", hb: hbTest, steps: []step{do(osc(VerbStandby, "sr", "23")), lose, do(osc(VerbGo, "sr", "23"))},
			ch: "sr", want: StateGo, label: "23", events: cat(each("restored"), []string{"go sr"}), changed: 5, touched: true},
		{name: "go while lost from the booth on go_requires_ack restores then is refused", hb: hbTest, steps: []step{do(osc(VerbStandby, "fly", "23")), do(button(VerbButtonPress, "fly")), lose, do(osc(VerbGo, "fly", "23"))},
			ch: "fly", want: StateOff, events: cat(each("restored"), []string{"refused fly"}), refused: "needs an acknowledged standby", changed: 4, touched: true},
		{name: "go_hold expiry returns go to off", steps: []step{do(osc(VerbGo, "sr", "23")), tick(DefaultGoHold)},
			ch: "sr", want: StateOff, events: []string{"off sr"}, changed: 1},
		{name: "go stays before go_hold expires", steps: []step{do(osc(VerbGo, "sr", "23")), tick(DefaultGoHold - time.Nanosecond)},
			ch: "sr", want: StateGo, label: "23"},

		// off
		{name: "off from standby", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbOff, "sr"))},
			ch: "sr", want: StateOff, events: []string{"off sr"}, changed: 1, touched: true},
		{name: "off from ack", steps: []step{do(osc(VerbStandby, "sr", "23")), do(button(VerbButtonPress, "sr")), do(osc(VerbOff, "sr"))},
			ch: "sr", want: StateOff, events: []string{"off sr"}, changed: 1, touched: true},
		{name: "off from go", steps: []step{do(osc(VerbGo, "sr", "23")), do(mqtt(VerbOff, "sr"))},
			ch: "sr", want: StateOff, events: []string{"off sr"}, changed: 1, touched: true},
		{name: "off in off is a duplicate", steps: []step{do(osc(VerbOff, "sr"))},
			ch: "sr", want: StateOff, touched: true},
		{name: "off during hold is refused", steps: []step{do(osc(VerbHold, "")), do(osc(VerbOff, "sr"))},
			ch: "sr", want: StateHold, events: []string{"refused sr"}, refused: ReasonHold, touched: true},
		{name: "off while lost not from the booth is refused", hb: hbTest, steps: []step{lose, do(inner(VerbOff, "sr"))},
			ch: "sr", want: StateLost, events: []string{"refused sr"}, refused: ReasonLost, touched: true},
		{name: "off while lost from the booth restores", hb: hbTest, steps: []step{lose, do(osc(VerbOff, "sr"))},
			ch: "sr", want: StateOff, events: each("restored"), changed: 4, touched: true},

		// hold and release
		{name: "hold from every state", steps: []step{do(osc(VerbStandby, "fly", "23")), do(osc(VerbGo, "sl", "22")), do(osc(VerbStandby, "sr", "23")), do(button(VerbButtonPress, "sr")), do(osc(VerbHold, ""))},
			ch: "fly", want: StateHold, events: each("hold"), changed: 4, touched: true},
		{name: "hold addressed to a channel is still show-wide", steps: []step{do(mqtt(VerbHold, "sl"))},
			ch: "fly", want: StateHold, events: each("hold"), changed: 4, touched: true},
		{name: "hold while held is a duplicate", steps: []step{do(osc(VerbHold, "")), do(osc(VerbHold, ""))},
			ch: "sr", want: StateHold, touched: true},
		{name: "release turns every channel off", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbHold, "")), do(osc(VerbRelease, ""))},
			ch: "sr", want: StateOff, events: each("release"), changed: 4, touched: true},
		{name: "release without hold is a duplicate", steps: []step{do(osc(VerbStandby, "sr", "23")), do(osc(VerbRelease, ""))},
			ch: "sr", want: StateStandby, label: "23", touched: true},
		{name: "hold while lost not from the booth is refused", hb: hbTest, steps: []step{lose, do(inner(VerbHold, ""))},
			ch: "sr", want: StateLost, refused: ReasonLost},
		{name: "release while lost not from the booth is refused", hb: hbTest, steps: []step{do(osc(VerbHold, "")), lose, do(inner(VerbRelease, ""))},
			ch: "sr", want: StateLost, refused: ReasonLost},
		{name: "hold while lost from the booth restores then holds", hb: hbTest, steps: []step{lose, do(osc(VerbHold, ""))},
			ch: "sr", want: StateHold, events: cat(each("restored"), each("hold")), changed: 8, touched: true},
		{name: "link loss clears the hold latch", hb: hbTest, steps: []step{do(osc(VerbHold, "")), lose},
			ch: "sl", want: StateLost, events: each("lost"), changed: 4},
		{name: "call during hold is refused", steps: []step{do(osc(VerbHold, "")), do(osc(VerbCall, "fly"))},
			ch: "fly", want: StateHold, events: []string{"refused fly"}, refused: ReasonHold, touched: true},
		{name: "brightness during hold is refused", steps: []step{do(osc(VerbHold, "")), do(bright("sr", 0.5))},
			ch: "sr", want: StateHold, events: []string{"refused sr"}, refused: ReasonHold, touched: true},
		{name: "heartbeat during hold does nothing", hb: hbTest, steps: []step{do(osc(VerbHold, "")), do(osc(VerbHeartbeat, ""))},
			ch: "sr", want: StateHold},
		{name: "call button during hold is a call", steps: []step{do(osc(VerbHold, "")), do(button(VerbCallButton, "sl"))},
			ch: "sl", want: StateHold, events: []string{"call sl"}, touched: true},

		// go_cue
		{name: "go_cue fires standby and ack channels of that cue", steps: []step{do(osc(VerbStandby, "sl", "23")), do(osc(VerbStandby, "sr", "23")), do(button(VerbButtonPress, "sr")), do(osc(VerbStandby, "trap", "24")), do(osc(VerbGoCue, "", "23"))},
			ch: "sr", want: StateGo, label: "23", events: []string{"go sl", "go sr"}, changed: 2, touched: true},
		{name: "go_cue leaves channels of other cues", steps: []step{do(osc(VerbStandby, "sl", "23")), do(osc(VerbStandby, "trap", "24")), do(osc(VerbGoCue, "", "23"))},
			ch: "trap", want: StateStandby, label: "24", events: []string{"go sl"}, changed: 1},
		{name: "go_cue refuses an unacknowledged go_requires_ack channel", steps: []step{do(osc(VerbStandby, "fly", "23")), do(osc(VerbStandby, "sl", "23")), do(osc(VerbGoCue, "", "23"))},
			ch: "fly", want: StateStandby, label: "23", ackReq: true, events: []string{"refused fly", "go sl"}, refused: "fly needs an acknowledged standby", changed: 1, touched: true},
		{name: "go_cue fires an acknowledged go_requires_ack channel", steps: []step{do(osc(VerbStandby, "fly", "23")), do(button(VerbButtonPress, "fly")), do(osc(VerbGoCue, "", "23"))},
			ch: "fly", want: StateGo, label: "23", events: []string{"go fly"}, changed: 1, touched: true},
		{name: "go_cue ignores channels already in go", steps: []step{do(osc(VerbGo, "sr", "23")), do(osc(VerbGoCue, "", "23"))},
			ch: "sr", want: StateGo, label: "23", refused: "no channel is standing by for cue"},
		{name: "go_cue matching nothing is refused", steps: []step{do(osc(VerbGoCue, "", "23"))},
			ch: "sr", want: StateOff, refused: `no channel is standing by for cue "23"`},
		{name: "go_cue without label is refused", steps: []step{do(osc(VerbStandby, "sr", "")), do(osc(VerbGoCue, ""))},
			ch: "sr", want: StateStandby, refused: ReasonCueLabel},
		{name: "go_cue during hold is refused", steps: []step{do(osc(VerbHold, "")), do(osc(VerbGoCue, "", "23"))},
			ch: "sr", want: StateHold, refused: ReasonHold},
		{name: "go_cue while lost not from the booth is refused", hb: hbTest, steps: []step{lose, do(inner(VerbGoCue, "", "23"))},
			ch: "sr", want: StateLost, refused: ReasonLost},
		{name: "go_cue for a standby from before a link loss fires nothing", hb: hbTest, steps: []step{do(osc(VerbStandby, "sr", "23")), lose, do(osc(VerbGoCue, "", "23"))},
			ch: "sr", want: StateOff, events: each("restored"), refused: "no channel is standing by", changed: 4},

		// call, buttons, brightness
		{name: "call leaves the state", steps: []step{do(osc(VerbStandby, "fly", "23")), do(osc(VerbCall, "fly"))},
			ch: "fly", want: StateStandby, label: "23", ackReq: true, events: []string{"call fly"}, touched: true},
		{name: "call on a channel without call outputs is still reported", steps: []step{do(osc(VerbCall, "sr"))},
			ch: "sr", want: StateOff, events: []string{"call sr"}, touched: true},
		{name: "call while lost not from the booth is carried out", hb: hbTest, steps: []step{lose, do(inner(VerbCall, "trap"))},
			ch: "trap", want: StateLost, events: []string{"call trap"}, touched: true},
		{name: "call button is a call event", steps: []step{do(osc(VerbStandby, "fly", "23")), do(button(VerbCallButton, "fly"))},
			ch: "fly", want: StateStandby, label: "23", ackReq: true, events: []string{"call fly"}, touched: true},
		{name: "stuck button is a fault", steps: []step{do(osc(VerbStandby, "fly", "23")), do(button(VerbButtonStuck, "fly"))},
			ch: "fly", want: StateStandby, label: "23", ackReq: true, events: []string{"fault fly"}, touched: true},
		{name: "stuck button while lost is a fault", hb: hbTest, steps: []step{lose, do(button(VerbButtonStuck, "fly"))},
			ch: "fly", want: StateLost, events: []string{"fault fly"}, touched: true},
		{name: "brightness changes no state", steps: []step{do(osc(VerbStandby, "sr", "23")), do(bright("sr", 0.5))},
			ch: "sr", want: StateStandby, label: "23", touched: true},
		{name: "brightness while lost from mqtt is carried out", hb: hbTest, steps: []step{lose, do(Command{Verb: VerbBrightness, Channel: "sr", Value: 0.25, Source: SourceMQTT})},
			ch: "sr", want: StateLost, touched: true},
		{name: "brightness above 1 is refused", steps: []step{do(bright("sr", 1.5))},
			ch: "sr", want: StateOff, events: []string{"refused sr"}, refused: ReasonBrightness, touched: true},
		{name: "negative brightness is refused", steps: []step{do(bright("sr", -0.1))},
			ch: "sr", want: StateOff, events: []string{"refused sr"}, refused: ReasonBrightness, touched: true},
		{name: "NaN brightness is refused", steps: []step{do(bright("sr", math.NaN()))},
			ch: "sr", want: StateOff, events: []string{"refused sr"}, refused: ReasonBrightness, touched: true},

		// heartbeat and link
		{name: "silence from start-up loses the link", hb: hbTest, steps: []step{tick(hbTest)},
			ch: "sr", want: StateLost, events: each("lost"), changed: 4},
		{name: "link stays up just before the timeout", hb: hbTest, steps: []step{tick(hbTest - time.Nanosecond)},
			ch: "sr", want: StateOff},
		{name: "link loss clears a pending standby", hb: hbTest, steps: []step{doAfter(time.Second, osc(VerbStandbyAck, "sr", "23")), tick(hbTest)},
			ch: "sr", want: StateLost, events: each("lost"), changed: 4},
		{name: "a heartbeat keeps the link", hb: hbTest, steps: []step{doAfter(4*time.Second, osc(VerbHeartbeat, "")), tick(4 * time.Second)},
			ch: "sr", want: StateOff},
		{name: "a command from the booth keeps the link", hb: hbTest, steps: []step{doAfter(4*time.Second, osc(VerbStandby, "sr", "23")), tick(4 * time.Second)},
			ch: "sr", want: StateStandby, label: "23"},
		{name: "a command not from the booth does not keep the link", hb: hbTest, steps: []step{doAfter(4*time.Second, inner(VerbStandby, "sr", "23")), tick(time.Second)},
			ch: "sr", want: StateLost, events: each("lost"), changed: 4},
		{name: "heartbeat while lost restores every channel to off", hb: hbTest, steps: []step{do(osc(VerbStandby, "sr", "23")), lose, do(osc(VerbHeartbeat, ""))},
			ch: "sr", want: StateOff, events: each("restored"), changed: 4},
		{name: "heartbeat from outside the booth while lost does nothing", hb: hbTest, steps: []step{lose, do(inner(VerbHeartbeat, ""))},
			ch: "sr", want: StateLost},
		{name: "heartbeat without a timeout does nothing", steps: []step{do(osc(VerbHeartbeat, ""))},
			ch: "sr", want: StateOff},
		{name: "no link loss without a timeout", steps: []step{do(osc(VerbStandby, "sr", "23")), tick(time.Hour)},
			ch: "sr", want: StateStandby, label: "23"},

		// bad commands
		{name: "unknown channel is refused", steps: []step{do(osc(VerbGo, "nope", "23"))},
			ch: "sr", want: StateOff, refused: ReasonUnknownChannel},
		{name: "channel verb without channel is refused", steps: []step{do(osc(VerbGo, "", "23"))},
			ch: "sr", want: StateOff, refused: ReasonNoChannel},
		{name: "zero verb is refused", steps: []step{do(Command{Channel: "sr", Source: SourceOSC})},
			ch: "sr", want: StateOff, refused: ReasonUnknownVerb},
		{name: "out-of-range verb is refused", steps: []step{do(Command{Verb: 200, Channel: "sr", Source: SourceOSC})},
			ch: "sr", want: StateOff, refused: ReasonUnknownVerb},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, tc.hb)
			now, _ := run(e, t0, tc.steps[:len(tc.steps)-1])
			last := tc.steps[len(tc.steps)-1]
			at := now.Add(last.after)
			outsBefore := levels(e, at)
			_, res := run(e, now, tc.steps[len(tc.steps)-1:])

			cs := mustState(t, e, tc.ch)
			if cs.State != tc.want || cs.Label != tc.label || cs.AckRequested != tc.ackReq {
				t.Errorf("%s: state %s label %q ack_requested %v, want %s %q %v",
					tc.ch, cs.State, cs.Label, cs.AckRequested, tc.want, tc.label, tc.ackReq)
			}
			if got := kinds(res.Events); !slices.Equal(got, tc.events) {
				t.Errorf("events %q, want %q", got, tc.events)
			}
			switch {
			case tc.refused == "" && len(res.Refused) > 0:
				t.Errorf("refused %+v, want no refusal", res.Refused)
			case tc.refused != "" && (len(res.Refused) != 1 || !strings.Contains(res.Refused[0].Reason, tc.refused)):
				t.Errorf("refused %+v, want one refusal containing %q", res.Refused, tc.refused)
			}
			if len(res.Changed) != tc.changed {
				t.Errorf("%d changes %+v, want %d", len(res.Changed), res.Changed, tc.changed)
			}
			if got := slices.Contains(res.Touched, tc.ch); got != tc.touched {
				t.Errorf("touched %q: contains %s = %v, want %v", res.Touched, tc.ch, got, tc.touched)
			}
			for _, ev := range res.Events {
				if ev.Kind == EventRefused {
					if ev.Reason == "" || !slices.Contains(res.Refused, Refusal{Channel: ev.Channel, Reason: ev.Reason}) {
						t.Errorf("refused event %+v has no matching refusal in %+v", ev, res.Refused)
					}
				}
			}
			outputsMayChange := last.cmd.Verb == VerbCall || last.cmd.Verb == VerbBrightness
			if len(res.Changed) == 0 && !outputsMayChange {
				if after := levels(e, at); !slices.Equal(after, outsBefore) {
					t.Errorf("no state changed, but outputs went from\n%q to\n%q", outsBefore, after)
				}
			}
		})
	}
}
