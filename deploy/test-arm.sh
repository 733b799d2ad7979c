#!/usr/bin/env bash
# Runs the unit tests as a Raspberry Pi's processor would, under qemu-user
# (make test-arm; CI runs arm64 and arm6):
#   deploy/test-arm.sh arm64    linux/arm64, Cortex-A53 (64-bit Raspberry Pi OS)
#   deploy/test-arm.sh arm6     linux/arm GOARM=6, ARM1176 (32-bit, every Pi)
#   deploy/test-arm.sh arm7     linux/arm GOARM=7, Cortex-A7
# so that 32-bit alignment and atomics bugs show up here, not at a show.
# Extra arguments go to go test instead of the default package list.
#
# What runs: every package's tests, peer interop included (oscsend,
# mosquitto, ... are host programs: the kernel runs them natively), and
# tests that re-execute their own binary (the broker child) through
# deploy/qemu-exec.sh. No -race: it needs cgo and does not exist on 32-bit
# ARM; the host's go test -race covers data races.
#
# What does not, unless binfmt_misc runs ARM binaries on this machine: the
# cmd/cuelightd tests that start the daemon with its embedded broker. The
# daemon starts the broker child from os.Executable(), which under qemu-user
# is the ARM test binary itself; the kernel cannot exec that (exec format
# error). Those tests run here only through Mosquitto; the embedded broker's
# child process is tested under qemu by internal/broker, whose tests start
# it from os.Args[0].
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
arm64) export GOARCH=arm64; unset GOARM; binfmt=qemu-aarch64 ;;
arm6) export GOARCH=arm GOARM=6; binfmt=qemu-arm ;;
arm7) export GOARCH=arm GOARM=7; binfmt=qemu-arm ;;
*) echo "usage: deploy/test-arm.sh arm64|arm6|arm7 [go test flags and packages]" >&2; exit 2 ;;
esac
shift
export GOOS=linux CGO_ENABLED=0
# Emulation is several times slower than the host, and none of the tests
# measures speed; the slowest package takes about 25 s here. A hang is
# another matter: a process forked under qemu-user now and then never
# reaches exec, or a test's re-executed child sits in futex_wait, with no
# CPU, until the timeout: a fault of qemu-user's, not of the code under
# test (seen four times in .ci/run, twice on one afternoon). So each
# package has 2 minutes, and a package that fails is run again, saying
# so, up to twice more (run_again); a failure that repeats three times
# fails.
gotest=(go test -count=1 -timeout 2m -exec "$PWD/deploy/qemu-exec.sh")
tries=3

# run_again [FLAGS] -- PKGS: go test on PKGS; the packages that fail are
# run again, with the same flags, up to tries times in all. The last
# try's output stays in the file $out for the caller.
run_again() {
	local flags=() failed try
	while [ "$1" != -- ]; do flags+=("$1"); shift; done
	shift
	failed=("$@")
	for ((try = 1; try <= tries; try++)); do
		if [ "$try" -gt 1 ]; then
			echo "test-arm.sh: running again (try $try of $tries) what failed under qemu-user: ${failed[*]}"
			echo "(qemu-user hangs a process now and then; a failure that repeats is real)"
		fi
		if "${gotest[@]}" "${flags[@]}" "${failed[@]}" 2>&1 | tee "$out"; then
			return 0
		fi
		mapfile -t failed < <(awk '$1 == "FAIL" && $2 ~ /\// {print $2}' "$out" | sort -u)
		if [ ${#failed[@]} -eq 0 ]; then
			return 1 # not a test failure (a build error): no point in trying again
		fi
	done
	return 1
}

if [ $# -gt 0 ]; then
	exec "${gotest[@]}" "$@"
fi

if grep -qs '^enabled' "/proc/sys/fs/binfmt_misc/$binfmt"; then
	echo "binfmt_misc runs ARM binaries here: every test of every package"
	exec "${gotest[@]}" ./...
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
mapfile -t pkgs < <(go list ./... | grep -v '/cmd/cuelightd$')
run_again -- "${pkgs[@]}"

# cmd/cuelightd: the tests that start the daemon with the embedded broker
# (by default or in a subtest) are listed here. A new test that needs it
# fails below with "exec format error": add it to the list.
embedded='TestEndToEnd|TestSIGTERMDuringStandby|TestKillDuringStandbyThenRestart|TestWebAPI|TestReload|TestOSCOverTCP|TestOSCFromOutsideAllow|TestOSCErrors|TestMalformedFloodThenGo|TestEmbeddedBrokerCrash|TestDemo'
echo "cmd/cuelightd under qemu without binfmt_misc: not run, because the daemon's"
echo "embedded broker child cannot be exec'd (see deploy/test-arm.sh):"
echo "  ${embedded//|/ }, except their Mosquitto variants"
run_again -skip "^($embedded)\$" -- ./cmd/cuelightd
# The Mosquitto variants take about 2 s: a minute each try.
variants='^(TestEndToEnd|TestSIGTERMDuringStandby|TestKillDuringStandbyThenRestart)$/Mosquitto'
run_again -timeout 1m -v -run "$variants" -- ./cmd/cuelightd
if [ "$(grep -c -- '--- PASS: .*Mosquitto' "$out")" -lt 3 ]; then
	echo "test-arm.sh: the Mosquitto variants of the daemon tests did not run: were they renamed?" >&2
	exit 1
fi
