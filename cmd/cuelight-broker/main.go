// Command cuelight-broker is the embedded MQTT broker of cuelightd: the
// station starts it as a child process (mqtt.broker: embedded) and stops it
// again. It is not run by hand.
//
// It is a program of its own only to keep memory down: it links mochi and
// the broker package but none of the station (web pages, SQLite, drivers),
// so it maps about 5 MB less than re-running cuelightd would. cuelightd
// looks for it in its own directory and, when it is not there, runs itself
// as the broker instead (docs/architecture.md, docs/performance.md).
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/cuelight/cuelight/internal/broker"
	"github.com/cuelight/cuelight/internal/procs"
)

// version is stamped at release build time (-ldflags "-X main.version=...").
var version = "dev"

const usage = `cuelight-broker: the embedded MQTT broker of cuelightd

cuelightd starts this program itself, as a child process, when the show file
says "mqtt: broker: embedded"; it takes its settings from cuelightd and stops
with it. There is nothing to run by hand. To run a broker of your own, see
docs/mqtt.md (Mosquitto).

  cuelight-broker version    print the version (also --version)
`

func main() {
	if !broker.IsChild() {
		os.Exit(byHand(os.Args[1:], os.Stdout, os.Stderr))
	}
	// As in cuelightd (cmd/cuelightd/main.go): collect at 50 % heap growth
	// unless GOGC says otherwise, and all cores but one for Go code.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	procs.Set()
	os.Exit(broker.ChildMain())
}

// byHand is what a person who runs cuelight-broker gets: the version, or
// what the program is (exit status 2).
func byHand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "version" || args[0] == "--version") {
		fmt.Fprintln(stdout, "cuelight-broker", version)
		return 0
	}
	fmt.Fprint(stderr, usage)
	return 2
}
