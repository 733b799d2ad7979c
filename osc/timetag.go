package osc

import (
	"time"
)

// TimeTag is an OSC time tag: the NTP timestamp format, seconds since
// 1900-01-01 00:00 UTC in the upper 32 bits and the fraction of a second in
// units of 1/2^32 s in the lower 32 bits.
//
// The 32-bit seconds field wraps on 2036-02-07 06:28:16 UTC. Following NTP's
// convention, a tag whose top bit is set is read in era 0 (1968-01-20 to
// 2036-02-07) and a tag whose top bit is clear in era 1 (2036-02-07 to
// 2104-02-26). Times outside 1968–2104 cannot be represented.
//
// The values 0 and 1 are special: 1 is [Immediately] as the OSC 1.0
// specification defines it, and 0, which some senders use the same way, is
// treated alike.
type TimeTag uint64

// Immediately is the time tag that means "as soon as possible".
const Immediately TimeTag = 1

// ntpEpochOffset is the number of seconds between 1900-01-01 and 1970-01-01.
const ntpEpochOffset = 2208988800

// TimeTagFrom returns the time tag for t, rounded to the nearest 1/2^32 s.
// The zero time.Time gives [Immediately].
func TimeTagFrom(t time.Time) TimeTag {
	if t.IsZero() {
		return Immediately
	}
	secs := uint64(t.Unix() + ntpEpochOffset) // wraps modulo 2^32 below: the era is implicit
	ns := uint64(t.Nanosecond())
	frac := (ns<<32 + 500_000_000) / 1_000_000_000
	return TimeTag(secs<<32 + frac)
}

// Time returns the instant tt stands for, in UTC. It returns the zero
// time.Time for [Immediately] and 0: check [TimeTag.IsImmediate] first.
func (tt TimeTag) Time() time.Time {
	if tt.IsImmediate() {
		return time.Time{}
	}
	secs := int64(tt >> 32)
	if secs&0x8000_0000 == 0 {
		secs += 1 << 32 // era 1: from 2036-02-07
	}
	frac := uint64(tt & 0xFFFF_FFFF)
	ns := (frac*1_000_000_000 + 1<<31) >> 32
	return time.Unix(secs-ntpEpochOffset, int64(ns)).UTC()
}

// IsImmediate reports whether tt means "now": [Immediately] (1) or 0.
func (tt TimeTag) IsImmediate() bool { return tt <= Immediately }

// Seconds returns the seconds field (since 1900, modulo 2^32).
func (tt TimeTag) Seconds() uint32 { return uint32(tt >> 32) }

// Fraction returns the fraction field, in units of 1/2^32 s.
func (tt TimeTag) Fraction() uint32 { return uint32(tt) }

// String returns "immediately" or the instant in RFC 3339 form with
// nanoseconds.
func (tt TimeTag) String() string {
	if tt.IsImmediate() {
		return "immediately"
	}
	return tt.Time().Format(time.RFC3339Nano)
}

// appendHex appends the tag as oscdump prints it: 8 hex digits of seconds, a
// dot, 8 hex digits of fraction.
func (tt TimeTag) appendHex(b []byte) []byte {
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hexDigit[(tt>>i)&15])
		if i == 32 {
			b = append(b, '.')
		}
	}
	return b
}
