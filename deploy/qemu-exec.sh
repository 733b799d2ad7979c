#!/bin/sh
# go test -exec wrapper: runs a linux/arm or linux/arm64 test binary under
# qemu-user (Debian package qemu-user), emulating a Raspberry Pi's CPU:
#   GOARCH=arm64           qemu-aarch64 -cpu cortex-a53   (Pi 3, Zero 2 W)
#   GOARCH=arm (GOARM=6)   qemu-arm -cpu arm1176          (Pi 1, Zero)
#   GOARCH=arm GOARM=7     qemu-arm -cpu cortex-a7        (Pi 2)
# Set QEMU_CPU to emulate another one.
#
# Tests that start their own binary again (the embedded broker's child
# process, whole-daemon tests) exec os.Args[0]. Without binfmt_misc the
# kernel cannot run an ARM binary, so argv[0] is pointed at a small script
# beside the test binary that runs it under qemu again.
#
# GOARCH and GOARM are removed from the test's environment: a test that
# builds a helper with `go build` (cuectl's tests build cuelightd) gets a
# host binary, which the kernel can run; the code under test in the test
# binary itself is still the ARM build.
#
# Usage (deploy/test-arm.sh does this):
#   GOARCH=arm64 CGO_ENABLED=0 go test -exec "$PWD/deploy/qemu-exec.sh" ./...
set -eu
bin=$1
shift
case "${GOARCH:-}" in
arm64) qemu=qemu-aarch64 cpu=${QEMU_CPU:-cortex-a53} ;;
arm)
	qemu=qemu-arm
	case "${GOARM:-7}" in
	5 | 6) cpu=${QEMU_CPU:-arm1176} ;;
	*) cpu=${QEMU_CPU:-cortex-a7} ;;
	esac
	;;
*)
	echo "qemu-exec.sh: GOARCH is '${GOARCH:-}', want arm or arm64" >&2
	exit 2
	;;
esac
qemu=$(command -v "$qemu") || {
	echo "qemu-exec.sh: $qemu not found: apt-get install qemu-user" >&2
	exit 2
}
unset GOARCH GOARM
again="$bin.qemu"
cat >"$again" <<SCRIPT
#!/bin/sh
exec "$qemu" -cpu "$cpu" -0 "\$0" "$bin" "\$@"
SCRIPT
chmod 755 "$again"
exec "$qemu" -cpu "$cpu" -0 "$again" "$bin" "$@"
