package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// stats are the percentiles of a set of durations.
type stats struct {
	n                       int
	min, p50, p90, p99, max time.Duration
}

// summarize sorts a copy of d and takes nearest-rank percentiles: the
// p-th percentile is the smallest sample with at least p % of the samples
// at or below it.
func summarize(d []time.Duration) stats {
	if len(d) == 0 {
		return stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return stats{
		n: len(s), min: s[0], max: s[len(s)-1],
		p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99),
	}
}

// percentile of sorted samples, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[rank(len(sorted), p)-1]
}

// rank is the nearest rank of percentile p among n samples, 1 to n
// (n at least 1): the p99 of 1,000 is the 990th, the 11th slowest.
func rank(n int, p float64) int {
	return min(max(int(math.Ceil(p/100*float64(n))), 1), n)
}

// fmtDur prints a latency in milliseconds with enough digits for
// microseconds: "0.085 ms", "1.20 ms", "35.4 ms".
func fmtDur(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 1:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.2f s", ms/1000)
}

// ordinal is 1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, ... 21st.
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}
