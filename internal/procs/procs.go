// Package procs decides on how many cores cuelightd runs Go code, in the
// station and in its embedded broker child alike: all cores but one, and
// at least one (docs/performance.md, "Cores"). The core left over is for
// the other process of the pair, the kernel's network work and the
// journal, which every state on its way to MQTT passes through. On a
// two-core computer the station then runs its whole path from datagram to
// lamp to publish on one thread, without waking a second one at each
// hand-over.
//
// One goroutine that computes for long (a bcrypt password check, about
// 50 ms on a PC) would then hold up the others until Go's scheduler takes
// the core back, up to 10 ms later. [Heavy] lends one more core while such
// work runs: a web login, a broker client's login.
package procs

import (
	"os"
	"runtime"
	"sync"
)

var (
	mu      sync.Mutex
	base    int // GOMAXPROCS chosen by Set; 0: not managed (a test, a library user)
	offered int // what the runtime would have used
	heavies int // Heavy calls running
)

// Set sets GOMAXPROCS to all cores but one (at least one), out of what
// the Go runtime would use (the CPUs this process may run on, within a
// cgroup's CPU limit), unless GOMAXPROCS is set in the environment. It
// returns the number in use and the runtime's own choice.
func Set() (n, of int) {
	of = runtime.GOMAXPROCS(0)
	if os.Getenv("GOMAXPROCS") != "" {
		return of, of // the operator's choice stands; Heavy lends nothing
	}
	n = For(of)
	mu.Lock()
	base, offered = n, of
	if heavies == 0 {
		runtime.GOMAXPROCS(n)
	}
	mu.Unlock()
	return n, of
}

// Chosen returns what Set chose and out of how many; zeros when it
// was not called or GOMAXPROCS is set in the environment.
func Chosen() (n, of int) {
	mu.Lock()
	defer mu.Unlock()
	return base, offered
}

// For is the station's choice out of cores: all but one, at least one.
func For(cores int) int { return max(1, cores-1) }

// Heavy runs f, which computes for long, with one core more than Set
// chose while it runs, so that the cue loop keeps a core of its own.
// Without Set (GOMAXPROCS set by the operator, or a test) it
// just runs f. Changing GOMAXPROCS stops the world for some microseconds,
// so Heavy is for rare work (a login), never for the cue path.
func Heavy(f func()) {
	mu.Lock()
	if base > 0 {
		if heavies == 0 {
			runtime.GOMAXPROCS(base + 1)
		}
		heavies++
	}
	managed := base > 0
	mu.Unlock()
	if managed {
		defer func() {
			mu.Lock()
			heavies--
			if heavies == 0 {
				runtime.GOMAXPROCS(base)
			}
			mu.Unlock()
		}()
	}
	f()
}
