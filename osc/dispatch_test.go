package osc

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// recorder collects "method: message" lines in delivery order.
type recorder struct{ got []string }

func (r *recorder) handler(name string) Handler {
	return func(m *Message, _ *Sender) { r.got = append(r.got, name+": "+m.String()) }
}

func newTestDispatcher(t *testing.T, r *recorder, addrs ...string) *Dispatcher {
	t.Helper()
	d := &Dispatcher{}
	for _, a := range addrs {
		if err := d.Handle(a, r.handler(a)); err != nil {
			t.Fatal(err)
		}
	}
	d.SetFallback(r.handler("fallback"))
	return d
}

func TestDispatchMessage(t *testing.T) {
	t.Parallel()
	methods := []string{"/cuelight/fly/go", "/cuelight/sl/go", "/cuelight/sr/go", "/cuelight/fly/standby", "/cuelight/ping"}
	for _, c := range []struct {
		name    string
		address string
		want    []string // methods, in delivery order
	}{
		{"literal", "/cuelight/fly/go", []string{"/cuelight/fly/go"}},
		{"star delivers in registration order", "/cuelight/*/go", []string{"/cuelight/fly/go", "/cuelight/sl/go", "/cuelight/sr/go"}},
		{"alternatives", "/cuelight/{sr,sl}/go", []string{"/cuelight/sl/go", "/cuelight/sr/go"}},
		{"set", "/cuelight/s[lr]/go", []string{"/cuelight/sl/go", "/cuelight/sr/go"}},
		{"star in the last part", "/cuelight/fly/*", []string{"/cuelight/fly/go", "/cuelight/fly/standby"}},
		{"wildcards keep to their part", "/cuelight/*", []string{"/cuelight/ping"}},
		{"literal parts narrow the candidates", "/*/fly/go", []string{"/cuelight/fly/go"}},
		{"literal part nobody has", "/cuelight/trap/*", []string{"fallback"}},
		{"no match goes to the fallback", "/cuelight/trap/go", []string{"fallback"}},
		{"comma list is not a pattern", "/cuelight/sl,sr/go", []string{"fallback"}},
		{"malformed pattern goes to the fallback", "/cuelight/[fly/go", []string{"fallback"}},
		{"double slash without the option", "//go", []string{"fallback"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{}
			d := newTestDispatcher(t, r, methods...)
			n := d.DispatchMessage(NewMessage(c.address, String("23")), nil)
			var got []string
			for _, line := range r.got {
				got = append(got, line[:len(line)-len(": "+c.address+` ,s "23"`)])
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("delivered to %q, want %q", got, c.want)
			}
			wantN := len(c.want)
			if c.want[0] == "fallback" {
				wantN = 0
			}
			if n != wantN {
				t.Fatalf("DispatchMessage returned %d, want %d", n, wantN)
			}
			st := d.Stats()
			if (wantN == 0) != (st.Unmatched == 1) || (wantN > 0) != (st.Delivered == 1) {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestDispatchPathWildcard(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	d := newTestDispatcher(t, r, "/cuelight/fly/go", "/cuelight/sl/go", "/go", "/cuelight/fly/off")
	d.PathWildcard = true
	d.DispatchMessage(NewMessage("//go"), nil)
	want := []string{"/cuelight/fly/go: //go ,", "/cuelight/sl/go: //go ,", "/go: //go ,"}
	if !slices.Equal(r.got, want) {
		t.Fatalf("got %q, want %q", r.got, want)
	}
}

func TestDispatcherRegistration(t *testing.T) {
	t.Parallel()
	d := &Dispatcher{}
	h := func(*Message, *Sender) {}
	if err := d.Handle("/a/b", h); err != nil {
		t.Fatal(err)
	}
	if err := d.Handle("/a/b", h); !errors.Is(err, ErrDuplicate) {
		t.Errorf("duplicate: %v", err)
	}
	if err := d.Handle("/a/*", h); !errors.Is(err, ErrBadAddress) {
		t.Errorf("pattern as method: %v", err)
	}
	if err := d.Handle("/c", nil); err == nil {
		t.Error("nil handler accepted")
	}
	if err := d.Handle("/c", h); err != nil {
		t.Fatal(err)
	}
	if got := d.Methods(); !slices.Equal(got, []string{"/a/b", "/c"}) {
		t.Errorf("Methods() = %q", got)
	}
	if !d.Remove("/a/b") || d.Remove("/a/b") {
		t.Error("Remove should succeed once")
	}
	if n := d.DispatchMessage(NewMessage("/a/b"), nil); n != 0 {
		t.Errorf("removed method still matched")
	}
	if n := d.DispatchMessage(NewMessage("/?"), nil); n != 1 {
		t.Errorf("pattern after removal matched %d", n)
	}
	var empty Dispatcher
	if n := empty.DispatchMessage(NewMessage("/x"), nil); n != 0 || empty.Stats().Unmatched != 1 {
		t.Error("the zero Dispatcher should count an unmatched message")
	}
}

func TestDispatcherHandlerMayRegister(t *testing.T) {
	t.Parallel()
	d := &Dispatcher{}
	calls := 0
	err := d.Handle("/add", func(*Message, *Sender) {
		calls++
		_ = d.Handle("/added", func(*Message, *Sender) { calls += 10 })
	})
	if err != nil {
		t.Fatal(err)
	}
	d.DispatchMessage(NewMessage("/*"), nil) // iterates a snapshot: /added is not called yet
	d.DispatchMessage(NewMessage("/added"), nil)
	if calls != 11 {
		t.Fatalf("calls = %d, want 11", calls)
	}
}

func TestDispatchPassesSender(t *testing.T) {
	t.Parallel()
	var replies []Packet
	from := NewSender(netip.MustParseAddrPort("10.0.0.5:9000"), "test", func(p Packet) error {
		replies = append(replies, p)
		return nil
	})
	d := &Dispatcher{}
	_ = d.Handle("/ping", func(m *Message, s *Sender) {
		if s.Addr().String() != "10.0.0.5:9000" || s.Network() != "test" {
			t.Errorf("sender %v", s)
		}
		_ = s.Reply(NewMessage("/pong"))
	})
	d.DispatchMessage(NewMessage("/ping"), from)
	if len(replies) != 1 || replies[0].String() != "/pong ," {
		t.Fatalf("replies %v", replies)
	}
	var nilSender *Sender
	if nilSender.Reply(NewMessage("/x")) != ErrNoReply || nilSender.Addr().IsValid() || nilSender.Network() != "" || nilSender.Framing() != 0 {
		t.Error("nil Sender misbehaves")
	}
	if NewSender(netip.AddrPort{}, "x", nil).Reply(NewMessage("/x")) != ErrNoReply {
		t.Error("Sender without reply func should give ErrNoReply")
	}
}

var t0 = time.Date(2026, 5, 17, 19, 30, 0, 0, time.UTC)

func at(d time.Duration) TimeTag { return TimeTagFrom(t0.Add(d)) }

func TestDispatchBundleTiming(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	d := newTestDispatcher(t, r, "/a", "/b", "/c", "/d")
	d.Horizon = 10 * time.Second
	msg := func(a string) *Message { return NewMessage(a) }

	// Immediate, past and future bundles, in one sequence.
	d.Dispatch(NewBundle(Immediately, msg("/a")), nil, t0)
	d.Dispatch(NewBundle(0, msg("/a")), nil, t0)
	d.Dispatch(NewBundle(at(-time.Second), msg("/b")), nil, t0)
	d.Dispatch(NewBundle(at(0), msg("/b")), nil, t0) // exactly now: immediate, not late
	d.Dispatch(NewBundle(at(2*time.Second), msg("/c"), msg("/d")), nil, t0)
	d.Dispatch(NewBundle(at(time.Second), msg("/d")), nil, t0) // due earlier, arrives later
	d.Dispatch(NewBundle(at(2*time.Second), msg("/a")), nil, t0)
	d.Dispatch(NewBundle(at(11*time.Second), msg("/a")), nil, t0) // beyond the horizon
	if want := []string{"/a: /a ,", "/a: /a ,", "/b: /b ,", "/b: /b ,"}; !slices.Equal(r.got, want) {
		t.Fatalf("immediate deliveries %q, want %q", r.got, want)
	}
	st := d.Stats()
	if st.Late != 1 || st.Scheduled != 3 || st.Dropped != 1 || st.Pending != 3 {
		t.Fatalf("stats %+v", st)
	}
	if due, ok := d.NextDue(); !ok || !due.Equal(t0.Add(time.Second)) {
		t.Fatalf("NextDue = %v, %v", due, ok)
	}
	r.got = nil
	if n := d.RunDue(t0.Add(999 * time.Millisecond)); n != 0 || len(r.got) != 0 {
		t.Fatalf("RunDue before time delivered %q", r.got)
	}
	if n := d.RunDue(t0.Add(5 * time.Second)); n != 3 {
		t.Fatalf("RunDue delivered %d bundles", n)
	}
	// Earliest first; equal times in arrival order; elements in order.
	if want := []string{"/d: /d ,", "/c: /c ,", "/d: /d ,", "/a: /a ,"}; !slices.Equal(r.got, want) {
		t.Fatalf("due deliveries %q, want %q", r.got, want)
	}
	if _, ok := d.NextDue(); ok {
		t.Fatal("still pending")
	}
}

func TestDispatchNestedBundles(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	d := newTestDispatcher(t, r, "/a", "/b", "/c")
	// An immediate bundle holding a future one: /a and /c now, /b later.
	d.Dispatch(NewBundle(Immediately, NewMessage("/a"), NewBundle(at(time.Second), NewMessage("/b")), NewMessage("/c")), nil, t0)
	if want := []string{"/a: /a ,", "/c: /c ,"}; !slices.Equal(r.got, want) {
		t.Fatalf("got %q", r.got)
	}
	// A future bundle holding an immediate one and a later one.
	r.got = nil
	d.Dispatch(NewBundle(at(2*time.Second), NewBundle(Immediately, NewMessage("/c")), NewBundle(at(3*time.Second), NewMessage("/a"))), nil, t0)
	d.RunDue(t0.Add(2 * time.Second))
	if want := []string{"/b: /b ,", "/c: /c ,"}; !slices.Equal(r.got, want) {
		t.Fatalf("got %q", r.got)
	}
	d.RunDue(t0.Add(3 * time.Second))
	if want := []string{"/b: /b ,", "/c: /c ,", "/a: /a ,"}; !slices.Equal(r.got, want) {
		t.Fatalf("got %q", r.got)
	}
	if st := d.Stats(); st.Late != 0 || st.Scheduled != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDispatchHeldBundleIsCopied(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	d := newTestDispatcher(t, r, "/a")
	var dec Decoder
	b, _ := NewBundle(at(time.Second), NewMessage("/a", String("kept"))).MarshalBinary()
	p, _ := dec.Decode(b)
	var seen *Sender
	from := NewSender(netip.MustParseAddrPort("127.0.0.1:1"), "udp", nil)
	_ = d.Handle("/b", func(_ *Message, s *Sender) { seen = s })
	d.Dispatch(p, from, t0)
	d.Dispatch(NewBundle(at(time.Second), NewMessage("/b")), from, t0)
	clear(b) // the decoder's buffer is reused
	_, _ = dec.Decode(nestBundle(msgB1, 1))
	d.RunDue(t0.Add(time.Second))
	if want := []string{`/a: /a ,s "kept"`}; !slices.Equal(r.got, want) {
		t.Fatalf("got %q, want %q", r.got, want)
	}
	if seen == nil || seen == from || seen.Addr() != from.Addr() {
		t.Fatalf("held bundle sender = %v, want a copy of %v", seen, from)
	}
}

func TestDispatchMaxPendingAndDrop(t *testing.T) {
	t.Parallel()
	d := &Dispatcher{MaxPending: 2}
	for i := 0; i < 3; i++ {
		d.Dispatch(NewBundle(at(time.Second), NewMessage("/x")), nil, t0)
	}
	if st := d.Stats(); st.Scheduled != 2 || st.Dropped != 1 || st.Pending != 2 {
		t.Fatalf("stats %+v", st)
	}
	if n := d.DropPending(); n != 2 {
		t.Fatalf("DropPending = %d", n)
	}
	if n := d.RunDue(t0.Add(time.Hour)); n != 0 {
		t.Fatalf("dropped bundles delivered: %d", n)
	}
}

func TestDispatchDefaultHorizon(t *testing.T) {
	t.Parallel()
	d := &Dispatcher{}
	d.Dispatch(NewBundle(at(DefaultHorizon), NewMessage("/x")), nil, t0)
	d.Dispatch(NewBundle(at(DefaultHorizon+time.Millisecond), NewMessage("/x")), nil, t0)
	if st := d.Stats(); st.Scheduled != 1 || st.Dropped != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDispatchLiteralDoesNotAllocate(t *testing.T) {
	d := &Dispatcher{}
	for _, a := range []string{"/cuelight/fly/go", "/cuelight/sl/go", "/cuelight/fly/standby"} {
		_ = d.Handle(a, func(*Message, *Sender) {})
	}
	for _, addr := range []string{"/cuelight/fly/go", "/cuelight/*/go", "/cuelight/{sl,fly}/[gs]*"} {
		m := NewMessage(addr, String("23"))
		if n := testing.AllocsPerRun(100, func() { d.DispatchMessage(m, nil) }); n != 0 {
			t.Errorf("DispatchMessage(%s): %v allocations", addr, n)
		}
	}
}

func TestDispatchDeliverFuture(t *testing.T) {
	t.Parallel()
	type got struct {
		addr string
		due  time.Time
		net  string
	}
	var seen []got
	d := &Dispatcher{DeliverFuture: true, Horizon: time.Second, MaxPending: 1}
	d.SetFallback(func(m *Message, from *Sender) { seen = append(seen, got{m.Address, from.Due(), from.Network()}) })
	from := NewSender(netip.MustParseAddrPort("10.0.0.5:9000"), "udp", nil)
	msg := NewMessage
	cases := []struct {
		name string
		p    Packet
		from *Sender
		want []got
	}{
		{"plain message", msg("/m"), from, []got{{"/m", time.Time{}, "udp"}}},
		{"immediate bundle", NewBundle(Immediately, msg("/i")), from, []got{{"/i", time.Time{}, "udp"}}},
		{"past bundle", NewBundle(at(-time.Second), msg("/p")), from, []got{{"/p", time.Time{}, "udp"}}},
		{"bundle tagged now", NewBundle(at(0), msg("/n")), from, []got{{"/n", time.Time{}, "udp"}}},
		{"future bundle, beyond the horizon: delivered at once with its time", NewBundle(at(time.Minute), msg("/f1"), msg("/f2")), from,
			[]got{{"/f1", t0.Add(time.Minute), "udp"}, {"/f2", t0.Add(time.Minute), "udp"}}},
		{"nil sender", NewBundle(at(2*time.Second), msg("/nil")), nil, []got{{"/nil", t0.Add(2 * time.Second), ""}}},
		{"nested: latest future tag wins, earlier inner tag runs with the outer",
			NewBundle(at(3*time.Second), msg("/o1"),
				NewBundle(at(5*time.Second), msg("/later")),
				NewBundle(at(time.Second), msg("/earlier")),
				NewBundle(Immediately, msg("/imm")),
				msg("/o2")), from,
			[]got{{"/o1", t0.Add(3 * time.Second), "udp"}, {"/later", t0.Add(5 * time.Second), "udp"},
				{"/earlier", t0.Add(3 * time.Second), "udp"}, {"/imm", t0.Add(3 * time.Second), "udp"}, {"/o2", t0.Add(3 * time.Second), "udp"}}},
		{"future inside an immediate bundle", NewBundle(Immediately, msg("/now"), NewBundle(at(4*time.Second), msg("/then")), msg("/now2")), from,
			[]got{{"/now", time.Time{}, "udp"}, {"/then", t0.Add(4 * time.Second), "udp"}, {"/now2", time.Time{}, "udp"}}},
	}
	for _, c := range cases {
		seen = nil
		d.Dispatch(c.p, c.from, t0)
		if !slices.Equal(seen, c.want) {
			t.Errorf("%s: delivered %v, want %v", c.name, seen, c.want)
		}
	}
	if from.Due() != (time.Time{}) {
		t.Errorf("the caller's Sender was changed: Due %v", from.Due())
	}
	// Future bundles counted: /f, /nil, the outer nested, /later,
	// /earlier (inside a future one, still its own future tag), /then.
	st := d.Stats()
	if st.Future != 6 || st.Late != 1 || st.Scheduled != 0 || st.Dropped != 0 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
	if _, ok := d.NextDue(); ok {
		t.Error("something is held in DeliverFuture mode")
	}
	if (*Sender)(nil).Due() != (time.Time{}) {
		t.Error("nil Sender has a Due")
	}
}

func TestDispatchHoldingModeHasNoDue(t *testing.T) {
	t.Parallel()
	var dues []time.Time
	d := &Dispatcher{}
	d.SetFallback(func(_ *Message, from *Sender) { dues = append(dues, from.Due()) })
	from := NewSender(netip.MustParseAddrPort("10.0.0.5:9000"), "udp", nil)
	d.Dispatch(NewBundle(at(time.Second), NewMessage("/x")), from, t0)
	if len(dues) != 0 {
		t.Fatal("holding mode delivered a future bundle at once")
	}
	d.RunDue(t0.Add(time.Second))
	if len(dues) != 1 || !dues[0].IsZero() {
		t.Fatalf("held bundle delivered with Due %v", dues)
	}
}
