package main

import (
	"fmt"
	"net"
	"syscall"
)

// quietConn sends datagrams from a UDP socket of its own that is never
// read and never handed to Go's network poller, so that the answers it
// gets wake nobody in cuectl: they wait in the socket's buffer (the kernel
// drops them once it is full) and go when it is closed. The bench's paced
// state series use it (bench.go).
type quietConn struct{ fd int }

func dialQuiet(addr string) (*quietConn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot send to %s: %w", addr, err)
	}
	ap := ua.AddrPort()
	ip := ap.Addr().Unmap()
	family, sa := syscall.AF_INET6, syscall.Sockaddr(&syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()})
	if ip.Is4() {
		family, sa = syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open a UDP socket to %s: %w", addr, err)
	}
	if err := syscall.Connect(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("cannot send to %s: %w", addr, err)
	}
	return &quietConn{fd: fd}, nil
}

func (q *quietConn) write(p []byte) error {
	if _, err := syscall.Write(q.fd, p); err != nil {
		return fmt.Errorf("sending to the station: %w", err)
	}
	return nil
}

func (q *quietConn) Close() error { return syscall.Close(q.fd) }
