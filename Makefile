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
#   make scale      the 50-station scale run and the 10-station latency run
#                   (CUELIGHT_SCALE=1; docs/performance.md)
#
# Version: deploy/version.sh (git describe, or 0.0.0-DATE-SHA before the
# first tag); override with VERSION=v1.2.3 make dist.

.PHONY: dist deb test test-arm test-gpio-vm clean scale

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

# The scale run of docs/performance.md (not in go test ./...): 50 cuelightd
# processes (sim driver) × 4 channels on one Mosquitto through one gateway,
# a scripted show; then the latency run with 10 stations; before them the
# 3-node NATS cluster test (a node killed mid-show). Figures are printed by
# the tests (-v). Needs mosquitto and nats-server. Override STATIONS, CUES.
STATIONS ?= 50
CUES ?= 40
scale:
	CUELIGHT_SCALE=1 CUELIGHT_REQUIRE_PEERS=1 go test -count=1 -timeout 5m -run 'TestShowNATSNodeKilled$$' -v ./cmd/cuelightd
	CUELIGHT_SCALE=1 CUELIGHT_REQUIRE_PEERS=1 CUELIGHT_SCALE_STATIONS=$(STATIONS) CUELIGHT_SCALE_CUES=$(CUES) \
		go test -count=1 -timeout 15m -run 'TestScale$$' -v ./cmd/cuelightd
	CUELIGHT_SCALE=1 CUELIGHT_REQUIRE_PEERS=1 CUELIGHT_SCALE_STATIONS=10 CUELIGHT_SCALE_CUES=100 \
		go test -count=1 -timeout 15m -run 'TestScale$$' -v ./cmd/cuelightd
