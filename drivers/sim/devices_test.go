package sim

import (
	"errors"
	"testing"

	"github.com/cuelight/cuelight/drivers"
)

// TestSimDevices: the simulated board has every device kind: a PCA9685
// lamp dims, a strip lamp shows its colour and brightness, an MCP23017
// lamp is on or off and takes a button; pins off a device are refused.
func TestSimDevices(t *testing.T) {
	t.Parallel()
	b := New(Options{Devices: []drivers.DeviceSpec{
		{Name: "pwm1", Kind: drivers.PCA9685, Bus: "i2c1", Addr: 0x40},
		{Name: "leds", Kind: drivers.APA102, Bus: "spi0.0", LEDs: 4},
		{Name: "neo", Kind: drivers.WS2812, Bus: "spi0.1", LEDs: 4, LEDsPerLamp: 2},
		{Name: "exp1", Kind: drivers.MCP23017, Bus: "i2c1", Addr: 0x20},
	}})
	pwm, err := b.Lamp("pwm1:3", drivers.PinOptions{Channel: "fly", Role: drivers.RoleStandbyLamp})
	if err != nil {
		t.Fatal(err)
	}
	rgb, err := b.Lamp("leds:1", drivers.PinOptions{Channel: "fly", Role: drivers.RoleGoLamp})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := b.Lamp("exp1:0", drivers.PinOptions{Channel: "sl", Role: drivers.RoleStandbyLamp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Button("exp1:8", drivers.ButtonOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Press("exp1:8"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"pwm1:16", "neo:2", "nope:0", "pwm1:3"} {
		if _, err := b.Lamp(bad, drivers.PinOptions{}); err == nil {
			t.Errorf("Lamp(%s) opened", bad)
		}
	}
	if _, err := b.Button("pwm1:4", drivers.ButtonOptions{}); err == nil {
		t.Error("a PCA9685 button opened")
	}
	if _, err := b.Lamp("nope:0", drivers.PinOptions{}); !errors.Is(err, drivers.ErrUnknownPin) {
		t.Errorf("unknown device: %v", err)
	}
	_ = pwm.Set(0.4)
	cl, ok := rgb.(drivers.ColorLamp)
	if !ok {
		t.Fatal("a strip lamp is not a ColorLamp")
	}
	_ = cl.SetColor(drivers.ColorNames["green"], 0.5)
	_ = exp.Set(0.3)
	want := map[string]PinState{
		"pwm1:3": {Name: "pwm1:3", Channel: "fly", Role: "standby_lamp", Level: true, Brightness: 0.4},
		"leds:1": {Name: "leds:1", Channel: "fly", Role: "go_lamp", Level: true, Brightness: 0.5, Color: "#00ff00"},
		"exp1:0": {Name: "exp1:0", Channel: "sl", Role: "standby_lamp", Level: true, Brightness: 1},
	}
	for name, w := range want {
		got, err := b.Pin(name)
		if err != nil || got != w {
			t.Errorf("Pin(%s) = %+v, %v; want %+v", name, got, err, w)
		}
	}
	_ = b.Halt()
	if got, _ := b.Pin("leds:1"); got.Level || got.Brightness != 0 {
		t.Errorf("after Halt: %+v", got)
	}
}
