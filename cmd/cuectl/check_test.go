package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/internal/testkit"
)

// runCheck runs cuectl check in-process with the given clock until it
// ends; the test drives the crew meanwhile.
func runCheck(t *testing.T, clock clockwork.Clock, args ...string) (out *testkit.SyncBuffer, wait func() result) {
	t.Helper()
	out = &testkit.SyncBuffer{}
	errb := &testkit.SyncBuffer{}
	done := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitFor)
	go func() {
		c := &cli{stdout: out, stderr: errb, clock: clock, getenv: noEnv}
		done <- c.main(ctx, args)
	}()
	wait = func() result {
		t.Helper()
		defer cancel()
		select {
		case code := <-done:
			return result{code, out.String(), errb.String()}
		case <-time.After(3 * waitFor):
			t.Fatalf("check did not end; output so far:\n%s", out.String())
			return result{}
		}
	}
	t.Cleanup(cancel)
	return out, wait
}

// Every position acknowledges: exit 0, one line each, every channel off.
func TestCheckAllAcknowledge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		args  []string
		acked string // how an ACK time shows
	}{
		{"standbys over OSC, ACKs seen on MQTT", nil, `\d+(ms|\.\ds)`},
		{"standbys and ACKs over OSC", []string{"--acks", "osc"}, `≈\d+(ms|\.\ds)`},
		{"standbys and ACKs over MQTT", []string{"--mqtt"}, `\d+(ms|\.\ds)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startStation(t, "")
			_, wait := runCheck(t, realClock(), s.with(append([]string{"check", "--wait", "5m"}, tc.args...)...)...)
			s.waitState("standby", "fly", "sl", "sr", "trap")
			for _, pin := range []string{"GPIO22", "GPIO20", "GPIO19", "GPIO21"} {
				s.press(pin)
			}
			r := wait()
			expect(t, r, 0, []string{
				`^cue light check: 4 positions, cue "check", up to 5m0s for the ACKs$`,
				`^POSITION  RESULT        ACK TIME$`,
				`^fly       acknowledged  ` + tc.acked + `$`,
				`^sl        acknowledged  ` + tc.acked + `$`,
				`^sr        acknowledged  ` + tc.acked + `$`,
				`^trap      acknowledged  ` + tc.acked + `$`,
				`^4 of 4 positions acknowledged$`,
			}, nil)
			s.waitState("off", "fly", "sl", "sr", "trap")
		})
	}
}

// Some positions acknowledge, some do not: the check waits --wait on its
// clock (a fake one here), then reports who missed, clears them, exit 1.
func TestCheckSomeMissed(t *testing.T) {
	t.Parallel()
	brokers(t, func(t *testing.T, s *station) {
		clock := clockwork.NewFakeClock()
		out, wait := runCheck(t, clock, s.with("check", "--wait", "90s")...)
		s.waitState("standby", "fly", "sl", "sr", "trap")
		s.press("GPIO22")
		s.press("GPIO20")
		waitOutput(t, out, `^fly: acknowledged after \d+`)
		waitOutput(t, out, `^sl: acknowledged after \d+`)
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := clock.BlockUntilContext(ctx, 1); err != nil { // the --wait timer
			t.Fatal(err)
		}
		clock.Advance(91 * time.Second)
		r := wait()
		expect(t, r, 1, []string{
			`^POSITION  RESULT        ACK TIME$`,
			`^fly       acknowledged  \d+`,
			`^sl        acknowledged  \d+`,
			`^sr        MISSED        -$`,
			`^trap      MISSED        -$`,
			`^2 of 4 positions acknowledged; missed: sr, trap$`,
		}, nil)
		s.waitState("off", "fly", "sl", "sr", "trap") // the missed ones are cleared too
	})
}

// Named positions only; a live standby is never replaced without --force.
func TestCheckChoosesAndProtects(t *testing.T) {
	t.Parallel()
	s := startStation(t, "")
	ctl(t, s.with("standby", "sr", "LX 40")...)
	expect(t, ctl(t, s.with("check", "--wait", "5m")...), 1, nil,
		[]string{`sr is standby "LX 40": the check would replace it; clear it first \(cuectl off sr\) or check with --force`})
	if st := s.states()["sr"]; st.State != "standby" || st.Label != "LX 40" {
		t.Fatalf("sr is %+v after a refused check, want its standby untouched", st)
	}
	_, wait := runCheck(t, realClock(), s.with("check", "--wait", "5m", "fly,sl")...)
	s.waitState("standby", "fly", "sl")
	s.press("GPIO22")
	s.press("GPIO20")
	expect(t, wait(), 0, []string{`^cue light check: 2 positions`, `^2 of 2 positions acknowledged$`}, nil)
	if st := s.states()["sr"]; st.State != "standby" || st.Label != "LX 40" {
		t.Fatalf("sr is %+v, want its standby untouched", st)
	}
	expect(t, ctl(t, s.with("check", "nosuch")...), 1, nil, []string{`no channel "nosuch" in this show`})
	ctl(t, s.with("hold")...)
	expect(t, ctl(t, s.with("check")...), 1, nil, []string{`the show is on hold: release it first \(cuectl release\)`})
}

// Ctrl-C during a check: exit 130 with "interrupted", as a shell expects
// of an interrupted command, not 3 ("not reachable"); the positions the
// check put in standby are cleared.
func TestCheckInterrupted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"ACKs seen on MQTT", nil},
		{"ACKs polled over OSC", []string{"--acks", "osc"}},
		{"over MQTT", []string{"--mqtt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startStation(t, "")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out, errb := &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
			done := make(chan int, 1)
			go func() {
				c := &cli{stdout: out, stderr: errb, clock: realClock(), getenv: noEnv}
				done <- c.main(ctx, s.with(append([]string{"check", "--wait", "5m"}, tc.args...)...))
			}()
			s.waitState("standby", "fly", "sl", "sr", "trap")
			s.press("GPIO22") // fly answers; the others do not
			waitOutput(t, out, `^fly: acknowledged after`)
			cancel()
			var code int
			select {
			case code = <-done:
			case <-time.After(waitFor):
				t.Fatalf("check did not end after the interrupt; output so far:\n%s", out.String())
			}
			r := result{code, out.String(), errb.String()}
			expect(t, r, exitInterrupted, nil, []string{`^cuectl check: interrupted; the positions are cleared$`})
			s.waitState("off", "fly", "sl", "sr", "trap")
		})
	}
	t.Run("before it starts", func(t *testing.T) {
		t.Parallel()
		s := startStation(t, "")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var out, errb testkit.SyncBuffer
		c := &cli{stdout: &out, stderr: &errb, clock: realClock(), getenv: noEnv}
		for _, acks := range []string{"auto", "osc"} {
			code := c.main(ctx, s.with("check", "--acks", acks))
			if code != exitInterrupted || !strings.Contains(errb.String(), "interrupted") {
				t.Errorf("--acks %s: exit %d, stderr %q; want %d and interrupted", acks, code, errb.String(), exitInterrupted)
			}
		}
	})
}
