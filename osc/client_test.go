package osc

import (
	"context"
	"errors"
	"net"
	"testing"
)

func TestClientReceiveHonoursContext(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{}, &Dispatcher{}) // never replies
	for _, dial := range []func() (*Client, error){
		func() (*Client, error) { return DialUDP(s.Addr().String()) },
		func() (*Client, error) { return DialTCP(s.Addr().String(), SLIP) },
	} {
		c, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Receive(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled context: %v", c.Network(), err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 1) // already expired
		if _, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: expired deadline: %v", c.Network(), err)
		}
		cancel()
		// Cancelled while blocked.
		ctx, cancel = context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { _, err := c.Receive(ctx); errc <- err }()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled while waiting: %v", c.Network(), err)
		}
		c.Close()
	}
}

// TestClientTCPResumesPartialFrame: a frame cut by a cancelled Receive is
// completed by the next one, so the stream stays in step. net.Pipe has no
// buffer: a Write returns only once the client has read the bytes, which
// makes "the client holds half a frame" an event, not a guess.
func TestClientTCPResumesPartialFrame(t *testing.T) {
	t.Parallel()
	mine, peer := net.Pipe()
	defer peer.Close()
	c := &Client{conn: mine, network: "tcp", framing: LengthPrefix, fr: newFrameReader(mine, LengthPrefix, DefaultMaxFrame)}
	defer c.Close()
	frame, _ := appendFramed(nil, LengthPrefix, NewMessage("/state", String("go")))

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Receive(ctx); errc <- err }()
	if _, err := peer.Write(frame[:7]); err != nil { // returns once the client has read them
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("first Receive: %v", err)
	}
	go func() { _, _ = peer.Write(frame[7:]) }()
	ctx2, cancel2 := context.WithTimeout(context.Background(), patience)
	defer cancel2()
	p, err := c.Receive(ctx2)
	if err != nil || p.String() != `/state ,s "go"` {
		t.Fatalf("second Receive = %v, %v", p, err)
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	if _, err := DialTCP("127.0.0.1:1", 0); err == nil {
		t.Error("DialTCP with no framing accepted")
	}
	if _, err := DialUDP("not an address"); err == nil {
		t.Error("DialUDP of a bad address accepted")
	}
	s := startServer(t, Options{}, &Dispatcher{})
	c, err := DialUDP(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(NewMessage("no slash")); !errors.Is(err, ErrInvalid) {
		t.Errorf("Send of an invalid message: %v", err)
	}
	if c.RemoteAddr() != s.Addr() || c.Framing() != 0 || c.Network() != "udp" {
		t.Errorf("RemoteAddr %v Framing %v Network %v", c.RemoteAddr(), c.Framing(), c.Network())
	}
	c.Close()
	if err := c.Send(NewMessage("/x")); err == nil {
		t.Error("Send after Close succeeded")
	}
}
