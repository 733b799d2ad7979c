# cuelight: release builds, packages and tests. Everything here is also a
# plain command (the README's `go test ./...` needs no make).
#
#   make dist       release binaries for amd64, arm64, armv7, armv6, the
#                   .debs (amd64, arm64, armhf) and SHA256SUMS into dist/
#   make deb        only the .debs (and the binaries they hold)
#   make test       go test -race ./... (as CI does), and the packager's
#                   tests in its own module (deploy/nfpm)
#   make test-arm   the tests under qemu-user as linux/arm64 and GOARM=6
#   make test-gpio-vm  the whole station on a real Linux GPIO driver: Debian's
#                   arm64 kernel in QEMU raspi3b (root: may apt-get install
#                   qemu-system-arm; caches the kernel; docs/hardware-test.md)
#   make clean      remove dist/
#
# Version: deploy/version.sh (git describe, or 0.0.0-DATE-SHA before the
# first tag); override with VERSION=v1.2.3 make dist.

.PHONY: dist deb test test-arm test-gpio-vm clean

dist:
	deploy/build.sh all

deb:
	deploy/build.sh deb

test:
	go test -race ./...
	go -C deploy/nfpm test -race ./...

test-arm:
	deploy/test-arm.sh arm64
	deploy/test-arm.sh arm6

test-gpio-vm:
	go test -tags gpiovm -count=1 -timeout 15m -run TestStationOnRealGPIO -v ./internal/gpiovm/

clean:
	rm -rf dist
