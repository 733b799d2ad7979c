package config

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/cuelight/cuelight/osc"
)

// TestAllowMissingVsEmpty: a missing osc.allow gives the loopback default;
// allow: [] is kept as an explicitly empty list, and an OSC server given
// that list admits nobody, so check-config's warning ("every OSC datagram
// is dropped") is the truth.
func TestAllowMissingVsEmpty(t *testing.T) {
	t.Parallel()
	missing := mustParse(t, `
show: x
osc: {listen: 127.0.0.1:0}
stations: {a: {driver: sim}}
channels: {fly: {standby_lamp: GPIO17}}
`)
	if !slices.Equal(missing.OSC.Allow, DefaultAllow()) {
		t.Errorf("missing allow: %v, want %v", missing.OSC.Allow, DefaultAllow())
	}
	empty := mustParse(t, `
show: x
osc: {listen: 127.0.0.1:0, allow: []}
stations: {a: {driver: sim}}
channels: {fly: {standby_lamp: GPIO17}}
`)
	if empty.OSC.Allow == nil || len(empty.OSC.Allow) != 0 {
		t.Errorf("allow: [] gave %#v, want an empty, non-nil list", empty.OSC.Allow)
	}
	if len(empty.Warnings) != 1 || empty.Warnings[0].Key != "osc.allow" {
		t.Errorf("allow: [] warnings %v", empty.Warnings)
	}

	for _, tc := range []struct {
		name  string
		cfg   *Config
		admit bool
	}{{"missing", missing, true}, {"empty", empty, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &osc.Dispatcher{}
			got := make(chan string, 1)
			d.SetFallback(func(m *osc.Message, _ *osc.Sender) { got <- m.Address })
			srv, err := osc.Listen(osc.Options{Listen: tc.cfg.OSC.Listen, Allow: tc.cfg.OSC.Allow}, d)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = srv.Serve(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			c, err := net.Dial("udp", srv.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			b, _ := osc.NewMessage("/cuelight/fly/go").MarshalBinary()
			if _, err := c.Write(b); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				st := srv.Stats()
				if st.Received+st.Rejected > 0 {
					if tc.admit != (st.Received == 1) || tc.admit == (st.Rejected == 1) {
						t.Fatalf("admit %v, stats %+v", tc.admit, st)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the datagram was neither received nor rejected")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if tc.admit {
				if a := <-got; a != "/cuelight/fly/go" {
					t.Fatalf("got %s", a)
				}
			}
		})
	}
}
