package config

import (
	"bytes"
	_ "embed"
)

//go:embed demo.yaml
var demoYAML []byte

// Demo returns the built-in demo show (docs/protocol.md §5): station "demo" on the sim
// driver, channels fly, sl, sr and trap, the embedded broker on
// 127.0.0.1:1883, OSC on 127.0.0.1:53100, the web listener on
// 127.0.0.1:8080. Each call returns a new Config. It panics only if the
// embedded file is broken, which the package's tests rule out.
func Demo() *Config {
	cfg, err := Parse(bytes.NewReader(demoYAML), "demo.yaml")
	if err != nil {
		panic("config: the built-in demo show is invalid: " + err.Error())
	}
	return cfg
}
