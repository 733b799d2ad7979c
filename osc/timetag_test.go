package osc

import (
	"testing"
	"time"
)

func TestTimeTagConversions(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		time time.Time
		tag  TimeTag
	}{
		{"2026 new year (protocols.md)", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 0xED003780_00000000},
		{"half a second is 0x80000000", time.Date(2026, 1, 1, 0, 0, 0, 500_000_000, time.UTC), 0xED003780_80000000},
		{"Unix epoch", time.Unix(0, 0).UTC(), 2208988800 << 32},
		{"last second of era 0", time.Date(2036, 2, 7, 6, 28, 15, 0, time.UTC), 0xFFFFFFFF_00000000},
		{"era 1 starts 2036-02-07 06:28:16", time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC), 0x00000001_00000000},
		{"era 1 in 2040", time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC), TimeTag(uint64(time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC).Unix()+ntpEpochOffset-(1<<32)) << 32)},
		{"earliest of era 0, 1968-01-20", time.Date(1968, 1, 20, 3, 14, 8, 0, time.UTC), 0x80000000_00000000},
	} {
		if got := TimeTagFrom(c.time); got != c.tag {
			t.Errorf("%s: TimeTagFrom = %#x, want %#x", c.name, uint64(got), uint64(c.tag))
		}
		if got := c.tag.Time(); !got.Equal(c.time) {
			t.Errorf("%s: Time() = %v, want %v", c.name, got, c.time)
		}
	}
}

func TestTimeTagNanosecondRoundTrip(t *testing.T) {
	t.Parallel()
	// The fraction (1/2^32 s, about 233 ps) is finer than a nanosecond, so
	// every nanosecond value survives a round trip.
	base := time.Date(2026, 5, 17, 20, 0, 0, 0, time.UTC)
	for _, ns := range []int{0, 1, 2, 3, 499_999_999, 500_000_000, 999_999_998, 999_999_999, 123_456_789} {
		in := base.Add(time.Duration(ns))
		if got := TimeTagFrom(in).Time(); !got.Equal(in) {
			t.Errorf("%d ns: round trip gave %v", ns, got)
		}
	}
	for frac := uint64(0); frac < 1<<32; frac += 0x1000_0001 {
		tt := TimeTag(0xED003780<<32 | frac)
		back := TimeTagFrom(tt.Time())
		if d := int64(back) - int64(tt); d < -5 || d > 5 {
			t.Errorf("fraction %#x: round trip off by %d units", frac, d)
		}
	}
}

func TestTimeTagImmediate(t *testing.T) {
	t.Parallel()
	for _, tt := range []TimeTag{0, Immediately} {
		if !tt.IsImmediate() || !tt.Time().IsZero() || tt.String() != "immediately" {
			t.Errorf("%#x: IsImmediate=%v Time=%v String=%q", uint64(tt), tt.IsImmediate(), tt.Time(), tt.String())
		}
	}
	if TimeTagFrom(time.Time{}) != Immediately {
		t.Error("zero time.Time should give Immediately")
	}
	if TimeTag(2).IsImmediate() {
		t.Error("2 is a real (2036) time, not immediate")
	}
	tt := TimeTag(0xED003780_80000000)
	if tt.Seconds() != 0xED003780 || tt.Fraction() != 0x80000000 {
		t.Errorf("Seconds/Fraction = %#x/%#x", tt.Seconds(), tt.Fraction())
	}
	if got := tt.String(); got != "2026-01-01T00:00:00.5Z" {
		t.Errorf("String() = %q", got)
	}
}
