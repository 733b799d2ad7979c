#!/usr/bin/env bash
# Checks a cuelight .deb on this machine (CI runs it as root on Debian 12):
#
#   deploy/check-deb.sh inspect DEB    dpkg-deb -I/-c and what must be in it
#   deploy/check-deb.sh cycle DEB      install, install again, upgrade,
#                                      remove, purge; checks after each
#   deploy/check-deb.sh systemd DEB    the same cycle with systemd "running"
#                                      (simulated in a mount namespace) to
#                                      check the systemctl calls
#
# Installing must enable and start nothing, and the shipped show file must
# listen on loopback only and hold no users (docs/protocol.md §6.9): inspect
# checks the file, cycle checks that nothing was enabled or started, and
# systemd checks that the install made no enable or start call.
#
# cycle and systemd change the machine: they install the package and add
# the cuelight user, then purge both. A gpio group that postinst created
# stays (see deploy/debian/postrm). systemd need not run (PID 1 may be
# anything): the maintainer scripts then leave systemd alone.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

mode_of() { stat -c '%a %U:%G' "$1"; }

# shipped_conf FILE: the show file the package installs listens on
# loopback only and holds no users. The OSC listener defaults to 0.0.0.0,
# so the file must set osc.listen; every listen: in it must be a loopback
# address; the broker must be the embedded one (a broker URL would send the
# station's state elsewhere); and no users: key may appear.
shipped_conf() {
	local f=$1 listens l
	listens=$(grep -oE '(^|[{ ,])listen: *[^ ,}#]+' "$f" | sed -E 's/.*listen: *//; s/^"//; s/"$//')
	[ -n "$listens" ] || fail "shipped show file sets no listen: address"
	while read -r l; do
		case "$l" in
		127.*:* | "[::1]":* | localhost:*) ;;
		*) fail "shipped show file listens on $l, beyond loopback" ;;
		esac
	done <<<"$listens"
	# osc.listen must be given: its default is every interface.
	awk '/^osc:/{o=1; if ($0 ~ /listen: *(127\.|\[::1\]|localhost)/) found=1; next}
	     /^[^ #]/{o=0}
	     o && /^[ ]+listen: *(127\.|\[::1\]|localhost)/{found=1}
	     END{exit !found}' "$f" || fail "shipped show file does not set osc.listen to loopback (its default is 0.0.0.0)"
	if grep -nE '(^|[{ ,])users:' "$f"; then fail "shipped show file holds users"; fi
	if grep -nE '^[ ]+broker: *[a-z]+://' "$f"; then fail "shipped show file names an outside broker"; fi
	ok "shipped show file: listens on loopback only ($(paste -sd' ' <<<"$listens")), no users"
}

inspect() {
	local deb=$1 tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	dpkg-deb -I "$deb"
	echo
	dpkg-deb -c "$deb"
	echo
	local list
	list=$(dpkg-deb -c "$deb" | awk '{print $1, $2, $6}')
	for want in \
		"-rwxr-xr-x root/root ./usr/bin/cuelightd" \
		"-rwxr-xr-x root/root ./usr/bin/cuectl" \
		"-rwxr-xr-x root/root ./usr/bin/cuelight-broker" \
		"-rw-r--r-- root/root ./lib/systemd/system/cuelightd.service" \
		"-rw-r----- root/root ./etc/cuelight/cuelight.yaml" \
		"-rw-r--r-- root/root ./usr/share/doc/cuelight/raspberry-pi.md" \
		"-rw-r--r-- root/root ./usr/share/doc/cuelight/copyright" \
		"-rw-r--r-- root/root ./usr/share/doc/cuelight/examples/reference.yaml" \
		"-rw-r--r-- root/root ./usr/share/doc/cuelight/examples/mosquitto/cuelight.conf"; do
		grep -qxF -- "$want" <<<"$list" || fail "$deb lacks: $want"
	done
	ok "files, modes and owners"
	[ "$(dpkg-deb -f "$deb" Package)" = cuelight ] || fail "Package is not cuelight"
	local maint
	maint=$(dpkg-deb -f "$deb" Maintainer)
	[[ $maint =~ ^[^@\<\>]+\ \<[^@\<\>]+@[^@\<\>]+\>$ ]] || fail "Maintainer \"$maint\" is not \"Name <address>\""
	case "$maint" in
	*.invalid\> | *example.* | *localhost*) fail "Maintainer \"$maint\" is a placeholder address" ;;
	esac
	ok "Maintainer: $maint"
	local copyright
	copyright=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/cuelight/copyright)
	[ "$(head -n1 <<<"$copyright")" = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" ] ||
		fail "/usr/share/doc/cuelight/copyright is not in the machine-readable format"
	grep -qx 'License: Apache-2.0' <<<"$copyright" || fail "copyright names no licence for cuelight"
	ok "copyright: machine-readable, Apache-2.0"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./etc/cuelight/cuelight.yaml >"$tmp/cuelight.yaml"
	shipped_conf "$tmp/cuelight.yaml"
	# (Whole outputs into variables: grep -q stopping early would make a
	# pipeline fail under pipefail.)
	local conffiles control
	conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
	[ "$conffiles" = /etc/cuelight/cuelight.yaml ] || fail "conffiles: $conffiles"
	ok "conffile /etc/cuelight/cuelight.yaml"
	control=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
	for s in postinst prerm postrm; do
		grep -qx "./$s" <<<"$control" || fail "no $s"
	done
	ok "maintainer scripts postinst prerm postrm"
}

# expect_installed VERSION: the state after an install or upgrade.
expect_installed() {
	local version=$1
	[ "$(dpkg-query -W -f='${Status} ${Version}' cuelight)" = "install ok installed $version" ] ||
		fail "dpkg status: $(dpkg-query -W -f='${Status} ${Version}' cuelight)"
	ok "dpkg: cuelight $version installed"

	local pw
	pw=$(getent passwd cuelight) || fail "no user cuelight"
	IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
	[ "$uid" -lt 1000 ] || fail "cuelight uid $uid is not a system uid"
	[ "$home" = /var/lib/cuelight ] || fail "home $home"
	[ "$shell" = /usr/sbin/nologin ] || fail "shell $shell"
	[ "$(getent group "$gid" | cut -d: -f1)" = cuelight ] || fail "primary group is not cuelight"
	ok "user cuelight: uid $uid, home $home, shell $shell"
	local groups
	groups=" $(id -nG cuelight) "
	[[ $groups == *" gpio "* ]] || fail "cuelight is not in gpio: $groups"
	for g in i2c spi; do
		if getent group "$g" >/dev/null && [[ $groups != *" $g "* ]]; then
			fail "group $g exists but cuelight is not in it"
		fi
	done
	ok "groups:$groups"

	[ -x /usr/bin/cuelightd ] && [ -x /usr/bin/cuectl ] && [ -x /usr/bin/cuelight-broker ] || fail "binaries missing"
	local dv cv bv
	dv=$(/usr/bin/cuelightd --version) || fail "cuelightd --version"
	cv=$(/usr/bin/cuectl version) || fail "cuectl version"
	bv=$(/usr/bin/cuelight-broker --version) || fail "cuelight-broker --version"
	[ "${dv#cuelightd }" = "${cv#cuectl }" ] || fail "versions differ: $dv / $cv"
	[ "${dv#cuelightd }" = "${bv#cuelight-broker }" ] || fail "versions differ: $dv / $bv"
	[ "${dv#cuelightd }" != dev ] || fail "cuelightd has no version stamped"
	ok "$dv, $cv, $bv"
	[ "$(mode_of /etc/cuelight/cuelight.yaml)" = "640 root:cuelight" ] ||
		fail "show file is $(mode_of /etc/cuelight/cuelight.yaml), want 640 root:cuelight"
	ok "/etc/cuelight/cuelight.yaml: 640 root:cuelight"
	[ "$(mode_of /var/lib/cuelight)" = "750 cuelight:cuelight" ] ||
		fail "/var/lib/cuelight is $(mode_of /var/lib/cuelight)"
	ok "/var/lib/cuelight: 750 cuelight:cuelight"

	systemd-analyze verify /lib/systemd/system/cuelightd.service || fail "systemd-analyze verify"
	ok "systemd-analyze verify /lib/systemd/system/cuelightd.service"
	systemd-analyze security --offline=yes /lib/systemd/system/cuelightd.service 2>&1 | grep 'Overall exposure'

	/usr/bin/cuelightd check-config /etc/cuelight/cuelight.yaml || fail "check-config as root"
	runuser -u cuelight -- /usr/bin/cuelightd check-config /etc/cuelight/cuelight.yaml >/dev/null ||
		fail "the cuelight user cannot read and check the show file"
	ok "cuelightd check-config /etc/cuelight/cuelight.yaml (as root and as cuelight)"
	if runuser -u nobody -- cat /etc/cuelight/cuelight.yaml >/dev/null 2>&1; then
		fail "another user can read the show file"
	fi
	ok "other users cannot read the show file"
}

# expect_not_enabled_or_started: the install made no link that starts the
# unit at boot, and no cuelightd from the package runs.
expect_not_enabled_or_started() {
	local links p
	links=$(find /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system -path '*.wants/cuelightd*' 2>/dev/null || true)
	[ -z "$links" ] || fail "the install enabled the service: $links"
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/bin/cuelightd ]; then
			fail "the install started cuelightd (pid ${p#/proc/})"
		fi
	done
	ok "not enabled (no .wants link), not started (no /usr/bin/cuelightd process)"
}

# expect_gone: nothing of the package left but what purge keeps.
expect_purged() {
	local st
	st=$(dpkg-query -W -f='${Status}' cuelight 2>/dev/null || true)
	if [ -n "$st" ] && [ "$st" != "unknown ok not-installed" ]; then fail "dpkg status after purge: $st"; fi
	local left=()
	for p in /usr/bin/cuelightd /usr/bin/cuectl /usr/bin/cuelight-broker /lib/systemd/system/cuelightd.service \
		/etc/cuelight /var/lib/cuelight /usr/share/doc/cuelight; do
		if [ -e "$p" ]; then left+=("$p"); fi
	done
	[ ${#left[@]} -eq 0 ] || fail "left behind: ${left[*]}"
	if getent passwd cuelight >/dev/null; then fail "user cuelight still exists"; fi
	if getent group cuelight >/dev/null; then fail "group cuelight still exists"; fi
	local overrides links
	overrides=$(dpkg-statoverride --list)
	if grep -q cuelight <<<"$overrides"; then fail "statoverride left: $overrides"; fi
	links=$(find /etc/systemd/system -name 'cuelightd*' 2>/dev/null)
	if [ -n "$links" ]; then fail "unit symlinks left: $links"; fi
	ok "purged: no files, user, group, statoverride or unit links left"
	echo "  what remains: $(getent group gpio >/dev/null && echo "group gpio (shared with other software)" || echo nothing)"
}

# upgrade_deb DEB: the same package with a higher version, in a temp dir.
upgrade_deb() {
	local deb=$1 tmp=$2
	local bins="$tmp/bin"
	mkdir -p "$bins"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./usr/bin/cuelightd ./usr/bin/cuectl ./usr/bin/cuelight-broker
	mv "$tmp/usr/bin/cuelightd" "$tmp/usr/bin/cuectl" "$tmp/usr/bin/cuelight-broker" "$bins/"
	# deploy/nfpm is its own Go module: build it there, run it from the root.
	go -C deploy/nfpm build -o "$tmp/nfpm-tool" . >&2
	"$tmp/nfpm-tool" -arch "$(dpkg-deb -f "$deb" Architecture)" -version v99.0.0-upgradetest \
		-bin "$bins" -out "$tmp" -mtime "$(date +%s)"
}

# expect_station_runs TMP: the installed cuelightd runs the shipped show
# as user cuelight (on ports of its own, in case the usual ones are taken)
# and starts its embedded broker from /usr/bin/cuelight-broker.
expect_station_runs() {
	local tmp=$1 pid station child exe i
	sed -e 's/:1883/:18983/; s/:53100/:53198/; s/:8080/:18980/' /etc/cuelight/cuelight.yaml >"$tmp/show.yaml"
	chmod 644 "$tmp/show.yaml"
	chmod 755 "$tmp"
	runuser -u cuelight -- /usr/bin/cuelightd --config "$tmp/show.yaml" >"$tmp/station.log" 2>&1 &
	pid=$!
	for i in $(seq 100); do
		if grep -q "station ready" "$tmp/station.log"; then break; fi
		if ! kill -0 "$pid" 2>/dev/null; then cat "$tmp/station.log"; fail "cuelightd exited at start"; fi
		sleep 0.2
	done
	grep -q "station ready" "$tmp/station.log" || { cat "$tmp/station.log"; kill "$pid"; fail "cuelightd not ready in 20 s"; }
	station=$(pgrep -P "$pid" -x cuelightd || echo "$pid") # runuser's child, where runuser forks
	child=$(pgrep -P "$station" | head -1)
	exe=$(readlink "/proc/$child/exe" || true)
	kill -TERM "$station" 2>/dev/null || true
	wait "$pid" || true
	[ "$exe" = /usr/bin/cuelight-broker ] || { cat "$tmp/station.log"; fail "the embedded broker runs '$exe', want /usr/bin/cuelight-broker"; }
	ok "cuelightd runs the shipped show as cuelight; its broker child is /usr/bin/cuelight-broker"
}

cycle() {
	local deb=$1 tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	local version
	version=$(dpkg-deb -f "$deb" Version)
	if dpkg-query -W cuelight >/dev/null 2>&1; then
		echo "cuelight is known to dpkg from an earlier run: purging it first"
		dpkg -P cuelight >/dev/null
	fi
	# Raspberry Pi OS has groups i2c and spi, and the user must join them;
	# make them for the test where the machine has none.
	local made=()
	for g in i2c spi; do
		if ! getent group "$g" >/dev/null; then
			groupadd --system "$g"
			made+=("$g")
		fi
	done

	echo "--- install $deb"
	dpkg -i "$deb"
	expect_installed "$version"
	expect_not_enabled_or_started
	cmp -s /etc/cuelight/cuelight.yaml <(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./etc/cuelight/cuelight.yaml) ||
		fail "the installed show file is not the package's"
	shipped_conf /etc/cuelight/cuelight.yaml
	expect_station_runs "$tmp"
	local uid
	uid=$(id -u cuelight)

	echo "--- install again"
	dpkg -i "$deb"
	expect_installed "$version"
	[ "$(id -u cuelight)" = "$uid" ] || fail "reinstall changed the cuelight uid"
	ok "same user after reinstall"

	echo "--- upgrade, with an edited show file and state in /var/lib/cuelight"
	echo "# edited by check-deb.sh" >>/etc/cuelight/cuelight.yaml
	runuser -u cuelight -- touch /var/lib/cuelight/state-from-check-deb
	local up
	up=$(upgrade_deb "$deb" "$tmp")
	dpkg -i "$up"
	expect_installed "$(dpkg-deb -f "$up" Version)"
	[ "$(tail -n1 /etc/cuelight/cuelight.yaml)" = '# edited by check-deb.sh' ] || fail "upgrade lost the edit to the show file"
	ok "upgrade kept the edited show file"
	[ -e /var/lib/cuelight/state-from-check-deb ] || fail "upgrade lost /var/lib/cuelight"
	[ "$(id -u cuelight)" = "$uid" ] || fail "upgrade changed the cuelight uid"
	ok "upgrade kept the user and its state"

	echo "--- remove"
	dpkg -r cuelight
	[ "$(dpkg-query -W -f='${Status}' cuelight)" = "deinstall ok config-files" ] || fail "status after remove"
	[ ! -e /usr/bin/cuelightd ] && [ ! -e /usr/bin/cuelight-broker ] && [ ! -e /lib/systemd/system/cuelightd.service ] || fail "files left after remove"
	[ -e /etc/cuelight/cuelight.yaml ] || fail "remove deleted the show file"
	getent passwd cuelight >/dev/null || fail "remove deleted the user"
	[ -e /var/lib/cuelight/state-from-check-deb ] || fail "remove deleted /var/lib/cuelight"
	ok "removed: binaries and unit gone; show file, user and state kept"

	echo "--- purge"
	dpkg -P cuelight
	expect_purged
	for g in "${made[@]}"; do groupdel "$g"; done
}

# systemd_cycle DEB: install, upgrade, remove, purge in a mount namespace
# where /run/systemd/system exists (systemd "running") and systemctl is a
# stand-in that logs its arguments; checks the calls the scripts make.
systemd_cycle() {
	local deb=$1 tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	if ! unshare -m true 2>/dev/null; then
		echo "check-deb: cannot make a mount namespace here (unshare -m): systemd-running branch not checked"
		return 0
	fi
	if dpkg-query -W cuelight >/dev/null 2>&1; then dpkg -P cuelight >/dev/null; fi
	local up
	up=$(upgrade_deb "$deb" "$tmp")
	cat >"$tmp/systemctl" <<EOF
#!/bin/sh
echo "systemctl \$*" >>"$tmp/calls"
EOF
	chmod 755 "$tmp/systemctl"
	local real
	real=$(command -v systemctl)
	step() { # name, dpkg arguments...
		local name=$1
		shift
		: >"$tmp/calls"
		unshare -m sh -ec "mount -t tmpfs tmpfs /run/systemd; mkdir /run/systemd/system; mount --bind '$tmp/systemctl' '$real'; dpkg $*" >/dev/null
		echo "  $name: $(paste -sd';' "$tmp/calls")"
	}
	expect_calls() {
		diff <(printf '%s\n' "$@") "$tmp/calls" || fail "systemctl calls differ (want < > got)"
	}
	step install -i "$deb"
	# Only a daemon-reload: no enable, no start (docs/protocol.md §6.9).
	if grep -nE 'enable|start|restart|reload-or' "$tmp/calls" | grep -v daemon-reload; then
		fail "the install enabled or started the service"
	fi
	expect_calls "systemctl --system daemon-reload"
	step upgrade -i "$up"
	expect_calls "systemctl --system daemon-reload" "systemctl try-restart cuelightd.service"
	step remove -r cuelight
	expect_calls "systemctl stop cuelightd.service" "systemctl --no-reload disable cuelightd.service" "systemctl --system daemon-reload"
	step purge -P cuelight
	expect_calls "systemctl --system daemon-reload"
	ok "with systemd running: nothing enabled or started on install, try-restart on upgrade, stop and disable on remove"
	expect_purged
}

case "${1:-}" in
inspect) inspect "$2" ;;
cycle) cycle "$2" ;;
systemd) systemd_cycle "$2" ;;
*) echo "usage: deploy/check-deb.sh inspect|cycle|systemd DEB" >&2; exit 2 ;;
esac
