package osc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// patience bounds every wait on an event in these tests. It is a deadline
// for failure, never a measure of speed.
const patience = 20 * time.Second

// startServer listens on a free loopback port and serves until the test
// ends; the cleanup checks that Serve returns. A nil Allow becomes
// AllowLoopback (tests of the nil list call Listen themselves).
func startServer(t *testing.T, opts Options, d *Dispatcher) *Server {
	t.Helper()
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Allow == nil {
		opts.Allow = AllowLoopback
	}
	s, err := Listen(opts, d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(patience):
			t.Error("Serve did not return after cancel")
		}
	})
	return s
}

// sink collects delivered messages (cloned) on a channel.
type sink struct {
	ch   chan *Message
	from chan Sender
}

func newSink() *sink { return &sink{ch: make(chan *Message, 10000), from: make(chan Sender, 10000)} }

func (k *sink) handle(m *Message, from *Sender) {
	k.ch <- m.Clone()
	if from != nil {
		k.from <- *from
	}
}

// next waits for the next delivered message.
func (k *sink) next(t *testing.T) *Message {
	t.Helper()
	select {
	case m := <-k.ch:
		return m
	case <-time.After(patience):
		t.Fatal("no message delivered")
		return nil
	}
}

// until collects messages up to and including one with the given address.
func (k *sink) until(t *testing.T, address string) []*Message {
	t.Helper()
	var out []*Message
	for {
		m := k.next(t)
		out = append(out, m)
		if m.Address == address {
			return out
		}
	}
}

// waitFor polls cond until it holds or patience runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func mustMarshal(t *testing.T, p Packet) []byte {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawConn is a test peer that writes raw bytes.
type rawConn struct {
	net.Conn
	framing Framing // for TCP
}

func dialRaw(t *testing.T, network string, addr netip.AddrPort, f Framing) *rawConn {
	t.Helper()
	c, err := net.Dial(network, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, framing: f}
}

// send writes one packet's bytes: a datagram, or a frame.
func (c *rawConn) send(t *testing.T, b []byte) {
	t.Helper()
	switch c.framing {
	case LengthPrefix:
		b = cat(u32(uint32(len(b))), b)
	case SLIP:
		b = appendSLIP(nil, b)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

var transports = []struct {
	name    string
	network string
	framing Framing
}{
	{"udp", "udp", 0},
	{"tcp length-prefix", "tcp", LengthPrefix},
	{"tcp slip", "tcp", SLIP},
}

// TestServerWireTable sends every case of the wire table over each transport:
// the valid ones must be delivered exactly and in order, the malformed ones
// counted and dropped without disturbing the rest.
func TestServerWireTable(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			k := newSink()
			d := &Dispatcher{}
			d.SetFallback(k.handle)
			s := startServer(t, Options{}, d)
			c := dialRaw(t, tr.network, s.Addr(), tr.framing)
			var want []*Message
			sent, malformed := 0, 0
			for i, wc := range wireCases {
				if tr.framing == SLIP && len(wc.raw) == 0 {
					continue // SLIP ignores empty frames by design
				}
				c.send(t, wc.raw)
				sent++
				if wc.err != nil {
					malformed++
				} else {
					want = append(want, flatten(wc.pkt)...)
				}
				if tr.network == "udp" && i%16 == 15 {
					// Let the server catch up so that the kernel never drops a
					// datagram of the test.
					n := uint64(sent)
					waitFor(t, "datagrams received", func() bool { return s.Stats().Received >= n })
				}
			}
			c.send(t, mustMarshal(t, NewMessage("/done")))
			got := k.until(t, "/done")
			got = got[:len(got)-1]
			if len(got) != len(want) {
				t.Fatalf("delivered %d messages, want %d", len(got), len(want))
			}
			for i := range got {
				if !got[i].Equal(want[i]) {
					t.Fatalf("message %d = %v, want %v", i, got[i], want[i])
				}
			}
			st := s.Stats()
			if st.Malformed != uint64(malformed) || st.Received != uint64(sent+1) || st.Panics != 0 {
				t.Fatalf("stats %+v; want %d malformed of %d received", st, malformed, sent+1)
			}
		})
	}
}

func TestServerAllowListDropsBeforeParsing(t *testing.T) {
	t.Parallel()
	k := newSink()
	d := &Dispatcher{}
	d.SetFallback(k.handle)
	s := startServer(t, Options{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}, d)
	u := dialRaw(t, "udp", s.Addr(), 0)
	u.send(t, mustMarshal(t, NewMessage("/cuelight/fly/go")))
	u.send(t, []byte("garbage, not OSC"))
	waitFor(t, "two rejected datagrams", func() bool { return s.Stats().Rejected == 2 })

	tc := dialRaw(t, "tcp", s.Addr(), LengthPrefix)
	tc.send(t, mustMarshal(t, NewMessage("/cuelight/fly/go")))
	_ = tc.SetReadDeadline(time.Now().Add(patience))
	if _, err := tc.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection from outside the allow-list stayed open")
	}
	waitFor(t, "rejected connection", func() bool { return s.Stats().Rejected == 3 })
	st := s.Stats()
	if st.Received != 0 || st.Malformed != 0 || len(k.ch) != 0 {
		t.Fatalf("rejected input reached parsing: %+v", st)
	}
}

func TestServerAllowListAccepts(t *testing.T) {
	t.Parallel()
	k := newSink()
	d := &Dispatcher{}
	d.SetFallback(k.handle)
	s := startServer(t, Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, d)
	dialRaw(t, "udp", s.Addr(), 0).send(t, mustMarshal(t, NewMessage("/ok")))
	if m := k.next(t); m.Address != "/ok" {
		t.Fatalf("got %v", m)
	}
	if st := s.Stats(); st.Rejected != 0 || st.Received != 1 || st.Unmatched != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerMalformedFloodThenValid(t *testing.T) {
	t.Parallel()
	k := newSink()
	d := &Dispatcher{}
	_ = d.Handle("/cuelight/fly/go", k.handle)
	s := startServer(t, Options{MaxDatagram: 512}, d)
	u := dialRaw(t, "udp", s.Addr(), 0)
	bad := malformedCases()
	const flood = 1000
	for i := 0; i < flood; i++ {
		raw := bad[i%len(bad)].raw
		if i%7 == 0 {
			raw = make([]byte, 600) // over MaxDatagram
		}
		u.send(t, raw)
		if i%50 == 49 {
			n := uint64(i + 1)
			waitFor(t, "flood received", func() bool { return s.Stats().Received >= n })
		}
	}
	u.send(t, mustMarshal(t, NewMessage("/cuelight/fly/go", String("23"))))
	if m := k.next(t); !m.Equal(NewMessage("/cuelight/fly/go", String("23"))) {
		t.Fatalf("got %v", m)
	}
	if st := s.Stats(); st.Malformed != flood || st.Received != flood+1 || st.Delivered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerOrderAcrossTransports(t *testing.T) {
	t.Parallel()
	var inHandler atomic.Int32
	var overlap atomic.Bool
	var mu sync.Mutex
	seqs := map[string][]int32{}
	d := &Dispatcher{}
	_ = d.Handle("/seq", func(m *Message, from *Sender) {
		if inHandler.Add(1) != 1 {
			overlap.Store(true)
		}
		defer inHandler.Add(-1)
		n, _ := m.Args[0].Int32()
		mu.Lock()
		seqs[from.Network()+" "+from.Addr().String()] = append(seqs[from.Network()+" "+from.Addr().String()], n)
		mu.Unlock()
	})
	s := startServer(t, Options{}, d)
	const n = 1000
	var wg sync.WaitGroup
	for _, tr := range transports {
		c := dialRaw(t, tr.network, s.Addr(), tr.framing)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for i := 0; i < n; i++ {
				if tr.network == "udp" {
					b, _ := NewMessage("/seq", Int32(int32(i))).MarshalBinary()
					_, _ = c.Write(b)
					if i%50 == 49 {
						// Pace UDP on the count of its own packets delivered, so the
						// kernel never drops one.
						for {
							mu.Lock()
							got := len(seqs["udp "+c.LocalAddr().String()])
							mu.Unlock()
							if got > i-10 {
								break
							}
							time.Sleep(100 * time.Microsecond)
						}
					}
					continue
				}
				buf, _ = appendFramed(buf, tr.framing, NewMessage("/seq", Int32(int32(i))))
			}
			if buf != nil {
				_, _ = c.Write(buf) // all frames in a few large writes
			}
		}()
	}
	wg.Wait()
	waitFor(t, "all messages", func() bool { return s.Stats().Delivered == 3*n })
	if overlap.Load() {
		t.Fatal("handlers ran concurrently")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seqs) != 3 {
		t.Fatalf("sources %v", len(seqs))
	}
	for src, got := range seqs {
		for i, v := range got {
			if int(v) != i {
				t.Fatalf("%s: message %d carried %d: order lost", src, i, v)
			}
		}
	}
}

func TestServerReplyUDPToSourcePort(t *testing.T) {
	t.Parallel()
	d := &Dispatcher{}
	_ = d.Handle("/cuelight/ping", func(m *Message, from *Sender) {
		_ = from.Reply(NewMessage("/cuelight/pong", Int32(int32(from.Addr().Port()))))
	})
	s := startServer(t, Options{}, d)
	c, err := DialUDP(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(NewMessage("/cuelight/ping")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	p, err := c.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := NewMessage("/cuelight/pong", Int32(int32(c.LocalAddr().Port())))
	if !PacketEqual(p, want) {
		t.Fatalf("reply %v, want %v", p, want)
	}
}

func TestServerReplyTCPInSenderFraming(t *testing.T) {
	t.Parallel()
	for _, f := range []Framing{LengthPrefix, SLIP} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			d := &Dispatcher{}
			_ = d.Handle("/cuelight/sync", func(m *Message, from *Sender) {
				for _, ch := range []string{"fly", "sl"} {
					_ = from.Reply(NewMessage("/cuelight/state/"+ch+"/off", String(from.Framing().String())))
				}
			})
			s := startServer(t, Options{}, d)
			c, err := DialTCP(s.Addr().String(), f)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Send(NewMessage("/cuelight/sync")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			for _, ch := range []string{"fly", "sl"} {
				p, err := c.Receive(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if want := NewMessage("/cuelight/state/"+ch+"/off", String(f.String())); !PacketEqual(p, want) {
					t.Fatalf("reply %v, want %v", p, want)
				}
			}
		})
	}
}

func TestServerTCPRepliesFlushedAfterPeerFinishes(t *testing.T) {
	t.Parallel()
	d := &Dispatcher{}
	_ = d.Handle("/ping", func(m *Message, from *Sender) { _ = from.Reply(NewMessage("/pong")) })
	s := startServer(t, Options{}, d)
	c := dialRaw(t, "tcp", s.Addr(), LengthPrefix)
	for i := 0; i < 3; i++ {
		c.send(t, mustMarshal(t, NewMessage("/ping")))
	}
	_ = c.Conn.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(patience))
	all, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	pong := cat(u32(12), mustMarshal(t, NewMessage("/pong")))
	if want := cat(pong, pong, pong); string(all) != string(want) {
		t.Fatalf("read % x, want % x then EOF", all, want)
	}
	waitFor(t, "connection closed", func() bool { return s.Stats().Conns == 0 })
}

func TestServerSendToFeedbackTarget(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, &Dispatcher{})
	target, err := DialUDP(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := s.SendTo(target.LocalAddr(), NewMessage("/cuelight/state/fly/go", String("23"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	p, err := target.Receive(ctx)
	if err != nil || p.String() != `/cuelight/state/fly/go ,s "23"` {
		t.Fatalf("got %v, %v", p, err)
	}
	if err := s.SendTo(target.LocalAddr(), NewMessage("bad")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("SendTo of an invalid message: %v", err)
	}
}

func TestServerHostileSizes(t *testing.T) {
	t.Parallel()
	k := newSink()
	d := &Dispatcher{}
	d.SetFallback(k.handle)
	s := startServer(t, Options{MaxDatagram: 64, MaxFrame: 64}, d)
	big := mustMarshal(t, NewMessage("/big", Blob(make([]byte, 100))))
	small := mustMarshal(t, NewMessage("/small"))

	t.Run("datagram over the limit", func(t *testing.T) {
		u := dialRaw(t, "udp", s.Addr(), 0)
		u.send(t, big)
		u.send(t, small)
		if m := k.next(t); m.Address != "/small" {
			t.Fatalf("got %v", m)
		}
	})
	t.Run("SLIP frame over the limit is skipped", func(t *testing.T) {
		c := dialRaw(t, "tcp", s.Addr(), SLIP)
		c.send(t, big)
		c.send(t, small)
		if m := k.next(t); m.Address != "/small" {
			t.Fatalf("got %v", m)
		}
	})
	t.Run("length prefix over the limit closes the connection", func(t *testing.T) {
		c := dialRaw(t, "tcp", s.Addr(), 0)
		if _, err := c.Write(u32(0x7fffffff)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(patience))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("read after a huge length prefix: %v, want EOF", err)
		}
	})
	waitFor(t, "three malformed", func() bool { return s.Stats().Malformed == 3 })
	if st := s.Stats(); st.Unmatched != 2 || st.Panics != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerBundleDepthLimit(t *testing.T) {
	t.Parallel()
	k := newSink()
	d := &Dispatcher{}
	d.SetFallback(k.handle)
	s := startServer(t, Options{MaxBundleDepth: 2}, d)
	u := dialRaw(t, "udp", s.Addr(), 0)
	u.send(t, nestBundle(mustMarshal(t, NewMessage("/deep")), 3))
	u.send(t, nestBundle(mustMarshal(t, NewMessage("/ok")), 2))
	if m := k.next(t); m.Address != "/ok" {
		t.Fatalf("got %v", m)
	}
	if st := s.Stats(); st.Malformed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerScheduledBundleWithFakeClock(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	k := newSink()
	d := &Dispatcher{}
	d.SetFallback(k.handle)
	s := startServer(t, Options{Clock: clock}, d)
	c, err := DialTCP(s.Addr().String(), SLIP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(p Packet) {
		t.Helper()
		if err := c.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	// probe proves, through the ordered loop, that nothing else was delivered.
	probe := func(name string) {
		t.Helper()
		send(NewMessage(name))
		if m := k.next(t); m.Address != name {
			t.Fatalf("delivered %v before %s", m, name)
		}
	}
	send(NewBundle(at(5*time.Second), NewMessage("/standby"), NewMessage("/go")))
	send(NewBundle(at(20*time.Second), NewMessage("/too-far")))
	send(NewBundle(at(-time.Second), NewMessage("/late")))
	if m := k.next(t); m.Address != "/late" {
		t.Fatalf("got %v, want /late delivered at once", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 1); err != nil { // the loop's timer
		t.Fatal(err)
	}
	probe("/probe1")
	clock.Advance(4999 * time.Millisecond)
	probe("/probe2")
	clock.Advance(time.Millisecond)
	got := k.until(t, "/go")
	if len(got) != 2 || got[0].Address != "/standby" {
		t.Fatalf("delivered %v, want /standby then /go", got)
	}
	if st := s.Stats(); st.Scheduled != 1 || st.Dropped != 1 || st.Late != 1 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerDeliverFuture(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	k := newSink()
	d := &Dispatcher{DeliverFuture: true}
	d.SetFallback(k.handle)
	s := startServer(t, Options{Clock: clock}, d)
	c, err := DialTCP(s.Addr().String(), SLIP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range []Packet{
		NewBundle(at(20*time.Second), NewMessage("/far")), // beyond DefaultHorizon: the application judges
		NewMessage("/now"),
	} {
		if err := c.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []struct {
		addr string
		due  time.Time
	}{{"/far", t0.Add(20 * time.Second)}, {"/now", time.Time{}}} {
		m, from := k.next(t), <-k.from
		if m.Address != want.addr || !from.Due().Equal(want.due) || from.Network() != "tcp" {
			t.Fatalf("got %v due %v from %v; want %s due %v", m, from.Due(), from.String(), want.addr, want.due)
		}
	}
	if st := s.Stats(); st.Future != 1 || st.Scheduled != 0 || st.Dropped != 0 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerRecoversFromHandlerPanic(t *testing.T) {
	t.Parallel()
	k := newSink()
	d := &Dispatcher{}
	_ = d.Handle("/boom", func(*Message, *Sender) { panic("handler bug") })
	_ = d.Handle("/ok", k.handle)
	s := startServer(t, Options{}, d)
	u := dialRaw(t, "udp", s.Addr(), 0)
	u.send(t, mustMarshal(t, NewMessage("/boom")))
	u.send(t, mustMarshal(t, NewBundle(Immediately, NewMessage("/boom"), NewMessage("/ok", Int32(1)))))
	u.send(t, mustMarshal(t, NewMessage("/ok", Int32(2))))
	if m := k.next(t); !m.Equal(NewMessage("/ok", Int32(2))) {
		t.Fatalf("got %v; the rest of a panicking bundle is skipped", m)
	}
	if st := s.Stats(); st.Panics != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// dialFrom opens a TCP connection from a chosen loopback address (Linux
// routes all of 127.0.0.0/8 to lo), so that tests can play many hosts.
func dialFrom(t *testing.T, from string, addr netip.AddrPort) *rawConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, framing: LengthPrefix}
}

// closedByServer reports whether the server has closed c: a read ends
// with EOF or a reset instead of waiting (the server never writes
// unasked).
func closedByServer(t *testing.T, c *rawConn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(patience))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

func TestServerAllowNilOrEmptyAdmitsNobody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		allow []netip.Prefix
	}{{"nil", nil}, {"empty", []netip.Prefix{}}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := newSink()
			d := &Dispatcher{}
			d.SetFallback(k.handle)
			s, err := Listen(Options{Listen: "127.0.0.1:0", Allow: tc.allow}, d)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = s.Serve(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })
			dialRaw(t, "udp", s.Addr(), 0).send(t, mustMarshal(t, NewMessage("/cuelight/fly/go")))
			conn := dialRaw(t, "tcp", s.Addr(), LengthPrefix)
			conn.send(t, mustMarshal(t, NewMessage("/cuelight/fly/go")))
			if !closedByServer(t, conn) {
				t.Fatal("a connection stayed open with an empty allow list")
			}
			waitFor(t, "datagram and connection rejected", func() bool { return s.Stats().Rejected == 2 })
			if st := s.Stats(); st.Received != 0 || st.Delivered+st.Unmatched != 0 || len(k.ch) != 0 {
				t.Fatalf("an empty allow list let input through: %+v", st)
			}
		})
	}
}

func TestServerAllowAny(t *testing.T) {
	t.Parallel()
	k := newSink()
	d := &Dispatcher{}
	d.SetFallback(k.handle)
	s := startServer(t, Options{Allow: AllowAny}, d)
	dialRaw(t, "udp", s.Addr(), 0).send(t, mustMarshal(t, NewMessage("/ok")))
	if m := k.next(t); m.Address != "/ok" {
		t.Fatalf("got %v", m)
	}
	for _, a := range []string{"10.1.2.3", "192.168.0.1", "2001:db8::1", "::1", "127.0.0.1"} {
		if !s.allowed(netip.MustParseAddr(a)) {
			t.Errorf("AllowAny refuses %s", a)
		}
	}
}

func TestServerFullEvictsLongestIdle(t *testing.T) {
	t.Parallel()
	k := newSink()
	d := &Dispatcher{}
	d.SetFallback(k.handle)
	s := startServer(t, Options{MaxConns: 2}, d)
	c1 := dialFrom(t, "127.0.0.1", s.Addr())
	waitFor(t, "first connection", func() bool { return s.Stats().Conns == 1 })
	c2 := dialFrom(t, "127.0.0.2", s.Addr())
	waitFor(t, "second connection", func() bool { return s.Stats().Conns == 2 })
	// c1 is older but has just spoken: c2 is now the longest idle.
	c1.send(t, mustMarshal(t, NewMessage("/one")))
	k.next(t)
	c3 := dialFrom(t, "127.0.0.3", s.Addr())
	if !closedByServer(t, c2) {
		t.Fatal("the longest-idle connection was not closed")
	}
	waitFor(t, "evicted count", func() bool { st := s.Stats(); return st.Evicted == 1 && st.Conns == 2 })
	c3.send(t, mustMarshal(t, NewMessage("/three")))
	c1.send(t, mustMarshal(t, NewMessage("/two")))
	got := []string{k.next(t).Address, k.next(t).Address}
	slices.Sort(got)
	if !slices.Equal(got, []string{"/three", "/two"}) {
		t.Fatalf("after the eviction got %q", got)
	}
	if st := s.Stats(); st.Refused != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerPerAddressCap(t *testing.T) {
	t.Parallel()
	k := newSink()
	d := &Dispatcher{}
	d.SetFallback(k.handle)
	s := startServer(t, Options{MaxConnsPerAddr: 2}, d)
	// b1, from another host, is the longest idle of all.
	b1 := dialFrom(t, "127.0.0.2", s.Addr())
	waitFor(t, "b1", func() bool { return s.Stats().Conns == 1 })
	a1 := dialFrom(t, "127.0.0.1", s.Addr())
	waitFor(t, "a1", func() bool { return s.Stats().Conns == 2 })
	a2 := dialFrom(t, "127.0.0.1", s.Addr())
	waitFor(t, "a2", func() bool { return s.Stats().Conns == 3 })
	a2.send(t, mustMarshal(t, NewMessage("/a2")))
	k.next(t)
	if st := s.Stats(); st.Evicted != 0 {
		t.Fatalf("evicted under the limits: %+v", st)
	}
	// A third from 127.0.0.1 closes that address's longest-idle one, a1,
	// not b1, the longest idle of all: the server is not full.
	a3 := dialFrom(t, "127.0.0.1", s.Addr())
	if !closedByServer(t, a1) {
		t.Fatal("the address's longest-idle connection was not closed")
	}
	waitFor(t, "evicted", func() bool { st := s.Stats(); return st.Evicted == 1 && st.Conns == 3 })
	for i, c := range []*rawConn{a2, a3, b1} {
		c.send(t, mustMarshal(t, NewMessage(fmt.Sprintf("/c%d", i))))
		if m := k.next(t); m.Address != fmt.Sprintf("/c%d", i) {
			t.Fatalf("got %v", m)
		}
	}
	// Many more from one address never hold more than the cap.
	for i := 0; i < 20; i++ {
		dialFrom(t, "127.0.0.1", s.Addr())
	}
	waitFor(t, "20 more evicted", func() bool { st := s.Stats(); return st.Evicted == 21 && st.Conns == 3 })
}

// TestServerIdleConnectionsDoNotLockOut: 200 connections that never send
// (25 hosts, 8 each) leave room for a booth with the default limits.
func TestServerIdleConnectionsDoNotLockOut(t *testing.T) {
	t.Parallel()
	d := &Dispatcher{}
	_ = d.Handle("/cuelight/ping", func(_ *Message, from *Sender) { _ = from.Reply(NewMessage("/cuelight/pong")) })
	s := startServer(t, Options{}, d)
	for i := 0; i < 200; i++ {
		dialFrom(t, fmt.Sprintf("127.0.1.%d", 1+i/8), s.Addr())
	}
	waitFor(t, "200 accepted", func() bool {
		st := s.Stats()
		return st.Evicted == 200-DefaultMaxConns && st.Conns == DefaultMaxConns
	})
	c, err := DialTCP(s.Addr().String(), LengthPrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(NewMessage("/cuelight/ping")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	reply, err := c.Receive(ctx)
	if err != nil || reply.(*Message).Address != "/cuelight/pong" {
		t.Fatalf("booth locked out: %v, %v (stats %+v)", reply, err, s.Stats())
	}
	if st := s.Stats(); st.Conns != DefaultMaxConns || st.Evicted != 200-DefaultMaxConns+1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStatsJSONNames(t *testing.T) {
	b, err := json.Marshal(Stats{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"received", "malformed", "rejected", "refused", "evicted", "panics", "reply_dropped",
		"delivered", "unmatched", "scheduled", "future", "late", "dropped", "pending", "conns"} {
		if !strings.Contains(string(b), `"`+k+`":`) {
			t.Errorf("Stats JSON %s lacks %q", b, k)
		}
	}
}

func TestServerClose(t *testing.T) {
	t.Parallel()
	k := newSink()
	d := &Dispatcher{}
	d.SetFallback(k.handle)
	s, err := Listen(Options{Listen: "127.0.0.1:0", Allow: AllowLoopback}, d)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	c := dialRaw(t, "tcp", s.Addr(), SLIP)
	c.send(t, mustMarshal(t, NewMessage("/hello")))
	k.next(t)
	kept := <-k.from
	d.Dispatch(NewBundle(TimeTagFrom(time.Now().Add(time.Second)), NewMessage("/x")), nil, time.Now())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(patience):
		t.Fatal("Serve did not return after Close")
	}
	if err := s.Serve(context.Background()); err == nil {
		t.Error("second Serve should fail")
	}
	if err := s.SendTo(kept.Addr(), NewMessage("/x")); !errors.Is(err, ErrClosed) {
		t.Errorf("SendTo after Close: %v", err)
	}
	if err := kept.Reply(NewMessage("/x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Reply on a kept TCP sender after Close: %v", err)
	}
	if st := s.Stats(); st.Pending != 0 || st.Conns != 0 {
		t.Errorf("after Close: %+v", st)
	}
}

func TestServerListenErrors(t *testing.T) {
	t.Parallel()
	if _, err := Listen(Options{Listen: "127.0.0.1:0"}, nil); err == nil {
		t.Error("nil dispatcher accepted")
	}
	if _, err := Listen(Options{Listen: "no port"}, &Dispatcher{}); err == nil {
		t.Error("bad address accepted")
	}
	s := startServer(t, Options{}, &Dispatcher{})
	if _, err := Listen(Options{Listen: s.Addr().String()}, &Dispatcher{}); err == nil {
		t.Error("second server on a taken port")
	}
}

func TestServerIPv6AndDualStack(t *testing.T) {
	t.Parallel()
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback here:", err)
	} else {
		ln.Close()
	}
	for _, c := range []struct {
		listen, dial, wantSrc string
	}{
		{"[::1]:0", "::1", "::1"},
		{"[::]:0", "127.0.0.1", "127.0.0.1"}, // IPv4-mapped, reported unmapped
	} {
		t.Run(c.listen, func(t *testing.T) {
			t.Parallel()
			k := newSink()
			d := &Dispatcher{}
			d.SetFallback(k.handle)
			s := startServer(t, Options{Listen: c.listen, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}, d)
			for _, network := range []string{"udp", "tcp"} {
				cl, err := net.Dial(network, net.JoinHostPort(c.dial, fmt.Sprint(s.Addr().Port())))
				if err != nil {
					t.Fatal(err)
				}
				b := mustMarshal(t, NewMessage("/v6"))
				if network == "tcp" {
					b = cat(u32(uint32(len(b))), b)
				}
				_, _ = cl.Write(b)
				k.next(t)
				from := <-k.from
				cl.Close()
				if from.Addr().Addr().String() != c.wantSrc || from.Network() != network {
					t.Fatalf("%s sender %v, want %s", network, &from, c.wantSrc)
				}
			}
		})
	}
}

func TestServerReplyQueueFull(t *testing.T) {
	t.Parallel()
	var kept atomic.Pointer[Sender]
	d := &Dispatcher{}
	_ = d.Handle("/flood", func(m *Message, from *Sender) {
		s := *from
		kept.Store(&s)
	})
	s := startServer(t, Options{ReplyQueue: 1}, d)
	c := dialRaw(t, "tcp", s.Addr(), LengthPrefix) // never reads
	c.send(t, mustMarshal(t, NewMessage("/flood")))
	waitFor(t, "sender kept", func() bool { return kept.Load() != nil })
	from := kept.Load()
	big := NewMessage("/r", Blob(make([]byte, 60000)))
	var err error
	for i := 0; i < 10000 && err == nil; i++ { // socket buffers fill, then the queue
		err = from.Reply(big)
	}
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Reply to a peer that never reads: %v, want ErrQueueFull", err)
	}
	if s.Stats().ReplyDropped == 0 {
		t.Fatal("ReplyDropped not counted")
	}
}
