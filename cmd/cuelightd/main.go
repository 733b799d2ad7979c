// Command cuelightd is the cuelight station daemon: it drives cue lamps and
// reads buttons on a wing station, takes standby and GO over OSC and reports
// over MQTT. See README.md and docs/.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "cuelightd: not yet: the station daemon arrives with issue 4 (see README.md)")
	os.Exit(1)
}
