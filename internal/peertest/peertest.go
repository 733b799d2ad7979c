// Package peertest finds the real peer programs that interop tests run
// against (liblo's oscsend/oscdump, mosquitto, mosquitto_sub).
//
// Without CUELIGHT_REQUIRE_PEERS a missing program skips the test with a
// message that says what to install; with CUELIGHT_REQUIRE_PEERS=1 (as CI
// sets it) a missing program fails the test, so interop can never pass by
// skipping.
package peertest

import (
	"os"
	"os/exec"
	"testing"
)

// Debian packages that provide each peer program.
var packages = map[string]string{
	"oscsend":          "liblo-tools",
	"oscdump":          "liblo-tools",
	"mosquitto":        "mosquitto",
	"mosquitto_sub":    "mosquitto-clients",
	"mosquitto_pub":    "mosquitto-clients",
	"mosquitto_passwd": "mosquitto",
}

// Required reports whether CUELIGHT_REQUIRE_PEERS asks for peers to be present.
func Required() bool {
	v := os.Getenv("CUELIGHT_REQUIRE_PEERS")
	return v != "" && v != "0"
}

// Need returns the path of program, or skips (fails, when peers are
// required) the test when it is not installed. Mosquitto's broker lives in
// /usr/sbin, which is searched too.
func Need(t testing.TB, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
			p := dir + "/" + program
			if st, e := os.Stat(p); e == nil && st.Mode()&0o111 != 0 {
				return p
			}
		}
		pkg := packages[program]
		if pkg == "" {
			pkg = program
		}
		msg := "peer program " + program + " not found: apt-get install " + pkg
		if Required() {
			t.Fatal(msg + " (CUELIGHT_REQUIRE_PEERS is set, so this cannot skip)")
		}
		t.Skip(msg + " (skipping; set CUELIGHT_REQUIRE_PEERS=1 to make this a failure)")
	}
	return path
}
