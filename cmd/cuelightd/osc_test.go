package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/cuelight/cuelight/osc"
)

// The booth side of OSC in these tests: the osc package's client, which
// receives the station's replies on its own port.

// booth is an OSC client of a running station.
type booth struct {
	*osc.Client
}

func dialBooth(t *testing.T, addr string) booth {
	t.Helper()
	c, err := osc.DialUDP(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return booth{c}
}

// send sends a message made of an address and string arguments.
func (b booth) send(t testing.TB, address string, args ...string) {
	t.Helper()
	if err := b.Send(message(address, args...)); err != nil {
		t.Fatal(err)
	}
}

func message(address string, args ...string) *osc.Message {
	m := osc.NewMessage(address)
	for _, a := range args {
		m.Args = append(m.Args, osc.String(a))
	}
	return m
}

// receive returns the next reply as text (`/cuelight/pong ,`).
func (b booth) receive(t testing.TB, what string) *osc.Message {
	t.Helper()
	return receiveFrom(t, b.Client.Receive, what)
}

// replies collects replies up to and including the first one whose
// address is last.
func (b booth) replies(t testing.TB, last string) []*osc.Message {
	t.Helper()
	var out []*osc.Message
	for {
		m := b.receive(t, "replies up to "+last)
		out = append(out, m)
		if m.Address == last {
			return out
		}
	}
}

// receiveN returns the next n replies.
func (b booth) receiveN(t testing.TB, n int) []*osc.Message {
	t.Helper()
	out := make([]*osc.Message, n)
	for i := range out {
		out[i] = b.receive(t, fmt.Sprintf("reply %d of %d", i+1, n))
	}
	return out
}

// texts are messages as text, one per line.
func texts(ms []*osc.Message) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.String())
	}
	return strings.Join(s, "\n")
}

// receiveFrom waits (patience) for one OSC message from recv.
func receiveFrom(t testing.TB, recv func(context.Context) (osc.Packet, error), what string) *osc.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	p, err := recv(ctx)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	m, ok := p.(*osc.Message)
	if !ok {
		t.Fatalf("waiting for %s: got a %T", what, p)
	}
	return m
}

// encode is a message's wire form.
func encode(t testing.TB, m *osc.Message) []byte {
	t.Helper()
	b, err := m.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// udpFrom is a UDP socket bound to a chosen loopback source address
// (127.0.0.2 is as local as 127.0.0.1 on Linux).
type udpFrom struct {
	conn *net.UDPConn
	to   *net.UDPAddr
}

func dialFrom(t *testing.T, source, to string) udpFrom {
	t.Helper()
	laddr, err := net.ResolveUDPAddr("udp4", source+":0")
	if err != nil {
		t.Fatal(err)
	}
	raddr, err := net.ResolveUDPAddr("udp4", to)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp4", laddr, raddr)
	if err != nil {
		t.Fatalf("UDP socket on %s: %v", source, err)
	}
	t.Cleanup(func() { conn.Close() })
	return udpFrom{conn: conn, to: raddr}
}

func (u udpFrom) write(t testing.TB, b []byte) {
	t.Helper()
	if _, err := u.conn.Write(b); err != nil {
		t.Fatal(err)
	}
}

// receive waits for one reply datagram.
func (u udpFrom) receive(t testing.TB, what string) *osc.Message {
	t.Helper()
	return receiveFrom(t, func(ctx context.Context) (osc.Packet, error) {
		dl, _ := ctx.Deadline()
		_ = u.conn.SetReadDeadline(dl)
		buf := make([]byte, 65536)
		n, err := u.conn.Read(buf)
		if err != nil {
			return nil, err
		}
		return osc.Decode(buf[:n])
	}, what)
}

// errorReply checks that m is /cuelight/error ,ss <address> <reason> with
// a reason containing want.
func errorReply(m *osc.Message, address, want string) error {
	if m.Address != "/cuelight/error" || m.TypeTags() != ",ss" {
		return fmt.Errorf("reply %s, want /cuelight/error ,ss %q <reason>", m, address)
	}
	a, _ := m.Args[0].String()
	r, _ := m.Args[1].String()
	if a != address || !strings.Contains(r, want) {
		return fmt.Errorf("reply %s, want /cuelight/error ,ss %q <reason containing %q>", m, address, want)
	}
	return nil
}
