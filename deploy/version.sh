#!/bin/sh
# Prints the version stamped into release builds (main.version):
#   a tag:             v1.2.3, v1.2.3-4-gabc1234 (commits after it)
#   no tag yet:        0.0.0-YYYYMMDDHHMMSS-abc1234def56 (the commit's UTC
#                      time and hash, like a Go pseudo-version)
# with "-dirty" when the work tree has uncommitted changes. $VERSION, when
# set, wins (a build from a tarball without .git must set it).
set -eu
if [ -n "${VERSION:-}" ]; then
	echo "$VERSION"
	exit 0
fi
cd "$(dirname "$0")/.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "version.sh: not a git checkout: set VERSION" >&2
	exit 1
fi
if v=$(git describe --tags --dirty --match 'v[0-9]*' 2>/dev/null); then
	echo "$v"
	exit 0
fi
v="0.0.0-$(TZ=UTC git log -1 --date=format-local:%Y%m%d%H%M%S --format=%cd)-$(git rev-parse --short=12 HEAD)"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	v="$v-dirty"
fi
echo "$v"
