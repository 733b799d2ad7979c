// Command cuectl drives and watches a cuelight show from a terminal: it
// sends standby, GO and the other commands to a station, shows every
// channel live, runs the pre-show cue light check and measures the
// system's latency. It speaks only the public interfaces of a station
// (OSC, MQTT, and the sim board's web API for the benchmark).
//
//	cuectl standby fly 23          standby for cue 23 on the fly rail
//	cuectl go --cue 23             GO everyone standing by for cue 23
//	cuectl watch                   live view of every channel
//	cuectl check                   the pre-show cue light check
//
// See docs/cuectl.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/jonboulle/clockwork"
)

// version is stamped at release build time (-ldflags "-X main.version=...").
var version = "dev"

// Exit statuses.
const (
	exitOK          = 0 // done
	exitRefused     = 1 // the station refused or answered with an error; a check failed
	exitUsage       = 2 // bad command line
	exitUnreachable = 3 // station or broker not reachable, or no reply in time
	// exitInterrupted is 128 + SIGINT, as a shell reports a command ended
	// by Ctrl-C: cuectl stopped because it was asked to, not because the
	// station failed.
	exitInterrupted = 130
)

// defaultConfig is where a package installs the show file; cuectl reads it
// for its defaults when it exists and no --config is given.
const defaultConfig = "/etc/cuelight/cuelight.yaml"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // after the first signal, a second one kills
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{
		stdout:        stdout,
		stderr:        stderr,
		clock:         clockwork.NewRealClock(),
		getenv:        os.Getenv,
		defaultConfig: defaultConfig,
	}
	return c.main(ctx, args)
}

// cli is one invocation of cuectl. Tests replace the clock.
type cli struct {
	stdout, stderr io.Writer
	clock          clockwork.Clock
	getenv         func(string) string
	defaultConfig  string // read for defaults when it exists; "" = never
}

// command is one cuectl subcommand.
type command struct {
	name    string
	example string // one example, shown in the command list
	summary string // what it does, one line
	run     func(c *cli, ctx context.Context, name string, args []string) int
}

// commands in the order the help lists them; nil entries separate groups.
var commands = []*command{
	{name: "standby", example: "cuectl standby fly 23", summary: "standby for cue 23 (--ack: ask for an ACK)", run: (*cli).send},
	{name: "go", example: "cuectl go fly 23", summary: "GO (go --cue 23: all standing by for 23)", run: (*cli).send},
	{name: "force-go", example: "cuectl force-go fly", summary: "GO, overriding go_requires_ack", run: (*cli).send},
	{name: "off", example: "cuectl off fly", summary: "clear the channel", run: (*cli).send},
	{name: "ack", example: "cuectl ack sl", summary: "ACK, as the wing's button does", run: (*cli).send},
	{name: "call", example: "cuectl call trap", summary: "call the position (intercom, call lamp)", run: (*cli).send},
	{name: "hold", example: "cuectl hold", summary: "show-wide hold: no GO until release", run: (*cli).send},
	{name: "release", example: "cuectl release", summary: "end the hold (every channel off)", run: (*cli).send},
	{name: "brightness", example: "cuectl brightness fly 0.3", summary: "lamp brightness, 0.0 to 1.0", run: (*cli).send},
	nil,
	{name: "watch", example: "cuectl watch", summary: "live view of every channel (MQTT)", run: (*cli).watch},
	{name: "sync", example: "cuectl sync", summary: "every channel's state (OSC)", run: (*cli).sync},
	{name: "ping", example: "cuectl ping -c 5", summary: "round-trip time to the station", run: (*cli).ping},
	nil,
	{name: "check", example: "cuectl check --wait 30s", summary: "pre-show cue light check", run: (*cli).check},
	{name: "show", example: "cuectl show start \"Evening\"", summary: "performance markers: start, act, interval, end", run: (*cli).showCmd},
	{name: "report", example: "cuectl report --format html", summary: "the performance report from the show log", run: (*cli).reportCmd},
	{name: "record", example: "cuectl record --db show.db", summary: "record the show log (when no station does)", run: (*cli).recordCmd},
	{name: "bench", example: "cuectl bench -n 500", summary: "latency vs the targets (test rigs)", run: (*cli).bench},
	{name: "config", example: "cuectl config check show.yaml", summary: "validate a show file", run: (*cli).configCmd},
	{name: "version", example: "cuectl version", summary: "print the version", run: (*cli).versionCmd},
}

func findCommand(name string) *command {
	for _, cmd := range commands {
		if cmd != nil && cmd.name == name {
			return cmd
		}
	}
	return nil
}

const usageHead = `cuectl: drive and watch a cuelight show from a terminal

Usage: cuectl COMMAND [flags] [arguments]

Commands, each with an example:
`

const usageTail = `
CH is a channel name, a comma list (sl,sr) or an OSC pattern ('s?', '*').
Commands go to a station over OSC (--osc host:port, --tcp); with --mqtt
they go over MQTT instead. Defaults come from the show file (--config,
default ` + defaultConfig + ` when it exists), else the demo show's
addresses (OSC 127.0.0.1:53100, MQTT tcp://127.0.0.1:1883).

"cuectl COMMAND --help" shows a command's flags and examples.

Exit status: 0 ok; 1 the station refused or answered with an error, or a
check failed; 2 usage error; 3 station or broker not reachable, or no reply
within --timeout; 130 interrupted (Ctrl-C) before it was done.

Docs: docs/cuectl.md.
`

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, usageHead)
	for _, cmd := range commands {
		if cmd == nil {
			fmt.Fprintln(w)
			continue
		}
		fmt.Fprintf(w, "  %-31s %s\n", cmd.example, cmd.summary)
	}
	fmt.Fprint(w, usageTail)
}

func (c *cli) main(ctx context.Context, args []string) int {
	args = joinOptionalValues(args)
	name, rest, ok := splitCommand(args)
	if !ok {
		if len(args) > 0 && isHelp(args[0]) {
			c.usage(c.stdout)
			return exitOK
		}
		if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
			return c.versionCmd(ctx, "version", nil)
		}
		c.usage(c.stderr)
		return exitUsage
	}
	if name == "help" {
		switch {
		case len(rest) > 1:
			fmt.Fprintln(c.stderr, "cuectl help: give one command (cuectl help COMMAND), or none for the list")
			return exitUsage
		case len(rest) == 1 && rest[0] != "help":
			cmd := findCommand(rest[0])
			if cmd == nil {
				fmt.Fprintf(c.stderr, "cuectl help: unknown command %q%s (cuectl help lists them)\n", rest[0], didYouMean(rest[0], commandNames()))
				return exitUsage
			}
			return cmd.run(c, ctx, cmd.name, []string{"--help"})
		}
		c.usage(c.stdout)
		return exitOK
	}
	cmd := findCommand(name)
	if cmd == nil {
		fmt.Fprintf(c.stderr, "cuectl: unknown command %q%s (see cuectl --help)\n", name, didYouMean(name, commandNames()))
		return exitUsage
	}
	code := cmd.run(c, ctx, cmd.name, rest)
	if ctx.Err() != nil && code != exitOK && cmd.name != "watch" {
		// Whatever failed, it failed because cuectl was asked to stop
		// (watch ends on Ctrl-C as it should: exit 0).
		code = exitInterrupted
	}
	return code
}

func commandNames() []string {
	var out []string
	for _, cmd := range commands {
		if cmd != nil {
			out = append(out, cmd.name)
		}
	}
	return out
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }

// splitCommand finds the command word. Common flags may come before it
// ("cuectl --osc 10.0.0.5:53100 standby fly"); they are moved after it, so
// the command's own flag set parses them.
func splitCommand(args []string) (name string, rest []string, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return "", nil, false
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if a == "help" {
				return "help", args[i+1:], true
			}
			rest = append(append([]string{}, args[:i]...), args[i+1:]...)
			return a, rest, true
		}
		if isHelp(a) || a == "--version" || a == "-version" {
			return "", nil, false
		}
		n := strings.TrimLeft(a, "-")
		if !strings.Contains(n, "=") && valueFlags[n] {
			i++ // its value
		}
	}
	return "", nil, false
}

func (c *cli) versionCmd(_ context.Context, _ string, args []string) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(c.stdout, "Usage: cuectl version\n\nPrints the version of cuectl.\n\nExample:\n  cuectl version")
		return exitOK
	}
	fmt.Fprintln(c.stdout, "cuectl", version)
	return exitOK
}
