package osc

import (
	"net/netip"
	"time"
)

// Sender is where a message came from, and the way back to it.
//
// A handler gets a *Sender that is valid during the call only; to answer
// later, keep a copy of the value (s := *from): a copy stays usable for as
// long as the way back exists (the server runs; for TCP, the connection is
// open) and reports [ErrClosed] afterwards. A Sender is safe for concurrent
// use.
type Sender struct {
	addr    netip.AddrPort
	network string
	framing Framing
	srv     *Server
	conn    *tcpConn
	reply   func(Packet) error
	due     time.Time // the bundle time tag, in DeliverFuture mode
}

// NewSender returns a Sender with the given address and network name whose
// Reply calls reply (nil makes Reply fail with [ErrNoReply]). It lets tests
// and other transports feed a [Dispatcher] and capture the answers.
func NewSender(addr netip.AddrPort, network string, reply func(Packet) error) *Sender {
	return &Sender{addr: addr, network: network, reply: reply}
}

// Addr returns the sender's address and port (IPv4 addresses in their 4-byte
// form, also when received on an IPv6 socket). It is the zero AddrPort for a
// nil Sender.
func (s *Sender) Addr() netip.AddrPort {
	if s == nil {
		return netip.AddrPort{}
	}
	return s.addr
}

// Network returns "udp" or "tcp" for a sender seen by a [Server], the name
// given to [NewSender] otherwise, "" for a nil Sender.
func (s *Sender) Network() string {
	if s == nil {
		return ""
	}
	return s.network
}

// Due returns the time the message was scheduled for, when a [Dispatcher]
// in DeliverFuture mode delivered it ahead of a future bundle time tag: the
// latest future time tag among its enclosing bundles. It is the zero Time
// for a message meant to run now (no bundle, an immediate or past tag),
// for every message a holding Dispatcher delivers (held bundles are
// delivered when due), and for a nil Sender. The application decides what
// to do with it: run it at that time, or refuse it.
func (s *Sender) Due() time.Time {
	if s == nil {
		return time.Time{}
	}
	return s.due
}

// Framing returns the framing a TCP sender uses, 0 for other senders.
func (s *Sender) Framing() Framing {
	if s == nil {
		return 0
	}
	return s.framing
}

// Reply sends p back to the sender: for UDP, from the server's socket to the
// sender's source address and port; for TCP, on the connection the message
// came in on, in the framing the sender used. It never blocks for long: a
// TCP reply is queued for the connection's writer and fails with
// [ErrQueueFull] when the peer has stopped reading. It fails with
// [ErrClosed] once the server or the connection has closed.
func (s *Sender) Reply(p Packet) error {
	switch {
	case s == nil:
		return ErrNoReply
	case s.conn != nil:
		return s.conn.send(p)
	case s.srv != nil:
		return s.srv.SendTo(s.addr, p)
	case s.reply != nil:
		return s.reply(p)
	}
	return ErrNoReply
}

// String returns the network and address, e.g. "udp 127.0.0.1:53001".
func (s *Sender) String() string {
	if s == nil {
		return "<nil>"
	}
	return s.network + " " + s.addr.String()
}
