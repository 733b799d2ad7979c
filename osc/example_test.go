package osc_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/cuelight/cuelight/osc"
)

func ExampleMessage_MarshalBinary() {
	m := osc.NewMessage("/cuelight/fly/go", osc.String("23"))
	b, err := m.MarshalBinary()
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)
	// Output:
	// 2f 63 75 65 6c 69 67 68 74 2f 66 6c 79 2f 67 6f 00 00 00 00 2c 73 00 00 32 33 00 00
}

func ExampleDecode() {
	// What liblo's `oscsend - /sample/address iTfs 1 3.14 hello` writes.
	raw := []byte("/sample/address\x00,iTfs\x00\x00\x00\x00\x00\x00\x01\x40\x48\xf5\xc3hello\x00\x00\x00")
	p, err := osc.Decode(raw)
	if err != nil {
		panic(err)
	}
	m := p.(*osc.Message)
	fmt.Println(m)
	n, _ := m.Args[0].Int32()
	s, _ := m.Args[3].String()
	fmt.Println(n, s)
	// Output:
	// /sample/address ,iTfs 1 #T 3.14 "hello"
	// 1 hello
}

func ExampleDecoder() {
	var dec osc.Decoder // reuse it: no allocation per packet
	for _, raw := range [][]byte{
		[]byte("/cuelight/fly/go\x00\x00\x00\x00,s\x00\x0023\x00\x00"),
		[]byte("/cuelight/sl/off\x00\x00\x00\x00,\x00\x00\x00"),
	} {
		p, err := dec.Decode(raw)
		if err != nil {
			panic(err)
		}
		// p, its Args and its strings are only lent: use them now, or
		// Clone to keep them.
		fmt.Println(p)
	}
	// Output:
	// /cuelight/fly/go ,s "23"
	// /cuelight/sl/off ,
}

func ExampleMatch() {
	for _, c := range []struct{ pattern, address string }{
		{"/cuelight/*/go", "/cuelight/fly/go"},
		{"/cuelight/{sl,sr}/go", "/cuelight/sr/go"},
		{"/cuelight/[!f]*/go", "/cuelight/fly/go"},
		{"/*", "/cuelight/go"}, // no wildcard crosses '/'
		{"/cuelight/[fly/go", "/cuelight/fly/go"},
	} {
		fmt.Println(c.pattern, c.address, osc.Match(c.pattern, c.address))
	}
	// Output:
	// /cuelight/*/go /cuelight/fly/go true
	// /cuelight/{sl,sr}/go /cuelight/sr/go true
	// /cuelight/[!f]*/go /cuelight/fly/go false
	// /* /cuelight/go false
	// /cuelight/[fly/go /cuelight/fly/go false
}

func ExampleDispatcher() {
	var d osc.Dispatcher
	for _, ch := range []string{"fly", "sl", "sr"} {
		err := d.Handle("/cuelight/"+ch+"/go", func(m *osc.Message, from *osc.Sender) {
			label := ""
			if len(m.Args) == 1 {
				label, _ = m.Args[0].String()
			}
			fmt.Printf("GO %s label %q\n", ch, label)
		})
		if err != nil {
			panic(err)
		}
	}
	d.SetFallback(func(m *osc.Message, from *osc.Sender) {
		_ = from.Reply(osc.NewMessage("/cuelight/error", osc.String(m.Address), osc.String("no such channel")))
	})
	from := osc.NewSender(netip.MustParseAddrPort("10.10.0.5:53001"), "udp", func(p osc.Packet) error {
		fmt.Println("reply:", p)
		return nil
	})
	d.DispatchMessage(osc.NewMessage("/cuelight/s?/go", osc.String("23")), from)
	d.DispatchMessage(osc.NewMessage("/cuelight/trap/go"), from)
	fmt.Printf("%+v\n", d.Stats())
	// Output:
	// GO sl label "23"
	// GO sr label "23"
	// reply: /cuelight/error ,ss "/cuelight/trap/go" "no such channel"
	// {Delivered:1 Unmatched:1 Scheduled:0 Future:0 Late:0 Dropped:0 Pending:0}
}

func ExampleArg_Truth() {
	// TouchOSC and Companion send a press and a release; only the press
	// should act.
	for _, a := range []osc.Arg{osc.Float32(1), osc.Float32(0), osc.Int32(1), osc.Bool(false), osc.String("1")} {
		pressed, ok := a.Truth()
		fmt.Printf("%v: pressed=%v button=%v\n", a, pressed, ok)
	}
	// Output:
	// 1: pressed=true button=true
	// 0: pressed=false button=true
	// 1: pressed=true button=true
	// #F: pressed=false button=true
	// "1": pressed=false button=false
}

func ExampleTimeTagFrom() {
	t := time.Date(2026, 1, 1, 0, 0, 0, 500_000_000, time.UTC)
	tt := osc.TimeTagFrom(t)
	fmt.Printf("%08x.%08x %v\n", tt.Seconds(), tt.Fraction(), tt.Time().Equal(t))
	// Output:
	// ed003780.80000000 true
}

func ExampleServer() {
	var d osc.Dispatcher
	_ = d.Handle("/cuelight/ping", func(m *osc.Message, from *osc.Sender) {
		_ = from.Reply(osc.NewMessage("/cuelight/pong"))
	})
	srv, err := osc.Listen(osc.Options{Listen: "127.0.0.1:0", Allow: osc.AllowLoopback}, &d)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx) }()

	for _, dial := range []func() (*osc.Client, error){
		func() (*osc.Client, error) { return osc.DialUDP(srv.Addr().String()) },
		func() (*osc.Client, error) { return osc.DialTCP(srv.Addr().String(), osc.SLIP) },
	} {
		c, err := dial()
		if err != nil {
			panic(err)
		}
		if err := c.Send(osc.NewMessage("/cuelight/ping")); err != nil {
			panic(err)
		}
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		reply, err := c.Receive(rctx)
		rcancel()
		if err != nil {
			panic(err)
		}
		fmt.Println(c.Network(), reply)
		c.Close()
	}
	cancel()
	fmt.Println("Serve:", <-done)
	// Output:
	// udp /cuelight/pong ,
	// tcp /cuelight/pong ,
	// Serve: <nil>
}
