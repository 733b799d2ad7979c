package flagtext

import (
	"flag"
	"strings"
	"testing"
)

func TestPrint(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("config", "/etc/x.yaml", "show `file`")
	fs.Bool("demo", false, "run the demo")
	fs.Int("c", 3, "count")
	var b strings.Builder
	Print(&b, fs)
	for _, want := range []string{"  -c int\n    \tcount (default 3)", "  --config file\n    \tshow file (default \"/etc/x.yaml\")", "  --demo\n    \trun the demo\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output\n%s\nwants %q", b.String(), want)
		}
	}
}
