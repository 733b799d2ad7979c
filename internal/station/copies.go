package station

import (
	"time"

	"github.com/cuelight/cuelight/cues"
)

// Copies from two gateways (docs/protocol.md §9). A booth that sends every
// command to a main and a backup gateway reaches a station twice for each
// command, by two paths whose delays differ by a few milliseconds. The
// duplicate rules of §2 make the second copy change nothing only while no
// other command came between: when one gateway's copy of a standby arrives
// after the other gateway's GO, it would arm the channel again, and the
// GO's own second copy would fire it a second time. So a command forwarded
// by a gateway (mqttlink.Command.Via) is a copy, and changes nothing, when
// the same command (verb, label, channel) sent at the same moment (its ts
// within copyWindow of the other's) through another gateway, or taken by
// this gateway from OSC, was carried out already.

// copyMargin is added to mqtt.clock_skew to make the copy window: the two
// gateways stamp a command with their own clocks, which differ by up to
// the skew, on receiving the same datagram a few milliseconds apart.
const copyMargin = 250 * time.Millisecond

// copyKey is what makes two commands the same.
type copyKey struct {
	channel string // "" for a show-wide command (cue GO, hold, release)
	verb    cues.Verb
	label   string
}

// sentCmd is a command carried out that a copy may still follow.
type sentCmd struct {
	key copyKey
	ts  time.Time // when its gateway took it from the booth
	via string    // the gateway it came through
}

// copies remembers the commands carried out within the copy window. Only
// the cue loop uses it.
type copies struct {
	window time.Duration
	recent []sentCmd
}

// isCopy reports whether a command that came through gateway via, sent at
// ts, is a copy of one carried out already.
func (c *copies) isCopy(k copyKey, ts time.Time, via string) bool {
	for _, r := range c.recent {
		if r.key == k && r.via != via && absDuration(r.ts.Sub(ts)) <= c.window {
			return true
		}
	}
	return false
}

// add remembers a command carried out, and forgets those no copy can
// follow any more: a copy's ts is within the window of theirs, and it is
// refused as stale once older than its ttl (forwardTTL) and the clock
// skew (less than the window).
func (c *copies) add(k copyKey, ts time.Time, via string, now time.Time) {
	keep := c.recent[:0]
	for _, r := range c.recent {
		if now.Sub(r.ts) <= 2*c.window+forwardTTL {
			keep = append(keep, r)
		}
	}
	c.recent = append(keep, sentCmd{key: k, ts: ts, via: via})
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
