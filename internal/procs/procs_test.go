package procs

import (
	"runtime"
	"testing"
)

// onCores runs the test as on a computer of cores cores, GOMAXPROCS set
// in the environment to env (""; unset), and puts the package and the
// runtime back as they were afterwards.
func onCores(t *testing.T, cores int, env string) {
	t.Setenv("GOMAXPROCS", env)
	was := runtime.GOMAXPROCS(cores)
	t.Cleanup(func() {
		mu.Lock()
		base, offered, heavies = 0, 0, 0
		mu.Unlock()
		runtime.GOMAXPROCS(was)
	})
}

func TestFor(t *testing.T) {
	for cores, want := range map[int]int{1: 1, 2: 1, 3: 2, 4: 3, 64: 63} {
		if got := For(cores); got != want {
			t.Errorf("For(%d) = %d, want %d", cores, got, want)
		}
	}
}

func TestSetAndHeavy(t *testing.T) {
	onCores(t, 4, "")
	n, of := Set()
	if n != 3 || of != 4 || runtime.GOMAXPROCS(0) != 3 {
		t.Fatalf("Set() = %d of %d, GOMAXPROCS %d; want 3 of 4, GOMAXPROCS 3", n, of, runtime.GOMAXPROCS(0))
	}
	if n, of := Chosen(); n != 3 || of != 4 {
		t.Fatalf("Chosen() = %d, %d", n, of)
	}
	var during, nested int
	Heavy(func() {
		during = runtime.GOMAXPROCS(0)
		Heavy(func() { nested = runtime.GOMAXPROCS(0) })
		if got := runtime.GOMAXPROCS(0); got != 4 {
			t.Errorf("after the inner Heavy the outer one still runs: GOMAXPROCS %d, want 4", got)
		}
	})
	if during != 4 || nested != 4 {
		t.Errorf("GOMAXPROCS during Heavy %d, nested %d; want 4 (one core lent)", during, nested)
	}
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS after Heavy = %d, want 3 again", got)
	}
}

func TestHeavyPanics(t *testing.T) {
	onCores(t, 2, "")
	Set()
	func() {
		defer func() { _ = recover() }()
		Heavy(func() { panic("boom") })
	}()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS after a Heavy that panicked = %d, want 1", got)
	}
}

func TestOperatorChoiceStands(t *testing.T) {
	onCores(t, 2, "2")
	if n, of := Set(); n != 2 || of != 2 {
		t.Fatalf("with GOMAXPROCS set, Set() = %d of %d, want 2 of 2", n, of)
	}
	if n, _ := Chosen(); n != 0 {
		t.Fatalf("with GOMAXPROCS set, Chosen() = %d, want 0 (not managed)", n)
	}
	var during int
	Heavy(func() { during = runtime.GOMAXPROCS(0) })
	if during != 2 || runtime.GOMAXPROCS(0) != 2 {
		t.Errorf("unmanaged Heavy changed GOMAXPROCS: %d during, %d after", during, runtime.GOMAXPROCS(0))
	}
}
