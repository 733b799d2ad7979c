package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// sync implements "cuectl sync": the station's answer to /cuelight/sync.
func (c *cli) sync(ctx context.Context, name string, args []string) int {
	o := c.newOpts(name, "sync [flags]", `
Asks the station for the state of each of its channels (/cuelight/sync) and
prints one line per channel, in the show file's order.

Examples:
  cuectl sync                         fly: standby "23"
                                      sl: off ...
  cuectl sync --osc 10.10.0.21:53100 --tcp`, flagsOSC)
	if _, code, ok := c.parse(o, args, 0, 0); !ok {
		return code
	}
	t := o.oscTarget()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	states, err := t.states(ctx)
	if err != nil {
		return c.report(oscProblem(t, err, o.timeout))
	}
	acks := c.ackFlags(ctx, o, request{}, states)
	for _, s := range states {
		var notes []string
		if acks[s.Channel] {
			notes = append(notes, "ack requested")
		}
		fmt.Fprintln(c.stdout, stateLine(s.Channel, s.State, s.Label, notes))
	}
	return exitOK
}

// ping implements "cuectl ping": round-trip times of /cuelight/ping.
func (c *cli) ping(ctx context.Context, name string, args []string) int {
	o := c.newOpts(name, "ping [flags]", `
Sends /cuelight/ping and times the /cuelight/pong that comes back: the
network and the station's OSC intake, not the cue loop (cuectl bench
measures the whole path).

Examples:
  cuectl ping                         pong from 127.0.0.1:53100: 0.12 ms
  cuectl ping -c 10 -i 200ms`, flagsOSC)
	count := o.fs.Int("c", 3, "number of pings")
	every := o.fs.Duration("i", 100*time.Millisecond, "time between pings")
	if _, code, ok := c.parse(o, args, 0, 0); !ok {
		return code
	}
	if *count < 1 || *every < 0 {
		fmt.Fprintln(c.stderr, "cuectl ping: -c must be at least 1 and -i not negative")
		return exitUsage
	}
	t := o.oscTarget()
	cn, err := t.open()
	if err != nil {
		return c.report(oscProblem(t, err, o.timeout))
	}
	defer cn.Close()
	var rtts []time.Duration
	lost := 0
	for i := range *count {
		if i > 0 {
			select {
			case <-c.clock.After(*every):
			case <-ctx.Done():
				fmt.Fprintln(c.stderr, "cuectl ping: interrupted")
				return exitInterrupted
			}
		}
		pctx, cancel := context.WithTimeout(ctx, o.timeout)
		start := time.Now()
		_, err := cn.untilPong(pctx)
		rtt := time.Since(start)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) || *count == 1 {
				return c.report(oscProblem(t, err, o.timeout))
			}
			lost++
			fmt.Fprintf(c.stdout, "no pong from %s within %s\n", t, o.timeout)
			continue
		}
		rtts = append(rtts, rtt)
		fmt.Fprintf(c.stdout, "pong from %s: %s\n", t, fmtDur(rtt))
	}
	if len(rtts) == 0 {
		return c.report(oscProblem(t, context.DeadlineExceeded, o.timeout))
	}
	if *count > 1 {
		s := summarize(rtts)
		fmt.Fprintf(c.stdout, "%d sent, %d answered; round trip min %s, median %s, max %s\n",
			*count, len(rtts), fmtDur(s.min), fmtDur(s.p50), fmtDur(s.max))
	}
	if lost > 0 {
		return exitUnreachable
	}
	return exitOK
}
