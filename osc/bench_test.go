package osc

import (
	"context"
	"slices"
	"testing"
	"time"
)

// benchMethods is a station-sized method table: 5 channels × 8 verbs and the
// show-wide addresses, 45 in all. osc/bench/liblo/bench.c registers the same
// list with liblo.
func benchMethods() []string {
	var out []string
	for _, ch := range []string{"fly", "sl", "sr", "trap", "spot1"} {
		for _, verb := range []string{"standby", "standby_ack", "go", "force_go", "off", "ack", "call", "brightness"} {
			out = append(out, "/cuelight/"+ch+"/"+verb)
		}
	}
	return append(out, "/cuelight/ping", "/cuelight/sync", "/cuelight/heartbeat", "/cuelight/all/hold", "/cuelight/all/release")
}

var (
	benchCue      = NewMessage("/cuelight/fly/go", String("23"))
	benchWildcard = NewMessage("/cuelight/*/go", String("23"))
)

func benchBundle() *Bundle {
	b := NewBundle(Immediately)
	for i := 0; i < 10; i++ {
		b.Elements = append(b.Elements, NewMessage(benchMethods()[i*4], String("23"), Float32(1)))
	}
	return b
}

func benchDispatcher(b *testing.B, sink *int) *Dispatcher {
	d := &Dispatcher{}
	for _, a := range benchMethods() {
		if err := d.Handle(a, func(m *Message, _ *Sender) { *sink += len(m.Args) }); err != nil {
			b.Fatal(err)
		}
	}
	return d
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct {
		name string
		p    Packet
	}{{"cue-message", benchCue}, {"bundle-10", benchBundle()}} {
		raw, _ := c.p.MarshalBinary()
		b.Run(c.name+"/Decoder", func(b *testing.B) {
			var d Decoder
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/Decode", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range []struct {
		name string
		p    Packet
	}{{"cue-message", benchCue}, {"bundle-10", benchBundle()}} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = c.p.AppendBinary(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, c := range []struct{ name, pattern, address string }{
		{"literal", "/cuelight/fly/go", "/cuelight/fly/go"},
		{"star", "/cuelight/*/go", "/cuelight/fly/go"},
		{"mixed", "/cuelight/{sl,fly}/[gs]?", "/cuelight/fly/go"},
		{"hostile-4k", "/*a*a*a*a*a*a*b", "/" + string(slices.Repeat([]byte("a"), 4096))},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Match(c.pattern, c.address)
			}
		})
	}
}

func BenchmarkDispatch(b *testing.B) {
	sink := 0
	d := benchDispatcher(b, &sink)
	now := time.Now()
	for _, c := range []struct {
		name string
		p    Packet
	}{{"cue-message", benchCue}, {"wildcard", benchWildcard}, {"bundle-10", benchBundle()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d.Dispatch(c.p, nil, now)
			}
		})
	}
}

// BenchmarkDecodeDispatch is the server's hot path without the sockets:
// decode a datagram with a Decoder and deliver it through a station-sized
// method table. Target: at most one allocation per cue message (it makes
// none). osc/bench/liblo/run.sh compares it with liblo.
func BenchmarkDecodeDispatch(b *testing.B) {
	sink := 0
	d := benchDispatcher(b, &sink)
	now := time.Now()
	for _, c := range []struct {
		name string
		p    Packet
	}{{"cue-message", benchCue}, {"wildcard", benchWildcard}, {"bundle-10", benchBundle()}} {
		raw, _ := c.p.MarshalBinary()
		b.Run(c.name, func(b *testing.B) {
			var dec Decoder
			b.ReportAllocs()
			for b.Loop() {
				p, err := dec.Decode(raw)
				if err != nil {
					b.Fatal(err)
				}
				d.Dispatch(p, nil, now)
			}
		})
	}
}

// BenchmarkServerUDPRoundTrip sends /cuelight/ping over loopback UDP and
// waits for the /cuelight/pong reply: the whole path through sockets, the
// reader, the loop and the dispatcher. It reports p50 and p99 latency.
func BenchmarkServerUDPRoundTrip(b *testing.B) {
	d := &Dispatcher{}
	pong := NewMessage("/cuelight/pong")
	_ = d.Handle("/cuelight/ping", func(m *Message, from *Sender) { _ = from.Reply(pong) })
	s, err := Listen(Options{Listen: "127.0.0.1:0", Allow: AllowLoopback}, d)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Serve(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	c, err := DialUDP(s.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ping := NewMessage("/cuelight/ping")
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if err := c.Send(ping); err != nil {
			b.Fatal(err)
		}
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := c.Receive(rctx)
		rcancel()
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
