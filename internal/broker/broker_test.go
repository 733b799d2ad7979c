package broker

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
)

// A retained command is acknowledged but neither stored nor delivered.
func TestRetainedCommandIsDropped(t *testing.T) {
	t.Parallel()
	s := startBroker(t, Options{})
	addr := s.Addr()
	live := mustClient(t, addr, clientOpts{id: "live", subscribe: []string{"cuelight/#"}})
	booth := mustClient(t, addr, clientOpts{id: "booth"})

	for _, topic := range []string{"cuelight/channel/fly/cmd", "cuelight/all/cmd"} {
		if err := booth.pub(t, topic, 1, true, `{"id":"r1","cmd":"go"}`); err != nil {
			t.Fatalf("retained publish to %s not acknowledged: %v", topic, err)
		}
	}
	// Retained state is fine, and a plain command goes through.
	if err := booth.pub(t, "cuelight/channel/fly/state", 1, true, `{"state":"off"}`); err != nil {
		t.Fatal(err)
	}
	if err := booth.pub(t, "cuelight/channel/fly/cmd", 1, false, "marker"); err != nil {
		t.Fatal(err)
	}
	// The live subscriber gets the marker, and no command before it (a
	// delivered retained command would come first: one publisher's messages
	// arrive in order).
	untilMarker(t, live, "marker")

	// A later subscriber gets no stored command. mochi sends retained
	// messages after the SUBACK, so to know they have all come: subscribe to
	// the command topics, then to the state topic; mochi handles one
	// client's packets in order, so a stored command would arrive before the
	// retained state.
	late := mustClient(t, addr, clientOpts{id: "late", subscribe: []string{"cuelight/channel/+/cmd", "cuelight/all/cmd"}})
	if tok := late.Subscribe("cuelight/channel/fly/state", 1, nil); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if m := late.next(t); m.topic != "cuelight/channel/fly/state" || !m.retained {
		t.Fatalf("late subscriber got %+v first, want the retained state (a retained command was stored)", m)
	}
}

// untilMarker reads c's messages up to the one with payload marker and
// fails on any other message on a command topic.
func untilMarker(t *testing.T, c *client, marker string) {
	t.Helper()
	for {
		m := c.next(t)
		switch {
		case m.payload == marker:
			return
		case strings.HasSuffix(m.topic, "/cmd"):
			t.Fatalf("got %+v before %s: a retained command was stored or delivered", m, marker)
		}
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	t.Run("packet over the limit is refused", func(t *testing.T) {
		t.Parallel()
		s := startBroker(t, Options{MaxPacketSize: 1024})
		addr := s.Addr()
		sub := mustClient(t, addr, clientOpts{id: "sub", subscribe: []string{"t/#"}})
		big := mustClient(t, addr, clientOpts{id: "big"})
		_ = big.Publish("t/big", 1, false, strings.Repeat("x", 2000)) // the broker drops the connection
		small := mustClient(t, addr, clientOpts{id: "small"})
		if err := small.pub(t, "t/small", 1, false, "fits"); err != nil {
			t.Fatal(err)
		}
		if m := sub.next(t); m.topic != "t/small" {
			t.Fatalf("got %s (%d bytes) first, want t/small: the oversized packet went through", m.topic, len(m.payload))
		}
	})
	t.Run("clients over the limit are refused", func(t *testing.T) {
		t.Parallel()
		s := startBroker(t, Options{MaxClients: 2})
		addr := s.Addr()
		mustClient(t, addr, clientOpts{id: "one"})
		mustClient(t, addr, clientOpts{id: "two"})
		if _, err := newClient(t, addr, clientOpts{id: "three"}); err == nil {
			t.Fatal("a third client connected with MaxClients 2")
		} else {
			t.Logf("third client: %v", err)
		}
	})
}

func TestOffLoopbackWithoutUsersIsRefusedAtStart(t *testing.T) {
	t.Parallel()
	for _, listen := range []string{":0", "0.0.0.0:0", "[::]:0"} {
		s := &Supervisor{}
		err := s.Start(context.Background(), Options{Listen: listen, Exe: os.Args[0]})
		if !errors.Is(err, ErrAnonymousOffLoopback) {
			t.Errorf("Start(%s) without users: %v, want ErrAnonymousOffLoopback", listen, err)
		}
	}
}

// nonLoopbackIP returns an IPv4 address of this machine that is not
// loopback, or "" when there is none.
func nonLoopbackIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}

// Users and ACLs over a real non-loopback listener (the hook logic is also
// unit-tested in hooks_test.go, which runs everywhere).
func TestUsersOnANonLoopbackListener(t *testing.T) {
	t.Parallel()
	ip := nonLoopbackIP()
	if ip == "" {
		t.Skip("no non-loopback IPv4 address on this machine; the policy is covered by TestPolicyAuthenticate and TestHooksWithMochiTypes")
	}
	s := startBroker(t, Options{Listen: net.JoinHostPort(ip, "0"), Users: testUsers(t)})
	addr := s.Addr()
	t.Logf("listening on %s", addr)

	for _, tc := range []struct{ name, user, pass string }{
		{"anonymous", "", ""},
		{"bad password", "qlab", "wrong"},
		{"unknown user", "nobody", "booth-pw"},
	} {
		if _, err := newClient(t, addr, clientOpts{id: "refused-" + tc.user, user: tc.user, pass: tc.pass}); err == nil {
			t.Errorf("%s: connection accepted off loopback", tc.name)
		}
	}

	sub := mustClient(t, addr, clientOpts{id: "wall-sub", user: "wall", pass: "viewer-pw", subscribe: []string{"cuelight/#"}})
	viewer := mustClient(t, addr, clientOpts{id: "wall-pub", user: "wall", pass: "viewer-pw"})
	_ = viewer.Publish("cuelight/all/cmd", 0, false, "from-viewer") // QoS 0: silently dropped
	booth := mustClient(t, addr, clientOpts{id: "qlab", user: "qlab", pass: "booth-pw"})
	if err := booth.pub(t, "cuelight/all/cmd", 1, false, "from-booth"); err != nil {
		t.Fatalf("booth publish: %v", err)
	}
	if m := sub.next(t); m.payload != "from-booth" {
		t.Fatalf("subscriber got %+v first, want the booth's command (the viewer's went through)", m)
	}
	// A booth may not pose as a station.
	_ = booth.Publish("cuelight/channel/fly/state", 0, false, "fake-state")
	station := mustClient(t, addr, clientOpts{id: "sr-wing", user: "sr-wing", pass: "station-pw"})
	if err := station.pub(t, "cuelight/channel/fly/state", 1, true, "real-state"); err != nil {
		t.Fatal(err)
	}
	if m := sub.next(t); m.payload != "real-state" {
		t.Fatalf("subscriber got %+v, want the station's state (the booth's fake went through)", m)
	}
}
