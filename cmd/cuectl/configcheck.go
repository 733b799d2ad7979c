package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cuelight/cuelight/config"
)

const configUsage = `Usage: cuectl config check FILE

Checks a show file with the same validation as "cuelightd check-config":
exit 0 when it is valid; 1 with one problem per line on stderr, as
FILE:LINE: key.path: message (hint), when it is not.

Example:
  cuectl config check /etc/cuelight/cuelight.yaml
  show.yaml: valid: show "Hamlet", 2 stations, 6 channels
`

// configCmd implements "cuectl config check FILE".
func (c *cli) configCmd(_ context.Context, _ string, args []string) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(c.stdout, configUsage)
		return exitOK
	}
	if len(args) < 1 || args[0] != "check" {
		fmt.Fprint(c.stderr, "cuectl config: use \"cuectl config check FILE\"\n\n"+configUsage)
		return exitUsage
	}
	args = args[1:]
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprint(c.stdout, configUsage)
		return exitOK
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(c.stderr, configUsage)
		return exitUsage
	}
	path := args[0]
	cfg, err := config.Load(path)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			fmt.Fprintln(c.stderr, ce.Error())
		} else {
			fmt.Fprintln(c.stderr, path+":", err)
		}
		return exitRefused
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(c.stderr, "warning:", w.Error())
	}
	fmt.Fprintf(c.stdout, "%s: valid: %s\n", path, cfg.Summary())
	return exitOK
}

// plural writes a count with its noun: "1 position", "4 positions".
func plural(n int, noun string) string { return config.Plural(n, noun) }
