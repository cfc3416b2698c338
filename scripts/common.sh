# shellcheck shell=bash
# Helpers sourced by the scripts in scripts/ (not run on its own): error
# reporting, repository paths, and installing Debian packages only when they
# are missing, so every script works the same on a fresh Debian 12 machine.

COWDUP_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$COWDUP_SRC/build}
COWDUP_CACHE=${COWDUP_CACHE:-/var/cache/cowdup}
export BUILD COWDUP_CACHE

PROG=${0##*/}

die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

warn() {
	printf '%s: warning: %s\n' "$PROG" "$*" >&2
}

note() {
	printf '%s: %s\n' "$PROG" "$*" >&2
}

# Known series: Debian meta package names of the image and headers.
series_image_meta() {
	case $1 in
	6.1) echo linux-image-amd64 ;;
	6.12) echo linux-image-6.12-amd64 ;;
	6.12-debug) echo "(built by scripts/build-debug-kernel)" ;;
	*) die "unknown kernel series '$1' (known: 6.1 6.12 6.12-debug)" ;;
	esac
}

# series_is_debug SERIES: the debug kernel built from linux-source-6.12
# (scripts/build-debug-kernel), not a Debian image package.
series_is_debug() {
	[ "$1" = 6.12-debug ]
}

series_headers_meta() {
	case $1 in
	6.1) echo linux-headers-amd64 ;;
	6.12) echo linux-headers-6.12-amd64 ;;
	6.12-debug) echo linux-source-6.12 ;;
	*) die "unknown kernel series '$1' (known: 6.1 6.12 6.12-debug)" ;;
	esac
}

# pkg_installed PKG: true when dpkg has PKG fully installed.
pkg_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# apt_lists_ready: true when apt knows about some package candidates.
apt_lists_ready() {
	local out
	out=$(apt-cache policy linux-image-amd64 2>/dev/null) || return 1
	[[ $out == *"Candidate: "[0-9]* ]]
}

# apt_update_once: refresh the package lists once per run of the calling
# script (and only when they look missing, unless forced with "force").
apt_update_once() {
	if [ "${1:-}" = force ] && [ "${_COWDUP_APT_UPDATED:-}" != forced ]; then
		_COWDUP_APT_UPDATED=
	fi
	if [ -n "${_COWDUP_APT_UPDATED:-}" ]; then
		return 0
	fi
	if [ "${1:-}" = force ] || ! apt_lists_ready; then
		note "apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
			die "apt-get update failed"
	fi
	if [ "${1:-}" = force ]; then
		_COWDUP_APT_UPDATED=forced
	else
		_COWDUP_APT_UPDATED=1
	fi
}

# apt_ensure PKG...: install whichever of PKG are not installed yet.
apt_ensure() {
	local missing=() p
	for p in "$@"; do
		pkg_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] ||
		die "missing packages (${missing[*]}); run as root or install them with apt-get"
	apt_update_once
	note "apt-get install ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null; then
		# Stale lists are the usual cause: refresh once and retry.
		apt_update_once force
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null ||
			die "apt-get install ${missing[*]} failed"
	fi
}
