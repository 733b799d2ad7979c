// Command cuelightd is the cuelight station daemon. It drives the cue lamps
// and reads the buttons of one wing station, takes standby and GO over OSC
// from the booth, and reports state and acknowledgements over MQTT.
//
//	cuelightd                         run the built-in demo show (no hardware)
//	cuelightd --config show.yaml      run this host's station of a show
//	cuelightd check-config show.yaml  validate a show file
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/cuelight/cuelight/internal/broker"
	"github.com/cuelight/cuelight/internal/flagtext"
	"github.com/cuelight/cuelight/internal/procs"
)

// version is stamped at release build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	// The station and its broker child stay within 30 MB RSS together
	// (docs/performance.md): collect at 50 % heap growth, not 100 %,
	// unless GOGC says otherwise. Both processes pass here.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	// All cores but one for Go code, in the station and in the broker
	// child (docs/performance.md, "Cores").
	procs.Set()
	if broker.IsChild() { // the embedded broker runs in a child process of ours
		os.Exit(broker.ChildMain())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // after the first signal, a second one kills
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `cuelightd: the cuelight station daemon

Usage:
  cuelightd [flags]                   run this host's station of the show
  cuelightd check-config FILE         check a show file; exit 0 if valid, 1 if not
  cuelightd version                   print the version (also --version)

With no show file (none given and none at %[1]s) cuelightd runs a
built-in demo show on a simulated board and prints how to try it.

Flags:
`

const usageTail = `
Signals: SIGTERM or Ctrl-C stops cleanly (lamps off, "offline" published);
SIGHUP reloads the show file (an invalid file is refused and the running
show is left untouched).

Docs: docs/configuration.md, docs/operations.md, docs/wiring.md.
`

// defaultConfig is where a package installs the show file.
const defaultConfig = "/etc/cuelight/cuelight.yaml"

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check-config" {
		return checkConfig(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "version" { // as "cuectl version"
		if len(args) > 1 {
			fmt.Fprintf(stderr, "cuelightd version: unexpected argument %q (see cuelightd --help)\n", args[1])
			return 2
		}
		fmt.Fprintln(stdout, "cuelightd", version)
		return 0
	}
	fs := flag.NewFlagSet("cuelightd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "show file (default "+defaultConfig+" if it exists, else the demo show)")
	stationName := fs.String("station", "", "this host's station in the show file (default: the host name, or the only station)")
	demo := fs.Bool("demo", false, "run the built-in demo show even if a show file exists")
	showVersion := fs.Bool("version", false, "print the version and exit")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	helpOut := stderr // usage after a mistake goes to stderr; asked-for help to stdout
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			helpOut = stdout
		}
	}
	fs.Usage = func() {
		fs.SetOutput(helpOut)
		fmt.Fprintf(helpOut, usage, defaultConfig)
		flagtext.Print(helpOut, fs)
		fmt.Fprint(helpOut, usageTail)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cuelightd: unexpected argument %q (see cuelightd --help)\n", fs.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "cuelightd", version)
		return 0
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "cuelightd: --log-level %q: use debug, info, warn or error\n", *logLevel)
		return 2
	}
	logw := newLogWriter(stderr)
	defer logw.Close()
	log := newLogger(logw, lvl)
	if n, of := procs.Chosen(); n > 0 && n < of {
		log.Info("Go code runs on "+strconv.Itoa(n)+" of "+strconv.Itoa(of)+" cores; one is left to the broker and the kernel (set GOMAXPROCS to choose)",
			"gomaxprocs", n)
	}
	d := daemon{
		configPath: *configPath, station: *stationName, demo: *demo,
		stdout: stdout, stderr: stderr, log: log,
	}
	if err := d.run(ctx); err != nil {
		logw.Close() // the log's last lines before the error
		fmt.Fprintln(stderr, "cuelightd:", err)
		return 1
	}
	return 0
}
