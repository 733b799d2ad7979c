package main

import (
	"bytes"
	"strings"
	"testing"
)

// Run by hand, cuelight-broker says what it is and starts nothing.
func TestByHand(t *testing.T) {
	for _, args := range [][]string{nil, {"--help"}, {"serve"}} {
		var out, errb bytes.Buffer
		if code := byHand(args, &out, &errb); code != 2 {
			t.Errorf("%q: exit status %d, want 2", args, code)
		}
		if !strings.Contains(errb.String(), "cuelightd starts this program itself") || out.Len() != 0 {
			t.Errorf("%q: stdout %q, stderr %q", args, out.String(), errb.String())
		}
	}
	for _, arg := range []string{"version", "--version"} {
		var out, errb bytes.Buffer
		if code := byHand([]string{arg}, &out, &errb); code != 0 || out.String() != "cuelight-broker dev\n" {
			t.Errorf("%s: exit status %d, stdout %q, stderr %q", arg, code, out.String(), errb.String())
		}
	}
}
