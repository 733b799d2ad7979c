package config_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cuelight/cuelight/config"
)

func ExampleParse() {
	const show = `
show: Hamlet
stations:
  sl-wing: {driver: gpio}
channels:
  fly:
    label: Fly rail
    standby_lamp: GPIO17
    go_lamp: GPIO27
    ack_button: GPIO22
    go_requires_ack: true
    require_ack: true
  sl:
    standby_lamp: GPIO16
    ack_button: {pin: GPIO20, active_low: true}
`
	cfg, err := config.Parse(strings.NewReader(show), "hamlet.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	station, _ := cfg.PickStation("", "sl-wing")
	fmt.Printf("%s, station %s\n", cfg.Show, station)
	for _, ch := range cfg.ChannelsOf(station) {
		fmt.Printf("%-4s %-10q", ch.Name, ch.Label)
		for _, u := range ch.Pins() {
			fmt.Printf(" %s=%s", u.Role, u.Pin.Name)
		}
		fmt.Printf(" go_hold=%s\n", ch.GoHold)
	}
	// Output:
	// Hamlet, station sl-wing
	// fly  "Fly rail" standby_lamp=GPIO17 go_lamp=GPIO27 ack_button=GPIO22 go_hold=3s
	// sl   "sl"       standby_lamp=GPIO16 ack_button=GPIO20 go_hold=3s
}

func ExampleError() {
	const show = `
show: Hamlet
stations:
  sl-wing: {driver: gpio}
channels:
  fly:
    standby_lamp: GPIO17
    go_lamp: GPIO27
  sl:
    standby_lamp: GPIO27
    ack_buton: GPIO20
`
	_, err := config.Parse(strings.NewReader(show[1:]), "hamlet.yaml")
	var cerr *config.Error
	if errors.As(err, &cerr) {
		fmt.Println(len(cerr.Problems), "problems:")
		fmt.Println(err)
	}
	// Output:
	// 2 problems:
	// hamlet.yaml:9: channels.sl.standby_lamp: GPIO27 is already channels.fly.go_lamp (line 7) (pick a free pin)
	// hamlet.yaml:10: channels.sl.ack_buton: unknown key (did you mean ack_button?)
}
