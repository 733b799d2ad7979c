package station

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/osc"
)

// The gateway through the whole station (docs/protocol.md §9), in one
// process: an in-process broker, two stations with lamps and one or two
// gateways with driver none, real clocks. (End to end with separate
// processes, liblo and Mosquitto: cmd/cuelightd's gateway tests.)

const gatewayShow = `
show: gateway
mqtt: {broker: "tcp://127.0.0.1:1883"}
osc: {listen: 127.0.0.1:0, feedback: [FEEDBACK]}
stations:
  booth: {driver: none, gateway: true}
  booth2: {driver: none, gateway: true}
  a: {driver: sim}
  b: {driver: sim}
channels:
  fly: {station: a, standby_lamp: GPIO17, go_lamp: GPIO27, go_requires_ack: true}
  sl: {station: b, standby_lamp: GPIO16, call_button: GPIO20}
`

type showRig struct {
	t        *testing.T
	h        *harness // the broker
	cfg      *config.Config
	boards   map[string]*sim.Board
	stations map[string]*Station
	stops    map[string]func()
	feedback *net.UDPConn
}

func newShowRig(t *testing.T) *showRig {
	t.Helper()
	return newShowRigWith(t, gatewayShow)
}

// newShowRigWith is newShowRig on another show (FEEDBACK is replaced by
// the rig's feedback address).
func newShowRigWith(t *testing.T, gatewayShow string) *showRig {
	t.Helper()
	h := &harness{t: t}
	h.startBroker()
	fb, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	show := strings.ReplaceAll(gatewayShow, "FEEDBACK", fb.LocalAddr().String())
	cfg, err := config.Parse(strings.NewReader(show), "gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return &showRig{t: t, h: h, cfg: cfg, feedback: fb,
		boards: map[string]*sim.Board{}, stations: map[string]*Station{}, stops: map[string]func(){}}
}

// start runs one station of the show.
func (r *showRig) start(name string) *Station {
	r.t.Helper()
	st, _ := r.cfg.Station(name)
	var board drivers.Board = drivers.None{}
	if st.Driver == config.DriverSim {
		b := sim.New(sim.Options{})
		r.boards[name] = b
		board = b
	}
	s, err := New(Options{
		Config: r.cfg, Station: name, Board: board, Epoch: "ep-" + name,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		OSCListen: "127.0.0.1:0", MQTTBroker: fmt.Sprintf("tcp://127.0.0.1:%d", r.h.port),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	run := runStation(r.t, s)
	stop := func() {
		if err := run(); err != nil {
			r.t.Errorf("%s: Run: %v", name, err)
		}
	}
	waitFor(r.t, name+" ready and connected", func() bool { return s.Ready() && s.link.Connected() })
	r.stations[name], r.stops[name] = s, stop
	return s
}

// booth is an OSC client talking to a gateway.
func (r *showRig) booth(gw string) *osc.Client {
	r.t.Helper()
	c, err := osc.DialUDP(r.stations[gw].OSCAddr().String())
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	return c
}

// expect reads from c until a message whose text starts with prefix.
func expectMsg(t *testing.T, c interface {
	Receive(context.Context) (osc.Packet, error)
}, prefix string) *osc.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var seen []string
	for {
		p, err := c.Receive(ctx)
		if err != nil {
			t.Fatalf("no message %q (seen %q): %v", prefix, seen, err)
		}
		m, ok := p.(*osc.Message)
		if !ok {
			continue
		}
		if txt := formatMsg(m); strings.HasPrefix(txt, prefix) {
			return m
		} else {
			seen = append(seen, txt)
		}
	}
}

// feedbackClient wraps the feedback socket as a Receive-er.
type udpReceiver struct{ c *net.UDPConn }

func (u udpReceiver) Receive(ctx context.Context) (osc.Packet, error) {
	dl, _ := ctx.Deadline()
	_ = u.c.SetReadDeadline(dl)
	buf := make([]byte, 65536)
	n, err := u.c.Read(buf)
	if err != nil {
		return nil, err
	}
	return osc.Decode(buf[:n])
}

func TestGateway(t *testing.T) {
	t.Parallel()
	r := newShowRig(t)
	r.start("a")
	r.start("b")
	gw := r.start("booth")
	booth := r.booth("booth")
	fb := udpReceiver{r.feedback}

	// A standby for sl (station b) sent to the gateway lights b's lamp;
	// the gateway's feedback target and the sender see the state.
	if err := booth.Send(osc.NewMessage("/cuelight/sl/standby", osc.String("5"))); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, booth, `/cuelight/state/sl/standby "5"`)
	expectMsg(t, fb, `/cuelight/state/sl/standby "5"`)
	waitFor(t, "sl's lamp lit on station b", func() bool { p, _ := r.boards["b"].Pin("GPIO16"); return p.Level })

	// A GO refused on a remote go_requires_ack channel comes back as an error.
	if err := booth.Send(osc.NewMessage("/cuelight/fly/go", osc.String("1"))); err != nil {
		t.Fatal(err)
	}
	m := expectMsg(t, booth, `/cuelight/error "/cuelight/fly/go"`)
	if reason, _ := m.Args[1].String(); !strings.Contains(reason, "needs an acknowledged standby") {
		t.Errorf("error reason %q", reason)
	}
	if p, _ := r.boards["a"].Pin("GPIO27"); p.Level {
		t.Fatal("fly's GO lamp lit by a refused GO")
	}

	// A command for a channel that is not in the show: an error, nothing sent.
	if err := booth.Send(osc.NewMessage("/cuelight/nope/go")); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, booth, `/cuelight/error "/cuelight/nope/go" "no channel nope in this show"`)

	// A cue GO by label reaches the remote station through all/cmd.
	if err := booth.Send(osc.NewMessage("/cuelight/cue/5/go")); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, fb, `/cuelight/state/sl/go "5"`)

	// A call from the wing on station b reaches the gateway's feedback
	// targets (the gateway relays it; b itself sends feedback to no one in
	// a show with a gateway).
	if err := r.boards["b"].Press("GPIO20"); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, fb, `/cuelight/call/sl`)

	// Sync answers the whole show.
	if err := booth.Send(osc.NewMessage("/cuelight/sync")); err != nil {
		t.Fatal(err)
	}
	expectMsg(t, booth, `/cuelight/state/fly/off`)
	expectMsg(t, booth, `/cuelight/state/sl/`)

	// A station that stops is reported offline.
	r.stops["b"]()
	expectMsg(t, fb, `/cuelight/state/sl/offline`)
	if c, _ := gw.Show().Channel("sl"); c.Online {
		t.Error("sl online in the gateway's view after its station stopped")
	}
}

// TestTwoGateways checks that a main and a backup gateway receiving the
// same commands are harmless: each forwards its copy, the duplicate rules
// make the second a no-op, and exactly one standby and one GO happen.
func TestTwoGateways(t *testing.T) {
	t.Parallel()
	r := newShowRig(t)
	r.start("b")
	r.start("booth")
	r.start("booth2")
	b1, b2 := r.booth("booth"), r.booth("booth2")
	for _, m := range []*osc.Message{
		osc.NewMessage("/cuelight/sl/standby", osc.String("9")),
		osc.NewMessage("/cuelight/sl/go", osc.String("9")),
	} {
		if err := b1.Send(m); err != nil {
			t.Fatal(err)
		}
		if err := b2.Send(m); err != nil {
			t.Fatal(err)
		}
		// Whichever copy arrives first is carried out and answered to its
		// sender; the other is a duplicate, which no event answers.
		want := "standby"
		if strings.HasSuffix(m.Address, "/go") {
			want = "go"
		}
		waitFor(t, "sl in "+want, func() bool { c, _ := r.stations["b"].Show().Channel("sl"); return c.State.State == want })
	}
	b := r.stations["b"]
	waitFor(t, "station b handled all four copies", func() bool { return b.mqttHandled.Load() >= 4 })
	if got := channelEvents(b, "sl"); got != "standby go" {
		t.Errorf("events on sl %q, want exactly one standby and one go", got)
	}
}

// channelEvents lists the kinds of a channel's events in s's show view,
// once s's cue loop has handled what it was given.
func channelEvents(s *Station, ch string) string {
	s.onLoopSync()
	var kinds []string
	for _, ev := range s.Show().Events(100) {
		if ev.Channel == ch {
			kinds = append(kinds, ev.Event)
		}
	}
	return strings.Join(kinds, " ")
}

// TestGatewayCopiesOutOfOrder: the backup gateway's copy of a standby
// arrives after the main gateway's GO (their paths to the station differ
// by milliseconds; a QLab cue that sends standby and GO together makes
// that gap as small). The late copy must not arm the channel again, or the
// GO's own copy would fire it a second time: a GO nobody sent. Commands
// through one gateway, and from senders that are not gateways, are never
// taken for copies.
func TestGatewayCopiesOutOfOrder(t *testing.T) {
	t.Parallel()
	r := newShowRig(t)
	b := r.start("b")
	t0 := time.Now()
	send := func(id, cmd, label string, at time.Duration, via string) {
		t.Helper()
		v := ""
		if via != "" {
			v = fmt.Sprintf(`,"via":%q`, via)
		}
		payload := fmt.Sprintf(`{"id":%q,"cmd":%q,"label":%q,"ts":%q,"ttl_ms":2000%s}`, id, cmd, label, mqttlink.FormatTime(t0.Add(at)), v)
		before := b.mqttHandled.Load()
		if err := r.h.broker.Publish("cuelight/channel/sl/cmd", []byte(payload), false, 1); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b handled "+id, func() bool { return b.mqttHandled.Load() > before })
	}
	events := func() string { return channelEvents(b, "sl") }
	send("main-1", "standby", "9", 0, "booth")
	send("main-2", "go", "9", 10*time.Millisecond, "booth")
	send("backup-1", "standby", "9", time.Millisecond, "booth2") // late: after the main's GO
	send("backup-2", "go", "9", 11*time.Millisecond, "booth2")
	if got := events(); got != "standby go" {
		t.Fatalf("events on sl %q, want one standby and one go", got)
	}
	if c, _ := b.Show().Channel("sl"); c.State.State != "go" || c.State.Label != "9" {
		t.Errorf("sl is %s %q, want go \"9\"", c.State.State, c.State.Label)
	}
	// The same gateway sending the same command again is the booth's.
	send("main-3", "standby", "9", 20*time.Millisecond, "booth")
	// And so is a command from anything but a gateway (cuectl, a page).
	send("ctl-1", "go", "9", 21*time.Millisecond, "")
	if got := events(); got != "standby go standby go" {
		t.Errorf("events on sl %q, want the second standby and go carried out", got)
	}
}

// TestGatewayCopyOverOSCAfterMQTT: a gateway that owns a channel takes the
// booth's commands for it over OSC, and the other gateway's copies come to
// it over MQTT. When the other gateway's standby and GO come first, the
// late OSC standby must not arm the channel again.
func TestGatewayCopyOverOSCAfterMQTT(t *testing.T) {
	t.Parallel()
	// The OSC copies are stamped with the gateway's real clock when they
	// arrive: a clock_skew of 5 s puts them within the copy window of the
	// MQTT copies however slow the machine (qemu-user in CI).
	show := strings.Replace(gatewayShow, "booth: {driver: none, gateway: true}", "booth: {driver: sim, gateway: true}", 1) +
		"  pit: {station: booth, standby_lamp: GPIO22, go_lamp: GPIO23}\n"
	show = strings.Replace(show, `mqtt: {broker: "tcp://127.0.0.1:1883"}`, `mqtt: {broker: "tcp://127.0.0.1:1883", clock_skew: 5s}`, 1)
	r := newShowRigWith(t, show)
	g := r.start("booth")
	t0 := time.Now()
	for i, cmd := range []string{"standby", "go"} {
		payload := fmt.Sprintf(`{"id":"backup-%d","cmd":%q,"label":"9","ts":%q,"ttl_ms":2000,"via":"booth2"}`, i, cmd, mqttlink.FormatTime(t0.Add(time.Duration(i)*10*time.Millisecond)))
		before := g.mqttHandled.Load()
		if err := r.h.broker.Publish("cuelight/channel/pit/cmd", []byte(payload), false, 1); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "booth handled "+cmd, func() bool { return g.mqttHandled.Load() > before })
	}
	booth := r.booth("booth")
	for _, m := range []*osc.Message{
		osc.NewMessage("/cuelight/pit/standby", osc.String("9")),
		osc.NewMessage("/cuelight/pit/go", osc.String("9")),
	} {
		if err := booth.Send(m); err != nil {
			t.Fatal(err)
		}
		expectMsg(t, booth, "/cuelight/state/pit/go") // a duplicate's answer: the state as it is
	}
	if got := channelEvents(g, "pit"); got != "standby go" {
		t.Errorf("events on pit %q, want one standby and one go", got)
	}
}
