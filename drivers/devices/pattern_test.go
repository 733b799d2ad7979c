package devices

import (
	"testing"
	"time"

	"periph.io/x/conn/v3/spi/spitest"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/drivertest"
)

// TestPatternsOnDeviceLamps runs the engine's lamp patterns on device
// lamps, millisecond by millisecond, as the station writes them (level
// and, for an RGB lamp, the state's colour), and reads back what the
// devices show: a PCA9685 lamp (dimmed) and an RGB strip lamp are lit at
// exactly the instants the pattern rules say (cues.Patterns.On), all
// lamps of one pattern in phase, the two alternate lamps never together,
// a lit PCA9685 lamp at the perceptual duty of its level and a lit RGB
// lamp in its colour scaled to its level.
func TestPatternsOnDeviceLamps(t *testing.T) {
	t.Parallel()
	bus := newRegBus()
	rec := &spitest.Record{}
	b, err := Open(drivertest.NewBoard(nil), []drivers.DeviceSpec{
		{Name: "pwm1", Kind: drivers.PCA9685, Bus: "i2c1", Addr: 0x40},
		{Name: "leds", Kind: drivers.APA102, Bus: "spi0.0", LEDs: 2},
	}, Options{Buses: regBuses{i: bus, s: rec}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Halt()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ps := cues.DefaultPatterns()
	eng, err := cues.New(cues.Options{Start: t0, Patterns: ps, Channels: []cues.ChannelSpec{
		{Name: "fly", Lamps: 2}, // pwm1:0 standby, pwm1:1 go
		{Name: "sl", Lamps: 1},  // leds:0
	}})
	if err != nil {
		t.Fatal(err)
	}
	lamps := map[string]drivers.Lamp{}
	for key, pin := range map[string]string{"fly/standby_lamp": "pwm1:0", "fly/go_lamp": "pwm1:1", "sl/standby_lamp": "leds:0"} {
		if lamps[key], err = b.Lamp(pin, drivers.PinOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	colors := drivers.DefaultColors()
	var outs []cues.Output
	write := func(now time.Time) {
		outs = eng.Outputs(now, outs[:0])
		for _, o := range outs {
			l := lamps[o.Channel+"/"+o.Role.String()]
			if cl, ok := l.(drivers.ColorLamp); ok {
				if err := cl.SetColor(colors[o.State.String()], o.Level); err != nil {
					t.Fatal(err)
				}
			} else if err := l.Set(o.Level); err != nil {
				t.Fatal(err)
			}
		}
	}
	// stripLED reads LED i of the last APA102 frame (0xFF, B, G, R).
	stripLED := func() drivers.RGB {
		w := rec.Ops[len(rec.Ops)-1].W
		return drivers.RGB{R: w[4+3], G: w[4+2], B: w[4+1]}
	}
	apply := func(now time.Time, c cues.Command) {
		eng.Apply(now, c)
	}
	const bright = 0.5
	for _, ch := range []string{"fly", "sl"} {
		apply(t0, cues.Command{Verb: cues.VerbBrightness, Channel: ch, Value: bright})
	}
	check := func(name string, from time.Time, span time.Duration, want map[string]cues.Pattern, state string) {
		t.Helper()
		for d := time.Duration(0); d < span; d += time.Millisecond {
			now := from.Add(d)
			eng.Advance(now)
			write(now)
			phase := now.Sub(t0)
			lit := map[string]bool{}
			for key, p := range want {
				wantOn := ps.On(p, phase)
				var on bool
				switch key {
				case "fly/standby_lamp", "fly/go_lamp":
					ch := 0
					if key == "fly/go_lamp" {
						ch = 1
					}
					var duty int
					on, duty = bus.pcaLit(0x40, ch)
					if on && duty != Duty(bright) {
						t.Fatalf("%s: %s at %v: duty %d, want %d", name, key, phase, duty, Duty(bright))
					}
				case "sl/standby_lamp":
					c := stripLED()
					on = c != (drivers.RGB{})
					if want := colors[state].Scale(bright); on && c != want {
						t.Fatalf("%s: %s at %v: colour %v, want %v", name, key, phase, c, want)
					}
				}
				if on != wantOn {
					t.Fatalf("%s: %s at %v: lit %v, the pattern %v says %v", name, key, phase, on, p, wantOn)
				}
				lit[key] = on
			}
			if p := want["fly/go_lamp"]; p == cues.PatternAlternateSecond && lit["fly/standby_lamp"] && lit["fly/go_lamp"] {
				t.Fatalf("%s: the alternate lamps are lit together at %v", name, phase)
			}
		}
	}
	start := t0.Add(3 * time.Second) // not at the phase origin
	apply(start, cues.Command{Verb: cues.VerbStandbyAck, Channel: "fly", Label: "1", HasLabel: true})
	apply(start, cues.Command{Verb: cues.VerbStandbyAck, Channel: "sl", Label: "1", HasLabel: true})
	check("standby with ack requested", start, 2*time.Second,
		map[string]cues.Pattern{"fly/standby_lamp": cues.PatternSlow, "fly/go_lamp": cues.PatternOff, "sl/standby_lamp": cues.PatternSlow}, "standby")
	hold := start.Add(2*time.Second + 130*time.Millisecond)
	apply(hold, cues.Command{Verb: cues.VerbHold})
	check("hold", hold, 2*time.Second,
		map[string]cues.Pattern{"fly/standby_lamp": cues.PatternAlternateFirst, "fly/go_lamp": cues.PatternAlternateSecond, "sl/standby_lamp": cues.PatternDouble}, "hold")
	goAt := hold.Add(2*time.Second + 70*time.Millisecond)
	apply(goAt, cues.Command{Verb: cues.VerbRelease})
	apply(goAt, cues.Command{Verb: cues.VerbGo, Channel: "fly", Label: "2", HasLabel: true})
	apply(goAt, cues.Command{Verb: cues.VerbGo, Channel: "sl", Label: "2", HasLabel: true})
	check("go (a one-lamp channel fast-flashes)", goAt, 2*time.Second,
		map[string]cues.Pattern{"fly/standby_lamp": cues.PatternOff, "fly/go_lamp": cues.PatternSteady, "sl/standby_lamp": cues.PatternFast}, "go")
}
