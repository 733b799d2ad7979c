package main

import (
	"context"
	"errors"
	"strings"

	"github.com/cuelight/cuelight/osc"
)

// oscTarget is a station's OSC endpoint and the transport to reach it.
type oscTarget struct {
	addr    string
	tcp     bool
	framing osc.Framing // with tcp: osc.SLIP or osc.LengthPrefix
}

func (o *opts) oscTarget() oscTarget {
	t := oscTarget{addr: o.oscAddr(), tcp: o.tcp, framing: osc.SLIP}
	if o.framing == "length" {
		t.framing = osc.LengthPrefix
	}
	return t
}

func (t oscTarget) String() string {
	if t.tcp {
		return t.addr + " (OSC over TCP)"
	}
	return t.addr
}

func (t oscTarget) dial() (*osc.Client, error) {
	if t.tcp {
		return osc.DialTCP(t.addr, t.framing)
	}
	return osc.DialUDP(t.addr)
}

// Addresses of the station's replies (docs/protocol.md §3).
const (
	addrPing    = "/cuelight/ping"
	addrPong    = "/cuelight/pong"
	addrSync    = "/cuelight/sync"
	addrError   = "/cuelight/error"
	stateprefix = "/cuelight/state/"
)

// chanState is one /cuelight/state/<ch>/<state> ,s <label> reply.
type chanState struct {
	Channel, State, Label string
}

// parseState reads a state reply; ok is false for any other message.
func parseState(m *osc.Message) (chanState, bool) {
	rest, ok := strings.CutPrefix(m.Address, stateprefix)
	if !ok {
		return chanState{}, false
	}
	ch, st, ok := strings.Cut(rest, "/")
	if !ok || ch == "" || st == "" || strings.Contains(st, "/") {
		return chanState{}, false
	}
	s := chanState{Channel: ch, State: st}
	if len(m.Args) > 0 {
		s.Label, _ = m.Args[0].String()
	}
	return s, true
}

// parseError reads /cuelight/error ,ss <address> <reason>.
func parseError(m *osc.Message) (address, reason string, ok bool) {
	if m.Address != addrError {
		return "", "", false
	}
	if len(m.Args) > 0 {
		address, _ = m.Args[0].String()
	}
	if len(m.Args) > 1 {
		reason, _ = m.Args[1].String()
	}
	return address, reason, true
}

// receive returns the next message from cl, flattening bundles; replies
// that do not decode are skipped.
func receive(ctx context.Context, cl *osc.Client, pending *[]*osc.Message) (*osc.Message, error) {
	for {
		if len(*pending) > 0 {
			m := (*pending)[0]
			*pending = (*pending)[1:]
			return m, nil
		}
		p, err := cl.Receive(ctx)
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, osc.ErrMalformed) {
				continue
			}
			return nil, err
		}
		*pending = flatten(*pending, p)
	}
}

func flatten(dst []*osc.Message, p osc.Packet) []*osc.Message {
	switch p := p.(type) {
	case *osc.Message:
		return append(dst, p)
	case *osc.Bundle:
		for _, e := range p.Elements {
			dst = flatten(dst, e)
		}
	}
	return dst
}

// conn is one socket to a station with its queue of unread messages.
type conn struct {
	cl      *osc.Client
	pending []*osc.Message
}

func (t oscTarget) open() (*conn, error) {
	cl, err := t.dial()
	if err != nil {
		return nil, err
	}
	return &conn{cl: cl}, nil
}

func (c *conn) Close() error { return c.cl.Close() }

func (c *conn) send(m *osc.Message) error { return c.cl.Send(m) }

func (c *conn) next(ctx context.Context) (*osc.Message, error) {
	return receive(ctx, c.cl, &c.pending)
}

// untilPong sends /cuelight/ping and returns every other message received
// before the pong.
func (c *conn) untilPong(ctx context.Context) ([]*osc.Message, error) {
	if err := c.send(osc.NewMessage(addrPing)); err != nil {
		return nil, err
	}
	var out []*osc.Message
	for {
		m, err := c.next(ctx)
		if err != nil {
			return out, err
		}
		if m.Address == addrPong {
			return out, nil
		}
		out = append(out, m)
	}
}

// syncStates asks for every channel's state. The station answers a sync
// with one message per channel and no end marker, so two syncs are sent:
// the first repeat of the first channel marks where the second answer
// starts, which gives the number of channels; the second answer is read to
// its end and returned (the stream is left empty, so a TCP connection can
// close cleanly).
func (c *conn) syncStates(ctx context.Context) ([]chanState, error) {
	for range 2 {
		if err := c.send(osc.NewMessage(addrSync)); err != nil {
			return nil, err
		}
	}
	var first, second []chanState
	for {
		m, err := c.next(ctx)
		if err != nil {
			return nil, err
		}
		s, ok := parseState(m)
		if !ok {
			continue
		}
		switch {
		case second == nil && (len(first) == 0 || s.Channel != first[0].Channel):
			first = append(first, s)
			continue
		default:
			second = append(second, s)
		}
		if len(second) == len(first) {
			return second, nil
		}
	}
}

// exchange sends m to the station and returns, in order, every reply the
// station sent for it, and the states of the station's channels right
// after it.
//
// The station sends no "end of replies", so exchange makes one, in three
// steps, each ordered by the station's design (docs/protocol.md §3, internal/station):
//  1. m then a ping on socket A; the pong comes from the OSC intake loop,
//     so once it arrives m has been handed to the cue loop.
//  2. two syncs on socket B; the cue loop answers them after it has
//     finished m, so when B has its answer every reply to m has been sent.
//  3. a second ping on A; its pong is queued after those replies (a
//     station's replies to one socket keep their order), so everything
//     read on A before it is the complete answer to m.
func (t oscTarget) exchange(ctx context.Context, m *osc.Message) (replies []*osc.Message, after []chanState, err error) {
	a, err := t.open()
	if err != nil {
		return nil, nil, err
	}
	defer a.Close()
	if err := a.send(m); err != nil {
		return nil, nil, err
	}
	replies, err = a.untilPong(ctx)
	if err != nil {
		return replies, nil, err
	}
	b, err := t.open()
	if err != nil {
		return replies, nil, err
	}
	after, err = b.syncStates(ctx)
	b.Close()
	if err != nil {
		return replies, nil, stuck(t, err)
	}
	more, err := a.untilPong(ctx)
	return append(replies, more...), after, stuck(t, err)
}

// stuck explains a timeout after the station has answered a ping: its OSC
// intake works, its cue loop has not finished the command.
func stuck(t oscTarget, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fail(exitUnreachable, "the station at %s answers pings but did not finish the command in time: is it overloaded or stuck? (journalctl -u cuelightd; its watchdog restarts a stuck station)", t)
	}
	return err
}

// states returns every channel's state (the sync command).
func (t oscTarget) states(ctx context.Context) ([]chanState, error) {
	c, err := t.open()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.syncStates(ctx)
}
