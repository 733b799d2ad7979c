#!/bin/sh
# Compare decode + dispatch speed with liblo on this machine.
#
#   osc/bench/liblo/run.sh [rounds]      (default 5 rounds)
#
# Builds bench.c against liblo (apt-get install liblo-dev) and the Go
# benchmark BenchmarkDecodeDispatch of package osc, runs them alternately
# `rounds` times with the same workload (45 station methods; a literal cue
# message, a wildcard message, a 10-message bundle), keeps the best figure
# of each side (the least disturbed by other load), and prints ns per packet
# and the ratio. Not run by `go test`.
set -eu

rounds=${1:-5}
iters=${ITERS:-200000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cc -O2 -Wall -o "$tmp/lobench" "$here/bench.c" -llo
(cd "$root" && go test -c -o "$tmp/osc.test" ./osc)

echo "machine: $(uname -m), $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
echo "liblo:   $(dpkg-query -W -f='${Version}' liblo7 2>/dev/null || echo unknown); go: $(go version | cut -d' ' -f3)"
echo "rounds:  $rounds x $iters packets per case and side; best round kept"
echo

i=0
while [ "$i" -lt "$rounds" ]; do
	"$tmp/lobench" -n "$iters" -r 1 >>"$tmp/c.txt"
	"$tmp/osc.test" -test.run '^$' -test.bench '^BenchmarkDecodeDispatch$' \
		-test.benchtime "${iters}x" -test.count 1 >>"$tmp/go.txt"
	i=$((i + 1))
done

grep '^#' "$tmp/c.txt" | sort -u
awk '
	FNR == 1 { file++ }
	file == 1 && $1 == "liblo" {
		key = $2 " " $3
		if (!(key in c) || $4 < c[key]) c[key] = $4
	}
	file == 2 && $1 ~ /^BenchmarkDecodeDispatch\// {
		name = $1; sub(/^BenchmarkDecodeDispatch\//, "", name); sub(/-[0-9]+$/, "", name)
		if (!(name in g) || $3 < g[name]) { g[name] = $3; a[name] = $7 }
	}
	END {
		printf "\n%-12s %22s %22s %14s %10s\n", "packet", "liblo dispatch_data", "go Decoder+Dispatch", "liblo/go", "go allocs"
		split("cue-message wildcard bundle-10", order, " ")
		for (k = 1; k <= 3; k++) {
			n = order[k]
			printf "%-12s %19.1f ns %19.1f ns %13.1fx %10s\n", n, c["dispatch " n], g[n], c["dispatch " n] / g[n], a[n]
		}
		printf "\nliblo primitives (lo_message_deserialise + lo_pattern_match x 45 + free):\n"
		for (k = 1; k <= 2; k++) {
			n = order[k]
			printf "%-12s %19.1f ns %19.1f ns %13.1fx\n", n, c["primitives " n], g[n], c["primitives " n] / g[n]
		}
	}
' "$tmp/c.txt" "$tmp/go.txt"
