package osc

import (
	"errors"
	"strings"
	"testing"
)

// refMatch is a slow, obviously-correct reference matcher: split on '/',
// then plain recursive backtracking per part. It shares the grammar with
// Match, not the code. The recursion only ever sees suffixes of the pattern
// and of the address, so its results are memoised by their lengths, which
// keeps hostile fuzz inputs ("*{,,,}*{,,,}", "////////") from taking
// seconds; without the memo it is the textbook definition.
func refMatch(pattern, address string, pathWildcard bool) bool {
	if !strings.HasPrefix(pattern, "/") || !strings.HasPrefix(address, "/") {
		return false
	}
	pp := strings.Split(pattern[1:], "/")
	for _, p := range pp {
		if !refWellFormed(p) {
			return false
		}
	}
	memo := map[[2]int]bool{}
	var parts func(pp, ap []string) bool
	parts = func(pp, ap []string) bool {
		key := [2]int{len(pp), len(ap)}
		if v, ok := memo[key]; ok {
			return v
		}
		var v bool
		switch {
		case len(pp) == 0:
			v = len(ap) == 0
		case pathWildcard && pp[0] == "" && len(pp) > 1: // "//": zero or more whole parts
			for k := 0; k <= len(ap) && !v; k++ {
				v = parts(pp[1:], ap[k:])
			}
		default:
			v = len(ap) > 0 && refPart(pp[0], ap[0]) && parts(pp[1:], ap[1:])
		}
		memo[key] = v
		return v
	}
	return parts(pp, strings.Split(address[1:], "/"))
}

// refWellFormed checks that every '[' and '{' of a part is closed.
func refWellFormed(p string) bool {
	for p != "" {
		switch p[0] {
		case '[':
			_, rest, ok := refClass(p)
			if !ok {
				return false
			}
			p = rest
		case '{':
			i := strings.IndexByte(p, '}')
			if i < 0 {
				return false
			}
			p = p[i+1:]
		default:
			p = p[1:]
		}
	}
	return true
}

// refClass parses "[...]": the closing bracket is the first ']' that is not
// the first member.
func refClass(p string) (match func(byte) bool, rest string, ok bool) {
	body := p[1:]
	neg := strings.HasPrefix(body, "!")
	if neg {
		body = body[1:]
	}
	if body == "" {
		return nil, "", false
	}
	end := strings.IndexByte(body[1:], ']')
	if end < 0 {
		return nil, "", false
	}
	members := body[:end+1]
	rest = body[end+2:]
	return func(c byte) bool {
		in := false
		for i := 0; i < len(members); i++ {
			if i+2 < len(members) && members[i+1] == '-' {
				if members[i] <= c && c <= members[i+2] {
					in = true
				}
				i += 2
				continue
			}
			if members[i] == c {
				in = true
			}
		}
		return in != neg
	}, rest, true
}

func refPart(pattern, str string) bool {
	memo := map[[2]int]bool{}
	var part func(p, s string) bool
	part = func(p, s string) bool {
		key := [2]int{len(p), len(s)}
		if v, ok := memo[key]; ok {
			return v
		}
		v := false
		switch {
		case p == "":
			v = s == ""
		case p[0] == '*':
			v = part(p[1:], s) || (s != "" && part(p, s[1:]))
		case p[0] == '?':
			v = s != "" && part(p[1:], s[1:])
		case p[0] == '[':
			m, rest, ok := refClass(p)
			v = ok && s != "" && m(s[0]) && part(rest, s[1:])
		case p[0] == '{':
			if i := strings.IndexByte(p, '}'); i >= 0 {
				for _, alt := range strings.Split(p[1:i], ",") {
					if strings.HasPrefix(s, alt) && part(p[i+1:], s[len(alt):]) {
						v = true
						break
					}
				}
			}
		default:
			v = s != "" && s[0] == p[0] && part(p[1:], s[1:])
		}
		memo[key] = v
		return v
	}
	return part(pattern, str)
}

// matchCases: OSC 1.0 rules, and where liblo 0.31 (lo_pattern_match,
// checked on this machine) agrees or differs.
var matchCases = []struct {
	name             string
	pattern, address string
	want             bool
	liblo            string // liblo's answer when it differs, and why
}{
	{"literal", "/cuelight/fly/go", "/cuelight/fly/go", true, ""},
	{"literal prefix is not a match", "/cuelight/fly", "/cuelight/fly/go", false, ""},
	{"literal longer is not a match", "/a", "/ab", false, ""},
	{"question mark", "/a?c", "/abc", true, ""},
	{"question mark needs one character", "/a?c", "/ac", false, ""},
	{"star in a part", "/cuelight/*/go", "/cuelight/fly/go", true, ""},
	{"star matches empty", "/cue*", "/cue", true, ""},
	{"star does not cross slash", "/*", "/a/b", false, "liblo: true (its * crosses '/')"},
	{"star per part", "/*/*", "/a/b", true, ""},
	{"set", "/[abc]", "/b", true, ""},
	{"set misses", "/[abc]", "/d", false, ""},
	{"range", "/ch[0-9]", "/ch7", true, ""},
	{"negated set", "/a[!b]b", "/aXb", true, ""},
	{"negated set excludes", "/a[!b]c", "/abc", false, "go-osc: inverted"},
	{"negated range", "/[!a-z]", "/Q", true, ""},
	{"dash last is literal", "/a[a-]", "/a-", true, ""},
	{"dash first is literal", "/a[-a]", "/a-", true, ""},
	{"bang not first is literal", "/a[a!]", "/a!", true, ""},
	{"bracket first is literal", "/a[]]", "/a]", true, ""},
	{"negated bracket first", "/a[!]]", "/ax", true, ""},
	{"reversed range matches nothing", "/[z-a]", "/m", false, ""},
	{"alternatives", "/cuelight/{sl,sr}/go", "/cuelight/sr/go", true, ""},
	{"alternatives miss", "/cuelight/{sl,sr}/go", "/cuelight/fly/go", false, ""},
	{"alternatives of different lengths", "/{a,ab}", "/ab", true, ""},
	{"alternative then more", "/{a,ab}b", "/ab", true, ""},
	{"alternatives are literal", "/{a*,b}", "/ab", false, ""},
	{"empty alternative", "/x{,s}", "/x", true, ""},
	{"several wildcards", "/c?e*/{fly,sl}/[a-z]*", "/cuelight/fly/go", true, ""},
	{"unterminated bracket", "/a[", "/a", false, ""},
	{"unterminated bracket against itself", "/a[b", "/a[b", false, ""},
	{"unterminated brace", "/a{b", "/ab", false, ""},
	{"lone closing characters are literal", "/a]}", "/a]}", true, ""},
	{"pattern without slash", "cuelight", "cuelight", false, ""},
	{"empty pattern", "", "/", false, ""},
	{"root", "/", "/", true, ""},
	{"double slash is an empty part in OSC 1.0", "//go", "/go", false, "liblo: true (OSC 1.1 //)"},
	{"different part counts", "/a/b", "/a", false, ""},
	{"trailing slash", "/a/", "/a", false, ""},
	{"UTF-8 bytes", "/caf?", "/café", false, ""}, // ? is one byte; é is two
	{"UTF-8 star", "/caf*", "/café", true, ""},
}

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, c := range matchCases {
		if got := Match(c.pattern, c.address); got != c.want {
			t.Errorf("%s: Match(%q, %q) = %v, want %v", c.name, c.pattern, c.address, got, c.want)
		}
		if ref := refMatch(c.pattern, c.address, false); ref != c.want {
			t.Errorf("%s: reference matcher says %v, want %v", c.name, ref, c.want)
		}
		if p, err := Compile(c.pattern, MatchOptions{}); err == nil {
			if got := p.Match(c.address); got != c.want {
				t.Errorf("%s: compiled Match = %v, want %v", c.name, got, c.want)
			}
		} else if c.want {
			t.Errorf("%s: Compile: %v", c.name, err)
		}
	}
}

func TestMatchPathWildcard(t *testing.T) {
	t.Parallel()
	o := MatchOptions{PathWildcard: true}
	for _, c := range []struct {
		pattern, address string
		want             bool
	}{
		{"//go", "/go", true},
		{"//go", "/cuelight/fly/go", true},
		{"//go", "/cuelight/fly/off", false},
		{"/cuelight//go", "/cuelight/go", true},
		{"/cuelight//go", "/cuelight/a/b/go", true},
		{"/cuelight//go", "/other/fly/go", false},
		{"//fly//go", "/cuelight/fly/x/go", true},
		{"//f*/go", "/cuelight/fly/go", true},
		{"//[", "/a", false},
		{"/a/", "/a", false},
		{"/", "/a", false},
		{"//", "/a", false},
		{"/cuelight/fly/go", "/cuelight/fly/go", true},
	} {
		if got := o.Match(c.pattern, c.address); got != c.want {
			t.Errorf("Match(%q, %q) with //: %v, want %v", c.pattern, c.address, got, c.want)
		}
		if ref := refMatch(c.pattern, c.address, true); ref != c.want {
			t.Errorf("reference with //: (%q, %q) = %v, want %v", c.pattern, c.address, ref, c.want)
		}
		if p, err := Compile(c.pattern, o); err == nil {
			if got := p.Match(c.address); got != c.want {
				t.Errorf("compiled %q with //: Match(%q) = %v, want %v", c.pattern, c.address, got, c.want)
			}
		}
	}
}

func TestCompile(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "cue", "/a[", "/a[!", "/a[]", "/[a-", "/a{b", "/x/{a,b"} {
		if _, err := Compile(bad, MatchOptions{}); !errors.Is(err, ErrBadPattern) {
			t.Errorf("Compile(%q) err = %v, want ErrBadPattern", bad, err)
		}
	}
	p, err := Compile("/cuelight/{sl,sr}/go", MatchOptions{})
	if err != nil || p.Literal() || p.String() != "/cuelight/{sl,sr}/go" {
		t.Fatalf("Compile: %v %v", p, err)
	}
	if !MustCompile("/a/b", MatchOptions{}).Literal() {
		t.Error("/a/b should be literal")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustCompile of a bad pattern did not panic")
		}
	}()
	MustCompile("/[", MatchOptions{})
}

func TestValidateAddress(t *testing.T) {
	t.Parallel()
	for _, good := range []string{"/cuelight/fly/go", "/a", "/eos/out/event/cue/1/2.5/fire", "/x-y_z/~!$%&'()+-.:;<=>@\\^_`|"} {
		if err := ValidateAddress(good); err != nil {
			t.Errorf("ValidateAddress(%q) = %v", good, err)
		}
	}
	for _, bad := range []string{"", "/", "a", "/a/", "/a//b", "/a b", "/a*", "/a?", "/a[1]", "/{a}", "/a,b", "/#a", "/caf\u00e9", "/tab\t", "/nul\x00"} {
		if err := ValidateAddress(bad); !errors.Is(err, ErrBadAddress) {
			t.Errorf("ValidateAddress(%q) = %v, want ErrBadAddress", bad, err)
		}
	}
}

// TestMatchHostileIsBounded checks the work, not the time: the matcher
// counts its steps, and the hostile patterns must stay far below quadratic.
func TestMatchHostileIsBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 1000)
	for _, c := range []struct {
		name             string
		pattern, address string
		want             bool
		maxWork          int
	}{
		// Backtracking matchers take exponential time on these.
		{"many stars, no final b", "/*a*a*a*a*a*a*b", "/" + long, false, 8 * 1000},
		{"many stars, final b", "/*a*a*a*a*a*a*b", "/" + long + "b", true, 8 * 1001},
		{"star soup", "/" + strings.Repeat("*a", 30) + "*b", "/" + long, false, 40 * 1000},
		{"many alternations", "/" + strings.Repeat("{a,aa,aaa}", 30) + "b", "/" + long[:60], false, 31 * 60 * 10},
		{"long class list", "/" + strings.Repeat("[a-z]", 200), "/" + long[:200], true, 400 * 10},
	} {
		w := matchBudget
		got := MatchOptions{}.match(c.pattern, c.address, &w)
		used := matchBudget - w
		if got != c.want {
			t.Errorf("%s: got %v, want %v (work %d)", c.name, got, c.want, used)
		}
		if used > c.maxWork {
			t.Errorf("%s: work %d, want at most %d", c.name, used, c.maxWork)
		}
	}
}

func TestMatchBudgetStopsAbsurdInput(t *testing.T) {
	t.Parallel()
	// 20,000 zero-width tokens against a 20,000-byte part would be 4·10^8
	// steps of honest work; the budget cuts it off and answers "no match".
	pattern := "/" + strings.Repeat("{,a}", 20000) + "b"
	address := "/" + strings.Repeat("a", 20000) + "b"
	w := matchBudget
	if (MatchOptions{}).match(pattern, address, &w) {
		t.Fatal("over-budget pattern reported as matching")
	}
	if w >= 0 {
		t.Fatalf("budget not exhausted (%d left); the test is not testing the cut-off", w)
	}
	if used := matchBudget - w; used > matchBudget+20002 {
		t.Fatalf("the matcher went on after the budget ran out: %d units", used)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	for _, c := range []struct{ p, a string }{
		{"/cuelight/*/go", "/cuelight/fly/go"},
		{"/cuelight/{sl,sr}/[gs]*", "/cuelight/sl/standby"},
		{"/cuelight/fly/go", "/cuelight/fly/go"},
	} {
		if n := testing.AllocsPerRun(100, func() { Match(c.p, c.a) }); n != 0 {
			t.Errorf("Match(%q, %q): %v allocations", c.p, c.a, n)
		}
	}
}

func TestMatchAgreesWithReferenceExhaustively(t *testing.T) {
	t.Parallel()
	// Every pattern of up to 4 characters over a small alphabet against
	// every address of up to 2 characters: the fast and the reference
	// matcher must agree (the fuzz target FuzzMatch goes further).
	pAlpha := []byte("a*?[]!-{},/")
	aAlpha := []byte("ab]/")
	var patterns, addrs []string
	var gen func(prefix []byte, alpha []byte, n int, out *[]string)
	gen = func(prefix []byte, alpha []byte, n int, out *[]string) {
		*out = append(*out, "/"+string(prefix))
		if n == 0 {
			return
		}
		for _, c := range alpha {
			gen(append(prefix, c), alpha, n-1, out)
		}
	}
	gen(nil, pAlpha, 4, &patterns)
	gen(nil, aAlpha, 2, &addrs)
	n := 0
	for _, p := range patterns {
		for _, a := range addrs {
			for _, pw := range []bool{false, true} {
				got := MatchOptions{PathWildcard: pw}.Match(p, a)
				if want := refMatch(p, a, pw); got != want {
					t.Fatalf("Match(%q, %q, //=%v) = %v, reference %v", p, a, pw, got, want)
				}
				n++
			}
		}
	}
	t.Logf("%d pattern/address pairs agree", n)
}
