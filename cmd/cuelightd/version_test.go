package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// "cuelightd version" works as "cuectl version" does, and as --version.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"version", []string{"version"}, 0, "cuelightd dev\n", ""},
		{"--version", []string{"--version"}, 0, "cuelightd dev\n", ""},
		{"version with an argument", []string{"version", "x"}, 2, "", `cuelightd version: unexpected argument "x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errb)
			if code != tc.code || out.String() != tc.stdout || !strings.Contains(errb.String(), tc.stderr) || (tc.stderr == "" && errb.Len() > 0) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}
