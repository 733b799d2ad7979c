package osc

import (
	"fmt"
	"math/bits"
	"strings"
)

// MatchOptions selects optional matching rules.
type MatchOptions struct {
	// PathWildcard enables the OSC 1.1 path-traversing wildcard: an empty
	// part made by "//" (as in "//go" or "/cuelight//go") matches zero or
	// more whole parts of the address. Off, "//" is an empty part, which
	// matches nothing, as in OSC 1.0.
	PathWildcard bool
}

// matchBudget bounds the work of one Match call (and of one dispatched
// message, across all methods): about one unit per 64 positions of a part per
// pattern token, plus one per candidate position examined. Patterns that
// would need more are reported as not matching. Ordinary patterns against
// method addresses use a few dozen units; the budget only stops hostile input
// (tens of thousands of tokens, or very long parts).
const matchBudget = 1 << 16

// Match reports whether the OSC address pattern matches the address, by the
// OSC 1.0 rules: pattern and address must have the same number of parts
// (the text between slashes) and each part must match, where
//
//   - ? matches any one character;
//   - * matches any run of characters, including none;
//   - [abc] matches one of the listed characters, [a-z] one in the ASCII
//     range (a reversed range such as [z-a] matches nothing), [!...] one
//     character not listed; '-' first or last is literal, and ']' right after
//     '[' or '[!' is literal ("[]]" matches "]");
//   - {foo,bar} matches one of the comma-separated literal strings (an
//     empty one is allowed: "{,s}" matches "" and "s");
//   - any other character matches itself.
//
// No wildcard crosses a '/'. Characters are bytes: ? matches one byte of a
// multi-byte UTF-8 character. A malformed pattern (unterminated '[' or '{',
// or not starting with '/') matches nothing; use [Compile] to learn why.
// Matching never panics and its work is bounded: a pattern that would exceed
// the budget (only hostile ones do) is reported as not matching.
func Match(pattern, address string) bool {
	return MatchOptions{}.Match(pattern, address)
}

// Match is [Match] with these options.
func (o MatchOptions) Match(pattern, address string) bool {
	w := matchBudget
	return o.match(pattern, address, &w)
}

func (o MatchOptions) match(pattern, address string, w *int) bool {
	if len(pattern) == 0 || pattern[0] != '/' || len(address) == 0 || address[0] != '/' {
		return false
	}
	if o.PathWildcard && strings.Contains(pattern, "//") {
		var pb, ab [16]string
		return matchPathParts(splitParts(pb[:0], pattern), splitParts(ab[:0], address), w)
	}
	p, a := pattern[1:], address[1:]
	for {
		pi, ai := strings.IndexByte(p, '/'), strings.IndexByte(a, '/')
		if (pi < 0) != (ai < 0) {
			return false
		}
		if pi < 0 {
			return matchPart(p, a, w)
		}
		if !matchPart(p[:pi], a[:ai], w) {
			return false
		}
		p, a = p[pi+1:], a[ai+1:]
	}
}

// splitParts appends the parts of an address (which starts with '/') to dst.
func splitParts(dst []string, address string) []string {
	s := address[1:]
	for {
		i := strings.IndexByte(s, '/')
		if i < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:i])
		s = s[i+1:]
	}
}

// matchPathParts matches pattern parts against address parts where an empty
// pattern part other than the last stands for "zero or more parts" (OSC 1.1
// "//"). It is the classic single-star backtracking algorithm, O(P·A) part
// comparisons at worst.
func matchPathParts(pp, ap []string, w *int) bool {
	isAny := func(i int) bool { return pp[i] == "" && i < len(pp)-1 }
	pi, ai, starP, starA := 0, 0, -1, 0
	for ai < len(ap) {
		*w--
		if *w < 0 {
			return false
		}
		switch {
		case pi < len(pp) && isAny(pi):
			starP, starA = pi, ai
			pi++
		case pi < len(pp) && matchPart(pp[pi], ap[ai], w):
			pi++
			ai++
		case starP >= 0:
			pi = starP + 1
			starA++
			ai = starA
		default:
			return false
		}
	}
	for pi < len(pp) && isAny(pi) {
		pi++
	}
	return pi == len(pp)
}

// special marks the bytes that start a wildcard construct in a part.
var special = [256]bool{'*': true, '?': true, '[': true, '{': true}

func hasSpecial(s string) bool {
	for i := 0; i < len(s); i++ {
		if special[s[i]] {
			return true
		}
	}
	return false
}

// matchPart matches one part of a pattern against one part of an address.
//
// It runs the pattern left to right over the set of positions in s that the
// pattern so far can end at (a bit set of len(s)+1 bits): a literal run or
// ?, [..], {..} moves each position forward; * fills every position from the
// lowest onwards. The cost is O(tokens × len(s)/64 + positions examined), with
// no backtracking, so "*a*a*a*a*b" against a long run of a's is linear.
func matchPart(p, s string, w *int) bool {
	if !hasSpecial(p) {
		return p == s
	}
	if p == "*" {
		return true
	}
	n := len(s)
	nw := n/64 + 1
	var b1, b2 [4]uint64
	var cur, nxt []uint64
	if nw <= len(b1) {
		cur, nxt = b1[:nw], b2[:nw]
	} else {
		cur, nxt = make([]uint64, nw), make([]uint64, nw)
	}
	cur[0] = 1
	for i := 0; i < len(p); {
		*w -= nw
		if *w < 0 {
			return false
		}
		switch p[i] {
		case '*':
			for i < len(p) && p[i] == '*' {
				i++
			}
			fillFrom(cur, lowest(cur), n)
			continue // cur changed in place
		case '?':
			shiftOne(nxt, cur, n)
			i++
		case '[':
			set, next, ok := parseClass(p, i)
			if !ok {
				return false
			}
			i = next
			clear(nxt)
			for wi, word := range cur {
				for word != 0 {
					j := wi*64 + bits.TrailingZeros64(word)
					word &= word - 1
					*w--
					if j < n && set.has(s[j]) {
						setBit(nxt, j+1)
					}
				}
			}
		case '{':
			end := strings.IndexByte(p[i:], '}')
			if end < 0 {
				return false
			}
			alts := p[i+1 : i+end]
			i += end + 1
			clear(nxt)
			for wi, word := range cur {
				for word != 0 {
					j := wi*64 + bits.TrailingZeros64(word)
					word &= word - 1
					rest := alts
					for {
						k := strings.IndexByte(rest, ',')
						alt := rest
						if k >= 0 {
							alt = rest[:k]
						}
						*w -= 1 + len(alt)
						if strings.HasPrefix(s[j:], alt) {
							setBit(nxt, j+len(alt))
						}
						if k < 0 {
							break
						}
						rest = rest[k+1:]
					}
				}
			}
		default:
			k := i + 1
			for k < len(p) && !special[p[k]] {
				k++
			}
			lit := p[i:k]
			i = k
			clear(nxt)
			for wi, word := range cur {
				for word != 0 {
					j := wi*64 + bits.TrailingZeros64(word)
					word &= word - 1
					*w--
					if strings.HasPrefix(s[j:], lit) {
						setBit(nxt, j+len(lit))
					}
				}
			}
		}
		cur, nxt = nxt, cur
		if isEmpty(cur) {
			// No position left: the part cannot match, whatever follows. A
			// malformed construct further on would also fail, so the answer is
			// the same.
			return false
		}
	}
	return cur[n/64]&(1<<(n%64)) != 0
}

// charSet is a set of bytes.
type charSet [4]uint64

func (c *charSet) add(b byte)      { c[b>>6] |= 1 << (b & 63) }
func (c *charSet) has(b byte) bool { return c[b>>6]&(1<<(b&63)) != 0 }
func (c *charSet) addRange(lo, hi int) { // empty when lo > hi
	for x := lo; x <= hi; x++ {
		c.add(byte(x))
	}
}

// parseClass parses the bracket expression that starts at p[i] == '['. It
// returns the set of bytes it matches and the index just past its ']'; ok is
// false when it is not terminated.
func parseClass(p string, i int) (set charSet, next int, ok bool) {
	j := i + 1
	neg := j < len(p) && p[j] == '!'
	if neg {
		j++
	}
	for first := true; ; first = false {
		if j >= len(p) {
			return set, 0, false
		}
		c := p[j]
		if c == ']' && !first {
			j++
			break
		}
		if j+2 < len(p) && p[j+1] == '-' && p[j+2] != ']' {
			set.addRange(int(c), int(p[j+2]))
			j += 3
			continue
		}
		set.add(c)
		j++
	}
	if neg {
		for k := range set {
			set[k] = ^set[k]
		}
	}
	return set, j, true
}

func setBit(s []uint64, i int) { s[i/64] |= 1 << (i % 64) }

func isEmpty(s []uint64) bool {
	for _, w := range s {
		if w != 0 {
			return false
		}
	}
	return true
}

func lowest(s []uint64) int {
	for i, w := range s {
		if w != 0 {
			return i*64 + bits.TrailingZeros64(w)
		}
	}
	return -1
}

// fillFrom sets bits lo..n.
func fillFrom(s []uint64, lo, n int) {
	for i := lo; i <= n; {
		if i%64 == 0 && i+63 <= n {
			s[i/64] = ^uint64(0)
			i += 64
			continue
		}
		setBit(s, i)
		i++
	}
}

// shiftOne sets dst to src shifted up by one position, dropping bits past n.
func shiftOne(dst, src []uint64, n int) {
	var carry uint64
	for i, w := range src {
		dst[i] = w<<1 | carry
		carry = w >> 63
	}
	last := n % 64
	dst[len(dst)-1] &= (2 << last) - 1 // keep bits 0..n%64 of the last word
}

// Pattern is a checked address pattern, split into parts once so that it can
// be matched against many addresses.
type Pattern struct {
	text    string
	opts    MatchOptions
	parts   []string
	literal bool
	path    bool // contains a path wildcard
}

// Compile checks an address pattern and prepares it for matching. It fails
// with [ErrBadPattern] when the pattern does not start with '/' or contains
// an unterminated '[' or '{'.
func Compile(pattern string, opts MatchOptions) (*Pattern, error) {
	if len(pattern) == 0 || pattern[0] != '/' {
		return nil, fmt.Errorf("%w: %q does not start with '/'", ErrBadPattern, pattern)
	}
	p := &Pattern{text: pattern, opts: opts, literal: !hasSpecial(pattern)}
	p.parts = splitParts(nil, pattern)
	for _, part := range p.parts {
		for i := 0; i < len(part); i++ {
			switch part[i] {
			case '[':
				_, next, ok := parseClass(part, i)
				if !ok {
					return nil, fmt.Errorf("%w: %q has an unterminated '['", ErrBadPattern, pattern)
				}
				i = next - 1
			case '{':
				end := strings.IndexByte(part[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("%w: %q has an unterminated '{'", ErrBadPattern, pattern)
				}
				i += end
			}
		}
	}
	if opts.PathWildcard && strings.Contains(pattern, "//") {
		p.path = true
		p.literal = false
	}
	return p, nil
}

// MustCompile is like [Compile] but panics on error. Use it only for
// patterns written in the program, never for received ones.
func MustCompile(pattern string, opts MatchOptions) *Pattern {
	p, err := Compile(pattern, opts)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern text.
func (p *Pattern) String() string { return p.text }

// Literal reports whether the pattern has no wildcard, so that it matches
// exactly the address equal to it.
func (p *Pattern) Literal() bool { return p.literal }

// Match reports whether the pattern matches address.
func (p *Pattern) Match(address string) bool {
	if p.literal {
		return p.text == address
	}
	if len(address) == 0 || address[0] != '/' {
		return false
	}
	w := matchBudget
	var ab [16]string
	parts := splitParts(ab[:0], address)
	return p.matchParts(parts, &w)
}

func (p *Pattern) matchParts(parts []string, w *int) bool {
	if p.path {
		return matchPathParts(p.parts, parts, w)
	}
	if len(parts) != len(p.parts) {
		return false
	}
	for i, part := range p.parts {
		if !matchPart(part, parts[i], w) {
			return false
		}
	}
	return true
}

// ValidateAddress checks that address is a literal OSC method address: it
// starts with '/', has no empty part (so no "//" and no trailing '/'), and
// uses only printable ASCII other than space and the characters OSC reserves
// for patterns and structure: # * , / ? [ ] { }. It returns an error
// wrapping [ErrBadAddress] otherwise.
func ValidateAddress(address string) error {
	if len(address) == 0 || address[0] != '/' {
		return fmt.Errorf("%w: %q does not start with '/'", ErrBadAddress, address)
	}
	prev := byte(0)
	for i := 0; i < len(address); i++ {
		c := address[i]
		switch {
		case c == '/':
			if prev == '/' {
				return fmt.Errorf("%w: %q has an empty part", ErrBadAddress, address)
			}
		case c <= ' ' || c >= 0x7F:
			return fmt.Errorf("%w: %q has a byte 0x%02x (only printable ASCII is allowed)", ErrBadAddress, address, c)
		case strings.IndexByte("#*,?[]{}", c) >= 0:
			return fmt.Errorf("%w: %q contains %q, which only patterns may use", ErrBadAddress, address, c)
		}
		prev = c
	}
	if prev == '/' {
		return fmt.Errorf("%w: %q ends with '/'", ErrBadAddress, address)
	}
	return nil
}
