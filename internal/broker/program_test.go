package broker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cuelight/cuelight/internal/testkit"
)

// A station runs cuelight-broker from its own directory when it is there
// and can be run; otherwise it runs itself.
func TestChildProgram(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	self := filepath.Join(dir, "cuelightd")
	sibling := filepath.Join(dir, ProgramName)
	write := func(path string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	write(self, 0o755)
	if got := ChildProgram(self); got != self {
		t.Errorf("no %s beside it: ChildProgram = %s, want the station itself", ProgramName, got)
	}
	write(sibling, 0o644)
	if got := ChildProgram(self); got != self {
		t.Errorf("%s not executable: ChildProgram = %s, want the station itself", ProgramName, got)
	}
	write(sibling, 0o755)
	if got := ChildProgram(self); got != sibling {
		t.Errorf("%s beside it: ChildProgram = %s, want %s", ProgramName, got, sibling)
	}
	os.Remove(sibling)
	if err := os.Mkdir(sibling, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := ChildProgram(self); got != self {
		t.Errorf("%s is a directory: ChildProgram = %s, want the station itself", ProgramName, got)
	}
}

// A child from another release refuses the station's config, and says
// why, instead of running with settings it may read differently.
func TestChildRefusesAnotherProtocol(t *testing.T) {
	t.Parallel()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer statusR.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.ExtraFiles = []*os.File{statusW}
	cfg, err := childConfig{Protocol: childProtocol + 1, Options: Options{Listen: "127.0.0.1:0"}}.marshal()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader(string(cfg))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	statusW.Close()
	sc := bufio.NewScanner(statusR)
	var st childStatus
	if !sc.Scan() {
		t.Fatalf("no status line from the child: %v", sc.Err())
	}
	if err := json.Unmarshal(sc.Bytes(), &st); err != nil {
		t.Fatalf("status %q: %v", sc.Bytes(), err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("child exited with %v, want status 2", err)
	}
	if st.Ready != "" {
		t.Fatalf("child started a broker (ready on %s) with another protocol's config", st.Ready)
	}
	for _, want := range []string{"another cuelight release", "install cuelightd and cuelight-broker from the same release"} {
		if !strings.Contains(st.Error, want) {
			t.Errorf("child's error %q does not say %q", st.Error, want)
		}
	}
}

// Without cuelight-broker beside it (as under go test and go run) the
// station runs itself as the broker, and says so once.
func TestStartWithoutTheProgramRunsItself(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil || self != os.Args[0] {
		// deploy/qemu-exec.sh: argv[0] is a script that runs the ARM test
		// binary under qemu; the kernel cannot exec the binary itself.
		t.Skipf("os.Args[0] %s is not this executable (%s, %v): its default broker program cannot be started here", os.Args[0], self, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(self), ProgramName)); err == nil {
		t.Skipf("%s is beside the test binary", ProgramName)
	}
	var logs testkit.SyncBuffer
	s := &Supervisor{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Start(ctx, Options{Listen: "127.0.0.1:0"}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Stop(ctx)
	for _, want := range []string{"no " + ProgramName + " beside this program", "program=" + self} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, logs.String())
		}
	}
}
