package osc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// DialTimeout bounds connecting a TCP [Client].
const DialTimeout = 5 * time.Second

// Client sends packets to one OSC server and receives its replies: over UDP
// on the client's own socket (a server that replies to the sender reaches
// it), over TCP on the same connection, in the framing chosen at dial time.
//
// Send and Receive may be called concurrently with each other; concurrent
// Sends are serialised, as are concurrent Receives.
type Client struct {
	conn    net.Conn
	network string
	framing Framing

	wmu  sync.Mutex
	wbuf []byte

	rmu  sync.Mutex
	rbuf []byte       // UDP
	fr   *frameReader // TCP
}

// DialUDP returns a client that sends datagrams to addr ("host:port") from
// an ephemeral local port, and receives what comes back to that port from
// addr.
func DialUDP(addr string) (*Client, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("osc: dial udp %s: %w", addr, err)
	}
	return &Client{conn: c, network: "udp", rbuf: make([]byte, 65536)}, nil
}

// DialTCP connects to addr ("host:port") and frames packets with f
// ([LengthPrefix] or [SLIP]); replies are read in the same framing.
func DialTCP(addr string, f Framing) (*Client, error) {
	if f != LengthPrefix && f != SLIP {
		return nil, fmt.Errorf("osc: dial tcp %s: unknown framing %d", addr, f)
	}
	c, err := net.DialTimeout("tcp", addr, DialTimeout)
	if err != nil {
		return nil, fmt.Errorf("osc: dial tcp %s: %w", addr, err)
	}
	return &Client{conn: c, network: "tcp", framing: f, fr: newFrameReader(c, f, DefaultMaxFrame)}, nil
}

// Network returns "udp" or "tcp".
func (c *Client) Network() string { return c.network }

// Framing returns the TCP framing, 0 for UDP.
func (c *Client) Framing() Framing { return c.framing }

// LocalAddr returns the client's own address and port.
func (c *Client) LocalAddr() netip.AddrPort { return addrPortOf(c.conn.LocalAddr()) }

// RemoteAddr returns the server's address and port.
func (c *Client) RemoteAddr() netip.AddrPort { return addrPortOf(c.conn.RemoteAddr()) }

func addrPortOf(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	case *net.TCPAddr:
		ap = a.AddrPort()
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// Send encodes p and sends it: one datagram over UDP, one frame over TCP.
func (c *Client) Send(p Packet) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var b []byte
	var err error
	if c.network == "tcp" {
		b, err = appendFramed(c.wbuf[:0], c.framing, p)
	} else {
		b, err = p.AppendBinary(c.wbuf[:0])
	}
	if err != nil {
		return err
	}
	c.wbuf = b[:0]
	if _, err := c.conn.Write(b); err != nil {
		return fmt.Errorf("osc: send: %w", err)
	}
	return nil
}

// Receive waits for the next packet from the server until ctx is done, and
// returns it decoded ([Decode]: it owns its memory). A packet that does not
// decode is returned as an error; the next call reads the next one. Over
// TCP, a frame cut short by ctx is kept and completed by the next call.
func (c *Client) Receive(ctx context.Context) (Packet, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dl, _ := ctx.Deadline() // zero when none: no deadline
	if err := c.conn.SetReadDeadline(dl); err != nil {
		return nil, fmt.Errorf("osc: receive: %w", err)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.conn.SetReadDeadline(time.Unix(1, 0))
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired // the deadline change must not hit the next call
		}
	}()
	var b []byte
	var err error
	if c.network == "tcp" {
		b, err = c.fr.next()
	} else {
		var n int
		n, err = c.conn.Read(c.rbuf)
		b = c.rbuf[:n]
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && !dl.IsZero() && !time.Now().Before(dl) {
			return nil, context.DeadlineExceeded // the socket saw the deadline first
		}
		return nil, fmt.Errorf("osc: receive: %w", err)
	}
	return Decode(b)
}

// Close closes the socket.
func (c *Client) Close() error { return c.conn.Close() }
