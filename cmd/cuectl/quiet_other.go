//go:build !linux

package main

import "net"

// quietConn sends datagrams from a UDP socket of its own that is never
// read (bench.go). Away from Linux it is an ordinary socket: the answers
// it gets still wake cuectl's network poller.
type quietConn struct{ c net.Conn }

func dialQuiet(addr string) (*quietConn, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return nil, err
	}
	return &quietConn{c: c}, nil
}

func (q *quietConn) write(p []byte) error {
	_, err := q.c.Write(p)
	return err
}

func (q *quietConn) Close() error { return q.c.Close() }
