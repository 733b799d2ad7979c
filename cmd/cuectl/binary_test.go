package main

import (
	"bufio"
	"bytes"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runBinary runs the built cuectl and returns its result.
func runBinary(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(cuectlBin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return result{code, out.String(), errb.String()}
}

// The binary as a person or a script runs it: exit statuses through the
// process, and watch ending cleanly on Ctrl-C.
func TestBinary(t *testing.T) {
	t.Parallel()
	s := startStation(t, "")
	expect(t, runBinary(t, "--help"), 0, []string{`^Usage: cuectl COMMAND`}, nil)
	expect(t, runBinary(t, "bogus"), 2, nil, []string{`unknown command "bogus"`})
	expect(t, runBinary(t, s.with("standby", "fly", "23")...), 0, []string{`^fly: standby "23" \(ack requested\)$`}, nil)
	expect(t, runBinary(t, s.with("go", "fly")...), 1, nil, []string{`needs an acknowledged standby`})
	expect(t, runBinary(t, s.with("off", "--mqtt", "fly")...), 0, []string{`^fly: off$`}, nil)
	expect(t, runBinary(t, "--config", "", "--osc", "127.0.0.1:"+strconv.Itoa(freePort(t)), "sync"), 3, nil, []string{`nothing listens on`})

	cmd := exec.Command(cuectlBin, s.with("watch")...) // not a terminal: plain lines
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expectLine := func(substr string) {
		t.Helper()
		deadline := time.After(waitFor)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("watch ended before %q; stderr: %s", substr, errb.String())
				}
				if strings.Contains(l, substr) {
					return
				}
			case <-deadline:
				t.Fatalf("watch never printed %q", substr)
			}
		}
	}
	expectLine("trap is off")
	runBinary(t, s.with("standby", "trap", "8")...)
	expectLine(`trap standby "8" src=osc`)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("watch after Ctrl-C: %v (want exit 0); stderr: %s", err, errb.String())
		}
	case <-time.After(waitFor):
		_ = cmd.Process.Kill()
		t.Fatal("watch did not end on Ctrl-C")
	}
}
