#!/usr/bin/env bash
# Release builds of cuelight into dist/ (make dist, make deb).
#
#   deploy/build.sh          binaries for every target, the .debs, SHA256SUMS
#   deploy/build.sh bin      binaries only
#   deploy/build.sh deb      the .debs (and the binaries they hold)
#   deploy/build.sh bin DIR  one target's binaries (DIR: linux_arm64, ...)
#
# Targets (dist/<dir>/cuelightd, cuectl and cuelight-broker):
#   linux_amd64   booth laptops and PCs running a station without hardware
#   linux_arm64   64-bit Raspberry Pi OS: Pi 3, 4, 5, Zero 2 W
#   linux_armv7   32-bit, ARMv7 and later only: Pi 2, 3, 4, 5, Zero 2 W
#   linux_armv6   32-bit, every Pi including the Pi 1 and Zero / Zero W
# Debian packages: amd64, arm64, and armhf holding the ARMv6 build
# (Raspberry Pi OS's armhf is ARMv6, so one armhf package fits every Pi).
#
# Every binary: CGO_ENABLED=0 (static, no libc), -trimpath, no VCS stamp,
# stripped, version from deploy/version.sh in main.version. Packages: every
# file dated SOURCE_DATE_EPOCH (the last commit's time unless set). The
# same commit and Go version give the same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
only=${2:-}
case "$what" in
all | bin | deb) ;;
*) echo "usage: deploy/build.sh [all|bin|deb] | deploy/build.sh bin TARGET" >&2; exit 2 ;;
esac
if [ -n "$only" ] && [ "$what" != bin ]; then
	echo "build.sh: a single target is for 'bin' only" >&2
	exit 2
fi

VERSION=$(deploy/version.sh)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || true)}
if [ -z "$SOURCE_DATE_EPOCH" ]; then
	echo "build.sh: not a git checkout: set SOURCE_DATE_EPOCH (and VERSION)" >&2
	exit 1
fi
DIST=${DIST:-dist}
echo "cuelight $VERSION ($(go version | cut -d' ' -f3)), SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, into $DIST/"

# The commands every target must contain: every main package under cmd/.
mapfile -t cmds < <(go list -f '{{if eq .Name "main"}}{{.Dir}}{{end}}' ./cmd/... | xargs -n1 basename)
for want in cuelightd cuectl cuelight-broker; do
	if [[ " ${cmds[*]} " != *" $want "* ]]; then
		echo "build.sh: ./cmd/$want is not a main package; have: ${cmds[*]}" >&2
		exit 1
	fi
done

# dir GOARCH GOARM
targets=("linux_amd64 amd64 -" "linux_arm64 arm64 -" "linux_armv7 arm 7" "linux_armv6 arm 6")
if [ "$what" = deb ]; then
	targets=("linux_amd64 amd64 -" "linux_arm64 arm64 -" "linux_armv6 arm 6")
fi

build() { # dir goarch goarm
	local dir=$1 goarch=$2 goarm=$3
	local out="$DIST/$dir"
	rm -rf "$out"
	mkdir -p "$out"
	local env=(CGO_ENABLED=0 GOOS=linux GOARCH="$goarch")
	if [ "$goarm" != - ]; then env+=(GOARM="$goarm"); fi
	env "${env[@]}" go build -trimpath -buildvcs=false \
		-ldflags "-s -w -X main.version=$VERSION" -o "$out/" ./cmd/...
	for c in "${cmds[@]}"; do
		if [ ! -x "$out/$c" ]; then
			echo "build.sh: $out/$c was not built" >&2
			exit 1
		fi
	done
	printf '  %-12s' "$dir"
	for c in "${cmds[@]}"; do printf ' %s %s' "$c" "$(stat -c %s "$out/$c")"; done
	echo " bytes"
}

built=0
for t in "${targets[@]}"; do
	if [ -n "$only" ] && [ "${t%% *}" != "$only" ]; then continue; fi
	# shellcheck disable=SC2086 # split the target into its fields
	build $t
	built=$((built + 1))
done
if [ "$built" = 0 ]; then
	echo "build.sh: no target named $only" >&2
	exit 2
fi

if [ "$what" != bin ]; then
	rm -f "$DIST"/cuelight_*.deb
	tool=$(mktemp -d)
	trap 'rm -rf "$tool"' EXIT
	# deploy/nfpm is a Go module of its own (the product's go.mod lists
	# only what the binaries link): build the packager inside it.
	go -C deploy/nfpm build -o "$tool/nfpm" .
	for pair in amd64:linux_amd64 arm64:linux_arm64 armhf:linux_armv6; do
		deb=$("$tool/nfpm" -arch "${pair%%:*}" -version "$VERSION" -bin "$DIST/${pair#*:}" -out "$DIST")
		printf '  %s %s bytes\n' "$deb" "$(stat -c %s "$deb")"
	done
fi

(cd "$DIST" && find . -type f ! -name SHA256SUMS ! -name '.*' | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
echo "$DIST/SHA256SUMS written"
